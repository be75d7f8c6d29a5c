package io.kmc.hub.propagation;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Comparisons of Kubernetes objects: whether a live object still holds what kmc applied (drift),
 * what a change would do (the dry run's diff), and a workload's health.
 */
public final class ObjectDiff {

  /** Fields the API server keeps for itself: never a difference. */
  private static final Set<String> SERVER_METADATA = Set.of("managedFields", "resourceVersion", "generation", "uid",
      "creationTimestamp", "selfLink");

  private ObjectDiff() {
  }

  /**
   * The paths where {@code live} no longer holds what {@code applied} set: the fields kmc applied,
   * which server-side apply made kmc's (its managed fields). Fields the cluster or others added
   * (defaults, status, other managers' labels) are not drift. Lists of named objects (containers,
   * ports) are matched by name; other lists must be equal.
   */
  public static List<String> drift(JsonObject applied, JsonObject live) {
    List<String> paths = new ArrayList<>();
    JsonObject desired = applied.copy();
    if (desired.getValue("metadata") instanceof JsonObject metadata) {
      metadata.remove("namespace"); // the live object always has one
    }
    subset(desired, live, "", paths);
    return paths;
  }

  private static void subset(Object desired, Object live, String path, List<String> out) {
    if (desired instanceof JsonObject d) {
      if (!(live instanceof JsonObject l)) {
        out.add(path.isEmpty() ? "/" : path);
        return;
      }
      for (String key : d.fieldNames()) {
        subset(d.getValue(key), l.getValue(key), path + "/" + key, out);
      }
    } else if (desired instanceof JsonArray d) {
      if (!(live instanceof JsonArray l)) {
        out.add(path);
        return;
      }
      if (named(d)) {
        for (Object item : d) {
          JsonObject wanted = (JsonObject) item;
          Object match = l.stream().filter(o -> o instanceof JsonObject j
              && Objects.equals(j.getValue("name"), wanted.getValue("name"))).findFirst().orElse(null);
          subset(wanted, match, path + "[name=" + wanted.getValue("name") + "]", out);
        }
      } else if (d.size() != l.size()) {
        out.add(path);
      } else {
        for (int i = 0; i < d.size(); i++) {
          subset(d.getValue(i), l.getValue(i), path + "/" + i, out);
        }
      }
    } else if (!same(desired, live)) {
      out.add(path);
    }
  }

  private static boolean named(JsonArray array) {
    return !array.isEmpty() && array.stream().allMatch(o -> o instanceof JsonObject j && j.getValue("name") != null);
  }

  private static boolean same(Object a, Object b) {
    if (a instanceof Number x && b instanceof Number y) {
      return x.doubleValue() == y.doubleValue();
    }
    return Objects.equals(a, b);
  }

  /**
   * Every difference between two versions of an object ({@code before} null: it is created), as
   * {@code {path, from, to}} entries; server metadata and status are left out.
   */
  public static JsonArray diff(JsonObject before, JsonObject after) {
    JsonArray out = new JsonArray();
    full(clean(before), clean(after), "", out);
    return out;
  }

  private static Object clean(JsonObject object) {
    if (object == null) {
      return null;
    }
    JsonObject copy = object.copy();
    copy.remove("status");
    if (copy.getValue("metadata") instanceof JsonObject metadata) {
      SERVER_METADATA.forEach(metadata::remove);
    }
    return copy;
  }

  private static void full(Object before, Object after, String path, JsonArray out) {
    if (before instanceof JsonObject b && after instanceof JsonObject a) {
      java.util.TreeSet<String> keys = new java.util.TreeSet<>(b.fieldNames());
      keys.addAll(a.fieldNames());
      for (String key : keys) {
        full(b.getValue(key), a.getValue(key), path + "/" + key, out);
      }
    } else if (before instanceof JsonArray b && after instanceof JsonArray a && b.size() == a.size()) {
      for (int i = 0; i < b.size(); i++) {
        full(b.getValue(i), a.getValue(i), path + "/" + i, out);
      }
    } else if (!same(before, after)) {
      JsonObject change = new JsonObject().put("path", path.isEmpty() ? "/" : path);
      if (before != null) {
        change.put("from", before);
      }
      if (after != null) {
        change.put("to", after);
      }
      out.add(change);
    }
  }

  /**
   * A workload's health from its live object: replicas wanted, available and updated, and whether
   * its rollout is complete (the controller saw the latest spec and every replica is updated and available).
   */
  public static JsonObject health(JsonObject live) {
    String kind = live.getString("kind", "");
    JsonObject spec = live.getValue("spec") instanceof JsonObject s ? s : new JsonObject();
    JsonObject status = live.getValue("status") instanceof JsonObject s ? s : new JsonObject();
    JsonObject metadata = live.getValue("metadata") instanceof JsonObject m ? m : new JsonObject();
    long generation = metadata.getLong("generation", 0L);
    boolean observed = status.getLong("observedGeneration", 0L) >= generation;
    int wanted;
    int available;
    int updated;
    if ("DaemonSet".equals(kind)) {
      wanted = status.getInteger("desiredNumberScheduled", 0);
      available = status.getInteger("numberAvailable", 0);
      updated = status.getInteger("updatedNumberScheduled", 0);
    } else {
      wanted = spec.getInteger("replicas", 1);
      available = status.getInteger("StatefulSet".equals(kind) ? "readyReplicas" : "availableReplicas", 0);
      updated = status.getInteger("updatedReplicas", 0);
    }
    boolean complete = observed && available >= wanted && updated >= wanted;
    return new JsonObject().put("kind", kind).put("name", metadata.getString("name"))
        .put("namespace", metadata.getString("namespace")).put("replicas", wanted).put("availableReplicas", available)
        .put("updatedReplicas", updated).put("rolloutComplete", complete);
  }
}
