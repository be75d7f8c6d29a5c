package io.kmc.hub.auth;

import io.kmc.common.KmcException;
import io.kmc.hub.cache.SharedState;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;

import java.time.Duration;
import java.util.List;

/**
 * Authenticates API and pass-through calls by bearer token (an access token from login, an API
 * token, or an OIDC token), checks its revocation marks and applies the per-user and per-token rate
 * limit in one round trip to the shared state, and puts the {@link Principal} into the routing
 * context for the handlers after it.
 */
public final class Authenticator implements Handler<RoutingContext> {

  public static final String PRINCIPAL_KEY = "kmc.principal";
  private static final Duration RATE_WINDOW = Duration.ofMinutes(1);

  private final TokenService tokens;
  private final SharedState shared;
  private final int requestsPerMinute;

  public Authenticator(TokenService tokens, SharedState shared, int requestsPerMinute) {
    this.tokens = tokens;
    this.shared = shared;
    this.requestsPerMinute = requestsPerMinute;
  }

  @Override
  public void handle(RoutingContext ctx) {
    String token = bearerToken(ctx.request());
    if (token == null) {
      ctx.fail(KmcException.unauthorized("a bearer token is required (Authorization: Bearer <token>)"));
      return;
    }
    authenticate(token)
        .onSuccess(principal -> {
          ctx.put(PRINCIPAL_KEY, principal);
          ctx.next();
        })
        .onFailure(ctx::fail);
  }

  /** Who a bearer token belongs to, after its revocation marks and the rate limit; fails with 401 or 429. */
  public Future<Principal> authenticate(String token) {
    return tokens.identify(token).compose(this::admit);
  }

  /** What a token said, checked again now (a stream ticket holds it): revocations and the rate limit. */
  public Future<Principal> admit(TokenService.Claim claim) {
    return shared.admit(claim.marks(), "ratelimit:" + claim.principal().rateLimitKey(), RATE_WINDOW)
        .map(admission -> {
          if (admission.marked()) {
            throw KmcException.unauthorized(claim.revokedMessage());
          }
          SharedState.WindowCount count = admission.window();
          if (count.count() > requestsPerMinute) {
            long retryAfter = Math.max(1, (count.resetMillis() + 999) / 1000);
            throw KmcException.tooManyRequests("more than " + requestsPerMinute
                + " requests per minute (auth.requests_per_minute); retry in " + retryAfter + " s", retryAfter);
          }
          return claim.principal();
        });
  }

  /** Whether any revocation mark of a claim is set now (for credentials that outlive one request: streams). */
  public Future<Boolean> revoked(TokenService.Claim claim) {
    List<Future<Long>> counts = claim.marks().stream().map(shared::count).toList();
    return Future.all(counts).map(all -> counts.stream().anyMatch(count -> count.result() > 0));
  }

  /** What a bearer token says, not yet checked against revocations: for a stream ticket, checked when used. */
  public Future<TokenService.Claim> identify(String token) {
    return tokens.identify(token);
  }

  /** The token of an {@code Authorization: Bearer} header, or null. */
  public static String bearerToken(HttpServerRequest request) {
    String header = request.getHeader(HttpHeaders.AUTHORIZATION);
    if (header == null || header.length() < 7 || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return null;
    }
    String token = header.substring(7).trim();
    return token.isEmpty() ? null : token;
  }

  public static Principal principal(RoutingContext ctx) {
    return ctx.get(PRINCIPAL_KEY);
  }
}
