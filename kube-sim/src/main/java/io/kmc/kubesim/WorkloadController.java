package io.kmc.kubesim;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * A very small controller-manager so the simulated cluster looks alive: Deployments,
 * StatefulSets and ReplicaSets get a status that follows their spec, Deployments get owned pods
 * (when enabled), and Pending pods become Running. Changes go through the {@link Registry}, so
 * watches see them like any other write. Reconciles run {@code delayMillis} after the change
 * that triggered them, never inside the store's listener call.
 */
final class WorkloadController implements ObjectStore.Listener {

  private static final String MANAGER = "kube-controller-manager";
  private static final String NODE_NAME = "kube-sim-node";
  private static final Set<String> WORKLOADS = Set.of("deployments.apps", "statefulsets.apps", "replicasets.apps");

  private final Vertx vertx;
  private final Context context;
  private final Registry registry;
  private final long delayMillis;
  private final boolean podsPerDeployment;
  private final Set<String> scheduled = new HashSet<>();
  private final Random random = new Random();
  private int nextPodIp = 2;
  private boolean stopped;

  WorkloadController(Vertx vertx, Context context, Registry registry, long delayMillis, boolean podsPerDeployment) {
    this.vertx = vertx;
    this.context = context;
    this.registry = registry;
    this.delayMillis = delayMillis;
    this.podsPerDeployment = podsPerDeployment;
  }

  void stop() {
    stopped = true;
  }

  @Override
  public void onChange(ObjectStore.Change change) {
    String resource = change.groupResource();
    JsonObject object = change.object();
    if (WORKLOADS.contains(resource) && !change.type().equals("DELETED")) {
      schedule(resource, Json.namespace(object), Json.name(object));
    } else if (resource.equals("pods")) {
      if (change.type().equals("ADDED") && "Pending".equals(Json.stringAt(object, "status.phase"))) {
        schedule("pods", Json.namespace(object), Json.name(object));
      } else if (change.type().equals("DELETED")) {
        // A deleted pod of a Deployment is replaced, as its ReplicaSet would do.
        for (Object o : Json.arrayAt(object, "metadata", "ownerReferences")) {
          if (o instanceof JsonObject owner && "Deployment".equals(owner.getString("kind"))) {
            schedule("deployments.apps", Json.namespace(object), owner.getString("name"));
          }
        }
      }
    }
  }

  private void schedule(String resource, String namespace, String name) {
    String key = resource + "/" + namespace + "/" + name;
    if (stopped || !scheduled.add(key)) {
      return;
    }
    Runnable run = () -> {
      scheduled.remove(key);
      if (!stopped) {
        reconcile(resource, namespace, name);
      }
    };
    if (delayMillis <= 0) {
      context.runOnContext(v -> run.run());
    } else {
      vertx.setTimer(delayMillis, id -> run.run());
    }
  }

  private void reconcile(String resource, String namespace, String name) {
    try {
      switch (resource) {
        case "deployments.apps" -> reconcileDeployment(namespace, name);
        case "pods" -> startPod(namespace, name);
        default -> reconcileWorkloadStatus(resource, namespace, name);
      }
    } catch (KubeApiException raced) {
      // Deleted or changed meanwhile: the change that did it has scheduled its own reconcile.
    }
  }

  private ResourceType type(String group, String kind) {
    return registry.catalog().findByGroupKind(group, kind).orElseThrow();
  }

  private void reconcileDeployment(String namespace, String name) {
    ResourceType deployments = type("apps", "Deployment");
    JsonObject deployment = registry.find(deployments, namespace, name);
    if (deployment == null || Json.valueAt(deployment, "metadata.deletionTimestamp") != null) {
      return;
    }
    int replicas = replicas(deployment);
    String hash = templateHash(deployment);
    if (podsPerDeployment) {
      reconcilePods(deployment, replicas, hash);
    }
    JsonObject status = workloadStatus(deployment, replicas);
    status.put("conditions", new JsonArray()
        .add(condition(deployment, "Available", "MinimumReplicasAvailable", "Deployment has minimum availability."))
        .add(condition(deployment, "Progressing", "NewReplicaSetAvailable",
            "ReplicaSet \"" + name + "-" + hash + "\" has successfully progressed.")));
    writeStatus(deployments, deployment, status);
  }

  private void reconcileWorkloadStatus(String resource, String namespace, String name) {
    ResourceType type = resource.equals("statefulsets.apps") ? type("apps", "StatefulSet") : type("apps", "ReplicaSet");
    JsonObject workload = registry.find(type, namespace, name);
    if (workload != null && Json.valueAt(workload, "metadata.deletionTimestamp") == null) {
      JsonObject status = workloadStatus(workload, replicas(workload));
      if (type.kind().equals("StatefulSet")) {
        status.put("currentReplicas", replicas(workload));
      }
      writeStatus(type, workload, status);
    }
  }

  private void writeStatus(ResourceType type, JsonObject object, JsonObject status) {
    JsonObject updated = object.copy();
    updated.put("status", status);
    registry.update(type, Json.namespace(object), Json.name(object), updated, "status",
        Registry.WriteOptions.internal(MANAGER));
  }

  /** Every replica is at once updated, ready and available; zero counts are omitted, as the real status does. */
  private static JsonObject workloadStatus(JsonObject workload, int replicas) {
    JsonObject status = new JsonObject().put("observedGeneration", Json.metadata(workload).getLong("generation", 1L));
    if (replicas > 0) {
      status.put("replicas", replicas).put("updatedReplicas", replicas).put("readyReplicas", replicas)
          .put("availableReplicas", replicas);
    }
    return status;
  }

  /** A True condition that keeps its timestamps while unchanged, so reconciling twice writes nothing. */
  private static JsonObject condition(JsonObject object, String type, String reason, String message) {
    for (Object o : Json.arrayAt(object, "status", "conditions")) {
      JsonObject existing = (JsonObject) o;
      if (type.equals(existing.getString("type")) && "True".equals(existing.getString("status"))
          && reason.equals(existing.getString("reason")) && message.equals(existing.getString("message"))) {
        return existing.copy();
      }
    }
    String now = Json.now();
    return new JsonObject().put("type", type).put("status", "True").put("lastUpdateTime", now)
        .put("lastTransitionTime", now).put("reason", reason).put("message", message);
  }

  private void reconcilePods(JsonObject deployment, int replicas, String hash) {
    ResourceType pods = type("", "Pod");
    String uid = Json.metadata(deployment).getString("uid");
    List<JsonObject> current = new ArrayList<>();
    for (JsonObject pod : List.copyOf(registry.store().entries("pods", Json.namespace(deployment)).values())) {
      if (!ownedBy(pod, uid)) {
        continue;
      }
      if (hash.equals(Json.stringAt(pod, "metadata.labels.pod-template-hash"))) {
        current.add(pod);
      } else {
        registry.delete(pods, Json.namespace(pod), Json.name(pod), new JsonObject(), false);
      }
    }
    for (int i = current.size() - 1; i >= replicas; i--) {
      registry.delete(pods, Json.namespace(current.get(i)), Json.name(current.get(i)), new JsonObject(), false);
    }
    for (int i = current.size(); i < replicas; i++) {
      registry.create(pods, Json.namespace(deployment), newPod(deployment, hash),
          Registry.WriteOptions.internal(MANAGER));
    }
  }

  private JsonObject newPod(JsonObject deployment, String hash) {
    JsonObject template = Json.objectAt(deployment, "spec", "template");
    template = template == null ? new JsonObject() : template.copy();
    JsonObject metadata = template.getJsonObject("metadata", new JsonObject());
    Json.child(metadata, "labels").put("pod-template-hash", hash);
    metadata.put("name", Json.name(deployment) + "-" + hash + "-" + ObjectRules.generateName("", random));
    metadata.put("namespace", Json.namespace(deployment));
    metadata.put("ownerReferences", new JsonArray().add(new JsonObject()
        .put("apiVersion", "apps/v1").put("kind", "Deployment").put("name", Json.name(deployment))
        .put("uid", Json.metadata(deployment).getString("uid")).put("controller", true)
        .put("blockOwnerDeletion", true)));
    JsonObject spec = template.getJsonObject("spec", new JsonObject());
    spec.put("nodeName", NODE_NAME);
    return new JsonObject().put("apiVersion", "v1").put("kind", "Pod").put("metadata", metadata).put("spec", spec);
  }

  /** What the kubelet would report once the pod's containers started. */
  private void startPod(String namespace, String name) {
    ResourceType pods = type("", "Pod");
    JsonObject pod = registry.find(pods, namespace, name);
    if (pod == null || !"Pending".equals(Json.stringAt(pod, "status.phase"))
        || Json.valueAt(pod, "metadata.deletionTimestamp") != null) {
      return;
    }
    String now = Json.now();
    JsonArray containerStatuses = new JsonArray();
    for (Object o : Json.arrayAt(pod, "spec", "containers")) {
      JsonObject container = (JsonObject) o;
      containerStatuses.add(new JsonObject()
          .put("name", container.getString("name"))
          .put("image", container.getString("image", ""))
          .put("imageID", "")
          .put("containerID", "containerd://" + Integer.toHexString(random.nextInt()))
          .put("ready", true)
          .put("started", true)
          .put("restartCount", 0)
          .put("state", new JsonObject().put("running", new JsonObject().put("startedAt", now))));
    }
    JsonArray conditions = new JsonArray();
    for (String type : List.of("Initialized", "Ready", "ContainersReady", "PodScheduled")) {
      conditions.add(new JsonObject().put("type", type).put("status", "True").put("lastTransitionTime", now));
    }
    int ip = nextPodIp++;
    JsonObject status = new JsonObject()
        .put("phase", "Running")
        .put("conditions", conditions)
        .put("hostIP", "10.0.0.1")
        .put("podIP", "10.244." + (ip / 250) + "." + (ip % 250 + 1))
        .put("startTime", now)
        .put("containerStatuses", containerStatuses)
        .put("qosClass", "BestEffort");
    writeStatus(pods, pod, status);
  }

  private static boolean ownedBy(JsonObject object, String uid) {
    for (Object o : Json.arrayAt(object, "metadata", "ownerReferences")) {
      if (o instanceof JsonObject owner && uid.equals(owner.getString("uid"))) {
        return true;
      }
    }
    return false;
  }

  private static int replicas(JsonObject workload) {
    Object replicas = Json.valueAt(workload, "spec.replicas");
    return replicas instanceof Number n ? Math.max(0, n.intValue()) : 1;
  }

  /** Stands in for the pod-template-hash: changes exactly when the pod template does. */
  private static String templateHash(JsonObject deployment) {
    JsonObject template = Json.objectAt(deployment, "spec", "template");
    String encoded = template == null ? "" : template.encode();
    String alphabet = ObjectRules.GENERATED_NAME_ALPHABET;
    long h = encoded.hashCode() & 0xffffffffL;
    StringBuilder hash = new StringBuilder();
    for (int i = 0; i < 10; i++) {
      hash.append(alphabet.charAt((int) (h % alphabet.length())));
      h = h / alphabet.length() + (i * 7919L);
    }
    return hash.toString();
  }
}
