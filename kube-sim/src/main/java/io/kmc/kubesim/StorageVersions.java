package io.kmc.kubesim;

import io.vertx.core.json.JsonObject;
import java.util.Map;

/**
 * Kinds served in one shape and stored in another. Versions of one kind share storage and differ
 * only in apiVersion here; the one real conversion is events.k8s.io/v1 Event, which the apiserver
 * stores as a core/v1 Event and shows with renamed fields (involvedObject becomes regarding, message
 * becomes note, source becomes deprecatedSource, and so on).
 */
final class StorageVersions {

  /** core/v1 Event field → events.k8s.io/v1 Event field, as {@code pkg/apis/events/v1/conversion.go} maps them. */
  private static final Map<String, String> EVENTS_V1_FIELDS = Map.of(
      "involvedObject", "regarding",
      "message", "note",
      "source", "deprecatedSource",
      "firstTimestamp", "deprecatedFirstTimestamp",
      "lastTimestamp", "deprecatedLastTimestamp",
      "count", "deprecatedCount",
      "reportingComponent", "reportingController");

  private StorageVersions() {
  }

  /** Where objects of this type are stored: events.k8s.io Events are core Events. */
  static String storageResource(ResourceType type) {
    return convertsEvents(type) ? "events" : type.groupResource();
  }

  static boolean converts(ResourceType type) {
    return convertsEvents(type);
  }

  /** The stored object as this type shows it; the stored object itself when no conversion applies (do not change it). */
  static JsonObject fromStorage(ResourceType type, JsonObject stored) {
    if (!convertsEvents(type)) {
      return stored;
    }
    JsonObject shown = new JsonObject();
    stored.forEach(entry -> {
      // Nulls stay: events.k8s.io/v1 always carries eventTime, null for events written the core/v1 way.
      shown.put(EVENTS_V1_FIELDS.getOrDefault(entry.getKey(), entry.getKey()), JsonPatches.copyValue(entry.getValue()));
    });
    return shown.put("apiVersion", type.groupVersion()).put("kind", type.kind());
  }

  /** An object written through this type, in its stored form (a new object when converted, else the argument). */
  static JsonObject toStorage(ResourceType type, JsonObject written) {
    if (!convertsEvents(type)) {
      return written;
    }
    JsonObject stored = new JsonObject();
    written.forEach(entry -> {
      String renamed = entry.getKey();
      for (Map.Entry<String, String> field : EVENTS_V1_FIELDS.entrySet()) {
        if (field.getValue().equals(entry.getKey())) {
          renamed = field.getKey();
        }
      }
      stored.put(renamed, entry.getValue());
    });
    return stored.put("apiVersion", "v1").put("kind", "Event");
  }

  private static boolean convertsEvents(ResourceType type) {
    return type.is("events.k8s.io", "Event");
  }
}
