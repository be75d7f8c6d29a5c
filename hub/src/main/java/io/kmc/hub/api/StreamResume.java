package io.kmc.hub.api;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.kmc.common.KubeQuery;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What lets a JSON watch or a followed log through the hub outlive the node holding the cluster's
 * agent: the position the client has reached and how to ask for the rest. For a watch that is the
 * resourceVersion of the last event it was given; for a log the time of the last line (the hub asks
 * for timestamps and takes them off again if the client did not want them), from which the log is
 * asked again with {@code sinceTime}, lines already given left out. When the stream breaks off with an error (the node died or drained, the agent
 * reconnected), the pass-through opens the watch again on the agent's next session from that
 * resourceVersion, so the client sees no gap and no duplicate. Bookmarks are asked of the API
 * server even when the client did not ask for them, so that the position moves during quiet times
 * (a stale one would be answered with 410); they are passed on only when the client asked.
 *
 * <p>Only JSON watches are resumed (protobuf streams are passed through and end as before; their
 * clients, informers, re-watch anyway). Events are newline-delimited JSON objects: each is read up
 * to its resourceVersion and no further.
 */
final class StreamResume {

  private static final JsonFactory JSON = new JsonFactory();
  /** Parameters that describe only the first start of a watch, not where a resumed one starts. */
  private static final Set<String> FIRST_START_ONLY = Set.of("resourceVersion", "resourceVersionMatch",
      "sendInitialEvents", "allowWatchBookmarks", "timeoutSeconds");

  /** Parameters that describe where a followed log starts, replaced by sinceTime when it is resumed. */
  private static final Set<String> LOG_START_ONLY = Set.of("sinceTime", "sinceSeconds", "tailLines", "limitBytes",
      "timestamps");

  private final boolean log;
  private final String query;
  private final boolean clientWantsBookmarks;
  private final boolean initialEvents;
  private final long deadlineMillis;
  private String resourceVersion;
  private boolean initialEventsDone;
  private boolean failed;
  private Buffer partial;
  /** For a log: the time of the last line given, and whether the client asked for timestamps itself. */
  private Instant lastLine;
  private boolean clientWantsTimestamps;
  private boolean resumed;

  private StreamResume(boolean log, String query, boolean clientWantsBookmarks, boolean initialEvents,
                       long deadlineMillis, String resourceVersion) {
    this.log = log;
    this.query = query;
    this.clientWantsBookmarks = clientWantsBookmarks;
    this.initialEvents = initialEvents;
    this.deadlineMillis = deadlineMillis;
    this.resourceVersion = resourceVersion;
  }

  /** The resume state of a watch or followed log, or null when it cannot be resumed (a protobuf watch). */
  static StreamResume of(String path, String query, Map<String, List<String>> headers) {
    if (path.endsWith("/log") && KubeQuery.flag(query, "follow")) {
      StreamResume resume = new StreamResume(true, query == null ? "" : query, false, false, Long.MAX_VALUE, null);
      resume.clientWantsTimestamps = KubeQuery.flag(query, "timestamps");
      return resume;
    }
    boolean watch = path.contains("/watch/") || KubeQuery.flag(query, "watch");
    if (!watch || !jsonStream(headers)) {
      return null;
    }
    String timeout = KubeQuery.first(query, "timeoutSeconds");
    long deadline = Long.MAX_VALUE;
    if (timeout != null) {
      try {
        deadline = System.currentTimeMillis() + Math.max(0, Long.parseLong(timeout)) * 1000;
      } catch (NumberFormatException e) {
        return null; // the API server answers that one itself
      }
    }
    return new StreamResume(false, query == null ? "" : query, KubeQuery.flag(query, "allowWatchBookmarks"),
        KubeQuery.flag(query, "sendInitialEvents"), deadline, KubeQuery.first(query, "resourceVersion"));
  }

  /** What the client accepts: a watch is resumed only if its events are JSON. */
  private static boolean jsonStream(Map<String, List<String>> headers) {
    for (Map.Entry<String, List<String>> header : headers.entrySet()) {
      if (header.getKey().equalsIgnoreCase("accept")) {
        for (String value : header.getValue()) {
          if (value.contains("protobuf") && !value.contains("json")) {
            return false;
          }
        }
      }
    }
    return true;
  }

  /** The query of the first request: as the client's, with bookmarks (or, for a log, timestamps) asked for. */
  String firstQuery() {
    if (log) {
      return clientWantsTimestamps ? query : append(without(query, Set.of("timestamps")), "timestamps=true");
    }
    return clientWantsBookmarks ? query : append(query, "allowWatchBookmarks=true");
  }

  /** The query that carries on from the position reached; null when the watch cannot go on (an error ended it, or its time is up). */
  String resumeQuery() {
    resumed = true;
    if (log) {
      return lastLine == null ? firstQuery() : append(without(query, LOG_START_ONLY),
          "timestamps=true&sinceTime=" + URLEncoder.encode(lastLine.toString(), StandardCharsets.UTF_8));
    }
    long left = deadlineMillis == Long.MAX_VALUE ? -1
        : Math.max(0, (deadlineMillis - System.currentTimeMillis() + 999) / 1000);
    if (failed || left == 0) {
      return null;
    }
    String resumed = append(without(query, FIRST_START_ONLY), "allowWatchBookmarks=true");
    if (resourceVersion != null) {
      resumed = append(resumed, "resourceVersion=" + URLEncoder.encode(resourceVersion, StandardCharsets.UTF_8));
    }
    if (initialEvents && !initialEventsDone) {
      // The initial state was not all out yet: start it again, from a consistent read.
      resumed = append(resumed, "sendInitialEvents=true&resourceVersionMatch=NotOlderThan");
    }
    if (left > 0) {
      resumed = append(resumed, "timeoutSeconds=" + left);
    }
    return resumed;
  }

  /**
   * Takes the next bytes of the stream; returns what goes to the client: complete events, bookmarks
   * left out if the client did not ask for them. An event split across frames waits for its end.
   */
  List<Buffer> accept(Buffer data) {
    List<Buffer> out = new ArrayList<>(2);
    int start = 0;
    for (int i = 0; i < data.length(); i++) {
      if (data.getByte(i) != '\n') {
        continue;
      }
      Buffer line = data.slice(start, i + 1);
      if (partial != null) {
        line = partial.appendBuffer(line);
        partial = null;
      }
      Buffer shown = log ? logLine(line) : event(line) ? line : null;
      if (shown != null) {
        out.add(shown);
      }
      start = i + 1;
    }
    if (start < data.length()) {
      Buffer rest = data.slice(start, data.length());
      partial = partial == null ? Buffer.buffer().appendBuffer(rest) : partial.appendBuffer(rest);
    }
    return out;
  }

  /**
   * One line of a followed log, with the hub's timestamp: what the client sees of it (the line as it
   * came, without the timestamp if the client did not ask for one), or null for a line it saw before
   * the log was resumed.
   */
  private Buffer logLine(Buffer line) {
    int space = -1;
    for (int i = 0; i < Math.min(line.length(), 64); i++) {
      if (line.getByte(i) == ' ') {
        space = i;
        break;
      }
    }
    Instant at = null;
    if (space > 0) {
      try {
        at = Instant.parse(line.getString(0, space));
      } catch (DateTimeParseException e) {
        at = null;
      }
    }
    if (at == null) {
      return line; // not a timestamped line: passed on as it is
    }
    if (resumed && lastLine != null && !at.isAfter(lastLine)) {
      return null;
    }
    lastLine = at;
    return clientWantsTimestamps ? line : line.slice(space + 1, line.length());
  }

  /** Reads one event up to its resourceVersion; whether the client is to see it. */
  private boolean event(Buffer line) {
    String type = null;
    String version = null;
    boolean table = false;
    try (JsonParser parser = JSON.createParser(line.getBytes())) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        return true;
      }
      while (parser.nextToken() == JsonToken.FIELD_NAME && (type == null || version == null)) {
        String field = parser.currentName();
        parser.nextToken();
        if (field.equals("type")) {
          type = parser.getValueAsString();
        } else if (field.equals("object") && parser.currentToken() == JsonToken.START_OBJECT) {
          while (parser.nextToken() == JsonToken.FIELD_NAME) {
            String objectField = parser.currentName();
            parser.nextToken();
            if (objectField.equals("kind") && "Table".equals(parser.getValueAsString())) {
              table = true;
            } else if (objectField.equals("metadata") && parser.currentToken() == JsonToken.START_OBJECT) {
              version = metadataVersion(parser);
              break;
            } else {
              parser.skipChildren();
            }
          }
        } else {
          parser.skipChildren();
        }
      }
    } catch (IOException e) {
      return true; // not ours to judge: the client gets it as it came
    }
    if ("ERROR".equals(type)) {
      failed = true; // e.g. 410 Gone: the client must list again, as it would without the hub
      return true;
    }
    if (version == null && table) {
      version = tableRowVersion(line);
    }
    if (version != null && !version.isEmpty()) {
      resourceVersion = version;
    }
    if ("BOOKMARK".equals(type)) {
      if (initialEvents && line.toString().contains("k8s.io/initial-events-end")) {
        initialEventsDone = true;
      }
      return clientWantsBookmarks;
    }
    return true;
  }

  private static String metadataVersion(JsonParser parser) throws IOException {
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      String field = parser.currentName();
      parser.nextToken();
      if (field.equals("resourceVersion")) {
        return parser.getValueAsString();
      }
      parser.skipChildren();
    }
    return null;
  }

  /** A Table event without its own resourceVersion: the one of the object in its row. */
  private static String tableRowVersion(Buffer line) {
    try {
      var rows = new JsonObject(line).getJsonObject("object").getJsonArray("rows");
      if (rows == null || rows.isEmpty()) {
        return null;
      }
      JsonObject object = rows.getJsonObject(rows.size() - 1).getJsonObject("object");
      return object == null || object.getJsonObject("metadata") == null ? null
          : object.getJsonObject("metadata").getString("resourceVersion");
    } catch (RuntimeException e) {
      return null;
    }
  }

  /** The query without the pairs whose (decoded) key is one of {@code keys}. */
  private static String without(String query, Set<String> keys) {
    StringBuilder kept = new StringBuilder();
    for (String pair : query.split("&")) {
      int equals = pair.indexOf('=');
      String key = KubeQuery.unescape(equals < 0 ? pair : pair.substring(0, equals), true);
      if (!pair.isEmpty() && (key == null || !keys.contains(key))) {
        kept.append(kept.length() == 0 ? "" : "&").append(pair);
      }
    }
    return kept.toString();
  }

  private static String append(String query, String pair) {
    return query == null || query.isEmpty() ? pair : query + "&" + pair;
  }
}
