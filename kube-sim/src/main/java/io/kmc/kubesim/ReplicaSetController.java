package io.kmc.kubesim;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The replicaset controller: keeps as many pods as {@code spec.replicas} from the ReplicaSet's
 * template, each with the ReplicaSet as its controlling owner, and reports how many exist and are
 * ready. Excess pods go unscheduled first, then not-ready, then newest, as the real one prefers.
 * Without pods (the {@link KubeSimOptions#podsPerDeployment(boolean)} switch off) the status simply
 * reports every replica ready.
 */
final class ReplicaSetController {

  private static final String MANAGER = "kube-controller-manager";
  /** Which pods to delete first when scaling down ({@code ActivePodsWithRanks}, simplified). */
  private static final Comparator<JsonObject> DELETE_FIRST = Comparator
      .comparing((JsonObject pod) -> !Json.stringAt(pod, "spec.nodeName").isEmpty())
      .thenComparing(pod -> "Running".equals(Json.stringAt(pod, "status.phase")))
      .thenComparing(ReplicaSetController::ready)
      .thenComparing(pod -> Json.stringAt(pod, "metadata.creationTimestamp"), Comparator.reverseOrder())
      .thenComparing(Json::name, Comparator.reverseOrder());

  private final Registry registry;
  private final EventRecorder events;
  private final boolean withPods;

  ReplicaSetController(Registry registry, EventRecorder events, boolean withPods) {
    this.registry = registry;
    this.events = events;
    this.withPods = withPods;
  }

  void reconcile(String namespace, String name) {
    ResourceType replicaSets = registry.catalog().findByGroupKind("apps", "ReplicaSet").orElseThrow();
    JsonObject replicaSet = registry.find(replicaSets, namespace, name);
    if (replicaSet == null || Workloads.deleting(replicaSet)) {
      return;
    }
    int desired = Workloads.replicas(replicaSet);
    JsonObject status = new JsonObject();
    if (withPods) {
      List<JsonObject> pods = managePods(replicaSet, desired);
      int ready = (int) pods.stream().filter(ReplicaSetController::ready).count();
      status.put("replicas", pods.size()).put("fullyLabeledReplicas", pods.size());
      if (ready > 0) {
        status.put("readyReplicas", ready).put("availableReplicas", ready);
      }
    } else {
      status.put("replicas", desired).put("fullyLabeledReplicas", desired);
      if (desired > 0) {
        status.put("readyReplicas", desired).put("availableReplicas", desired);
      }
    }
    status.put("observedGeneration", Json.metadata(replicaSet).getLong("generation", 1L));
    Workloads.writeStatus(registry, replicaSets, replicaSet, status, MANAGER);
  }

  /** Creates or deletes pods until {@code desired} active ones exist; returns them. */
  private List<JsonObject> managePods(JsonObject replicaSet, int desired) {
    ResourceType pods = registry.catalog().findByGroupKind("", "Pod").orElseThrow();
    String namespace = Json.namespace(replicaSet);
    List<JsonObject> active = activePods(replicaSet, pods);
    for (int i = active.size(); i < desired; i++) {
      JsonObject created = registry.create(pods, namespace, newPod(replicaSet), Registry.WriteOptions.internal(MANAGER));
      events.normal(replicaSet, EventRecorder.REPLICASET_CONTROLLER, "SuccessfulCreate",
          "Created pod: " + Json.name(created));
      active.add(created);
    }
    if (active.size() > desired) {
      List<JsonObject> ranked = new ArrayList<>(active);
      ranked.sort(DELETE_FIRST);
      for (JsonObject pod : ranked.subList(0, active.size() - desired)) {
        registry.delete(pods, namespace, Json.name(pod), new JsonObject(), false);
        events.normal(replicaSet, EventRecorder.REPLICASET_CONTROLLER, "SuccessfulDelete",
            "Deleted pod: " + Json.name(pod));
        active.remove(pod);
      }
    }
    return active;
  }

  /** Pods this ReplicaSet controls that are not finished or going away; orphans its selector matches are adopted. */
  private List<JsonObject> activePods(JsonObject replicaSet, ResourceType pods) {
    String uid = Json.metadata(replicaSet).getString("uid");
    JsonObject selectorObject = Json.objectAt(replicaSet, "spec", "selector");
    boolean canAdopt = selectorObject != null && !selectorObject.isEmpty();
    LabelSelector selector = LabelSelector.fromObject(selectorObject);
    List<JsonObject> active = new ArrayList<>();
    // Ownership, not the selector, decides: a selector that misses the template's labels must not make it
    // lose track of its pods and create more forever. Stored objects are only read; matches are copied.
    for (JsonObject stored : registry.store().entries(pods.storageResource(), Json.namespace(replicaSet)).values()) {
      String phase = Json.stringAt(stored, "status.phase");
      if (Workloads.deleting(stored) || phase.equals("Succeeded") || phase.equals("Failed")) {
        continue;
      }
      if (Workloads.controlledBy(stored, uid)) {
        active.add(registry.get(pods, Json.namespace(stored), Json.name(stored)));
      } else if (canAdopt && Workloads.controllerOf(stored) == null && selector.matches(stored)) {
        JsonObject pod = registry.get(pods, Json.namespace(stored), Json.name(stored));
        JsonObject adopted = pod.copy();
        JsonArray owners = Json.arrayAt(adopted, "metadata", "ownerReferences").copy();
        owners.add(Workloads.controllerReference(replicaSet));
        Json.metadata(adopted).put("ownerReferences", owners);
        active.add(registry.update(pods, Json.namespace(pod), Json.name(pod), adopted, null,
            Registry.WriteOptions.internal(MANAGER)));
      }
    }
    return active;
  }

  /** A pod from the template, named by the server from {@code <replicaset>-}; the scheduler places it. */
  private static JsonObject newPod(JsonObject replicaSet) {
    JsonObject template = Json.objectAt(replicaSet, "spec", "template");
    template = template == null ? new JsonObject() : template.copy();
    JsonObject metadata = template.getJsonObject("metadata", new JsonObject());
    metadata.remove("name");
    metadata.put("generateName", Json.name(replicaSet) + "-");
    metadata.put("namespace", Json.namespace(replicaSet));
    metadata.put("ownerReferences", new JsonArray().add(Workloads.controllerReference(replicaSet)));
    return new JsonObject().put("apiVersion", "v1").put("kind", "Pod").put("metadata", metadata)
        .put("spec", template.getJsonObject("spec", new JsonObject()));
  }

  static boolean ready(JsonObject pod) {
    if (!"Running".equals(Json.stringAt(pod, "status.phase"))) {
      return false;
    }
    for (Object o : Json.arrayAt(pod, "status", "conditions")) {
      if (o instanceof JsonObject condition && "Ready".equals(condition.getString("type"))) {
        return "True".equals(condition.getString("status"));
      }
    }
    return false;
  }
}
