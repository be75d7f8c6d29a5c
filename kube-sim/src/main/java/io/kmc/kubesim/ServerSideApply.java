package io.kmc.kubesim;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.Map;

/**
 * Server-side apply ({@code PATCH} with {@code application/apply-patch+yaml}), simplified: the
 * applied configuration is merged into the live object (maps by key, lists by merge key), fields
 * this manager applied before but no longer mentions are removed unless another manager also owns
 * them, and the manager's {@code Apply} entry in managedFields records what it now owns.
 * Conflicts with other managers are not raised (every apply behaves as if {@code force=true}).
 */
final class ServerSideApply {

  private ServerSideApply() {
  }

  /** The object after applying {@code config} for {@code manager}; {@code live} is null for apply-create. */
  static JsonObject apply(JsonObject live, JsonObject config, String manager, String apiVersion) {
    JsonObject applied = ManagedFields.fieldSet(config);
    JsonObject result;
    if (live == null) {
      result = config.copy();
    } else {
      JsonObject previouslyApplied = ManagedFields.fieldsOf(live, manager, "Apply");
      JsonObject ownedByOthers = ManagedFields.fieldsOfOthers(live, manager);
      result = StrategicMergePatch.apply(live, withoutServerMetadata(config));
      removeReleased(result, previouslyApplied, applied, ownedByOthers);
    }
    ManagedFields.record(result, manager, "Apply", apiVersion, null, applied);
    return result;
  }

  /** The client may send a stale resourceVersion or managedFields in its config; neither is applied. */
  private static JsonObject withoutServerMetadata(JsonObject config) {
    JsonObject clean = config.copy();
    JsonObject metadata = clean.getJsonObject("metadata");
    if (metadata != null) {
      metadata.remove("managedFields");
      metadata.remove("resourceVersion");
      metadata.remove("uid");
      metadata.remove("creationTimestamp");
      metadata.remove("generation");
    }
    return clean;
  }

  /** Removes from {@code node} what {@code before} owned, {@code now} does not, and nobody else owns. */
  private static void removeReleased(Object node, JsonObject before, JsonObject now, JsonObject others) {
    for (Map.Entry<String, Object> entry : before) {
      String key = entry.getKey();
      if (key.equals(".")) {
        continue;
      }
      JsonObject stillApplied = now == null ? null : now.getJsonObject(key);
      JsonObject otherOwned = others == null ? null : others.getJsonObject(key);
      if (stillApplied == null) {
        if (otherOwned == null) {
          removeChild(node, key);
        }
        continue;
      }
      Object child = child(node, key);
      if (child != null && entry.getValue() instanceof JsonObject beforeChild) {
        removeReleased(child, beforeChild, stillApplied, otherOwned);
      }
    }
  }

  private static Object child(Object node, String key) {
    if (node instanceof JsonObject map && key.startsWith("f:")) {
      return map.getValue(key.substring(2));
    }
    if (node instanceof JsonArray list && key.startsWith("k:")) {
      int index = elementIndex(list, new JsonObject(key.substring(2)));
      return index < 0 ? null : list.getValue(index);
    }
    return null;
  }

  private static void removeChild(Object node, String key) {
    if (node instanceof JsonObject map && key.startsWith("f:")) {
      map.remove(key.substring(2));
    } else if (node instanceof JsonArray list && key.startsWith("k:")) {
      int index = elementIndex(list, new JsonObject(key.substring(2)));
      if (index >= 0) {
        list.remove(index);
      }
    }
  }

  private static int elementIndex(JsonArray list, JsonObject keyFields) {
    for (int i = 0; i < list.size(); i++) {
      if (list.getValue(i) instanceof JsonObject element) {
        boolean matches = true;
        for (String field : new ArrayList<>(keyFields.fieldNames())) {
          if (!String.valueOf(keyFields.getValue(field)).equals(String.valueOf(element.getValue(field)))) {
            matches = false;
          }
        }
        if (matches) {
          return i;
        }
      }
    }
    return -1;
  }
}
