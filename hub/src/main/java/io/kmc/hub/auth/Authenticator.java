package io.kmc.hub.auth;

import io.kmc.common.KmcException;
import io.kmc.common.protocol.ActingUser;
import io.kmc.hub.HubConfig.StaticToken;
import io.kmc.hub.api.Errors;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;

import java.util.List;

/**
 * Authenticates API and pass-through calls by bearer token, and puts the user into the routing
 * context for the handlers after it. Tokens are the static ones of the hub configuration, each
 * stored as a SHA-256.
 */
public final class Authenticator implements Handler<RoutingContext> {

  public static final String USER_KEY = "kmc.user";
  public static final String TOKEN_KEY = "kmc.token";

  private final List<StaticToken> tokens;

  public Authenticator(List<StaticToken> tokens) {
    this.tokens = List.copyOf(tokens);
  }

  @Override
  public void handle(RoutingContext ctx) {
    String token = Errors.bearerToken(ctx.request());
    if (token == null) {
      ctx.fail(KmcException.unauthorized("a bearer token is required (Authorization: Bearer <token>)"));
      return;
    }
    authenticate(token).onComplete(ar -> {
      if (ar.failed()) {
        ctx.fail(ar.cause());
      } else {
        ctx.put(USER_KEY, ar.result());
        ctx.put(TOKEN_KEY, token);
        ctx.next();
      }
    });
  }

  public Future<ActingUser> authenticate(String token) {
    // Every token is compared, so the time taken does not tell which one came close.
    byte[] hash = TokenHashes.sha256(token);
    StaticToken match = null;
    for (StaticToken candidate : tokens) {
      if (TokenHashes.matches(hash, candidate.tokenSha256()) && match == null) {
        match = candidate;
      }
    }
    if (match == null) {
      return Future.failedFuture(KmcException.unauthorized("invalid or expired token"));
    }
    return Future.succeededFuture(new ActingUser(match.user(), match.groups()));
  }

  public static ActingUser user(RoutingContext ctx) {
    return ctx.get(USER_KEY);
  }
}
