package io.kmc.kubesim;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
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

  /** A field another manager owns and the apply would change: {@code keys} is its FieldsV1 path. */
  record Conflict(String manager, String apiVersion, List<String> keys) {

    /** The field as the apiserver names it: {@code .spec.containers[name="web"].image}. */
    String field() {
      StringBuilder field = new StringBuilder();
      for (String key : keys) {
        if (key.startsWith("f:")) {
          field.append('.').append(key.substring(2));
        } else if (key.startsWith("k:")) {
          JsonObject mergeKey = new JsonObject(key.substring(2));
          for (String name : mergeKey.fieldNames()) {
            field.append('[').append(name).append("=\"").append(mergeKey.getValue(name)).append("\"]");
          }
        }
      }
      return field.toString();
    }
  }

  /** The fields that {@code config} would change while another manager than {@code manager} owns them. */
  static List<Conflict> conflicts(JsonObject live, JsonObject config, String manager) {
    JsonObject applied = ManagedFields.fieldSet(config);
    List<Conflict> conflicts = new ArrayList<>();
    for (Object o : Json.arrayAt(live, "metadata", "managedFields")) {
      JsonObject entry = (JsonObject) o;
      if (manager.equals(entry.getString("manager"))) {
        continue;
      }
      List<List<String>> fields = new ArrayList<>();
      changedLeaves(applied, entry.getJsonObject("fieldsV1", new JsonObject()), config, live, new ArrayList<>(), fields);
      for (List<String> keys : fields) {
        conflicts.add(new Conflict(entry.getString("manager"), entry.getString("apiVersion", ""), keys));
      }
    }
    return conflicts;
  }

  /** Leaves in both field sets whose applied value differs from the live one, as paths of FieldsV1 keys. */
  private static void changedLeaves(JsonObject mine, JsonObject theirs, Object configNode, Object liveNode,
      List<String> path, List<List<String>> found) {
    for (String key : mine.fieldNames()) {
      if (key.equals(".") || !(theirs.getValue(key) instanceof JsonObject theirChild)) {
        continue;
      }
      JsonObject myChild = mine.getJsonObject(key);
      Object configValue = child(configNode, key);
      Object liveValue = child(liveNode, key);
      path.add(key);
      if (myChild.isEmpty() || theirChild.isEmpty()) {
        if (!sameValue(configValue, liveValue)) {
          found.add(List.copyOf(path));
        }
      } else {
        changedLeaves(myChild, theirChild, configValue, liveValue, path, found);
      }
      path.remove(path.size() - 1);
    }
  }

  /** YAML and JSON may give one number as an Integer and the other as a Long. */
  private static boolean sameValue(Object a, Object b) {
    if (a instanceof Number x && b instanceof Number y) {
      return new java.math.BigDecimal(x.toString()).compareTo(new java.math.BigDecimal(y.toString())) == 0;
    }
    return java.util.Objects.equals(a, b);
  }

  /** The 409 the apiserver answers an apply without force that would change other managers' fields. */
  static KubeApiException conflictError(ResourceType type, String name, List<Conflict> conflicts) {
    Map<String, List<Conflict>> byManager = new LinkedHashMap<>();
    conflicts.forEach(c -> byManager.computeIfAbsent(c.manager(), m -> new ArrayList<>()).add(c));
    StringBuilder message = new StringBuilder("Apply failed with ").append(conflicts.size())
        .append(conflicts.size() == 1 ? " conflict: " : " conflicts: ");
    JsonArray causes = new JsonArray();
    String separator = "";
    for (Map.Entry<String, List<Conflict>> entry : byManager.entrySet()) {
      List<Conflict> own = entry.getValue();
      String with = "conflict with \"" + entry.getKey() + "\" using " + own.get(0).apiVersion();
      message.append(separator);
      if (own.size() == 1) {
        message.append(with).append(": ").append(own.get(0).field());
      } else {
        message.append("conflicts with \"").append(entry.getKey()).append("\" using ").append(own.get(0).apiVersion()).append(':');
        own.forEach(c -> message.append("\n- ").append(c.field()));
      }
      separator = "\n";
      own.forEach(c -> causes.add(new JsonObject().put("reason", "FieldManagerConflict").put("message", with)
          .put("field", c.field())));
    }
    JsonObject details = KubeApiException.details(name, type.group(), type.plural()).put("causes", causes);
    return new KubeApiException(409, "Conflict", message.toString(), details);
  }

  /** The object after applying {@code config} for {@code manager}; {@code live} is null for apply-create. */
  static JsonObject apply(JsonObject live, JsonObject config, String manager, String apiVersion) {
    return apply(live, config, manager, apiVersion, List.of());
  }

  /**
   * The object after applying {@code config} for {@code manager}, which takes over {@code forced} (the
   * conflicts of an apply with force=true) from the managers that owned them.
   */
  static JsonObject apply(JsonObject live, JsonObject config, String manager, String apiVersion, List<Conflict> forced) {
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
    for (Conflict taken : forced) {
      for (Object o : Json.arrayAt(result, "metadata", "managedFields")) {
        JsonObject entry = (JsonObject) o;
        if (taken.manager().equals(entry.getString("manager"))) {
          release(entry.getJsonObject("fieldsV1", new JsonObject()), taken.keys(), 0);
        }
      }
    }
    return result;
  }

  /** Takes one field out of a manager's set, and the maps that held nothing else. */
  private static void release(JsonObject fields, List<String> keys, int depth) {
    String key = keys.get(depth);
    if (depth == keys.size() - 1) {
      fields.remove(key);
      return;
    }
    if (fields.getValue(key) instanceof JsonObject child) {
      release(child, keys, depth + 1);
      if (child.isEmpty() || (child.size() == 1 && child.containsKey("."))) {
        fields.remove(key);
      }
    }
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
