package io.kmc.hub.notify;

import io.kmc.common.ClusterNames;
import io.kmc.common.KmcException;
import io.kmc.hub.policy.LabelSelector;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Who is told of what: events of the listed types (all when none is listed), of at least a
 * severity, about the listed clusters or those the selector matches (any cluster, and events about
 * none, when neither is given), sent to the listed channels.
 */
public record Subscription(String name, List<String> eventTypes, List<String> clusters, LabelSelector clusterSelector,
                           JsonObject selectorJson, Severity minSeverity, List<String> channels, boolean enabled,
                           String createdBy, OffsetDateTime createdAt, OffsetDateTime updatedAt) {

  static final Set<String> FIELDS = Set.of("name", "eventTypes", "clusters", "clusterSelector", "minSeverity",
      "channels", "enabled");

  /** Whether the event goes to this subscription's channels; {@code labels} are the event's cluster's. */
  public boolean matches(Event event, Map<String, String> labels) {
    if (!enabled || event.severity().compareTo(minSeverity) < 0) {
      return false;
    }
    if (eventTypes.isEmpty() ? event.type() == EventType.TEST : !eventTypes.contains(event.type().id())) {
      return false;
    }
    if (clusters.isEmpty() && clusterSelector == null) {
      return true;
    }
    if (event.cluster() == null) {
      return false;
    }
    return clusters.contains(event.cluster()) || (clusterSelector != null && labels != null
        && clusterSelector.matches(labels));
  }

  /** The spec as stored and shown. */
  JsonObject spec() {
    JsonObject spec = new JsonObject().put("eventTypes", new JsonArray(eventTypes)).put("clusters", new JsonArray(clusters))
        .put("minSeverity", minSeverity.id()).put("channels", new JsonArray(channels)).put("enabled", enabled);
    if (selectorJson != null) {
      spec.put("clusterSelector", selectorJson);
    }
    return spec;
  }

  public JsonObject view() {
    JsonObject view = spec().put("name", name);
    if (createdBy != null) {
      view.put("createdBy", createdBy);
    }
    if (createdAt != null) {
      view.put("createdAt", createdAt.toInstant().toString());
    }
    if (updatedAt != null) {
      view.put("updatedAt", updatedAt.toInstant().toString());
    }
    return view;
  }

  /** A subscription from an API body (or a stored spec plus its name); 400 naming the field when wrong. */
  static Subscription read(JsonObject body, String pathName) {
    for (String field : body.fieldNames()) {
      if (!FIELDS.contains(field)) {
        throw KmcException.badRequest("unknown field " + Names.printable(field) + " (allowed: " + new TreeSet<>(FIELDS)
            + ")");
      }
    }
    String name = body.getValue("name") == null && pathName != null ? pathName : Names.string(body, "name");
    Names.check(name, "name");
    if (pathName != null && !pathName.equals(name)) {
      throw KmcException.badRequest("name '" + name + "' does not match the path's '" + Names.printable(pathName) + "'");
    }
    List<String> types = Names.strings(body, "eventTypes", 64);
    for (String type : types) {
      if (EventType.parse(type) == null) {
        throw KmcException.badRequest("unknown event type '" + Names.printable(type) + "' in eventTypes (known: "
            + EventType.ids() + ")");
      }
    }
    List<String> clusters = Names.strings(body, "clusters", 1000);
    for (String cluster : clusters) {
      if (!ClusterNames.valid(cluster)) {
        throw KmcException.badRequest("'" + Names.printable(cluster) + "' in clusters is not a valid cluster name ("
            + ClusterNames.RULE + ")");
      }
    }
    Object selector = body.getValue("clusterSelector");
    if (selector != null && !(selector instanceof JsonObject)) {
      throw KmcException.badRequest("clusterSelector must be a label selector: {matchLabels: {...}, "
          + "matchExpressions: [...]}");
    }
    Severity severity = Severity.INFO;
    if (body.getValue("minSeverity") != null) {
      severity = body.getValue("minSeverity") instanceof String s ? Severity.parse(s) : null;
      if (severity == null) {
        throw KmcException.badRequest("minSeverity must be info, warning or critical");
      }
    }
    List<String> channels = Names.strings(body, "channels", 32);
    if (channels.isEmpty()) {
      throw KmcException.badRequest("channels must name at least one channel");
    }
    channels.forEach(c -> Names.check(c, "channels[]"));
    Object enabled = body.getValue("enabled");
    if (enabled != null && !(enabled instanceof Boolean)) {
      throw KmcException.badRequest("enabled must be true or false");
    }
    return new Subscription(name, types, clusters, selector == null ? null : selector((JsonObject) selector),
        selector == null ? null : (JsonObject) selector, severity, channels, enabled == null || (Boolean) enabled,
        null, null, null);
  }

  private static LabelSelector selector(JsonObject json) {
    for (String field : json.fieldNames()) {
      if (!Set.of("matchLabels", "matchExpressions").contains(field)) {
        throw KmcException.badRequest("unknown field clusterSelector." + Names.printable(field)
            + " (allowed: matchLabels, matchExpressions)");
      }
    }
    Map<String, String> labels = new java.util.LinkedHashMap<>();
    Object matchLabels = json.getValue("matchLabels");
    if (matchLabels != null) {
      if (!(matchLabels instanceof JsonObject m)) {
        throw KmcException.badRequest("clusterSelector.matchLabels must be an object of strings");
      }
      m.forEach(e -> {
        if (!(e.getValue() instanceof String v)) {
          throw KmcException.badRequest("clusterSelector.matchLabels." + Names.printable(e.getKey()) + " must be a string");
        }
        labels.put(e.getKey(), v);
      });
    }
    List<LabelSelector.Requirement> requirements = new ArrayList<>();
    Object expressions = json.getValue("matchExpressions");
    if (expressions != null) {
      if (!(expressions instanceof JsonArray list)) {
        throw KmcException.badRequest("clusterSelector.matchExpressions must be a list");
      }
      for (int i = 0; i < list.size(); i++) {
        String at = "clusterSelector.matchExpressions[" + i + "]";
        if (!(list.getValue(i) instanceof JsonObject e) || !(e.getValue("key") instanceof String key)
            || !(e.getValue("operator") instanceof String operator)
            || !Set.of("In", "NotIn", "Exists", "DoesNotExist").contains(operator)) {
          throw KmcException.badRequest(at + " must have a key and an operator (In, NotIn, Exists, DoesNotExist)");
        }
        List<String> values = Names.strings(e, "values", 100);
        boolean needsValues = "In".equals(operator) || "NotIn".equals(operator);
        if (needsValues == values.isEmpty()) {
          throw KmcException.badRequest(at + ".values " + (needsValues ? "must not be empty for " : "must be empty for ")
              + operator);
        }
        requirements.add(new LabelSelector.Requirement(key, operator, Set.copyOf(values)));
      }
    }
    return new LabelSelector(Map.copyOf(labels), List.copyOf(requirements));
  }
}
