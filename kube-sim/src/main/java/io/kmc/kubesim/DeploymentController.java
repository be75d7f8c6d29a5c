package io.kmc.kubesim;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

/**
 * The deployment controller, after kube-controller-manager's: a Deployment owns one ReplicaSet per
 * pod template (named after the template's hash), numbered by the {@code deployment.kubernetes.io/revision}
 * annotation. A template change makes a new ReplicaSet that a rolling update scales up while the
 * old ones scale down, within {@code maxSurge} and {@code maxUnavailable} (Recreate scales the old
 * ones to zero first); a template that matches an older ReplicaSet (as after
 * {@code kubectl rollout undo}) revives that one under the next revision. Old ReplicaSets beyond
 * {@code revisionHistoryLimit} are deleted, their pods with them.
 *
 * <p>Each {@link #reconcile} does one sync step from what is stored; the ReplicaSets' status
 * changes (their pods becoming ready) trigger the next one, so a rollout advances as pods come up.
 */
final class DeploymentController {

  static final String REVISION = "deployment.kubernetes.io/revision";
  static final String REVISION_HISTORY = "deployment.kubernetes.io/revision-history";
  static final String DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas";
  static final String MAX_REPLICAS = "deployment.kubernetes.io/max-replicas";
  /** Deployment annotations that are not copied onto its ReplicaSets ({@code annotationsToSkip}). */
  private static final Set<String> NOT_COPIED = Set.of("kubectl.kubernetes.io/last-applied-configuration",
      REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS, "deprecated.deployment.rollback.to");
  private static final String MANAGER = "kube-controller-manager";
  private static final Comparator<JsonObject> OLDEST_FIRST = Comparator
      .comparing((JsonObject rs) -> Json.stringAt(rs, "metadata.creationTimestamp"))
      .thenComparing(Json::name);

  /** The surge and unavailability a rolling update allows, resolved against the desired replicas. */
  record Fenceposts(int maxSurge, int maxUnavailable) {
  }

  private final Registry registry;
  private final EventRecorder events;

  DeploymentController(Registry registry, EventRecorder events) {
    this.registry = registry;
    this.events = events;
  }

  /** One sync of the named Deployment. */
  void reconcile(String namespace, String name) {
    JsonObject deployment = registry.find(deployments(), namespace, name);
    if (deployment == null || Workloads.deleting(deployment)) {
      return;
    }
    JsonObject template = templateOf(deployment);
    JsonObject newReplicaSet = null;
    List<JsonObject> old = new ArrayList<>();
    for (JsonObject replicaSet : replicaSetsOf(deployment)) {
      if (newReplicaSet == null && Workloads.sameTemplate(Json.objectAt(replicaSet, "spec", "template"), template)) {
        newReplicaSet = replicaSet;
      } else {
        old.add(replicaSet);
      }
    }
    boolean paused = Boolean.TRUE.equals(Json.valueAt(deployment, "spec.paused"));
    boolean created = false;
    if (paused) {
      if (newReplicaSet != null && replicaCount(old) == 0) {
        newReplicaSet = scale(deployment, newReplicaSet, Workloads.replicas(deployment));
      }
    } else if ("Recreate".equals(Json.stringAt(deployment, "spec.strategy.type"))) {
      scaleDownAll(deployment, old);
      if (!podsRemain(old)) {
        created = newReplicaSet == null;
        newReplicaSet = syncNewReplicaSet(deployment, newReplicaSet, old, Workloads.replicas(deployment));
        newReplicaSet = scale(deployment, newReplicaSet, Workloads.replicas(deployment));
      }
    } else {
      created = newReplicaSet == null;
      int initial = created ? newReplicas(deployment, 0, replicaCount(old)) : 0;
      newReplicaSet = syncNewReplicaSet(deployment, newReplicaSet, old, initial);
      newReplicaSet = reconcileNewReplicaSet(deployment, newReplicaSet, old);
      reconcileOldReplicaSets(deployment, newReplicaSet, old);
    }
    if (!paused) {
      cleanUp(deployment, old);
    }
    deployment = syncRevision(deployment, newReplicaSet);
    writeStatus(deployment, newReplicaSet, created, paused);
  }

  /** What a rolling update allows ({@code ResolveFenceposts}); Recreate allows no surge or unavailability. */
  static Fenceposts fenceposts(JsonObject deployment) {
    int desired = Workloads.replicas(deployment);
    if ("Recreate".equals(Json.stringAt(deployment, "spec.strategy.type"))) {
      return new Fenceposts(0, 0);
    }
    JsonObject rollingUpdate = Json.objectAt(deployment, "spec", "strategy", "rollingUpdate");
    Object surgeValue = rollingUpdate == null || rollingUpdate.getValue("maxSurge") == null ? "25%"
        : rollingUpdate.getValue("maxSurge");
    Object unavailableValue = rollingUpdate == null || rollingUpdate.getValue("maxUnavailable") == null ? "25%"
        : rollingUpdate.getValue("maxUnavailable");
    int surge = intOrPercent(surgeValue, desired, true);
    int unavailable = intOrPercent(unavailableValue, desired, false);
    if (surge == 0 && unavailable == 0) {
      // Rounding down may resolve both to zero, which would never make progress.
      unavailable = 1;
    }
    return new Fenceposts(surge, Math.min(unavailable, desired));
  }

  static int intOrPercent(Object value, int total, boolean roundUp) {
    if (value instanceof Number n) {
      return Math.max(0, n.intValue());
    }
    String text = String.valueOf(value).trim();
    try {
      if (text.endsWith("%")) {
        double percent = Integer.parseInt(text.substring(0, text.length() - 1)) * (double) total / 100;
        return Math.max(0, (int) (roundUp ? Math.ceil(percent) : Math.floor(percent)));
      }
      return Math.max(0, Integer.parseInt(text));
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  /** The revision a ReplicaSet (or Deployment) carries in its annotation; 0 when it has none. */
  static long revision(JsonObject object) {
    try {
      return Long.parseLong(annotation(object, REVISION));
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private static String annotation(JsonObject object, String key) {
    JsonObject annotations = Json.objectAt(object, "metadata", "annotations");
    Object value = annotations == null ? null : annotations.getValue(key);
    return value == null ? "" : String.valueOf(value);
  }

  private ResourceType deployments() {
    return registry.catalog().findByGroupKind("apps", "Deployment").orElseThrow();
  }

  private ResourceType replicaSets() {
    return registry.catalog().findByGroupKind("apps", "ReplicaSet").orElseThrow();
  }

  private static JsonObject templateOf(JsonObject deployment) {
    JsonObject template = Json.objectAt(deployment, "spec", "template");
    return template == null ? new JsonObject() : template;
  }

  /**
   * The ReplicaSets this Deployment controls, oldest first; ReplicaSets without a controller that its
   * selector matches are adopted (as after {@code kubectl delete deployment --cascade=orphan}).
   */
  private List<JsonObject> replicaSetsOf(JsonObject deployment) {
    String uid = Json.metadata(deployment).getString("uid");
    JsonObject selectorObject = Json.objectAt(deployment, "spec", "selector");
    boolean canAdopt = selectorObject != null && !selectorObject.isEmpty();
    LabelSelector selector = LabelSelector.fromObject(selectorObject);
    List<JsonObject> owned = new ArrayList<>();
    // Ownership, not the selector, decides (see ReplicaSetController); stored objects are only read.
    for (JsonObject stored : registry.store().entries(replicaSets().storageResource(), Json.namespace(deployment))
        .values()) {
      if (Workloads.deleting(stored)) {
        continue;
      }
      if (Workloads.controlledBy(stored, uid)) {
        owned.add(registry.get(replicaSets(), Json.namespace(stored), Json.name(stored)));
      } else if (canAdopt && Workloads.controllerOf(stored) == null && selector.matches(stored)) {
        JsonObject replicaSet = registry.get(replicaSets(), Json.namespace(stored), Json.name(stored));
        JsonObject adopted = replicaSet.copy();
        JsonArray owners = Json.arrayAt(adopted, "metadata", "ownerReferences").copy();
        owners.add(Workloads.controllerReference(deployment));
        Json.metadata(adopted).put("ownerReferences", owners);
        owned.add(registry.update(replicaSets(), Json.namespace(adopted), Json.name(adopted), adopted, null,
            Registry.WriteOptions.internal(MANAGER)));
      }
    }
    owned.sort(OLDEST_FIRST);
    return owned;
  }

  /**
   * Creates the ReplicaSet for the current template, or brings the existing one up to date: the next
   * revision when it is not the newest (a rollback), the Deployment's annotations.
   */
  private JsonObject syncNewReplicaSet(JsonObject deployment, JsonObject existing, List<JsonObject> old,
      int initialReplicas) {
    long maxOld = old.stream().mapToLong(DeploymentController::revision).max().orElse(0);
    String nextRevision = Long.toString(maxOld + 1);
    if (existing != null) {
      JsonObject updated = existing.copy();
      JsonObject annotations = Json.child(Json.metadata(updated), "annotations");
      copyAnnotations(deployment, annotations);
      long current = revision(existing);
      if (current <= maxOld) {
        String history = annotation(existing, REVISION_HISTORY);
        if (current > 0) {
          annotations.put(REVISION_HISTORY, history.isEmpty() ? Long.toString(current) : history + "," + current);
        }
        annotations.put(REVISION, nextRevision);
      }
      return registry.update(replicaSets(), Json.namespace(existing), Json.name(existing), updated, null,
          Registry.WriteOptions.internal(MANAGER));
    }
    JsonObject template = templateOf(deployment);
    for (int collisions = 0; ; collisions++) {
      String hash = Workloads.templateHash(collisions == 0 ? template
          : template.copy().put("$collisionCount", collisions));
      String name = Json.name(deployment) + "-" + hash;
      if (registry.find(replicaSets(), Json.namespace(deployment), name) == null) {
        JsonObject created = registry.create(replicaSets(), Json.namespace(deployment),
            newReplicaSet(deployment, name, hash, nextRevision, initialReplicas), Registry.WriteOptions.internal(MANAGER));
        if (initialReplicas > 0) {
          events.normal(deployment, EventRecorder.DEPLOYMENT_CONTROLLER, "ScalingReplicaSet",
              "Scaled up replica set " + name + " from 0 to " + initialReplicas);
        }
        return created;
      }
    }
  }

  private JsonObject newReplicaSet(JsonObject deployment, String name, String hash, String revision, int replicas) {
    JsonObject template = templateOf(deployment).copy();
    Json.child(Json.metadata(template), "labels").put(Workloads.POD_TEMPLATE_HASH, hash);
    JsonObject labels = Json.metadata(template).getJsonObject("labels").copy();
    JsonObject selector = Json.objectAt(deployment, "spec", "selector");
    selector = selector == null ? new JsonObject() : selector.copy();
    Json.child(selector, "matchLabels").put(Workloads.POD_TEMPLATE_HASH, hash);
    JsonObject annotations = new JsonObject();
    copyAnnotations(deployment, annotations);
    annotations.put(DESIRED_REPLICAS, Integer.toString(Workloads.replicas(deployment)));
    annotations.put(MAX_REPLICAS, Integer.toString(Workloads.replicas(deployment) + fenceposts(deployment).maxSurge()));
    annotations.put(REVISION, revision);
    JsonObject spec = new JsonObject().put("replicas", replicas);
    Object minReadySeconds = Json.valueAt(deployment, "spec.minReadySeconds");
    if (minReadySeconds != null) {
      spec.put("minReadySeconds", minReadySeconds);
    }
    spec.put("selector", selector).put("template", template);
    return new JsonObject()
        .put("apiVersion", "apps/v1")
        .put("kind", "ReplicaSet")
        .put("metadata", new JsonObject()
            .put("name", name)
            .put("namespace", Json.namespace(deployment))
            .put("labels", labels)
            .put("annotations", annotations)
            .put("ownerReferences", new JsonArray().add(Workloads.controllerReference(deployment))))
        .put("spec", spec);
  }

  private static void copyAnnotations(JsonObject deployment, JsonObject into) {
    JsonObject annotations = Json.objectAt(deployment, "metadata", "annotations");
    if (annotations != null) {
      annotations.forEach(e -> {
        if (!NOT_COPIED.contains(e.getKey())) {
          into.put(e.getKey(), e.getValue());
        }
      });
    }
  }

  /** The new ReplicaSet's size for this step: up to the desired count, within the surge ({@code NewRSNewReplicas}). */
  private static int newReplicas(JsonObject deployment, int current, int othersCount) {
    int desired = Workloads.replicas(deployment);
    int maxTotal = desired + fenceposts(deployment).maxSurge();
    int total = current + othersCount;
    if (total >= maxTotal) {
      return current;
    }
    return current + Math.max(0, Math.min(maxTotal - total, desired - current));
  }

  private JsonObject reconcileNewReplicaSet(JsonObject deployment, JsonObject newReplicaSet, List<JsonObject> old) {
    int desired = Workloads.replicas(deployment);
    int current = Workloads.replicas(newReplicaSet);
    if (current == desired) {
      return newReplicaSet;
    }
    int target = current > desired ? desired : newReplicas(deployment, current, replicaCount(old));
    return scale(deployment, newReplicaSet, target);
  }

  /** Scales old ReplicaSets down as far as availability allows: unhealthy replicas first, then the oldest. */
  private void reconcileOldReplicaSets(JsonObject deployment, JsonObject newReplicaSet, List<JsonObject> old) {
    int oldCount = replicaCount(old);
    if (oldCount == 0) {
      return;
    }
    int desired = Workloads.replicas(deployment);
    int minAvailable = desired - fenceposts(deployment).maxUnavailable();
    int newUnavailable = Workloads.replicas(newReplicaSet)
        - Workloads.statusCount(newReplicaSet, "availableReplicas");
    int maxScaledDown = oldCount + Workloads.replicas(newReplicaSet) - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) {
      return;
    }
    int cleaned = 0;
    for (int i = 0; i < old.size() && cleaned < maxScaledDown; i++) {
      JsonObject replicaSet = old.get(i);
      int replicas = Workloads.replicas(replicaSet);
      int unhealthy = replicas - Workloads.statusCount(replicaSet, "availableReplicas");
      if (replicas == 0 || unhealthy <= 0) {
        continue;
      }
      int down = Math.min(maxScaledDown - cleaned, unhealthy);
      old.set(i, scale(deployment, replicaSet, replicas - down));
      cleaned += down;
    }
    int available = Workloads.statusCount(newReplicaSet, "availableReplicas");
    for (JsonObject replicaSet : old) {
      available += Math.min(Workloads.statusCount(replicaSet, "availableReplicas"), Workloads.replicas(replicaSet));
    }
    int toScaleDown = available - minAvailable;
    for (int i = 0; i < old.size() && toScaleDown > 0; i++) {
      JsonObject replicaSet = old.get(i);
      int replicas = Workloads.replicas(replicaSet);
      if (replicas == 0) {
        continue;
      }
      int down = Math.min(replicas, toScaleDown);
      old.set(i, scale(deployment, replicaSet, replicas - down));
      toScaleDown -= down;
    }
  }

  private void scaleDownAll(JsonObject deployment, List<JsonObject> old) {
    for (int i = 0; i < old.size(); i++) {
      old.set(i, scale(deployment, old.get(i), 0));
    }
  }

  private static boolean podsRemain(List<JsonObject> old) {
    return old.stream().anyMatch(rs -> Workloads.statusCount(rs, "replicas") > 0);
  }

  /** Sets a ReplicaSet's size (and the desired/max annotations), with the event the real controller records. */
  private JsonObject scale(JsonObject deployment, JsonObject replicaSet, int replicas) {
    int from = Workloads.replicas(replicaSet);
    String desired = Integer.toString(Workloads.replicas(deployment));
    String max = Integer.toString(Workloads.replicas(deployment) + fenceposts(deployment).maxSurge());
    if (from == replicas && desired.equals(annotation(replicaSet, DESIRED_REPLICAS))
        && max.equals(annotation(replicaSet, MAX_REPLICAS))) {
      return replicaSet;
    }
    JsonObject updated = replicaSet.copy();
    Json.child(updated, "spec").put("replicas", replicas);
    Json.child(Json.metadata(updated), "annotations").put(DESIRED_REPLICAS, desired).put(MAX_REPLICAS, max);
    JsonObject stored = registry.update(replicaSets(), Json.namespace(replicaSet), Json.name(replicaSet), updated,
        null, Registry.WriteOptions.internal(MANAGER));
    if (from != replicas) {
      events.normal(deployment, EventRecorder.DEPLOYMENT_CONTROLLER, "ScalingReplicaSet", "Scaled "
          + (replicas > from ? "up" : "down") + " replica set " + Json.name(replicaSet) + " from " + from + " to "
          + replicas);
    }
    return stored;
  }

  /** Deletes the oldest revisions that are scaled to zero beyond {@code revisionHistoryLimit}. */
  private void cleanUp(JsonObject deployment, List<JsonObject> old) {
    Object limitValue = Json.valueAt(deployment, "spec.revisionHistoryLimit");
    if (!(limitValue instanceof Number limit)) {
      return;
    }
    List<JsonObject> cleanable = new ArrayList<>();
    for (JsonObject replicaSet : old) {
      if (Workloads.replicas(replicaSet) == 0 && Workloads.statusCount(replicaSet, "replicas") == 0) {
        cleanable.add(replicaSet);
      }
    }
    cleanable.sort(Comparator.comparingLong(DeploymentController::revision));
    for (int i = 0; i < cleanable.size() - limit.intValue(); i++) {
      JsonObject replicaSet = cleanable.get(i);
      registry.delete(replicaSets(), Json.namespace(replicaSet), Json.name(replicaSet), new JsonObject(), false);
      old.remove(replicaSet);
    }
  }

  /** The Deployment carries its newest revision in the same annotation as its ReplicaSets. */
  private JsonObject syncRevision(JsonObject deployment, JsonObject newReplicaSet) {
    if (newReplicaSet == null) {
      return deployment;
    }
    String revision = Long.toString(revision(newReplicaSet));
    if (revision.equals(annotation(deployment, REVISION))) {
      return deployment;
    }
    JsonObject updated = deployment.copy();
    Json.child(Json.metadata(updated), "annotations").put(REVISION, revision);
    return registry.update(deployments(), Json.namespace(deployment), Json.name(deployment), updated, null,
        Registry.WriteOptions.internal(MANAGER));
  }

  /** The status {@code kubectl rollout status} waits on, from the ReplicaSets' own status. */
  private void writeStatus(JsonObject deployment, JsonObject newReplicaSet, boolean created, boolean paused) {
    int desired = Workloads.replicas(deployment);
    int replicas = 0;
    int ready = 0;
    int available = 0;
    for (JsonObject replicaSet : replicaSetsOf(deployment)) {
      replicas += Workloads.statusCount(replicaSet, "replicas");
      ready += Workloads.statusCount(replicaSet, "readyReplicas");
      available += Workloads.statusCount(replicaSet, "availableReplicas");
    }
    JsonObject freshNew = newReplicaSet == null ? null
        : registry.find(replicaSets(), Json.namespace(newReplicaSet), Json.name(newReplicaSet));
    int updated = freshNew == null ? 0 : Workloads.statusCount(freshNew, "replicas");
    JsonObject status = new JsonObject()
        .put("observedGeneration", Json.metadata(deployment).getLong("generation", 1L));
    putIfPositive(status, "replicas", replicas);
    putIfPositive(status, "updatedReplicas", updated);
    putIfPositive(status, "readyReplicas", ready);
    putIfPositive(status, "availableReplicas", available);
    putIfPositive(status, "unavailableReplicas", desired - available);
    int minAvailable = desired - fenceposts(deployment).maxUnavailable();
    JsonArray conditions = new JsonArray();
    conditions.add(available >= minAvailable
        ? Workloads.condition(deployment, "Available", "True", "MinimumReplicasAvailable",
            "Deployment has minimum availability.")
        : Workloads.condition(deployment, "Available", "False", "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability."));
    String newName = newReplicaSet == null ? "" : Json.name(newReplicaSet);
    boolean complete = updated == desired && replicas == desired && available == desired;
    if (paused) {
      conditions.add(Workloads.condition(deployment, "Progressing", "Unknown", "DeploymentPaused",
          "Deployment is paused"));
    } else if (complete && newReplicaSet != null) {
      conditions.add(Workloads.condition(deployment, "Progressing", "True", "NewReplicaSetAvailable",
          "ReplicaSet \"" + newName + "\" has successfully progressed."));
    } else if (created) {
      conditions.add(Workloads.condition(deployment, "Progressing", "True", "NewReplicaSetCreated",
          "Created new replica set \"" + newName + "\""));
    } else if (newReplicaSet != null) {
      conditions.add(Workloads.condition(deployment, "Progressing", "True", "ReplicaSetUpdated",
          "ReplicaSet \"" + newName + "\" is progressing."));
    }
    status.put("conditions", conditions);
    Object collisionCount = Json.valueAt(deployment, "status.collisionCount");
    if (collisionCount != null) {
      status.put("collisionCount", collisionCount);
    }
    Workloads.writeStatus(registry, deployments(), deployment, status, MANAGER);
  }

  private static void putIfPositive(JsonObject status, String field, int value) {
    if (value > 0) {
      status.put(field, value);
    }
  }

  private static int replicaCount(List<JsonObject> replicaSets) {
    return replicaSets.stream().mapToInt(Workloads::replicas).sum();
  }
}
