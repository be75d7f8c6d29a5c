package io.kmc.kubesim;

import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;

/** The {@code scale} subresource: an autoscaling/v1 Scale view of a workload's replicas. */
final class Scale {

  private Scale() {
  }

  static JsonObject of(ResourceType type, JsonObject object) {
    JsonObject metadata = object.getJsonObject("metadata");
    JsonObject scaleMetadata = new JsonObject()
        .put("name", metadata.getString("name"))
        .put("namespace", metadata.getString("namespace"))
        .put("uid", metadata.getString("uid"))
        .put("resourceVersion", metadata.getString("resourceVersion"))
        .put("creationTimestamp", metadata.getString("creationTimestamp"));
    Object statusReplicas = Json.valueAt(object, "status.replicas");
    return new JsonObject()
        .put("kind", "Scale")
        .put("apiVersion", "autoscaling/v1")
        .put("metadata", scaleMetadata)
        .put("spec", new JsonObject().put("replicas", replicas(object)))
        .put("status", new JsonObject()
            .put("replicas", statusReplicas instanceof Number n ? n.intValue() : 0)
            .put("selector", selector(object)));
  }

  /** Applies a (possibly patched) Scale to its workload; a stale resourceVersion in it is a 409. */
  static JsonObject update(Registry registry, ResourceType type, String namespace, String name, JsonObject scale,
      Registry.WriteOptions options) {
    JsonObject existing = registry.get(type, namespace, name);
    String expected = Json.stringAt(scale, "metadata.resourceVersion");
    if (!expected.isEmpty() && !expected.equals(Json.stringAt(existing, "metadata.resourceVersion"))) {
      throw KubeApiException.staleResourceVersion(type, name);
    }
    Object replicas = Json.valueAt(scale, "spec.replicas");
    if (!(replicas instanceof Number count) || count.intValue() < 0) {
      throw new KubeApiException(422, "Invalid", "Scale.autoscaling \"" + name
          + "\" is invalid: spec.replicas: Invalid value: " + replicas + ": must be greater than or equal to 0",
          null);
    }
    JsonObject updated = existing.copy();
    Json.child(updated, "spec").put("replicas", count.intValue());
    return of(type, registry.update(type, namespace, name, updated, null, options));
  }

  private static int replicas(JsonObject object) {
    Object replicas = Json.valueAt(object, "spec.replicas");
    return replicas instanceof Number n ? n.intValue() : 1;
  }

  private static String selector(JsonObject object) {
    JsonObject matchLabels = Json.objectAt(object, "spec", "selector", "matchLabels");
    if (matchLabels == null) {
      matchLabels = Json.objectAt(object, "spec", "selector");
    }
    if (matchLabels == null) {
      return "";
    }
    List<String> terms = new ArrayList<>();
    matchLabels.forEach(e -> {
      if (e.getValue() instanceof String value) {
        terms.add(e.getKey() + "=" + value);
      }
    });
    return String.join(",", terms);
  }
}
