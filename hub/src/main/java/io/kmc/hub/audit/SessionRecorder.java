package io.kmc.hub.audit;

import io.kmc.common.KubeQuery;
import io.kmc.hub.auth.Authenticator;
import io.kmc.hub.auth.Principal;
import io.kmc.hub.config.HubConfig;
import io.kmc.ops.Texts;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.UUID;

/**
 * Recordings of exec and attach sessions (what Teleport is trusted for), when
 * {@code audit.record_sessions} is on: the session's output and input with their timing, in
 * asciicast v2 (what asciinema plays), bounded by {@code audit.session_max_bytes}, stored when the
 * session ends, kept as long as the audit log, and linked from the session's audit record.
 *
 * <p>Sessions speak Kubernetes' channel protocols: each message starts with its stream (0 stdin,
 * 1 stdout, 2 stderr, 3 status, 4 resize), base64-encoded after that byte in the {@code base64.}
 * variants. Output streams become "o" events, stdin "i", resizes "r"; port-forward is not recorded
 * (its bytes are not a terminal).
 */
public final class SessionRecorder {

  /** Where the recording id is kept in the request's context, for its audit record. */
  public static final String RECORDING_KEY = "kmc.session-recording";
  private static final Logger LOG = LoggerFactory.getLogger(SessionRecorder.class);
  private static final Recording NONE = new Recording(null, null, null, 0) {
    @Override
    public void input(byte[] message) {
    }

    @Override
    public void output(byte[] message) {
    }

    @Override
    public void close() {
    }

    @Override
    public void discard(RoutingContext ctx) {
    }
  };

  private final Pool pool;
  private final HubConfig.Audit config;

  public SessionRecorder(Pool pool, HubConfig.Audit config) {
    this.pool = pool;
    this.config = config;
  }

  /** A recording for the session the request opens, or one that records nothing. */
  public Recording start(RoutingContext ctx, String cluster, String path, String query) {
    if (!config.recordSessions() || !(path.endsWith("/exec") || path.endsWith("/attach"))) {
      return NONE;
    }
    Recording recording = new Recording(this, ctx, cluster + " " + path, config.sessionMaxBytes());
    recording.cluster = cluster;
    recording.path = path;
    recording.command = command(query);
    ctx.put(RECORDING_KEY, recording.id.toString());
    return recording;
  }

  /** The asciicast of a recorded session, or null when there is none. */
  public Future<String> cast(UUID id) {
    return pool.preparedQuery("select recording from audit_sessions where id = $1").execute(Tuple.of(id))
        .map(rows -> rows.size() == 0 ? null : rows.iterator().next().getString("recording"));
  }

  /** Deletes recordings older than the audit retention, now and hourly; the timer belongs to the caller's context. */
  public void start(Vertx vertx) {
    expire();
    vertx.setPeriodic(3_600_000, t -> expire());
  }

  private void expire() {
    OffsetDateTime cutoff = OffsetDateTime.now(ZoneOffset.UTC).minus(config.retention());
    pool.preparedQuery("delete from audit_sessions where started_at < $1").execute(Tuple.of(cutoff))
        .onFailure(e -> LOG.warn("cannot apply the retention to session recordings: {}", Texts.forLog(e.getMessage())));
  }

  private static String command(String query) {
    if (query == null) {
      return null;
    }
    List<String> words = new ArrayList<>();
    for (String pair : query.split("&")) {
      if (pair.startsWith("command=")) {
        String word = KubeQuery.unescape(pair.substring("command=".length()), true);
        words.add(word == null ? "?" : word);
      }
    }
    return words.isEmpty() ? null : Texts.bounded(String.join(" ", words), 1024);
  }

  private void store(Recording recording) {
    JsonObject header = new JsonObject().put("version", 2).put("width", recording.width).put("height", recording.height)
        .put("timestamp", recording.startedAt.toEpochSecond()).put("title", recording.title);
    if (recording.command != null) {
      header.put("command", recording.command);
    }
    String cast = header.encode() + "\n" + recording.events;
    pool.preparedQuery("insert into audit_sessions (id, request_id, started_at, ended_at, user_name, cluster, path, "
            + "command, bytes, truncated, recording) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
        .execute(Tuple.tuple().addUUID(recording.id).addString(recording.requestId)
            .addOffsetDateTime(recording.startedAt).addOffsetDateTime(OffsetDateTime.now(ZoneOffset.UTC))
            .addString(recording.user).addString(recording.cluster).addString(Texts.bounded(recording.path, 1024))
            .addString(recording.command).addInteger(recording.bytes).addBoolean(recording.truncated)
            .addString(cast))
        .onFailure(e -> LOG.error("cannot store the recording of session {}: {}", recording.id,
            Texts.forLog(e.getMessage())));
  }

  /** One session being recorded; used on the session's context. */
  public static class Recording {
    private final SessionRecorder recorder;
    private final UUID id = UUID.randomUUID();
    private final OffsetDateTime startedAt = OffsetDateTime.now(ZoneOffset.UTC);
    private final long startedNanos = System.nanoTime();
    private final StringBuilder events = new StringBuilder();
    private final int maxBytes;
    private final String title;
    private final String requestId;
    private final String user;
    private String cluster;
    private String path;
    private String command;
    private int width = 80;
    private int height = 24;
    private int bytes;
    private boolean truncated;
    private boolean closed;

    Recording(SessionRecorder recorder, RoutingContext ctx, String title, int maxBytes) {
      this.recorder = recorder;
      this.title = title;
      this.maxBytes = maxBytes;
      this.requestId = ctx == null ? null : Audits.requestId(ctx);
      Principal principal = ctx == null ? null : Authenticator.principal(ctx);
      this.user = principal == null ? null : principal.user();
    }

    /** A message the client sent into the session. */
    public void input(byte[] message) {
      byte[] data = channelData(message);
      if (data == null) {
        return;
      }
      if (message[0] == '0' || message[0] == 0) {
        event("i", new String(data, StandardCharsets.UTF_8));
      } else if (message[0] == '4' || message[0] == 4) {
        resized(data);
      }
    }

    /** A message the session sent to the client. */
    public void output(byte[] message) {
      byte[] data = channelData(message);
      if (data != null && (message[0] == 1 || message[0] == 2 || message[0] == '1' || message[0] == '2')) {
        event("o", new String(data, StandardCharsets.UTF_8));
      }
    }

    /** The session ended: the recording is stored (once). */
    public void close() {
      if (closed) {
        return;
      }
      closed = true;
      recorder.store(this);
    }

    /** The session never opened: nothing is stored, and its audit record links no recording. */
    public void discard(RoutingContext ctx) {
      closed = true;
      ctx.remove(RECORDING_KEY);
    }

    /** The payload after the stream byte, decoded when the message is base64 text (the stream a digit). */
    private static byte[] channelData(byte[] message) {
      if (message.length < 1) {
        return null;
      }
      byte[] data = new byte[message.length - 1];
      System.arraycopy(message, 1, data, 0, data.length);
      if (message[0] >= '0' && message[0] <= '9') {
        try {
          return Base64.getDecoder().decode(data);
        } catch (IllegalArgumentException e) {
          return null;
        }
      }
      return data;
    }

    private void resized(byte[] data) {
      try {
        JsonObject size = new JsonObject(new String(data, StandardCharsets.UTF_8));
        width = size.getInteger("Width", width);
        height = size.getInteger("Height", height);
        event("r", width + "x" + height);
      } catch (RuntimeException e) {
        // not a size: nothing to record
      }
    }

    private void event(String type, String data) {
      if (truncated || data.isEmpty()) {
        return;
      }
      if (bytes + data.length() > maxBytes) {
        truncated = true;
        return;
      }
      bytes += data.length();
      double seconds = (System.nanoTime() - startedNanos) / 1e9;
      events.append(new JsonArray().add(Math.round(seconds * 1e6) / 1e6).add(type).add(data).encode()).append('\n');
    }
  }
}
