package io.kmc.kubesim;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.HashSet;
import java.util.Set;

/**
 * A small controller-manager so the simulated cluster looks alive. It watches the store and runs,
 * {@code delayMillis} after the change that calls for it (never inside the store's listener call),
 * the sync of the controller concerned: {@link DeploymentController} (Deployments own ReplicaSets
 * and roll them), {@link ReplicaSetController} (ReplicaSets own pods), {@link PodLifecycle} (the
 * scheduler and kubelet make pods Running) and a status-only StatefulSet controller. As in the real
 * controller-manager, a change to an owned object queues its owner: a pod becoming ready queues its
 * ReplicaSet, whose new status queues its Deployment, which takes the next rollout step.
 *
 * <p>All of it writes through the {@link Registry}, so watches see every step, and records
 * {@link EventRecorder events} for what it does.
 */
final class WorkloadController implements ObjectStore.Listener {

  private static final String MANAGER = "kube-controller-manager";

  private final Vertx vertx;
  private final Context context;
  private final Registry registry;
  private final long delayMillis;
  private final DeploymentController deployments;
  private final ReplicaSetController replicaSets;
  private final PodLifecycle pods;
  private final Set<String> scheduled = new HashSet<>();
  private boolean stopped;

  WorkloadController(Vertx vertx, Context context, Registry registry, EventRecorder events, long delayMillis,
      boolean withPods) {
    this.vertx = vertx;
    this.context = context;
    this.registry = registry;
    this.delayMillis = delayMillis;
    this.deployments = new DeploymentController(registry, events);
    this.replicaSets = new ReplicaSetController(registry, events, withPods);
    this.pods = new PodLifecycle(registry, events);
  }

  void stop() {
    stopped = true;
  }

  @Override
  public void onChange(ObjectStore.Change change) {
    JsonObject object = change.object();
    String namespace = Json.namespace(object);
    String name = Json.name(object);
    boolean deleted = change.type().equals("DELETED");
    switch (change.groupResource()) {
      case "deployments.apps" -> {
        if (!deleted) {
          schedule("deployment/" + namespace + "/" + name, () -> deployments.reconcile(namespace, name));
        }
      }
      case "replicasets.apps" -> {
        if (!deleted) {
          schedule("replicaset/" + namespace + "/" + name, () -> replicaSets.reconcile(namespace, name));
        }
        queueController(object, "Deployment", "deployment",
            owner -> deployments.reconcile(namespace, owner));
      }
      case "statefulsets.apps" -> {
        if (!deleted) {
          schedule("statefulset/" + namespace + "/" + name, () -> reconcileStatefulSet(namespace, name));
        }
      }
      case "pods" -> {
        if (change.type().equals("ADDED") && "Pending".equals(Json.stringAt(object, "status.phase"))) {
          schedule("pod/" + namespace + "/" + name, () -> pods.run(namespace, name));
        }
        if (deleted) {
          JsonObject last = change.previous();
          schedule("killed/" + namespace + "/" + name + "/" + Json.metadata(object).getString("uid"),
              () -> pods.killed(last));
        }
        queueController(object, "ReplicaSet", "replicaset", owner -> replicaSets.reconcile(namespace, owner));
      }
      default -> {
      }
    }
  }

  /** Queues the sync of the object's controlling owner of the given kind, if it has one. */
  private void queueController(JsonObject object, String ownerKind, String keyPrefix,
      java.util.function.Consumer<String> sync) {
    JsonObject owner = Workloads.controllerOf(object);
    if (owner != null && ownerKind.equals(owner.getString("kind"))) {
      String ownerName = owner.getString("name");
      schedule(keyPrefix + "/" + Json.namespace(object) + "/" + ownerName, () -> sync.accept(ownerName));
    }
  }

  /** Runs {@code sync} after the delay, once however many changes asked for it meanwhile. */
  private void schedule(String key, Runnable sync) {
    if (stopped || !scheduled.add(key)) {
      return;
    }
    Runnable run = () -> {
      scheduled.remove(key);
      if (!stopped) {
        try {
          sync.run();
        } catch (KubeApiException raced) {
          // Deleted or changed meanwhile: the change that did it has queued its own sync.
        }
      }
    };
    if (delayMillis <= 0) {
      context.runOnContext(v -> run.run());
    } else {
      vertx.setTimer(delayMillis, id -> run.run());
    }
  }

  /** StatefulSets get a status that follows their spec (no pods). */
  private void reconcileStatefulSet(String namespace, String name) {
    ResourceType type = registry.catalog().findByGroupKind("apps", "StatefulSet").orElseThrow();
    JsonObject statefulSet = registry.find(type, namespace, name);
    if (statefulSet == null || Workloads.deleting(statefulSet)) {
      return;
    }
    int replicas = Workloads.replicas(statefulSet);
    JsonObject status = new JsonObject()
        .put("observedGeneration", Json.metadata(statefulSet).getLong("generation", 1L))
        .put("replicas", replicas);
    if (replicas > 0) {
      status.put("readyReplicas", replicas).put("currentReplicas", replicas).put("updatedReplicas", replicas)
          .put("availableReplicas", replicas);
    }
    Workloads.writeStatus(registry, type, statefulSet, status, MANAGER);
  }
}
