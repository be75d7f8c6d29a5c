package io.kmc.hub.auth;

import io.kmc.common.KmcException;
import io.kmc.hub.cache.SharedState;
import io.kmc.hub.config.HubConfig;
import io.kmc.hub.store.TokenHashes;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;

/**
 * Signing in to the console through the OIDC issuer: the authorization-code flow with PKCE (RFC 7636),
 * the hub acting as the issuer's public client ({@code auth.oidc.client_id}) on the browser's behalf.
 * The browser is sent to the issuer, comes back to the hub's callback with a code, the hub exchanges
 * it for the issuer's tokens and hands them to the page through a one-use code in the page's URL
 * fragment (never a cookie), which the page redeems with a POST. State and hand-off live in the shared
 * state, so each step may reach a different hub node. The page then presents the issuer's token like
 * {@code kmc login} does, and renews it through the hub with the refresh token it holds in memory.
 */
public final class OidcSignIn {

  private static final String STATE_KEY = "oidc-state:";
  private static final String HANDOFF_KEY = "oidc-handoff:";
  /** How long a user may take at the issuer's login page. */
  static final Duration STATE_LIFETIME = Duration.ofMinutes(10);
  /** How long the page has to redeem what the callback handed it. */
  static final Duration HANDOFF_LIFETIME = Duration.ofSeconds(60);
  private static final int MAX_PARAMETER = 4096;

  private final HubConfig.Oidc config;
  private final SharedState shared;
  private final TokenService tokens;
  private final WebClient client;
  private volatile Future<Endpoints> endpoints;

  /** Where the issuer signs users in and hands out tokens (its discovery document). */
  record Endpoints(String authorization, String token) {
  }

  /** Where the callback sends the browser: the console, with the hand-off code and the view to go on to. */
  public record Completed(String handoff, String then, String user) {
  }

  public OidcSignIn(Vertx vertx, HubConfig.Oidc config, SharedState shared, TokenService tokens) {
    this.config = config;
    this.shared = shared;
    this.tokens = tokens;
    this.client = WebClient.create(vertx, new WebClientOptions().setFollowRedirects(false)
        .setConnectTimeout(10_000).setIdleTimeout(30));
  }

  /** Whether the browser sign-in is configured (an issuer and a public client of it). */
  public static boolean configured(HubConfig.Oidc oidc) {
    return oidc != null && oidc.enabled() && oidc.clientId() != null;
  }

  /**
   * The issuer's authorization URL to send the browser to, remembering (for {@link #STATE_LIFETIME})
   * the PKCE verifier, the callback URL and the console view to return to.
   */
  public Future<String> authorizationUrl(String callbackUrl, String then) {
    String state = TokenHashes.newSecret();
    String verifier = TokenHashes.newSecret();
    JsonObject remembered = new JsonObject().put("verifier", verifier).put("callback", callbackUrl).put("then", then);
    return discovered().compose(found -> shared.put(STATE_KEY + TokenHashes.sha256Hex(state), remembered.encode(),
            STATE_LIFETIME)
        .map(v -> found.authorization() + (found.authorization().contains("?") ? "&" : "?")
            + query("response_type", "code", "client_id", config.clientId(), "redirect_uri", callbackUrl,
                "scope", "openid profile email offline_access", "state", state,
                "code_challenge", Base64.getUrlEncoder().withoutPadding().encodeToString(TokenHashes.sha256(verifier)),
                "code_challenge_method", "S256")));
  }

  /**
   * The issuer sent the browser back: checks the state (once), exchanges the code for the issuer's
   * tokens, verifies them as any request's token would be, and keeps them for the page to redeem.
   */
  public Future<Completed> complete(String code, String state) {
    if (state == null || state.isEmpty() || state.length() > MAX_PARAMETER) {
      return Future.failedFuture(KmcException.badRequest("the sign-in came back without its state: start again"));
    }
    if (code == null || code.isEmpty() || code.length() > MAX_PARAMETER) {
      return Future.failedFuture(KmcException.badRequest("the issuer sent no authorization code"));
    }
    return shared.take(STATE_KEY + TokenHashes.sha256Hex(state)).compose(stored -> {
      if (stored == null) {
        return Future.failedFuture(KmcException.badRequest("this sign-in is unknown, was used already or took longer "
            + "than " + STATE_LIFETIME.toMinutes() + " minutes: start again"));
      }
      JsonObject remembered = new JsonObject(stored);
      MultiMap form = MultiMap.caseInsensitiveMultiMap()
          .add("grant_type", "authorization_code")
          .add("code", code)
          .add("redirect_uri", remembered.getString("callback"))
          .add("client_id", config.clientId())
          .add("code_verifier", remembered.getString("verifier"));
      return tokenRequest(form).compose(issued -> {
        String handoff = TokenHashes.newSecret();
        return shared.put(HANDOFF_KEY + TokenHashes.sha256Hex(handoff), issued.encode(), HANDOFF_LIFETIME)
            .map(v -> new Completed(handoff, remembered.getString("then"), issued.getString("user")));
      });
    });
  }

  /** What the callback handed the page, once: {@code {accessToken, refreshToken, expiresIn, user}}. */
  public Future<JsonObject> redeem(String handoff) {
    if (handoff == null || handoff.isEmpty() || handoff.length() > 200) {
      return Future.failedFuture(KmcException.unauthorized("the sign-in hand-off is unknown, used or expired"));
    }
    return shared.take(HANDOFF_KEY + TokenHashes.sha256Hex(handoff)).compose(stored -> stored == null
        ? Future.failedFuture(KmcException.unauthorized("the sign-in hand-off is unknown, used or expired: sign in again"))
        : Future.succeededFuture(new JsonObject(stored)));
  }

  /** New tokens from the issuer for the refresh token the page holds. */
  public Future<JsonObject> refresh(String refreshToken) {
    if (refreshToken == null || refreshToken.isEmpty() || refreshToken.length() > MAX_PARAMETER) {
      return Future.failedFuture(KmcException.badRequest("'refreshToken' is required"));
    }
    MultiMap form = MultiMap.caseInsensitiveMultiMap()
        .add("grant_type", "refresh_token")
        .add("refresh_token", refreshToken)
        .add("client_id", config.clientId());
    return tokenRequest(form).map(issued -> issued.containsKey("refreshToken") ? issued
        : issued.put("refreshToken", refreshToken));
  }

  /**
   * Asks the issuer's token endpoint and answers the token the hub accepts (the ID token, or else the
   * access token: whichever names the hub's audience and verifies), with who it names.
   */
  private Future<JsonObject> tokenRequest(MultiMap form) {
    return discovered().compose(found -> client.postAbs(found.token()).putHeader("Accept", "application/json")
            .sendForm(form)
            .recover(e -> Future.failedFuture(KmcException.unavailable("the OIDC issuer's token endpoint cannot be "
                + "reached: " + e.getMessage()))))
        .compose(response -> {
          JsonObject body = json(response);
          if (response.statusCode() != 200 || body == null) {
            String error = body == null ? "HTTP " + response.statusCode()
                : body.getString("error", "HTTP " + response.statusCode()) + " " + body.getString("error_description", "");
            return Future.failedFuture(KmcException.unauthorized("the OIDC issuer refused the sign-in: "
                + abbreviate(error.trim())));
          }
          return accepted(body.getString("id_token")).recover(e -> accepted(body.getString("access_token")))
              .map(bearer -> {
                JsonObject issued = new JsonObject().put("accessToken", bearer.token())
                    .put("expiresIn", expiresIn(bearer.token(), body)).put("user", bearer.user());
                String refresh = body.getString("refresh_token");
                return refresh == null ? issued : issued.put("refreshToken", refresh);
              });
        });
  }

  private record Bearer(String token, String user) {
  }

  private Future<Bearer> accepted(String token) {
    if (token == null) {
      return Future.failedFuture(KmcException.unauthorized("the OIDC issuer answered without a token the hub accepts "
          + "(none names the audience '" + config.audience() + "')"));
    }
    return tokens.identify(token).map(claim -> new Bearer(token, claim.principal().user()));
  }

  private Future<Endpoints> discovered() {
    Future<Endpoints> known = endpoints;
    if (known != null && !known.failed()) {
      return known;
    }
    String url = config.issuer().replaceAll("/+$", "") + "/.well-known/openid-configuration";
    Future<Endpoints> fetched = client.getAbs(url).putHeader("Accept", "application/json").send().compose(response -> {
      JsonObject body = json(response);
      if (response.statusCode() != 200 || body == null || body.getString("authorization_endpoint") == null
          || body.getString("token_endpoint") == null) {
        return Future.failedFuture(KmcException.unavailable("the OIDC issuer's discovery document (" + url
            + ") answered HTTP " + response.statusCode() + " without authorization_endpoint and token_endpoint"));
      }
      return Future.succeededFuture(new Endpoints(body.getString("authorization_endpoint"),
          body.getString("token_endpoint")));
    }, e -> Future.failedFuture(KmcException.unavailable("the OIDC issuer cannot be reached at " + url + ": "
        + e.getMessage())));
    endpoints = fetched;
    return fetched;
  }

  private static JsonObject json(HttpResponse<Buffer> response) {
    try {
      Buffer body = response.body();
      return body == null ? null : body.toJsonObject();
    } catch (DecodeException | ClassCastException e) {
      return null;
    }
  }

  /** Seconds until the token ends: its {@code exp}, else the issuer's {@code expires_in}, else 5 minutes. */
  private static long expiresIn(String jwt, JsonObject body) {
    String[] parts = jwt.split("\\.");
    if (parts.length == 3) {
      try {
        JsonObject claims = new JsonObject(new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8));
        Long exp = claims.getLong("exp");
        if (exp != null) {
          return Math.max(1, exp - Instant.now().getEpochSecond());
        }
      } catch (RuntimeException e) {
        // an opaque token after all: fall through
      }
    }
    return Math.max(1, body.getLong("expires_in", 300L));
  }

  /** {@code name=value&…}, values URL-encoded: the sign-in's links to the issuer and back to the console. */
  public static String query(String... pairs) {
    StringBuilder query = new StringBuilder();
    for (int i = 0; i < pairs.length; i += 2) {
      query.append(i == 0 ? "" : "&").append(pairs[i]).append('=').append(URLEncoder.encode(pairs[i + 1],
          StandardCharsets.UTF_8));
    }
    return query.toString();
  }

  private static String abbreviate(String text) {
    return text.length() <= 200 ? text : text.substring(0, 200) + "…";
  }

  public void close() {
    client.close();
  }
}
