package io.kmc.hub.web;

import io.kmc.common.KmcException;
import io.kmc.common.KubeStatus;
import io.kmc.hub.audit.Audits;
import io.kmc.hub.rbac.Authorizer;
import io.kmc.hub.rbac.KubeRequestAttributes;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns any failure into one error body: a Kubernetes {@code Status} on Kubernetes paths (so
 * kubectl and client-java show it as they would the cluster's own), {@code {"code", "reason",
 * "message"}} elsewhere.
 */
public final class Errors {

  private static final Logger LOG = LoggerFactory.getLogger(Errors.class);
  public static final String KUBE_PREFIX = "/k8s/";

  private Errors() {
  }

  /** The router's failure handler. */
  public static void handle(RoutingContext ctx) {
    respond(ctx, toKmcException(ctx));
  }

  public static void respond(RoutingContext ctx, Throwable failure) {
    KmcException e = failure instanceof KmcException k ? k : unexpected(failure);
    if (e.status() >= 500 && e.getCause() != null) {
      RequestLog.about(LOG.atError(), ctx).setCause(e.getCause())
          .log("{} {} failed: {}", ctx.request().method(), Audits.loggablePath(ctx.request().path()),
              e.getCause().toString());
    }
    HttpServerResponse response = ctx.response();
    if (response.headWritten()) {
      response.reset();
      return;
    }
    Buffer body;
    if (ctx.request().path().startsWith(KUBE_PREFIX)) {
      body = Buffer.buffer(KubeStatus.failure(e));
      KubeRequestAttributes kube = ctx.get(Authorizer.KUBE_ATTRIBUTES_KEY);
      if (kube == null || !kube.resourceRequest()) {
        // kubectl reads discovery (/api, /apis, /version) without decoding a Status and prints only
        // the generic text of the status code ("the server is currently unable to handle the
        // request"); a Warning header it prints as it is.
        response.putHeader("Warning", warning(e.getMessage()));
      }
    } else {
      body = new JsonObject().put("code", e.status()).put("reason", e.reason()).put("message", e.getMessage())
          .toBuffer();
    }
    if (e.status() == 401) {
      response.putHeader("WWW-Authenticate", "Bearer realm=\"kmc\"");
    }
    if (e.retryAfterSeconds() > 0) {
      response.putHeader("Retry-After", String.valueOf(e.retryAfterSeconds()));
    }
    response.setStatusCode(e.status())
        .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .end(body);
  }

  private static KmcException toKmcException(RoutingContext ctx) {
    Throwable failure = ctx.failure();
    if (failure instanceof KmcException e) {
      return e;
    }
    int status = ctx.statusCode();
    return switch (status) {
      case 400 -> KmcException.badRequest(failure == null ? "bad request" : failure.getMessage());
      case 401 -> KmcException.unauthorized("authentication required");
      case 403 -> KmcException.forbidden("forbidden");
      case 404 -> KmcException.notFound("no such resource: " + ctx.request().path());
      case 405 -> new KmcException.ClientError(405, "MethodNotAllowed", ctx.request().method() + " is not allowed here");
      case 413 -> KmcException.tooLarge("request body is larger than the hub accepts (server.max_body_bytes)");
      case 415 -> new KmcException.ClientError(415, "UnsupportedMediaType", "unsupported content type");
      default -> status >= 400 && status < 500
          ? new KmcException.ClientError(status, "BadRequest", failure == null ? "bad request" : failure.getMessage())
          : unexpected(failure);
    };
  }

  /**
   * A failure no handler turned into an answer: a 503 when the hub lost a store it needs for every
   * request (PostgreSQL or Redis refused, reset or closed the connection, or is shutting down) or
   * its database pool's wait queue is full, so that clients retry as they would any unavailable
   * server; else a 500.
   */
  static KmcException unexpected(Throwable failure) {
    for (Throwable cause = failure; cause != null; cause = cause.getCause() == cause ? null : cause.getCause()) {
      if (cause instanceof io.vertx.core.http.ConnectionPoolTooBusyException) {
        return new KmcException.ServerError(503, "ServiceUnavailable", "the hub node is too busy: more queries wait "
            + "for its database connections than database.max_waiting_queries allows; try again shortly", failure, 1);
      }
      if (storeUnreachable(cause)) {
        return new KmcException.ServerError(503, "ServiceUnavailable", "the hub cannot reach its database or Redis "
            + "just now (" + cause.getMessage() + "); try again shortly", failure, 1);
      }
    }
    return KmcException.internal("internal error", failure);
  }

  private static boolean storeUnreachable(Throwable cause) {
    if (cause instanceof java.net.ConnectException || cause instanceof java.net.SocketException
        || cause instanceof io.vertx.core.http.HttpClosedException) {
      return true;
    }
    if (cause instanceof io.vertx.pgclient.PgException pg && pg.getSqlState() != null) {
      // Class 08: connection exception; 57P01–57P03: the server is shutting down or starting up.
      return pg.getSqlState().startsWith("08") || pg.getSqlState().startsWith("57P");
    }
    // Vert.x's "connection closed" (io.vertx.core.net.impl.ClosedConnectionException, NetSocket closed mid-query).
    return cause.getClass().getSimpleName().equals("ClosedConnectionException")
        || "CONNECTION_CLOSED".equals(cause.getMessage());
  }

  /** An RFC 7234 warning (code 299, "miscellaneous persistent warning") whose text kubectl prints. */
  public static String warning(String message) {
    StringBuilder text = new StringBuilder();
    for (char c : message.toCharArray()) {
      if (c == '"' || c == '\\') {
        text.append('\\').append(c);
      } else if (c >= 0x20 && c < 0x7f) {
        text.append(c);
      } else {
        text.append('?'); // a header carries ASCII only
      }
    }
    return "299 - \"" + text + "\"";
  }

}
