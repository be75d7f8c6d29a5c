package io.kmc.kubesim;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/** Small helpers for walking Kubernetes objects held as Vert.x JSON. */
final class Json {

  private Json() {
  }

  /** The value at a dotted path ("status.phase"), or null when any step is missing. */
  static Object valueAt(JsonObject object, String dottedPath) {
    Object current = object;
    for (String step : dottedPath.split("\\.")) {
      if (!(current instanceof JsonObject json)) {
        return null;
      }
      current = json.getValue(step);
    }
    return current;
  }

  /** The value at a dotted path as text; "" when missing, as field selectors compare it. */
  static String stringAt(JsonObject object, String dottedPath) {
    Object value = valueAt(object, dottedPath);
    return value == null ? "" : String.valueOf(value);
  }

  static JsonObject metadata(JsonObject object) {
    JsonObject metadata = object.getJsonObject("metadata");
    if (metadata == null) {
      metadata = new JsonObject();
      object.put("metadata", metadata);
    }
    return metadata;
  }

  static String name(JsonObject object) {
    JsonObject metadata = object.getJsonObject("metadata");
    return metadata == null ? null : metadata.getString("name");
  }

  static String namespace(JsonObject object) {
    JsonObject metadata = object.getJsonObject("metadata");
    return metadata == null ? null : metadata.getString("namespace");
  }

  static JsonObject objectAt(JsonObject object, String... path) {
    JsonObject current = object;
    for (String step : path) {
      if (current == null) {
        return null;
      }
      Object value = current.getValue(step);
      current = value instanceof JsonObject json ? json : null;
    }
    return current;
  }

  static JsonArray arrayAt(JsonObject object, String... path) {
    JsonObject parent = objectAt(object, java.util.Arrays.copyOf(path, path.length - 1));
    if (parent == null) {
      return new JsonArray();
    }
    Object value = parent.getValue(path[path.length - 1]);
    return value instanceof JsonArray array ? array : new JsonArray();
  }

  /** Like {@code getJsonObject} but creating (and attaching) the child when it is absent. */
  static JsonObject child(JsonObject parent, String key) {
    Object value = parent.getValue(key);
    if (value instanceof JsonObject json) {
      return json;
    }
    JsonObject created = new JsonObject();
    parent.put(key, created);
    return created;
  }

  /** RFC 3339 with second precision, as Kubernetes timestamps are written. */
  static String now() {
    return Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
  }
}
