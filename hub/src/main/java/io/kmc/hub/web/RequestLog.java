package io.kmc.hub.web;

import io.kmc.hub.audit.Audits;
import io.kmc.hub.auth.Authenticator;
import io.kmc.hub.auth.Principal;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.spi.LoggingEventBuilder;

/**
 * The fields every log line about a request carries ({@code requestId}, {@code user},
 * {@code cluster}), and the access log: one line per API and pass-through request when
 * {@code server.access_log} is on.
 */
public final class RequestLog {

  /** The access log's logger, so that it can be routed or silenced on its own. */
  public static final String ACCESS_LOGGER = "io.kmc.hub.access";
  private static final Logger ACCESS = LoggerFactory.getLogger(ACCESS_LOGGER);

  private RequestLog() {
  }

  /** Adds the request's id, user and cluster (those known) to {@code event}. */
  public static LoggingEventBuilder about(LoggingEventBuilder event, RoutingContext ctx) {
    event.addKeyValue("requestId", Audits.requestId(ctx));
    Principal principal = Authenticator.principal(ctx);
    if (principal != null) {
      event.addKeyValue("user", principal.user());
    }
    String cluster = Audits.cluster(ctx);
    if (cluster != null) {
      event.addKeyValue("cluster", cluster);
    }
    return event;
  }

  public static void ended(RoutingContext ctx, String route, int status, long nanos) {
    long millis = nanos / 1_000_000;
    about(ACCESS.atInfo(), ctx).addKeyValue("method", ctx.request().method().name()).addKeyValue("route", route)
        .addKeyValue("status", status).addKeyValue("durationMs", millis)
        .log("{} {} {} {} ms", ctx.request().method(), Audits.loggablePath(ctx.request().path()), status, millis);
  }
}
