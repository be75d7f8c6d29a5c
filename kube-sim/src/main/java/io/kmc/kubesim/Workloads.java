package io.kmc.kubesim;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the simulated controllers share: owner references, replica counts, status conditions and
 * the pod-template-hash. Kept apart so each controller reads as its real counterpart's sync loop.
 */
final class Workloads {

  /** The label (and ReplicaSet name suffix) that tells a Deployment's pod templates apart. */
  static final String POD_TEMPLATE_HASH = "pod-template-hash";

  private Workloads() {
  }

  /** spec.replicas, with the API default of 1 when absent. */
  static int replicas(JsonObject workload) {
    Object replicas = Json.valueAt(workload, "spec.replicas");
    return replicas instanceof Number n ? Math.max(0, n.intValue()) : 1;
  }

  /** A status count such as {@code readyReplicas}; 0 when absent, as the real status omits zeros. */
  static int statusCount(JsonObject workload, String field) {
    Object value = Json.valueAt(workload, "status." + field);
    return value instanceof Number n ? n.intValue() : 0;
  }

  static boolean deleting(JsonObject object) {
    return Json.valueAt(object, "metadata.deletionTimestamp") != null;
  }

  /** The owner reference with {@code controller: true}, or null. */
  static JsonObject controllerOf(JsonObject object) {
    for (Object o : Json.arrayAt(object, "metadata", "ownerReferences")) {
      if (o instanceof JsonObject owner && Boolean.TRUE.equals(owner.getBoolean("controller"))) {
        return owner;
      }
    }
    return null;
  }

  static boolean controlledBy(JsonObject object, String ownerUid) {
    JsonObject controller = controllerOf(object);
    return controller != null && ownerUid.equals(controller.getString("uid"));
  }

  /** The reference a controller puts on what it creates, as {@code metav1.NewControllerRef} does. */
  static JsonObject controllerReference(JsonObject owner) {
    return new JsonObject()
        .put("apiVersion", owner.getString("apiVersion"))
        .put("kind", owner.getString("kind"))
        .put("name", Json.name(owner))
        .put("uid", Json.metadata(owner).getString("uid"))
        .put("controller", true)
        .put("blockOwnerDeletion", true);
  }

  /** Writes a status through the status subresource; a write that changes nothing stores nothing. */
  static JsonObject writeStatus(Registry registry, ResourceType type, JsonObject object, JsonObject status,
      String manager) {
    JsonObject updated = object.copy();
    updated.put("status", status);
    return registry.update(type, Json.namespace(object), Json.name(object), updated, "status",
        Registry.WriteOptions.internal(manager));
  }

  /**
   * A condition that keeps its timestamps while nothing about it changes, so reconciling twice
   * writes nothing: lastUpdateTime moves when reason or message do, lastTransitionTime when the
   * status does (the Deployment condition rules).
   */
  static JsonObject condition(JsonObject object, String type, String status, String reason, String message) {
    String now = Json.now();
    for (Object o : Json.arrayAt(object, "status", "conditions")) {
      JsonObject existing = (JsonObject) o;
      if (!type.equals(existing.getString("type"))) {
        continue;
      }
      boolean sameStatus = status.equals(existing.getString("status"));
      boolean sameText = reason.equals(existing.getString("reason")) && message.equals(existing.getString("message"));
      if (sameStatus && sameText) {
        return existing.copy();
      }
      return new JsonObject().put("type", type).put("status", status)
          .put("lastUpdateTime", now)
          .put("lastTransitionTime", sameStatus ? existing.getString("lastTransitionTime", now) : now)
          .put("reason", reason).put("message", message);
    }
    return new JsonObject().put("type", type).put("status", status).put("lastUpdateTime", now)
        .put("lastTransitionTime", now).put("reason", reason).put("message", message);
  }

  /**
   * The pod-template-hash of a template, in the shape the real controller gives it: a 32-bit FNV-1a
   * hash written in decimal and each digit mapped onto the "safe" alphabet (hence names such as
   * {@code web-5d4f7c6b8}). The input is the template's canonical JSON (sorted keys, no nulls, no
   * empty maps or lists) without the hash label, so a template that comes back through
   * {@code kubectl rollout undo} in Go's field order and with Go's empty values hashes the same.
   */
  static String templateHash(JsonObject template) {
    byte[] bytes = canonicalTemplate(template).getBytes(StandardCharsets.UTF_8);
    int hash = 0x811c9dc5;
    for (byte b : bytes) {
      hash ^= b & 0xff;
      hash *= 0x01000193;
    }
    String decimal = Integer.toUnsignedString(hash);
    StringBuilder safe = new StringBuilder(decimal.length());
    for (int i = 0; i < decimal.length(); i++) {
      safe.append(ObjectRules.GENERATED_NAME_ALPHABET.charAt(decimal.charAt(i) % ObjectRules.GENERATED_NAME_ALPHABET
          .length()));
    }
    return safe.toString();
  }

  /** Whether two pod templates are the same once the hash label is ignored ({@code EqualIgnoreHash}). */
  static boolean sameTemplate(JsonObject a, JsonObject b) {
    return canonicalTemplate(a).equals(canonicalTemplate(b));
  }

  /** A copy of the template without the pod-template-hash label (dropping labels if that was the only one). */
  static JsonObject withoutHashLabel(JsonObject template) {
    JsonObject copy = template == null ? new JsonObject() : template.copy();
    JsonObject labels = Json.objectAt(copy, "metadata", "labels");
    if (labels != null) {
      labels.remove(POD_TEMPLATE_HASH);
    }
    return copy;
  }

  private static String canonicalTemplate(JsonObject template) {
    Object canonical = canonical(withoutHashLabel(template));
    return canonical == null ? "{}" : new JsonObject(asMap(canonical)).encode();
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> asMap(Object canonical) {
    return (Map<String, Object>) canonical;
  }

  /** Sorted maps, no nulls, no empty maps or lists: what Go's omitempty round trip makes equal. */
  private static Object canonical(Object value) {
    if (value instanceof JsonObject object) {
      Map<String, Object> sorted = new TreeMap<>();
      object.forEach(entry -> {
        Object child = canonical(entry.getValue());
        if (child != null) {
          sorted.put(entry.getKey(), child);
        }
      });
      return sorted.isEmpty() ? null : sorted;
    }
    if (value instanceof JsonArray array) {
      List<Object> items = new java.util.ArrayList<>();
      for (Object item : array) {
        Object child = canonical(item);
        items.add(child == null ? new TreeMap<String, Object>() : child);
      }
      return items.isEmpty() ? null : items;
    }
    return value;
  }
}
