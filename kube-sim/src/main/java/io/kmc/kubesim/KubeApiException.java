package io.kmc.kubesim;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * A failure that the client must see as a Kubernetes {@code Status} object, with the same code,
 * reason and message wording the real apiserver uses (clients such as kubectl match on reason).
 */
final class KubeApiException extends RuntimeException {

  private final int code;
  private final String reason;
  private final JsonObject details;

  KubeApiException(int code, String reason, String message, JsonObject details) {
    super(message, null, false, false);
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  int code() {
    return code;
  }

  String reason() {
    return reason;
  }

  JsonObject toStatus() {
    JsonObject status = new JsonObject()
        .put("kind", "Status")
        .put("apiVersion", "v1")
        .put("metadata", new JsonObject())
        .put("status", "Failure")
        .put("message", getMessage())
        .put("reason", reason);
    if (details != null && !details.isEmpty()) {
      status.put("details", details);
    }
    return status.put("code", code);
  }

  static KubeApiException notFound(ResourceType type, String name) {
    return notFound(type.group(), type.plural(), name);
  }

  static KubeApiException notFound(String group, String resource, String name) {
    String qualified = group.isEmpty() ? resource : resource + "." + group;
    return new KubeApiException(404, "NotFound", qualified + " \"" + name + "\" not found",
        details(name, group, resource));
  }

  static KubeApiException notFoundPath(String path) {
    return new KubeApiException(404, "NotFound", "the server could not find the requested resource",
        new JsonObject().put("causes", new JsonArray().add(new JsonObject()
            .put("reason", "UnexpectedServerResponse").put("message", "404 page not found: " + path))));
  }

  static KubeApiException alreadyExists(ResourceType type, String name) {
    return new KubeApiException(409, "AlreadyExists", type.groupResource() + " \"" + name + "\" already exists",
        details(name, type.group(), type.plural()));
  }

  static KubeApiException conflict(ResourceType type, String name, String why) {
    return new KubeApiException(409, "Conflict",
        "Operation cannot be fulfilled on " + type.groupResource() + " \"" + name + "\": " + why,
        details(name, type.group(), type.plural()));
  }

  static KubeApiException staleResourceVersion(ResourceType type, String name) {
    return conflict(type, name,
        "the object has been modified; please apply your changes to the latest version and try again");
  }

  /** 422: details carry the Kind (not the resource) and one cause per bad field, as the apiserver does. */
  static KubeApiException invalid(ResourceType type, String name, String field, String problem) {
    String shownName = name == null ? "" : name;
    String message = type.kind() + " \"" + shownName + "\" is invalid: " + field + ": " + problem;
    JsonObject details = details(shownName, type.group(), type.kind())
        .put("causes", new JsonArray().add(new JsonObject()
            .put("reason", "FieldValueInvalid").put("message", problem).put("field", field)));
    return new KubeApiException(422, "Invalid", message, details);
  }

  static KubeApiException badRequest(String message) {
    return new KubeApiException(400, "BadRequest", message, null);
  }

  static KubeApiException methodNotAllowed() {
    return new KubeApiException(405, "MethodNotAllowed",
        "the server does not allow this method on the requested resource", null);
  }

  static KubeApiException unsupportedMediaType(String... supported) {
    return new KubeApiException(415, "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: "
            + String.join(", ", supported), null);
  }

  static KubeApiException unauthorized() {
    return new KubeApiException(401, "Unauthorized", "Unauthorized", null);
  }

  static KubeApiException tooLarge(long limitBytes) {
    return new KubeApiException(413, "RequestEntityTooLarge", "Request entity too large: limit is " + limitBytes,
        null);
  }

  static KubeApiException gone(String message) {
    return new KubeApiException(410, "Expired", message, null);
  }

  static KubeApiException internal(String message) {
    return new KubeApiException(500, "InternalError", message, null);
  }

  static JsonObject details(String name, String group, String kind) {
    JsonObject details = new JsonObject().put("name", name);
    if (!group.isEmpty()) {
      details.put("group", group);
    }
    return details.put("kind", kind);
  }
}
