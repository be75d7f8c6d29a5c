package io.kmc.agent.index;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.kmc.common.protocol.Frame;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the index keeps of an object: metadata, the controlling owner and a small status summary per
 * kind. Nothing else of the object leaves the cluster: no spec, no data (a Secret's included).
 */
final class Summaries {

  private static final int MAX_LABELS = 64;
  private static final int MAX_TEXT = 256;

  private Summaries() {
  }

  private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

  static Frame.IndexedObject of(IndexedKind kind, JsonObject object) {
    return of(kind, object, false);
  }

  /** With {@code whole}, the object itself too, without its managed fields (never a Secret's). */
  @SuppressWarnings("unchecked")
  static Frame.IndexedObject of(IndexedKind kind, JsonObject object, boolean whole) {
    Frame.IndexedObject compact = compact(kind, object);
    if (!whole || (kind.group().isEmpty() && kind.resource().equals("secrets"))) {
      return compact;
    }
    JsonObject copy = object.deepCopy();
    if (copy.has("metadata") && copy.get("metadata").isJsonObject()) {
      copy.getAsJsonObject("metadata").remove("managedFields");
    }
    try {
      return new Frame.IndexedObject(compact.uid(), compact.namespace(), compact.name(), compact.resourceVersion(),
          compact.labels(), compact.owner(), compact.created(), compact.summary(),
          JSON.readValue(copy.toString(), Map.class));
    } catch (java.io.IOException e) {
      return compact;
    }
  }

  private static Frame.IndexedObject compact(IndexedKind kind, JsonObject object) {
    JsonObject metadata = object(object, "metadata");
    Map<String, String> labels = new LinkedHashMap<>();
    JsonObject labelObject = object(metadata, "labels");
    // Within what the hub accepts (it refuses a batch past these bounds): Kubernetes itself limits
    // label keys and values, but not how many labels an object has.
    for (Map.Entry<String, JsonElement> e : labelObject.entrySet()) {
      if (labels.size() == MAX_LABELS) {
        break;
      }
      if (e.getValue().isJsonPrimitive()) {
        labels.put(e.getKey(), e.getValue().getAsString());
      }
    }
    return new Frame.IndexedObject(string(metadata, "uid"), string(metadata, "namespace"), string(metadata, "name"),
        string(metadata, "resourceVersion"), labels, owner(metadata), string(metadata, "creationTimestamp"),
        summary(kind, object));
  }

  /** The controller among the owner references, else the first one, as {@code Kind/name}. */
  private static String owner(JsonObject metadata) {
    JsonElement refs = metadata.get("ownerReferences");
    if (refs == null || !refs.isJsonArray() || refs.getAsJsonArray().isEmpty()) {
      return null;
    }
    JsonArray array = refs.getAsJsonArray();
    JsonObject chosen = null;
    for (JsonElement ref : array) {
      if (ref.isJsonObject()) {
        JsonObject r = ref.getAsJsonObject();
        if (chosen == null || (r.has("controller") && r.get("controller").isJsonPrimitive()
            && r.get("controller").getAsBoolean())) {
          chosen = r;
        }
      }
    }
    return chosen == null ? null : string(chosen, "kind") + "/" + string(chosen, "name");
  }

  static Map<String, Object> summary(IndexedKind kind, JsonObject object) {
    JsonObject spec = object(object, "spec");
    JsonObject status = object(object, "status");
    Map<String, Object> summary = new LinkedHashMap<>();
    String key = kind.key();
    switch (key) {
      case "deployments.apps", "statefulsets.apps", "replicasets.apps" -> {
        summary.put("replicas", number(spec, "replicas", 1));
        summary.put("readyReplicas", number(status, "readyReplicas", 0));
      }
      case "daemonsets.apps" -> {
        summary.put("replicas", number(status, "desiredNumberScheduled", 0));
        summary.put("readyReplicas", number(status, "numberReady", 0));
      }
      case "pods" -> {
        putIfPresent(summary, "phase", string(status, "phase"));
        putIfPresent(summary, "node", string(spec, "nodeName"));
        long restarts = 0;
        boolean ready = true;
        JsonElement containers = status.get("containerStatuses");
        int count = 0;
        if (containers != null && containers.isJsonArray()) {
          for (JsonElement c : containers.getAsJsonArray()) {
            if (c.isJsonObject()) {
              count++;
              restarts += number(c.getAsJsonObject(), "restartCount", 0);
              JsonElement r = c.getAsJsonObject().get("ready");
              ready &= r != null && r.isJsonPrimitive() && r.getAsBoolean();
            }
          }
        }
        summary.put("restarts", restarts);
        summary.put("ready", count > 0 && ready);
      }
      case "nodes" -> summary.put("ready", "True".equals(condition(status, "Ready")));
      case "namespaces" -> putIfPresent(summary, "phase", string(status, "phase"));
      case "services" -> {
        putIfPresent(summary, "type", string(spec, "type"));
        putIfPresent(summary, "clusterIP", string(spec, "clusterIP"));
      }
      case "events" -> {
        putIfPresent(summary, "reason", string(object, "reason"));
        putIfPresent(summary, "type", string(object, "type"));
        JsonObject involved = object(object, "involvedObject");
        if (involved.has("kind")) {
          putIfPresent(summary, "involvedObject", string(involved, "kind") + "/" + string(involved, "name"));
        }
      }
      default -> {
        // Custom resources and the rest: a Ready condition is what most of them report.
        String ready = condition(status, "Ready");
        if (ready != null) {
          summary.put("ready", "True".equals(ready));
        }
      }
    }
    return summary;
  }

  private static String condition(JsonObject status, String type) {
    JsonElement conditions = status.get("conditions");
    if (conditions == null || !conditions.isJsonArray()) {
      return null;
    }
    for (JsonElement c : conditions.getAsJsonArray()) {
      if (c.isJsonObject() && type.equals(string(c.getAsJsonObject(), "type"))) {
        return string(c.getAsJsonObject(), "status");
      }
    }
    return null;
  }

  private static void putIfPresent(Map<String, Object> summary, String key, String value) {
    if (value != null) {
      summary.put(key, value.length() > MAX_TEXT ? value.substring(0, MAX_TEXT) : value);
    }
  }

  private static JsonObject object(JsonObject parent, String key) {
    JsonElement value = parent == null ? null : parent.get(key);
    return value != null && value.isJsonObject() ? value.getAsJsonObject() : new JsonObject();
  }

  private static String string(JsonObject parent, String key) {
    JsonElement value = parent.get(key);
    return value != null && value.isJsonPrimitive() ? value.getAsString() : null;
  }

  private static long number(JsonObject parent, String key, long absent) {
    JsonElement value = parent.get(key);
    try {
      return value != null && value.isJsonPrimitive() ? value.getAsLong() : absent;
    } catch (NumberFormatException e) {
      return absent;
    }
  }
}
