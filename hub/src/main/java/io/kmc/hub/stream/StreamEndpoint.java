package io.kmc.hub.stream;

import io.kmc.common.KmcException;
import io.kmc.hub.auth.Authenticator;
import io.kmc.hub.auth.TokenService;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/**
 * {@code GET /api/v1/stream} (the websocket) and {@code POST /api/v1/stream/tickets}. The socket is
 * authenticated during the handshake, before the upgrade: with a bearer token, or with a ticket
 * in {@code ?ticket=} for browsers, which cannot set headers on a websocket. A ticket is good for
 * one use within {@code stream.ticket_lifetime}, on any node (it lives in the shared state, under
 * its hash); it holds what the bearer token said, and the token's revocation marks are checked
 * again when it is used.
 */
public final class StreamEndpoint {

  public static final String PATH = "/api/v1/stream";
  public static final String TICKETS_PATH = "/api/v1/stream/tickets";

  private final StreamService service;
  private final Authenticator authenticator;

  public StreamEndpoint(StreamService service, Authenticator authenticator) {
    this.service = service;
    this.authenticator = authenticator;
  }

  /** Authenticates, then upgrades; a failure is an HTTP answer (401, 429), never an upgraded socket. */
  public void open(RoutingContext ctx) {
    if (!"websocket".equalsIgnoreCase(ctx.request().getHeader(HttpHeaders.UPGRADE))) {
      ctx.fail(KmcException.badRequest(PATH + " is a websocket: connect with Upgrade: websocket (docs/streams.md)"));
      return;
    }
    String ticket = ctx.request().getParam("ticket");
    String bearer = Authenticator.bearerToken(ctx.request());
    Future<TokenService.Claim> claim;
    if (bearer != null) {
      claim = authenticator.identify(bearer);
    } else if (ticket != null) {
      claim = authenticator.tickets().redeem(ticket);
    } else {
      claim = Future.failedFuture(KmcException.unauthorized("a bearer token (Authorization: Bearer <token>) "
          + "or a ticket from POST " + TICKETS_PATH + " (?ticket=) is required"));
    }
    claim.compose(c -> authenticator.admit(c).map(c)).onFailure(ctx::fail).onSuccess(who -> {
      Vertx vertx = ctx.vertx();
      ctx.request().toWebSocket().onFailure(e -> {
        if (!ctx.response().ended()) {
          ctx.fail(KmcException.badRequest("cannot upgrade to a websocket: " + e.getMessage()));
        }
      }).onSuccess(socket ->
          new StreamSocket(service, socket, who.principal(), vertx.getOrCreateContext(),
              () -> authenticator.revoked(who)).start());
    });
  }

  /** A single-use ticket for a browser's socket, standing for the caller's bearer token. */
  public void ticket(RoutingContext ctx) {
    authenticator.tickets().issue(Authenticator.bearerToken(ctx.request()))
        .onFailure(ctx::fail).onSuccess(issued -> ctx.response().setStatusCode(201)
            .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
            .putHeader(HttpHeaders.CACHE_CONTROL, "no-store")
            .end(new JsonObject().put("ticket", issued.ticket())
                .put("expiresAt", issued.expiresAt().toString()).encode()));
  }
}
