package io.kmc.kubesim;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * {@code metadata.managedFields}: who set which fields, in the real FieldsV1 encoding
 * ({@code f:<field>}, {@code k:<merge key json>}, {@code .}). Ownership is tracked per manager
 * and operation; {@link ServerSideApply} raises the conflicts between managers.
 */
final class ManagedFields {

  /** Metadata fields a manager can own; the rest (name, uid, resourceVersion...) belong to the server. */
  private static final Set<String> OWNABLE_METADATA = Set.of("labels", "annotations", "finalizers", "ownerReferences");

  private ManagedFields() {
  }

  /** The FieldsV1 set naming every field the object sets. */
  static JsonObject fieldSet(JsonObject object) {
    JsonObject fields = new JsonObject();
    for (String key : object.fieldNames()) {
      Object value = object.getValue(key);
      if (key.equals("apiVersion") || key.equals("kind")) {
        continue;
      }
      if (key.equals("metadata") && value instanceof JsonObject metadata) {
        JsonObject metadataFields = new JsonObject();
        for (String metaKey : metadata.fieldNames()) {
          if (OWNABLE_METADATA.contains(metaKey)) {
            metadataFields.put("f:" + metaKey, valueFields(metaKey, metadata.getValue(metaKey), new ArrayList<>()));
          }
        }
        if (!metadataFields.isEmpty()) {
          fields.put("f:metadata", metadataFields);
        }
        continue;
      }
      fields.put("f:" + key, valueFields(key, value, new ArrayList<>()));
    }
    return fields;
  }

  private static JsonObject valueFields(String field, Object value, List<String> path) {
    if (value instanceof JsonObject map) {
      JsonObject fields = new JsonObject();
      path.add(field);
      for (String key : map.fieldNames()) {
        fields.put("f:" + key, valueFields(key, map.getValue(key), path));
      }
      path.remove(path.size() - 1);
      return fields;
    }
    String mergeKey = MergeKeys.keyFor(field, path);
    if (value instanceof JsonArray list && mergeKey != null) {
      JsonObject fields = new JsonObject();
      path.add(field);
      for (Object item : list) {
        if (item instanceof JsonObject element && element.getValue(mergeKey) != null) {
          JsonObject elementFields = valueFields(field, element, path);
          JsonObject withSelf = new JsonObject().put(".", new JsonObject());
          elementFields.forEach(e -> withSelf.put(e.getKey(), e.getValue()));
          fields.put(elementKey(mergeKey, element.getValue(mergeKey)), withSelf);
        }
      }
      path.remove(path.size() - 1);
      return fields;
    }
    return new JsonObject();
  }

  static String elementKey(String mergeKey, Object keyValue) {
    return "k:" + new JsonObject().put(mergeKey, keyValue).encode();
  }

  /** Adds or refreshes the entry for one manager, operation and subresource. */
  static void record(JsonObject object, String manager, String operation, String apiVersion, String subresource,
      JsonObject fieldsV1) {
    JsonObject metadata = Json.metadata(object);
    JsonArray entries = metadata.getJsonArray("managedFields");
    if (entries == null) {
      entries = new JsonArray();
      metadata.put("managedFields", entries);
    }
    JsonObject entry = new JsonObject()
        .put("manager", manager)
        .put("operation", operation)
        .put("apiVersion", apiVersion)
        .put("time", Json.now())
        .put("fieldsType", "FieldsV1")
        .put("fieldsV1", fieldsV1);
    if (subresource != null) {
      entry.put("subresource", subresource);
    }
    for (int i = 0; i < entries.size(); i++) {
      JsonObject existing = entries.getJsonObject(i);
      if (manager.equals(existing.getString("manager")) && operation.equals(existing.getString("operation"))
          && java.util.Objects.equals(subresource, existing.getString("subresource"))) {
        if ("Update".equals(operation)) {
          entry.put("fieldsV1", union(existing.getJsonObject("fieldsV1", new JsonObject()), fieldsV1));
        }
        entries.set(i, entry);
        return;
      }
    }
    entries.add(entry);
  }

  static JsonObject fieldsOf(JsonObject object, String manager, String operation) {
    for (Object o : Json.arrayAt(object, "metadata", "managedFields")) {
      JsonObject entry = (JsonObject) o;
      if (manager.equals(entry.getString("manager")) && operation.equals(entry.getString("operation"))
          && entry.getString("subresource") == null) {
        return entry.getJsonObject("fieldsV1", new JsonObject());
      }
    }
    return new JsonObject();
  }

  /** The union of the field sets of every entry except the given manager's apply entry. */
  static JsonObject fieldsOfOthers(JsonObject object, String manager) {
    JsonObject union = new JsonObject();
    for (Object o : Json.arrayAt(object, "metadata", "managedFields")) {
      JsonObject entry = (JsonObject) o;
      if (manager.equals(entry.getString("manager")) && "Apply".equals(entry.getString("operation"))) {
        continue;
      }
      union = union(union, entry.getJsonObject("fieldsV1", new JsonObject()));
    }
    return union;
  }

  static JsonObject union(JsonObject a, JsonObject b) {
    JsonObject result = a.copy();
    for (String key : b.fieldNames()) {
      Object theirs = b.getValue(key);
      Object ours = result.getValue(key);
      if (ours instanceof JsonObject x && theirs instanceof JsonObject y) {
        result.put(key, union(x, y));
      } else {
        result.put(key, JsonPatches.copyValue(theirs));
      }
    }
    return result;
  }
}
