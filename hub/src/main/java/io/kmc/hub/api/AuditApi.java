package io.kmc.hub.api;

import io.kmc.common.KmcException;
import io.kmc.hub.audit.AuditLog;
import io.kmc.hub.audit.SessionRecorder;
import io.kmc.ops.Texts;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.ext.web.RoutingContext;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.UUID;

/**
 * {@code GET /api/v1/audit?user=&cluster=&verb=&status=&since=&until=&path=&limit=&before=}: the
 * audit log, newest first, a page at a time ({@code before} is the {@code next} of the previous page).
 * Every filter is bound as a query parameter, never pasted into SQL.
 */
public final class AuditApi {

  private final AuditLog audit;
  private final SessionRecorder recordings;

  public AuditApi(AuditLog audit, SessionRecorder recordings) {
    this.audit = audit;
    this.recordings = recordings;
  }

  /** {@code GET /api/v1/audit/sessions/{id}}: a recorded exec or attach session, in asciicast v2. */
  public void session(RoutingContext ctx) {
    UUID id;
    try {
      id = UUID.fromString(ctx.pathParam("id"));
    } catch (IllegalArgumentException e) {
      throw KmcException.notFound("no recorded session " + Texts.forLog(ctx.pathParam("id")));
    }
    recordings.cast(id).onSuccess(cast -> {
      if (cast == null) {
        ctx.fail(KmcException.notFound("no recorded session " + id));
      } else {
        ctx.response().putHeader("Content-Type", "application/x-asciicast").end(cast);
      }
    }).onFailure(ctx::fail);
  }

  public void query(RoutingContext ctx) {
    MultiMap params = ctx.queryParams();
    AuditLog.Filter filter = new AuditLog.Filter(params.get("user"), params.get("cluster"), params.get("verb"),
        integer(params, "status"), instant(params, "since"), instant(params, "until"), params.get("path"),
        longValue(params, "before"), limit(params));
    audit.flush().recover(e -> Future.succeededFuture())
        .compose(v -> audit.query(filter))
        .onSuccess(page -> Bodies.json(ctx, page))
        .onFailure(ctx::fail);
  }

  private static int limit(MultiMap params) {
    Integer limit = integer(params, "limit");
    if (limit == null) {
      return 100;
    }
    if (limit < 1 || limit > AuditLog.MAX_PAGE) {
      throw KmcException.badRequest("'limit' must be between 1 and " + AuditLog.MAX_PAGE);
    }
    return limit;
  }

  private static Integer integer(MultiMap params, String name) {
    String value = params.get(name);
    try {
      return value == null ? null : Integer.valueOf(value);
    } catch (NumberFormatException e) {
      throw KmcException.badRequest("'" + name + "' must be a whole number");
    }
  }

  private static Long longValue(MultiMap params, String name) {
    String value = params.get(name);
    try {
      return value == null ? null : Long.valueOf(value);
    } catch (NumberFormatException e) {
      throw KmcException.badRequest("'" + name + "' must be a whole number");
    }
  }

  private static Instant instant(MultiMap params, String name) {
    String value = params.get(name);
    try {
      return value == null ? null : Instant.parse(value);
    } catch (DateTimeParseException e) {
      throw KmcException.badRequest("'" + name + "' must be a time such as 2026-11-27T12:00:00Z");
    }
  }
}
