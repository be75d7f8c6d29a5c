package io.kmc.hub.auth;

import io.kmc.common.KmcException;
import io.kmc.ops.Texts;
import io.kmc.hub.cache.SharedState;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Authenticates API and pass-through calls by bearer token (an access token from login, an API
 * token, or an OIDC token), checks its revocation marks and applies the per-user and per-token rate
 * limit in one round trip to the shared state, and puts the {@link Principal} into the routing
 * context for the handlers after it.
 */
public final class Authenticator implements Handler<RoutingContext> {

  public static final String PRINCIPAL_KEY = "kmc.principal";
  private static final Duration RATE_WINDOW = Duration.ofMinutes(1);
  /** Where a browser's websocket may bring a ticket instead of a token: a pod's exec or attach, through the pass-through. */
  private static final Pattern TICKETED = Pattern.compile(
      "/k8s/clusters/[^/]+/api/v1/namespaces/[^/]+/pods/[^/]+/(exec|attach)");

  private final TokenService tokens;
  private final SharedState shared;
  private final int requestsPerMinute;
  private final SocketTickets tickets;

  /** @param ticketLifetime how long a websocket ticket ({@link SocketTickets}) may wait to be used */
  public Authenticator(TokenService tokens, SharedState shared, int requestsPerMinute, Duration ticketLifetime) {
    this.tokens = tokens;
    this.shared = shared;
    this.requestsPerMinute = requestsPerMinute;
    this.tickets = new SocketTickets(tokens, shared, ticketLifetime);
  }

  /** The one-use tickets that stand for a bearer token on a browser's websocket. */
  public SocketTickets tickets() {
    return tickets;
  }

  @Override
  public void handle(RoutingContext ctx) {
    String token = bearerToken(ctx.request());
    Future<Principal> who;
    if (token != null) {
      who = authenticate(token);
    } else if (ctx.request().getParam("ticket") != null && TICKETED.matcher(ctx.request().path()).matches()
        && "websocket".equalsIgnoreCase(ctx.request().getHeader(HttpHeaders.UPGRADE))) {
      // A browser's exec or attach websocket (the console's terminal): it cannot send a header, so it
      // brings a one-use ticket, and only from a page of this hub (a cross-site page has no ticket to
      // bring either: getting one takes the bearer token).
      if (!sameOrigin(ctx.request())) {
        ctx.fail(KmcException.forbidden("a websocket with a ticket must come from a page of this hub (Origin "
            + Texts.forLog(ctx.request().getHeader(HttpHeaders.ORIGIN)) + ")"));
        return;
      }
      who = tickets.redeem(ctx.request().getParam("ticket")).compose(this::admit);
    } else {
      ctx.fail(KmcException.unauthorized("a bearer token is required (Authorization: Bearer <token>)"));
      return;
    }
    who
        .onSuccess(principal -> {
          ctx.put(PRINCIPAL_KEY, principal);
          ctx.next();
        })
        .onFailure(ctx::fail);
  }

  /** Whether a request's Origin, if it has one, is the hub's own address as the request reached it. */
  static boolean sameOrigin(HttpServerRequest request) {
    String origin = request.getHeader(HttpHeaders.ORIGIN);
    if (origin == null) {
      return true; // not a browser: a ticket stands for a token the client had anyway
    }
    String host = request.getHeader(HttpHeaders.HOST);
    try {
      URI uri = new URI(origin);
      return host != null && uri.getRawAuthority() != null && uri.getRawAuthority().equalsIgnoreCase(host)
          && ("https".equalsIgnoreCase(uri.getScheme()) || "http".equalsIgnoreCase(uri.getScheme()));
    } catch (URISyntaxException e) {
      return false;
    }
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
