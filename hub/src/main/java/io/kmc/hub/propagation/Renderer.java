package io.kmc.hub.propagation;

import io.kmc.common.KmcException;
import io.kmc.hub.policy.Patches;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Renders a propagation's objects for one cluster. Overrides that select the cluster are applied in
 * the order they are listed; within one override, in this fixed order: {@code images},
 * {@code replicas}, {@code labels}, {@code annotations}, {@code mergePatch}, then {@code jsonPatch}
 * (so a JSON patch sees, and may undo, everything before it). An override with a {@code target}
 * changes only the objects of that kind and/or name; images and replicas only change workloads
 * (objects with a pod template or {@code spec.replicas}).
 */
public final class Renderer {

  private Renderer() {
  }

  /** The final objects for the cluster, in dependency order; 400 if an override cannot apply. */
  public static List<JsonObject> render(Propagation propagation, String cluster, Map<String, String> labels) {
    List<JsonObject> rendered = new ArrayList<>();
    for (JsonObject resource : Manifests.ordered(propagation.resources())) {
      JsonObject object = resource.copy();
      for (int i = 0; i < propagation.overrides().size(); i++) {
        Propagation.Override o = propagation.overrides().get(i);
        if (o.selects(cluster, labels) && o.targets(object)) {
          try {
            object = apply(o, object);
          } catch (KmcException e) {
            throw KmcException.badRequest("spec.overrides[" + i + "] cannot apply to " + Manifests.kind(object) + " "
                + Manifests.name(object) + " for cluster " + cluster + ": " + e.getMessage());
          }
        }
      }
      rendered.add(object);
    }
    return rendered;
  }

  private static JsonObject apply(Propagation.Override o, JsonObject object) {
    JsonObject podSpec = podSpec(object);
    for (Propagation.ImageOverride image : o.images()) {
      if (podSpec == null) {
        continue;
      }
      for (String list : new String[] {"initContainers", "containers"}) {
        if (podSpec.getValue(list) instanceof JsonArray containers) {
          for (Object c : containers) {
            if (c instanceof JsonObject container
                && (image.container() == null || image.container().equals(container.getString("name")))) {
              container.put("image", image.image());
            }
          }
        }
      }
    }
    if (o.replicas() != null && object.getValue("spec") instanceof JsonObject spec
        && (spec.containsKey("replicas") || podSpec != null) && !"DaemonSet".equals(Manifests.kind(object))) {
      spec.put("replicas", o.replicas());
    }
    JsonObject metadata = object.getJsonObject("metadata");
    if (!o.labels().isEmpty()) {
      JsonObject labels = metadata.getValue("labels") instanceof JsonObject l ? l : new JsonObject();
      o.labels().forEach(labels::put);
      metadata.put("labels", labels);
    }
    if (!o.annotations().isEmpty()) {
      JsonObject annotations = metadata.getValue("annotations") instanceof JsonObject a ? a : new JsonObject();
      o.annotations().forEach(annotations::put);
      metadata.put("annotations", annotations);
    }
    if (o.mergePatch() != null) {
      object = Patches.apply(Patches.MERGE_PATCH, object, o.mergePatch());
    }
    if (o.jsonPatch() != null) {
      object = Patches.apply(Patches.JSON_PATCH, object, o.jsonPatch());
    }
    return object;
  }

  /** The pod spec of a workload ({@code spec.template.spec}, or a CronJob's job template's), or null. */
  private static JsonObject podSpec(JsonObject object) {
    if (!(object.getValue("spec") instanceof JsonObject spec)) {
      return null;
    }
    if (spec.getValue("jobTemplate") instanceof JsonObject job && job.getValue("spec") instanceof JsonObject jobSpec) {
      spec = jobSpec;
    }
    return spec.getValue("template") instanceof JsonObject template
        && template.getValue("spec") instanceof JsonObject podSpec ? podSpec : null;
  }
}
