package io.kmc.hub.audit;

import io.kmc.hub.auth.Authenticator;
import io.kmc.hub.auth.Principal;
import io.kmc.hub.rbac.Authorizer;
import io.kmc.hub.rbac.KubeRequestAttributes;
import io.vertx.core.Handler;
import io.vertx.core.net.SocketAddress;
import io.vertx.ext.web.RoutingContext;

import java.time.Instant;
import java.util.Locale;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/** Request ids, and the route handler that writes an audit record when a response ends. */
public final class Audits {

  public static final String REQUEST_ID_HEADER = "X-Request-Id";
  public static final String REQUEST_ID_KEY = "kmc.request-id";
  /** What a handler adds to the request's audit record (policy violations), kept until it is written. */
  private static final String NOTE_KEY = "kmc.audit-note";
  /** The request's audit record, written once when it ends. */
  private static final String RECORD_KEY = "kmc.audit-record";
  private static final Pattern CLIENT_REQUEST_ID = Pattern.compile("[A-Za-z0-9._:-]{1,64}");
  /** Reads too frequent and too harmless to record when they succeed. */
  private static final Set<String> QUIET_READS = Set.of("/api/v1/clusters", "/api/v1/auth/whoami",
      "/api/v1/auth/providers", "/api/v1/openapi.json");
  private static final Pattern ONE_CLUSTER = Pattern.compile("/api/v1/clusters/[^/]+");
  /** ClustersApi.INSTALL_PATH, whose last segment is a secret. */
  private static final String INSTALL_PREFIX = "/install/";

  private Audits() {
  }

  /** First handler of every request: a request id (the client's, if it sent a sane one), echoed back. */
  public static void assignRequestId(RoutingContext ctx) {
    String given = ctx.request().getHeader(REQUEST_ID_HEADER);
    String id = given != null && CLIENT_REQUEST_ID.matcher(given).matches() ? given : newRequestId();
    ctx.put(REQUEST_ID_KEY, id);
    ctx.response().putHeader(REQUEST_ID_HEADER, id);
    ctx.next();
  }

  /**
   * A random (version 4) UUID from the thread's own generator: a correlation id, not a secret, so
   * it need not come from {@code UUID.randomUUID()}'s shared, locked SecureRandom on every request.
   */
  static String newRequestId() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    long high = (random.nextLong() & ~0xF000L) | 0x4000L;
    long low = (random.nextLong() & 0x3FFF_FFFF_FFFF_FFFFL) | 0x8000_0000_0000_0000L;
    return new UUID(high, low).toString();
  }

  /**
   * Records the request when its response has ended (streams: when they end): every pass-through
   * call, every change, every refusal, every admin read.
   */
  public static Handler<RoutingContext> recorder(AuditLog log) {
    return ctx -> {
      long started = System.nanoTime();
      PendingRecord record = new PendingRecord() {
        private boolean recorded;

        @Override
        public void ended(int status, String problem) {
          if (recorded) {
            return;
          }
          recorded = true;
          String path = loggablePath(ctx.normalizedPath());
          boolean quiet = "GET".equals(ctx.request().method().name()) && status < 400
              && (QUIET_READS.contains(path) || ONE_CLUSTER.matcher(path).matches());
          if (quiet || path.startsWith("/api/v1/auth/login")) {
            return; // logins record themselves, with the user they were for
          }
          Principal principal = Authenticator.principal(ctx);
          KubeRequestAttributes kube = ctx.get(Authorizer.KUBE_ATTRIBUTES_KEY);
          String verb = kube != null ? kube.verb() : ctx.request().method().name().toLowerCase(Locale.ROOT);
          log.record(new AuditLog.Event(Instant.now(), requestId(ctx), principal == null ? null : principal.user(),
              source(ctx), cluster(ctx), verb, path, kube == null ? null : kube.object(),
              kube == null ? null : kube.namespace(), status, (System.nanoTime() - started) / 1_000_000,
              detail(ctx, problem)));
        }
      };
      ctx.put(RECORD_KEY, record);
      ctx.addEndHandler(ended -> record.ended(ctx.response().getStatusCode(),
          ended.failed() ? "response not completed: " + ended.cause().getMessage() : null));
      ctx.next();
    };
  }

  /**
   * Records a request that became a session (exec, attach, port-forward) when the session ends: an
   * upgraded connection's response never ends as a plain one does.
   */
  public static void sessionEnded(RoutingContext ctx, int status, String problem) {
    PendingRecord record = ctx.get(RECORD_KEY);
    if (record != null) {
      record.ended(status, problem);
    }
  }

  private interface PendingRecord {
    void ended(int status, String problem);
  }

  /** Adds a note to the request's audit record (what policies found), written with it when the request ends. */
  public static void note(RoutingContext ctx, String note) {
    String earlier = ctx.get(NOTE_KEY);
    ctx.put(NOTE_KEY, earlier == null ? note : earlier + "; " + note);
  }

  /** The record's detail: what went wrong, what handlers noted, and where the session it opened was recorded. */
  private static String detail(RoutingContext ctx, String problem) {
    String note = ctx.get(NOTE_KEY);
    if (note != null) {
      problem = problem == null ? note : problem + "; " + note;
    }
    String recording = ctx.get(SessionRecorder.RECORDING_KEY);
    if (recording == null) {
      return problem;
    }
    String recorded = "session recorded: /api/v1/audit/sessions/" + recording;
    return problem == null ? recorded : problem + "; " + recorded;
  }

  /** A record of a request about no cluster (a login), written by its handler. */
  public static AuditLog.Event event(RoutingContext ctx, String user, String verb, int status, long startedNanos,
                                     String detail) {
    return new AuditLog.Event(Instant.now(), requestId(ctx), user, source(ctx), null, verb,
        loggablePath(ctx.normalizedPath()), null, null, status, (System.nanoTime() - startedNanos) / 1_000_000, detail);
  }

  /** A path fit for the audit and access logs: the secret of an install link is left out. */
  public static String loggablePath(String path) {
    return path != null && path.startsWith(INSTALL_PREFIX) ? INSTALL_PREFIX + "…" : path;
  }

  /**
   * The member cluster a request is about: the pass-through's {@code :cluster}, or the clusters
   * API's {@code :name}; null for other requests.
   */
  public static String cluster(RoutingContext ctx) {
    String cluster = ctx.pathParam("cluster");
    if (cluster == null && ctx.normalizedPath().startsWith("/api/v1/clusters/")) {
      cluster = ctx.pathParam("name");
    }
    return cluster;
  }

  public static String requestId(RoutingContext ctx) {
    String id = ctx.get(REQUEST_ID_KEY);
    return id == null ? "-" : id;
  }

  /** The client's address (the connection's peer; a proxy in front is the proxy). */
  public static String source(RoutingContext ctx) {
    SocketAddress remote = ctx.request().remoteAddress();
    return remote == null ? "unknown" : remote.hostAddress();
  }
}
