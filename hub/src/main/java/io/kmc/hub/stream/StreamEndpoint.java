package io.kmc.hub.stream;

import io.kmc.common.KmcException;
import io.kmc.hub.auth.Authenticator;
import io.kmc.hub.auth.Principal;
import io.kmc.hub.auth.TokenService;
import io.kmc.hub.cache.SharedState;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;

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
  private static final String TICKET_KEY = "stream-ticket:";
  private static final SecureRandom RANDOM = new SecureRandom();

  private final StreamService service;
  private final Authenticator authenticator;
  private final SharedState shared;

  public StreamEndpoint(StreamService service, Authenticator authenticator, SharedState shared) {
    this.service = service;
    this.authenticator = authenticator;
    this.shared = shared;
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
      claim = redeem(ticket);
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
    String bearer = Authenticator.bearerToken(ctx.request());
    byte[] secret = new byte[32];
    RANDOM.nextBytes(secret);
    String ticket = "kmcst_" + Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
    long lifetime = service.settings().ticketLifetime().toMillis();
    authenticator.identify(bearer).compose(claim -> {
      Principal who = claim.principal();
      JsonObject stored = new JsonObject().put("user", who.user()).put("groups", new JsonArray(who.groups()))
          .put("kind", who.kind()).put("credentialId", who.credentialId())
          .put("marks", new JsonArray(claim.marks())).put("revoked", claim.revokedMessage());
      return shared.put(TICKET_KEY + hash(ticket), stored.encode(), service.settings().ticketLifetime());
    }).onFailure(ctx::fail).onSuccess(v -> ctx.response().setStatusCode(201)
        .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .putHeader(HttpHeaders.CACHE_CONTROL, "no-store")
        .end(new JsonObject().put("ticket", ticket)
            .put("expiresAt", Instant.now().plusMillis(lifetime).toString()).encode()));
  }

  private Future<TokenService.Claim> redeem(String ticket) {
    if (ticket.length() > 200) {
      return Future.failedFuture(KmcException.unauthorized("the stream ticket is unknown, used or expired"));
    }
    return shared.take(TICKET_KEY + hash(ticket)).compose(stored -> {
      if (stored == null) {
        return Future.failedFuture(KmcException.unauthorized("the stream ticket is unknown, used or expired"));
      }
      JsonObject json = new JsonObject(stored);
      @SuppressWarnings("unchecked")
      List<String> groups = json.getJsonArray("groups", new JsonArray()).getList();
      @SuppressWarnings("unchecked")
      List<String> marks = json.getJsonArray("marks", new JsonArray()).getList();
      Principal principal = new Principal(json.getString("user"), groups, json.getString("kind"),
          json.getString("credentialId"));
      return Future.succeededFuture(new TokenService.Claim(principal, marks, json.getString("revoked")));
    });
  }

  private static String hash(String ticket) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
          .digest(ticket.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is not available", e);
    }
  }
}
