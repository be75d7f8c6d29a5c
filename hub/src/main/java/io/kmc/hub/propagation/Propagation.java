package io.kmc.hub.propagation;

import io.kmc.common.KmcException;
import io.kmc.hub.policy.LabelSelector;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A propagation manifest ({@code apiVersion: kmc.io/v1alpha1, kind: Propagation}), read and
 * checked: every mistake is a 400 naming the field. See docs/propagation.md for the format.
 *
 * @param resources  the objects to propagate, in the order written (applied in dependency order)
 * @param placement  which clusters get them
 * @param overrides  per-cluster changes, applied in the order listed
 */
public record Propagation(String name, List<JsonObject> resources, Placement placement, List<Override> overrides,
                          Rollout rollout, boolean force, boolean orphan, DriftMode drift) {

  /**
   * The same propagation, taking fields over from other field managers: a drift repair restores what a
   * hand edit changed, and the edit made its manager the owner of those fields, so a plain apply conflicts.
   */
  public Propagation forcing() {
    return new Propagation(name, resources, placement, overrides, rollout, true, orphan, drift);
  }

  public static final String API_VERSION = "kmc.io/v1alpha1";
  public static final String KIND = "Propagation";
  public static final int MAX_RESOURCES = 100;
  public static final int DEFAULT_PROGRESS_DEADLINE = 600;
  private static final Pattern NAME = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
  private static final Set<String> SPEC_FIELDS = Set.of("resources", "manifests", "placement", "overrides", "rollout",
      "conflictResolution", "deletionPolicy", "drift");

  /** What happens when an applied object no longer matches what kmc applied. */
  public enum DriftMode { REPAIR, REPORT, IGNORE }

  /** Cluster names and/or a selector over cluster labels (both: either matches); at most {@code maxClusters}. */
  public record Placement(List<String> clusters, LabelSelector selector, int maxClusters) {
    public boolean matches(String cluster, Map<String, String> labels) {
      return clusters.contains(cluster) || (selector != null && selector.matches(labels));
    }
  }

  /** Changes to the objects of the clusters it selects; see {@link Renderer} for the order. */
  public record Override(List<String> clusters, LabelSelector selector, String kind, String objectName,
                         List<ImageOverride> images, Integer replicas, Map<String, String> labels,
                         Map<String, String> annotations, JsonObject mergePatch, JsonArray jsonPatch) {
    public boolean selects(String cluster, Map<String, String> clusterLabels) {
      return clusters.contains(cluster) || (selector != null && selector.matches(clusterLabels));
    }

    public boolean targets(JsonObject object) {
      return (kind == null || kind.equals(object.getString("kind")))
          && (objectName == null || objectName.equals(object.getJsonObject("metadata").getString("name")));
    }
  }

  /** An image for one container (by name), or for every container when {@code container} is null. */
  public record ImageOverride(String container, String image) {
  }

  /**
   * All at once ({@code batch} 0), or a number or a percentage of the targets at a time; a cluster
   * not healthy {@code progressDeadlineSeconds} after it was applied counts as failed.
   */
  public record Rollout(int batch, int batchPercent, boolean paused, int progressDeadlineSeconds) {
    /** How many clusters one batch holds, out of {@code targets}; MAX_VALUE for all at once. */
    public int batchSize(int targets) {
      if (batch > 0) {
        return batch;
      }
      if (batchPercent > 0) {
        return Math.max(1, (int) Math.ceil(targets * batchPercent / 100.0));
      }
      return Integer.MAX_VALUE;
    }
  }

  public static String validName(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw KmcException.badRequest("metadata.name must be a DNS label: lower case letters, digits and '-', "
          + "at most 63 characters");
    }
    return name;
  }

  /** Reads a manifest; 400 for anything wrong. The manifest's resources are checked for shape, not against a cluster. */
  public static Propagation fromManifest(JsonObject manifest) {
    if (!API_VERSION.equals(manifest.getValue("apiVersion"))) {
      throw KmcException.badRequest("apiVersion must be " + API_VERSION);
    }
    if (!KIND.equals(manifest.getValue("kind"))) {
      throw KmcException.badRequest("kind must be " + KIND);
    }
    if (!(manifest.getValue("metadata") instanceof JsonObject metadata)) {
      throw KmcException.badRequest("metadata is required");
    }
    String name = validName(metadata.getValue("name") instanceof String s ? s : null);
    if (!(manifest.getValue("spec") instanceof JsonObject spec)) {
      throw KmcException.badRequest("spec is required");
    }
    for (String field : spec.fieldNames()) {
      if (!SPEC_FIELDS.contains(field)) {
        throw KmcException.badRequest("spec." + printable(field) + " is not a field of a Propagation (allowed: "
            + String.join(", ", new java.util.TreeSet<>(SPEC_FIELDS)) + ")");
      }
    }
    List<JsonObject> resources = resources(spec);
    Placement placement = placement(object(spec, "placement", "spec.", true));
    List<Override> overrides = new ArrayList<>();
    JsonArray list = array(spec, "overrides", "spec.");
    for (int i = 0; i < list.size(); i++) {
      if (!(list.getValue(i) instanceof JsonObject o)) {
        throw KmcException.badRequest("spec.overrides[" + i + "] must be an object");
      }
      overrides.add(override(o, "spec.overrides[" + i + "]."));
    }
    Rollout rollout = rollout(object(spec, "rollout", "spec.", false));
    String conflicts = oneOf(spec, "conflictResolution", "spec.", List.of("Abort", "Overwrite"), "Abort");
    String deletion = oneOf(spec, "deletionPolicy", "spec.", List.of("Delete", "Orphan"), "Delete");
    JsonObject drift = object(spec, "drift", "spec.", false);
    DriftMode mode = DriftMode.REPAIR;
    if (drift != null) {
      allowOnly(drift, "spec.drift.", "mode");
      mode = DriftMode.valueOf(oneOf(drift, "mode", "spec.drift.", List.of("Repair", "Report", "Ignore"), "Repair")
          .toUpperCase(Locale.ROOT));
    }
    return new Propagation(name, resources, placement, List.copyOf(overrides), rollout, "Overwrite".equals(conflicts),
        "Orphan".equals(deletion), mode);
  }

  private static List<JsonObject> resources(JsonObject spec) {
    List<JsonObject> resources = new ArrayList<>();
    JsonArray listed = array(spec, "resources", "spec.");
    for (int i = 0; i < listed.size(); i++) {
      if (!(listed.getValue(i) instanceof JsonObject object)) {
        throw KmcException.badRequest("spec.resources[" + i + "] must be an object (a Kubernetes manifest)");
      }
      resources.add(object);
    }
    Object text = spec.getValue("manifests");
    if (text != null) {
      if (!(text instanceof String yaml)) {
        throw KmcException.badRequest("spec.manifests must be a string of YAML documents");
      }
      resources.addAll(Manifests.documents(yaml, "spec.manifests"));
    }
    if (resources.isEmpty()) {
      throw KmcException.badRequest("spec.resources (or spec.manifests) must hold at least one object");
    }
    if (resources.size() > MAX_RESOURCES) {
      throw KmcException.badRequest("a propagation holds at most " + MAX_RESOURCES + " objects");
    }
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < resources.size(); i++) {
      JsonObject r = resources.get(i);
      String at = "spec.resources[" + i + "]";
      String apiVersion = r.getValue("apiVersion") instanceof String s && !s.isBlank() ? s : null;
      String kind = r.getValue("kind") instanceof String s && !s.isBlank() ? s : null;
      if (apiVersion == null || kind == null) {
        throw KmcException.badRequest(at + " needs apiVersion and kind");
      }
      if (!(r.getValue("metadata") instanceof JsonObject md) || !(md.getValue("name") instanceof String n)
          || n.isBlank()) {
        throw KmcException.badRequest(at + " (" + printable(kind) + ") needs metadata.name");
      }
      if (md.containsKey("namespace") && !(md.getValue("namespace") instanceof String)) {
        throw KmcException.badRequest(at + ".metadata.namespace must be a string");
      }
      if (!seen.add(Manifests.key(r))) {
        throw KmcException.badRequest(at + " (" + printable(kind) + " " + printable(n) + ") appears twice");
      }
    }
    return List.copyOf(resources);
  }

  private static Placement placement(JsonObject p) {
    allowOnly(p, "spec.placement.", "clusters", "clusterSelector", "maxClusters");
    List<String> clusters = strings(p, "clusters", "spec.placement.");
    JsonObject selector = object(p, "clusterSelector", "spec.placement.", false);
    if (clusters.isEmpty() && selector == null) {
      throw KmcException.badRequest("spec.placement must name clusters or have a clusterSelector (it selects no "
          + "cluster)");
    }
    LabelSelector parsed = selector == null ? null : LabelSelector.parse(selector, "spec.placement.clusterSelector.");
    if (parsed != null && parsed.matchLabels().isEmpty() && parsed.matchExpressions().isEmpty()) {
      throw KmcException.badRequest("spec.placement.clusterSelector is empty; say {matchExpressions: [{key: ..., "
          + "operator: Exists}]} to mean every cluster with a label");
    }
    int max = integer(p, "maxClusters", "spec.placement.", 0, 0, 100_000);
    return new Placement(clusters, parsed, max);
  }

  private static Override override(JsonObject o, String at) {
    allowOnly(o, at, "clusters", "clusterSelector", "target", "image", "images", "replicas", "labels", "annotations",
        "mergePatch", "jsonPatch");
    List<String> clusters = strings(o, "clusters", at);
    JsonObject selector = object(o, "clusterSelector", at, false);
    if (clusters.isEmpty() && selector == null) {
      throw KmcException.badRequest(at.substring(0, at.length() - 1) + " must name clusters or have a clusterSelector");
    }
    JsonObject target = object(o, "target", at, false);
    String kind = null;
    String objectName = null;
    if (target != null) {
      allowOnly(target, at + "target.", "kind", "name");
      kind = string(target, "kind", at + "target.");
      objectName = string(target, "name", at + "target.");
    }
    List<ImageOverride> images = new ArrayList<>();
    String image = string(o, "image", at);
    if (image != null) {
      images.add(new ImageOverride(null, image));
    }
    JsonArray listed = array(o, "images", at);
    for (int i = 0; i < listed.size(); i++) {
      if (!(listed.getValue(i) instanceof JsonObject entry)) {
        throw KmcException.badRequest(at + "images[" + i + "] must be an object {container, image}");
      }
      allowOnly(entry, at + "images[" + i + "].", "container", "image");
      String value = string(entry, "image", at + "images[" + i + "].");
      if (value == null) {
        throw KmcException.badRequest(at + "images[" + i + "].image is required");
      }
      images.add(new ImageOverride(string(entry, "container", at + "images[" + i + "]."), value));
    }
    Integer replicas = o.containsKey("replicas") ? integer(o, "replicas", at, 0, 0, 100_000) : null;
    JsonObject merge = object(o, "mergePatch", at, false);
    Object patch = o.getValue("jsonPatch");
    if (patch != null && !(patch instanceof JsonArray)) {
      throw KmcException.badRequest(at + "jsonPatch must be a list of RFC 6902 operations");
    }
    return new Override(clusters, selector == null ? null : LabelSelector.parse(selector, at + "clusterSelector."),
        kind, objectName, List.copyOf(images), replicas, stringMap(o, "labels", at), stringMap(o, "annotations", at),
        merge, (JsonArray) patch);
  }

  private static Rollout rollout(JsonObject r) {
    if (r == null) {
      return new Rollout(0, 0, false, DEFAULT_PROGRESS_DEADLINE);
    }
    allowOnly(r, "spec.rollout.", "strategy", "batchSize", "paused", "progressDeadlineSeconds");
    int deadline = integer(r, "progressDeadlineSeconds", "spec.rollout.", DEFAULT_PROGRESS_DEADLINE, 1, 86_400);
    String strategy = oneOf(r, "strategy", "spec.rollout.", List.of("AllAtOnce", "Batch"), "AllAtOnce");
    boolean paused = r.getValue("paused") instanceof Boolean b && b;
    if (r.containsKey("paused") && !(r.getValue("paused") instanceof Boolean)) {
      throw KmcException.badRequest("spec.rollout.paused must be true or false");
    }
    Object size = r.getValue("batchSize");
    if ("AllAtOnce".equals(strategy)) {
      if (size != null) {
        throw KmcException.badRequest("spec.rollout.batchSize needs strategy: Batch");
      }
      return new Rollout(0, 0, paused, deadline);
    }
    if (size instanceof Number n && n.intValue() >= 1 && n.doubleValue() == n.intValue()) {
      return new Rollout(n.intValue(), 0, paused, deadline);
    }
    if (size instanceof String s && s.matches("[1-9][0-9]?%|100%")) {
      return new Rollout(0, Integer.parseInt(s.substring(0, s.length() - 1)), paused, deadline);
    }
    throw KmcException.badRequest("spec.rollout.batchSize must be a number of clusters (1 or more) or a percentage "
        + "(\"25%\") with strategy: Batch");
  }

  // --- field readers ---

  static String printable(String text) {
    return text.length() > 64 ? text.substring(0, 64).replaceAll("[^\\x20-\\x7e]", "?") + "..."
        : text.replaceAll("[^\\x20-\\x7e]", "?");
  }

  private static void allowOnly(JsonObject json, String at, String... fields) {
    Set<String> allowed = Set.of(fields);
    for (String field : json.fieldNames()) {
      if (!allowed.contains(field)) {
        throw KmcException.badRequest(at + printable(field) + " is not a known field (allowed: "
            + String.join(", ", fields) + ")");
      }
    }
  }

  private static JsonObject object(JsonObject json, String field, String at, boolean required) {
    Object value = json.getValue(field);
    if (value == null) {
      if (required) {
        throw KmcException.badRequest(at + field + " is required");
      }
      return null;
    }
    if (!(value instanceof JsonObject object)) {
      throw KmcException.badRequest(at + field + " must be an object");
    }
    return object;
  }

  private static JsonArray array(JsonObject json, String field, String at) {
    Object value = json.getValue(field);
    if (value == null) {
      return new JsonArray();
    }
    if (!(value instanceof JsonArray array)) {
      throw KmcException.badRequest(at + field + " must be a list");
    }
    return array;
  }

  private static String string(JsonObject json, String field, String at) {
    Object value = json.getValue(field);
    if (value == null) {
      return null;
    }
    if (!(value instanceof String text) || text.isEmpty() || text.length() > 1024) {
      throw KmcException.badRequest(at + field + " must be a string of 1 to 1024 characters");
    }
    return text;
  }

  private static List<String> strings(JsonObject json, String field, String at) {
    List<String> result = new ArrayList<>();
    for (Object item : array(json, field, at)) {
      if (!(item instanceof String text) || text.isEmpty() || text.length() > 63) {
        throw KmcException.badRequest(at + field + " must be a list of cluster names");
      }
      result.add(text);
    }
    return List.copyOf(result);
  }

  private static Map<String, String> stringMap(JsonObject json, String field, String at) {
    JsonObject object = object(json, field, at, false);
    if (object == null) {
      return Map.of();
    }
    Map<String, String> result = new java.util.LinkedHashMap<>();
    for (Map.Entry<String, Object> e : object) {
      if (!(e.getValue() instanceof String value)) {
        throw KmcException.badRequest(at + field + "." + printable(e.getKey()) + " must be a string");
      }
      result.put(e.getKey(), value);
    }
    return result;
  }

  private static int integer(JsonObject json, String field, String at, int defaultValue, int min, int max) {
    Object value = json.getValue(field);
    if (value == null) {
      return defaultValue;
    }
    if (!(value instanceof Number n) || n.doubleValue() != n.intValue() || n.intValue() < min || n.intValue() > max) {
      throw KmcException.badRequest(at + field + " must be a whole number from " + min + " to " + max);
    }
    return n.intValue();
  }

  private static String oneOf(JsonObject json, String field, String at, List<String> values, String defaultValue) {
    Object value = json.getValue(field);
    if (value == null) {
      return defaultValue;
    }
    for (String v : values) {
      if (v.equalsIgnoreCase(String.valueOf(value))) {
        return v;
      }
    }
    throw KmcException.badRequest(at + field + " must be one of " + String.join(", ", values));
  }
}
