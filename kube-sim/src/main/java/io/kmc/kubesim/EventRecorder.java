package io.kmc.kubesim;

import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes core/v1 Events for what the simulated components do, as client-go's event recorder does:
 * an event names the object it is about (involvedObject, with a fieldPath for a container), its
 * reason, message, type and source; the same event repeated within ten minutes bumps the count
 * and lastTimestamp of the existing one instead of creating another.
 *
 * <p>Events go through the {@link Registry} like any write, so watches, {@code kubectl get events}
 * and {@code kubectl describe} see them; {@link EventExpiry} ages them out.
 */
final class EventRecorder {

  /** Who reports an event: the component, and for node agents (the kubelet) the node. */
  record Source(String component, String host) {
    static Source controller(String component) {
      return new Source(component, null);
    }
  }

  static final Source DEPLOYMENT_CONTROLLER = Source.controller("deployment-controller");
  static final Source REPLICASET_CONTROLLER = Source.controller("replicaset-controller");
  static final Source SCHEDULER = Source.controller("default-scheduler");

  /** client-go's correlator window: a repeat older than this starts a new event. */
  private static final Duration AGGREGATION_WINDOW = Duration.ofMinutes(10);
  /** How many recent events are remembered for aggregation (client-go keeps 4096). */
  private static final int REMEMBERED = 4096;

  private final Registry registry;
  private final Map<String, String> eventNameByKey = new LinkedHashMap<>(64, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
      return size() > REMEMBERED;
    }
  };
  private long lastNanos;

  EventRecorder(Registry registry) {
    this.registry = registry;
  }

  void normal(JsonObject about, Source source, String reason, String message) {
    record(about, null, source, "Normal", reason, message);
  }

  /** An event about one container of a pod: its fieldPath is {@code spec.containers{name}}. */
  void normal(JsonObject pod, String container, Source source, String reason, String message) {
    record(pod, "spec.containers{" + container + "}", source, "Normal", reason, message);
  }

  private void record(JsonObject about, String fieldPath, Source source, String type, String reason, String message) {
    ResourceType events = registry.catalog().findByGroupKind("", "Event").orElseThrow();
    JsonObject involved = involvedObject(about, fieldPath);
    String namespace = involved.getString("namespace", "default");
    String key = String.join("\u0000", source.component(), String.valueOf(source.host()),
        involved.getString("uid", ""), String.valueOf(fieldPath), type, reason, message);
    String now = Json.now();
    Registry.WriteOptions writer = Registry.WriteOptions.internal(source.component());
    try {
      String existingName = eventNameByKey.get(key);
      JsonObject existing = existingName == null ? null : registry.find(events, namespace, existingName);
      if (existing != null && recent(existing)) {
        JsonObject repeated = existing.copy();
        repeated.put("count", existing.getInteger("count", 1) + 1).put("lastTimestamp", now);
        registry.update(events, namespace, existingName, repeated, null, writer);
        return;
      }
      String name = Json.name(about) + "." + Long.toHexString(uniqueNanos());
      JsonObject sourceJson = new JsonObject().put("component", source.component());
      if (source.host() != null) {
        sourceJson.put("host", source.host());
      }
      JsonObject event = new JsonObject()
          .put("apiVersion", "v1")
          .put("kind", "Event")
          .put("metadata", new JsonObject().put("name", name).put("namespace", namespace))
          .put("involvedObject", involved)
          .put("reason", reason)
          .put("message", message)
          .put("source", sourceJson)
          .put("firstTimestamp", now)
          .put("lastTimestamp", now)
          .put("count", 1)
          .put("type", type)
          .put("eventTime", null)
          .put("reportingComponent", source.component())
          .put("reportingInstance", source.host() == null ? "" : source.host());
      registry.create(events, namespace, event, writer);
      eventNameByKey.put(key, name);
    } catch (KubeApiException gone) {
      // The namespace is being deleted, or the event expired meanwhile: nothing left to report to.
    }
  }

  private static boolean recent(JsonObject event) {
    try {
      Instant last = Instant.parse(event.getString("lastTimestamp", ""));
      return last.isAfter(Instant.now().minus(AGGREGATION_WINDOW));
    } catch (RuntimeException e) {
      return false;
    }
  }

  private static JsonObject involvedObject(JsonObject about, String fieldPath) {
    JsonObject metadata = Json.metadata(about);
    JsonObject reference = new JsonObject()
        .put("kind", about.getString("kind"))
        .put("apiVersion", about.getString("apiVersion"));
    if (metadata.getString("namespace") != null) {
      reference.put("namespace", metadata.getString("namespace"));
    }
    reference.put("name", metadata.getString("name"))
        .put("uid", metadata.getString("uid"))
        .put("resourceVersion", metadata.getString("resourceVersion"));
    if (fieldPath != null) {
      reference.put("fieldPath", fieldPath);
    }
    return reference;
  }

  /** Names are {@code <object>.<hex nanoseconds>}, as client-go makes them; never twice the same. */
  private long uniqueNanos() {
    Instant now = Instant.now();
    long nanos = now.getEpochSecond() * 1_000_000_000L + now.getNano();
    lastNanos = Math.max(nanos, lastNanos + 1);
    return lastNanos;
  }
}
