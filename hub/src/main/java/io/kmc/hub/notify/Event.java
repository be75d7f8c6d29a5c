package io.kmc.hub.notify;

import io.vertx.core.json.JsonObject;

import java.time.Instant;
import java.util.UUID;

/**
 * Something that happened, as channels receive it.
 *
 * @param cluster the member cluster it concerns, or null (a login failure)
 * @param subject what within the type and cluster it is about (a policy and object, a user), or null;
 *                part of the de-duplication key
 * @param summary one line for people
 * @param details anything else, as JSON
 */
public record Event(String id, EventType type, Severity severity, String cluster, String subject, String summary,
                    JsonObject details, Instant time) {

  static final int MAX_SUMMARY_CHARS = 1000;
  static final int MAX_SUBJECT_CHARS = 500;

  public static Event of(EventType type, String cluster, String subject, String summary, JsonObject details) {
    return of(type, type.severity(), cluster, subject, summary, details);
  }

  public static Event of(EventType type, Severity severity, String cluster, String subject, String summary,
                         JsonObject details) {
    // One line, bounded: it becomes a chat message's text and an e-mail's subject.
    String line = summary == null ? "" : summary.replaceAll("[\\r\\n\\t]+", " ");
    return new Event(UUID.randomUUID().toString(), type, severity, cluster,
        subject == null || subject.length() <= MAX_SUBJECT_CHARS ? subject : subject.substring(0, MAX_SUBJECT_CHARS),
        line.length() <= MAX_SUMMARY_CHARS ? line : line.substring(0, MAX_SUMMARY_CHARS - 3) + "...",
        details == null ? new JsonObject() : details, Instant.now());
  }

  /** Events with the same key within the de-duplication window are one. */
  public String dedupKey() {
    return type.id() + "|" + (cluster == null ? "" : cluster) + "|" + (subject == null ? "" : subject);
  }

  public JsonObject toJson() {
    return new JsonObject().put("id", id).put("type", type.id()).put("severity", severity.id())
        .put("cluster", cluster).put("subject", subject).put("summary", summary).put("time", time.toString())
        .put("details", details);
  }
}
