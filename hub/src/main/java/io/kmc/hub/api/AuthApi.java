package io.kmc.hub.api;

import io.kmc.common.KmcException;
import io.kmc.hub.audit.AuditLog;
import io.kmc.hub.audit.Audits;
import io.kmc.hub.auth.Authenticator;
import io.kmc.hub.auth.LoginGuard;
import io.kmc.hub.auth.OidcSignIn;
import io.kmc.hub.auth.Principal;
import io.kmc.hub.auth.TokenService;
import io.kmc.hub.config.HubConfig;
import io.kmc.hub.rbac.Authorizer;
import io.kmc.hub.store.IdentityStore;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.time.Duration;

/**
 * {@code /api/v1/auth/*} (login, refresh, logout, whoami) and {@code /api/v1/tokens} (API tokens
 * for CI, revocable).
 */
public final class AuthApi {

  private final TokenService tokens;
  private final IdentityStore store;
  private final LoginGuard guard;
  private final Authorizer authorizer;
  private final AuditLog audit;
  private final HubConfig.Oidc oidc;
  private final OidcSignIn signIn;
  private final String publicUrl;

  public AuthApi(TokenService tokens, IdentityStore store, LoginGuard guard, Authorizer authorizer, AuditLog audit,
                 HubConfig.Oidc oidc, OidcSignIn signIn, String publicUrl) {
    this.tokens = tokens;
    this.store = store;
    this.guard = guard;
    this.authorizer = authorizer;
    this.audit = audit;
    this.oidc = oidc;
    this.signIn = signIn;
    this.publicUrl = publicUrl;
  }

  /**
   * {@code GET /api/v1/auth/providers}, without a token: how to sign in, for {@code kmc login}:
   * always a password; an OIDC issuer and client when the device flow is configured, and then also
   * where a browser signs in with it ({@code browser}, the console's button).
   */
  public void providers(RoutingContext ctx) {
    JsonObject answer = new JsonObject().put("password", true);
    if (oidc != null && oidc.enabled() && oidc.clientId() != null) {
      answer.put("oidc", new JsonObject().put("issuer", oidc.issuer()).put("clientId", oidc.clientId())
          .put("audience", oidc.audience()).put("browser", OIDC_AUTHORIZE));
    }
    Bodies.json(ctx, answer);
  }

  /** {@code POST /api/v1/auth/login} {@code {"username", "password"}}. Audited whatever the outcome. */
  public void login(RoutingContext ctx) {
    long started = System.nanoTime();
    JsonObject body = Bodies.object(ctx);
    // Checked before anything is looked up, throttled or audited: a name that cannot exist is a 400.
    String user = UsersApi.validName(Bodies.string(body, "username", true), "username");
    String password = Bodies.string(body, "password", true, UsersApi.MAX_PASSWORD);
    String source = Audits.source(ctx);
    guard.check(user, source)
        .compose(v -> tokens.login(user, password, source)
            .recover(e -> e instanceof KmcException k && k.status() == 401
                ? guard.failed(user, source).compose(x -> Future.failedFuture(e))
                : Future.failedFuture(e)))
        .onSuccess(issued -> {
          guard.succeeded(user);
          audit.record(Audits.event(ctx, user, "login", 200, started, null));
          Bodies.json(ctx, issued.toJson());
        })
        .onFailure(e -> {
          int status = e instanceof KmcException k ? k.status() : 500;
          audit.record(Audits.event(ctx, user, "login", status, started, e.getMessage()));
          ctx.fail(e);
        });
  }

  public static final String OIDC_AUTHORIZE = "/api/v1/auth/oidc/authorize";
  public static final String OIDC_CALLBACK = "/api/v1/auth/oidc/callback";
  /** Where the console goes after signing in, unless it asked for a view of its own. */
  private static final String CONSOLE_HOME = "#/fleet";

  /**
   * {@code GET /api/v1/auth/oidc/authorize?then=#/view}, a browser's navigation: to the issuer's
   * sign-in page (authorization code with PKCE); {@code then} is the console view to come back to.
   */
  public void oidcAuthorize(RoutingContext ctx) {
    if (signIn == null) {
      ctx.fail(oidcNotConfigured());
      return;
    }
    String then = ctx.request().getParam("then");
    if (then == null || !then.startsWith("#/") || then.length() > 2000) {
      then = CONSOLE_HOME;
    }
    signIn.authorizationUrl(ClustersApi.baseUrl(ctx, publicUrl) + OIDC_CALLBACK, then)
        .onSuccess(url -> redirect(ctx, url))
        .onFailure(ctx::fail);
  }

  /**
   * {@code GET /api/v1/auth/oidc/callback?code&state}: the issuer sends the browser back here. The
   * browser goes on to the console with a one-use hand-off code in the fragment, or with the reason
   * the sign-in failed. Audited either way.
   */
  public void oidcCallback(RoutingContext ctx) {
    long started = System.nanoTime();
    String error = ctx.request().getParam("error");
    Future<OidcSignIn.Completed> completed = signIn == null
        ? Future.failedFuture(oidcNotConfigured())
        : error != null
        ? Future.failedFuture(KmcException.unauthorized("the OIDC issuer did not sign you in: " + abbreviate(error + " "
            + (ctx.request().getParam("error_description") == null ? "" : ctx.request().getParam("error_description"))).trim()))
        : signIn.complete(ctx.request().getParam("code"), ctx.request().getParam("state"));
    completed.onSuccess(done -> {
      audit.record(Audits.event(ctx, done.user(), "login", 200, started, "oidc"));
      redirect(ctx, "/#/oidc?" + OidcSignIn.query("handoff", done.handoff(), "then", done.then()));
    }).onFailure(e -> {
      int status = e instanceof KmcException k ? k.status() : 500;
      audit.record(Audits.event(ctx, "-", "login", status, started, "oidc: " + e.getMessage()));
      redirect(ctx, "/#/login?" + OidcSignIn.query("error", e.getMessage()));
    });
  }

  /** {@code POST /api/v1/auth/oidc/token} {@code {"handoff"}}: the page redeems what the callback handed it. */
  public void oidcToken(RoutingContext ctx) {
    String handoff = Bodies.string(Bodies.object(ctx), "handoff", true);
    if (signIn == null) {
      ctx.fail(oidcNotConfigured());
      return;
    }
    signIn.redeem(handoff).onSuccess(issued -> Bodies.json(ctx, issued)).onFailure(ctx::fail);
  }

  /** {@code POST /api/v1/auth/oidc/refresh} {@code {"refreshToken"}}: new tokens from the issuer. */
  public void oidcRefresh(RoutingContext ctx) {
    String refreshToken = Bodies.string(Bodies.object(ctx), "refreshToken", true);
    if (signIn == null) {
      ctx.fail(oidcNotConfigured());
      return;
    }
    signIn.refresh(refreshToken).onSuccess(issued -> Bodies.json(ctx, issued)).onFailure(ctx::fail);
  }

  private static KmcException oidcNotConfigured() {
    return KmcException.notFound("signing in with OIDC in a browser is not configured: set auth.oidc.client_id "
        + "(and the other auth.oidc settings)");
  }

  private static void redirect(RoutingContext ctx, String location) {
    ctx.response().setStatusCode(302).putHeader("Location", location).putHeader("Cache-Control", "no-store").end();
  }

  private static String abbreviate(String text) {
    return text.length() <= 300 ? text : text.substring(0, 300) + "…";
  }

  /** {@code POST /api/v1/auth/refresh} {@code {"refreshToken"}}. */
  public void refresh(RoutingContext ctx) {
    String refreshToken = Bodies.string(Bodies.object(ctx), "refreshToken", true);
    tokens.refresh(refreshToken).onSuccess(issued -> Bodies.json(ctx, issued.toJson())).onFailure(ctx::fail);
  }

  /** {@code POST /api/v1/auth/logout}: ends the caller's session on every node. */
  public void logout(RoutingContext ctx) {
    Principal principal = Authenticator.principal(ctx);
    if (!Principal.SESSION.equals(principal.kind())) {
      ctx.fail(KmcException.badRequest("only a login session can log out; revoke an API token with "
          + "DELETE /api/v1/tokens/{id}"));
      return;
    }
    tokens.revokeSession(principal.credentialId()).onSuccess(v -> Bodies.noContent(ctx)).onFailure(ctx::fail);
  }

  /** {@code GET /api/v1/auth/whoami}. */
  public void whoami(RoutingContext ctx) {
    Principal principal = Authenticator.principal(ctx);
    Bodies.json(ctx, new JsonObject().put("user", principal.user()).put("groups", new JsonArray(principal.groups()))
        .put("kind", principal.kind()));
  }

  /** At most this many questions in one {@code can-i}. */
  static final int MAX_ACCESS_CHECKS = 100;

  /**
   * {@code POST /api/v1/auth/can-i} {@code {"checks": [{"resource", "verb", "cluster", "namespace"}]}}:
   * what the caller may do, answered from the same RBAC that decides the calls, so that a client (the
   * console) offers only what would be allowed. Without {@code cluster} a check is about the hub's own
   * objects ({@code audit}, {@code propagations}, {@code users}...). A cluster the caller cannot see
   * is answered {@code false}, as a cluster that does not exist.
   */
  public void canI(RoutingContext ctx) {
    Principal principal = Authenticator.principal(ctx);
    Object value = Bodies.object(ctx).getValue("checks");
    if (!(value instanceof JsonArray checks) || checks.isEmpty() || checks.size() > MAX_ACCESS_CHECKS) {
      throw KmcException.badRequest("'checks' must be a list of 1 to " + MAX_ACCESS_CHECKS
          + " objects {\"resource\", \"verb\", \"cluster\", \"namespace\"}");
    }
    JsonArray results = new JsonArray();
    for (int i = 0; i < checks.size(); i++) {
      if (!(checks.getValue(i) instanceof JsonObject check)) {
        throw KmcException.badRequest("checks[" + i + "] must be an object");
      }
      String resource = Bodies.string(check, "resource", true);
      String verb = Bodies.string(check, "verb", true);
      String cluster = Bodies.string(check, "cluster", false);
      String namespace = Bodies.string(check, "namespace", false);
      results.add(cluster == null
          ? authorizer.allowed(principal, resource, verb)
          : authorizer.allowed(principal, cluster, namespace, resource, verb));
    }
    Bodies.json(ctx, new JsonObject().put("results", results));
  }

  /** {@code POST /api/v1/tokens} {@code {"name", "expiresIn": "90d"}}: the token is in the answer, once. */
  public void createToken(RoutingContext ctx) {
    JsonObject body = Bodies.object(ctx);
    String name = Bodies.string(body, "name", true);
    if (name.isBlank() || name.length() > 100) {
      throw KmcException.badRequest("'name' must be 1 to 100 characters");
    }
    Duration lifetime = Bodies.duration(body, "expiresIn", Duration.ofDays(90));
    if (lifetime.isNegative() || lifetime.isZero()) {
      throw KmcException.badRequest("'expiresIn' must be positive");
    }
    tokens.createApiToken(Authenticator.principal(ctx).user(), name, lifetime)
        .onSuccess(created -> Bodies.json(ctx, 201, describe(created.token()).put("token", created.secret())))
        .onFailure(ctx::fail);
  }

  /** {@code GET /api/v1/tokens}: the caller's tokens; {@code ?all=true} every user's, for admins. */
  public void listTokens(RoutingContext ctx) {
    Principal principal = Authenticator.principal(ctx);
    boolean all = "true".equals(ctx.queryParams().get("all"));
    if (all && !authorizer.allowed(principal, "tokens", "list")) {
      throw KmcException.forbidden("user '" + principal.user() + "' may not list other users' tokens");
    }
    store.apiTokens(all ? null : principal.user()).onSuccess(list -> {
      JsonArray items = new JsonArray();
      list.forEach(token -> items.add(describe(token)));
      Bodies.json(ctx, new JsonObject().put("items", items));
    }).onFailure(ctx::fail);
  }

  /** {@code DELETE /api/v1/tokens/{id}}: the owner or an admin revokes it, on every node at once. */
  public void revokeToken(RoutingContext ctx) {
    Principal principal = Authenticator.principal(ctx);
    String id = ctx.pathParam("id");
    store.apiToken(id).compose(token -> {
      if (token == null || (!token.user().equals(principal.user()) && !authorizer.allowed(principal, "tokens", "delete"))) {
        return Future.failedFuture(KmcException.notFound("no API token " + id));
      }
      return tokens.revokeApiToken(id);
    }).onSuccess(v -> Bodies.noContent(ctx)).onFailure(ctx::fail);
  }

  static JsonObject describe(IdentityStore.ApiToken token) {
    return new JsonObject()
        .put("id", token.id())
        .put("name", token.name())
        .put("user", token.user())
        .put("createdAt", token.createdAt().toInstant().toString())
        .put("expiresAt", token.expiresAt().toInstant().toString())
        .put("revokedAt", token.revokedAt() == null ? null : token.revokedAt().toInstant().toString())
        .put("lastUsedAt", token.lastUsedAt() == null ? null : token.lastUsedAt().toInstant().toString());
  }
}
