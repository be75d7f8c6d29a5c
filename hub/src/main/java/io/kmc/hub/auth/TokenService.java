package io.kmc.hub.auth;

import io.kmc.ops.BlockingPool;
import io.kmc.common.KmcException;
import io.kmc.hub.cache.SharedState;
import io.kmc.hub.config.HubConfig;
import io.kmc.hub.store.IdentityStore;
import io.kmc.hub.store.TokenHashes;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.User;
import io.vertx.ext.auth.authentication.TokenCredentials;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Issues and checks every credential the hub accepts: short-lived access tokens (ES256 JWTs signed
 * with a key all nodes share), refresh tokens of login sessions, long-lived API tokens, and
 * optionally tokens of an external OIDC issuer. Revocation takes effect on every node at once: a
 * revoked session or API token and a blocked user are marked in the shared state (Redis), which
 * every call checks ({@link Claim}), and a revoked API token or changed user is announced on the
 * event bus so that every node drops what it cached.
 */
public final class TokenService {

  public static final String TOKEN_REVOKED = "kmc.hub.api-token-revoked";
  public static final String USER_CHANGED = "kmc.hub.user-changed";

  private static final Logger LOG = LoggerFactory.getLogger(TokenService.class);
  private static final String API_TOKEN_PREFIX = "kmc_";
  private static final String REFRESH_TOKEN_PREFIX = "kmcr_";
  private static final long CACHE_MILLIS = 30_000;
  private static final long TOUCH_EVERY_MILLIS = 60_000;
  /** A blocked user's mark outlives any token: it is removed when the user is enabled again. */
  private static final Duration BLOCK_MARK_LIFETIME = Duration.ofDays(3650);
  private static final SecureRandom RANDOM = new SecureRandom();
  /**
   * Compared against when a user does not exist, so that the answer takes as long as for a wrong
   * password. Hashed on first use, on the password pool (an Argon2 hash is no work for an event loop).
   */
  private static final class DummyHash {
    static final String VALUE = PasswordHasher.hash(UUID.randomUUID().toString());
  }

  /** What login and refresh hand out. */
  public record Tokens(String accessToken, long expiresInSeconds, String refreshToken, String user) {
    public JsonObject toJson() {
      return new JsonObject().put("accessToken", accessToken).put("tokenType", "Bearer")
          .put("expiresIn", expiresInSeconds).put("refreshToken", refreshToken).put("user", user);
    }
  }

  /**
   * Who presents a token, valid but for the revocation marks: the caller checks that none of
   * {@code marks} is set (in the same round trip as its rate limit) and else refuses with
   * {@code revokedMessage}.
   */
  public record Claim(Principal principal, List<String> marks, String revokedMessage) {
  }

  /** A new API token; its secret is shown this once. */
  public record NewApiToken(IdentityStore.ApiToken token, String secret) {
  }

  private record Cached<T>(T value, long loadedAt) {
    boolean fresh() {
      return System.currentTimeMillis() - loadedAt < CACHE_MILLIS;
    }
  }

  private final Vertx vertx;
  private final IdentityStore store;
  private final SharedState shared;
  private final HubConfig.Auth config;
  private final JWTAuth jwt;
  private final JWTOptions signing;
  private final OidcTokens oidc;
  private final BlockingPool passwordPool;
  private final Map<String, Cached<IdentityStore.ApiToken>> apiTokens = new ConcurrentHashMap<>();
  private final Map<String, Cached<IdentityStore.User>> users = new ConcurrentHashMap<>();
  private final Map<String, Long> touched = new ConcurrentHashMap<>();

  private TokenService(Vertx vertx, IdentityStore store, SharedState shared, HubConfig.Auth config,
                       IdentityStore.SigningKey key, OidcTokens oidc) {
    this.vertx = vertx;
    this.store = store;
    this.shared = shared;
    this.config = config;
    this.oidc = oidc;
    this.jwt = JWTAuth.create(vertx, new JWTAuthOptions()
        .addPubSecKey(new PubSecKeyOptions().setAlgorithm(key.algorithm()).setBuffer(key.privatePem()))
        .addPubSecKey(new PubSecKeyOptions().setAlgorithm(key.algorithm()).setBuffer(key.publicPem()))
        .setJWTOptions(new JWTOptions().setIssuer(config.issuer()).setAudience(List.of(config.audience()))
            .setLeeway(5)));
    this.signing = new JWTOptions().setAlgorithm(key.algorithm()).setIssuer(config.issuer())
        .setAudience(List.of(config.audience())).setExpiresInSeconds((int) config.accessTokenLifetime().toSeconds());
    // Argon2 needs 19 MiB and tens of milliseconds per check: a small pool, refusing beyond it.
    this.passwordPool = BlockingPool.fixed("kmc-password", 2, 64);
    vertx.eventBus().<JsonObject>consumer(TOKEN_REVOKED, m -> apiTokens.remove(m.body().getString("id")));
    vertx.eventBus().<JsonObject>consumer(USER_CHANGED, m -> users.remove(m.body().getString("name")));
  }

  public static Future<TokenService> start(Vertx vertx, IdentityStore store, SharedState shared, HubConfig.Auth config) {
    Future<IdentityStore.SigningKey> key = config.signingKeyFile() != null
        ? vertx.executeBlocking(() -> SigningKeys.fromFile(config.signingKeyFile()), false)
        : vertx.executeBlocking(SigningKeys::generate, false).compose(store::signingKey);
    Future<OidcTokens> oidc = config.oidc().enabled() ? OidcTokens.start(vertx, config.oidc())
        : Future.succeededFuture(null);
    return Future.all(key, oidc).map(v -> new TokenService(vertx, store, shared, config, key.result(), oidc.result()));
  }

  public void close() {
    passwordPool.close();
    if (oidc != null) {
      oidc.close();
    }
  }

  /** An Argon2id hash of a new password, computed off the event loop. */
  public Future<String> hashPassword(String password) {
    return passwordPool.submit(vertx.getOrCreateContext(), () -> PasswordHasher.hash(password));
  }

  // ---- login sessions -------------------------------------------------------------------------

  /** Checks a password and opens a session; a wrong user or password is the same 401. */
  public Future<Tokens> login(String username, String password, String source) {
    Context context = vertx.getOrCreateContext();
    return store.user(username).compose(user -> {
      String hash = user == null ? null : user.passwordHash();
      Future<Boolean> verified = passwordPool.submit(context,
          () -> PasswordHasher.verify(password, hash == null ? DummyHash.VALUE : hash));
      return verified.compose(matches -> {
        if (!matches || hash == null) {
          return Future.failedFuture(KmcException.unauthorized("wrong user name or password"));
        }
        if (user.disabled()) {
          return Future.failedFuture(KmcException.forbidden("user '" + username + "' is disabled"));
        }
        return openSession(user, source);
      });
    });
  }

  private Future<Tokens> openSession(IdentityStore.User user, String source) {
    String sessionId = randomId();
    String refresh = REFRESH_TOKEN_PREFIX + sessionId + "_" + TokenHashes.newSecret();
    OffsetDateTime expires = OffsetDateTime.now(ZoneOffset.UTC).plus(config.refreshTokenLifetime());
    return store.createSession(sessionId, user.name(), TokenHashes.sha256Hex(refresh), source, expires)
        .map(v -> new Tokens(accessToken(user.name(), user.groups(), sessionId),
            config.accessTokenLifetime().toSeconds(), refresh, user.name()));
  }

  /**
   * Exchanges a refresh token for a new access token and a new refresh token. A refresh token works
   * once: presenting an old one again (a sign it was stolen) revokes the whole session.
   */
  public Future<Tokens> refresh(String refreshToken) {
    String sessionId = credentialId(refreshToken, REFRESH_TOKEN_PREFIX);
    if (sessionId == null) {
      return Future.failedFuture(KmcException.unauthorized("not a refresh token"));
    }
    String presented = TokenHashes.sha256Hex(refreshToken);
    return store.session(sessionId).compose(session -> {
      if (session == null || session.revokedAt() != null
          || session.expiresAt().isBefore(OffsetDateTime.now(ZoneOffset.UTC))) {
        return Future.failedFuture(KmcException.unauthorized("the session has ended; log in again"));
      }
      String next = REFRESH_TOKEN_PREFIX + sessionId + "_" + TokenHashes.newSecret();
      return store.rotateRefresh(sessionId, presented, TokenHashes.sha256Hex(next)).compose(rotated -> {
        if (!rotated) {
          LOG.warn("a used refresh token of user {} was presented again: revoking the session", session.user());
          return revokeSession(sessionId)
              .compose(v -> Future.failedFuture(KmcException.unauthorized("refresh token already used; "
                  + "the session was revoked, log in again")));
        }
        return user(session.user()).compose(user -> user == null || user.disabled()
            ? Future.failedFuture(KmcException.unauthorized("the user no longer exists or is disabled"))
            : Future.succeededFuture(new Tokens(accessToken(user.name(), user.groups(), sessionId),
                config.accessTokenLifetime().toSeconds(), next, user.name())));
      });
    });
  }

  /** Ends a session at once on every node: its access tokens and its refresh token stop working. */
  public Future<Void> revokeSession(String sessionId) {
    return store.revokeSession(sessionId)
        .compose(v -> shared.mark(revokedSessionKey(sessionId), config.accessTokenLifetime().plusMinutes(1)));
  }

  /** Ends every session of a user (an admin locking someone out). */
  public Future<Integer> revokeSessionsOf(String user) {
    return store.revokeSessionsOf(user).compose(ids -> {
      List<Future<Void>> marks = new ArrayList<>();
      ids.forEach(id -> marks.add(shared.mark(revokedSessionKey(id), config.accessTokenLifetime().plusMinutes(1))));
      return Future.all(marks).map(v -> ids.size());
    });
  }

  /** Tells every node to forget what it cached about a user (groups changed, disabled, deleted). */
  public void userChanged(String user) {
    vertx.eventBus().publish(USER_CHANGED, new JsonObject().put("name", user));
  }

  /**
   * A disabled (or deleted) user is refused at once on every node, whatever token they present: the
   * mark is checked on every request, caches notwithstanding.
   */
  public Future<Void> userBlocked(String user, boolean blocked) {
    userChanged(user);
    return blocked ? shared.mark(blockedUserKey(user), BLOCK_MARK_LIFETIME) : shared.unmark(blockedUserKey(user));
  }

  private String accessToken(String user, List<String> groups, String sessionId) {
    JsonObject claims = new JsonObject()
        .put("sub", user)
        .put("groups", new JsonArray(groups))
        .put("sid", sessionId)
        .put("jti", randomId())
        .put("typ", "access");
    return jwt.generateToken(claims, signing);
  }

  // ---- API tokens -----------------------------------------------------------------------------

  public Future<NewApiToken> createApiToken(String user, String name, Duration lifetime) {
    if (lifetime.compareTo(config.apiTokenMaxLifetime()) > 0) {
      return Future.failedFuture(KmcException.badRequest("an API token may live at most "
          + config.apiTokenMaxLifetime().toDays() + " days (auth.api_token_max_lifetime)"));
    }
    String id = randomId();
    String secret = API_TOKEN_PREFIX + id + "_" + TokenHashes.newSecret();
    return store.createApiToken(id, name, user, TokenHashes.sha256Hex(secret),
            OffsetDateTime.now(ZoneOffset.UTC).plus(lifetime))
        .map(token -> new NewApiToken(token, secret));
  }

  /** Revokes an API token; every node refuses it from the next request on. */
  public Future<Boolean> revokeApiToken(String id) {
    return store.revokeApiToken(id)
        .compose(revoked -> shared.mark(revokedTokenKey(id), config.apiTokenMaxLifetime()).map(revoked))
        .onSuccess(revoked -> vertx.eventBus().publish(TOKEN_REVOKED, new JsonObject().put("id", id)));
  }

  // ---- authentication -------------------------------------------------------------------------

  private static final Pattern BASE64URL = Pattern.compile("[A-Za-z0-9_-]+");
  private static final Pattern CREDENTIAL_ID = Pattern.compile("[0-9a-f]{24}");

  /**
   * Establishes who presents {@code token}; fails with 401 for anything not valid right now, except
   * a revocation, which the caller checks with the claim's marks.
   */
  public Future<Claim> identify(String token) {
    if (token.startsWith(API_TOKEN_PREFIX)) {
      return identifyApiToken(token);
    }
    if (token.startsWith(REFRESH_TOKEN_PREFIX)) {
      return Future.failedFuture(KmcException.unauthorized("a refresh token cannot be used as a bearer token; "
          + "exchange it at /api/v1/auth/refresh"));
    }
    String issuer = canonicalJwt(token) ? unverifiedIssuer(token) : null;
    if (issuer == null) {
      return Future.failedFuture(KmcException.unauthorized("the bearer token is not a kmc token or a JWT"));
    }
    if (oidc != null && issuer.equals(oidc.issuer())) {
      return oidc.authenticate(token).map(principal -> new Claim(principal, List.of(), null));
    }
    return jwt.authenticate(new TokenCredentials(token))
        .recover(e -> Future.failedFuture(KmcException.unauthorized("invalid token: " + e.getMessage())))
        .compose(this::sessionClaim);
  }

  private Future<Claim> sessionClaim(User user) {
    JsonObject claims = user.principal();
    String sessionId = claims.getString("sid");
    String name = claims.getString("sub");
    if (!"access".equals(claims.getString("typ")) || sessionId == null || name == null) {
      return Future.failedFuture(KmcException.unauthorized("invalid token: not an access token"));
    }
    return Future.succeededFuture(new Claim(
        new Principal(name, strings(claims.getJsonArray("groups")), Principal.SESSION, sessionId),
        List.of(revokedSessionKey(sessionId), blockedUserKey(name)),
        "the session was ended (logged out or revoked)"));
  }

  private Future<Claim> identifyApiToken(String token) {
    String id = credentialId(token, API_TOKEN_PREFIX);
    if (id == null) {
      return Future.failedFuture(KmcException.unauthorized("malformed API token"));
    }
    return apiToken(id).compose(record -> {
      if (record == null || !TokenHashes.matches(TokenHashes.sha256(token), record.tokenSha256())) {
        return Future.failedFuture(KmcException.unauthorized("invalid API token"));
      }
      if (record.revokedAt() != null) {
        return Future.failedFuture(KmcException.unauthorized("the API token '" + record.name() + "' was revoked"));
      }
      if (record.expiresAt().isBefore(OffsetDateTime.now(ZoneOffset.UTC))) {
        return Future.failedFuture(KmcException.unauthorized("the API token '" + record.name() + "' has expired"));
      }
      touch(id);
      return user(record.user()).compose(user -> user == null || user.disabled()
          ? Future.failedFuture(KmcException.unauthorized("the owner of this API token is disabled or gone"))
          : Future.succeededFuture(new Claim(new Principal(user.name(), user.groups(), Principal.API_TOKEN, id),
              List.of(revokedTokenKey(id), blockedUserKey(user.name())),
              "the API token '" + record.name() + "' was revoked or its owner disabled")));
    });
  }

  private Future<IdentityStore.ApiToken> apiToken(String id) {
    return cachedOrLoaded(apiTokens, id, store::apiToken);
  }

  private Future<IdentityStore.User> user(String name) {
    return cachedOrLoaded(users, name, store::user);
  }

  /** A fresh cached value, or else the loaded one, cached when it exists. */
  private static <T> Future<T> cachedOrLoaded(Map<String, Cached<T>> cache, String key,
                                              Function<String, Future<T>> load) {
    Cached<T> cached = cache.get(key);
    if (cached != null && cached.fresh()) {
      return Future.succeededFuture(cached.value());
    }
    return load.apply(key).onSuccess(value -> {
      if (value != null) {
        cache.put(key, new Cached<>(value, System.currentTimeMillis()));
      }
    });
  }

  private void touch(String id) {
    long now = System.currentTimeMillis();
    Long last = touched.get(id);
    if (last == null || now - last > TOUCH_EVERY_MILLIS) {
      touched.put(id, now);
      store.touchApiToken(id).onFailure(e -> LOG.debug("cannot record the use of API token {}: {}", id, e.getMessage()));
    }
  }

  /**
   * Whether the token is a JWT in its one canonical compact form: three non-empty base64url segments
   * without padding, each exactly what encoding its bytes gives, and an ECDSA signature of exactly
   * its algorithm's length. Decoders forgive a stray trailing character or dot, and ECDSA verifiers
   * read only the bytes they expect; a token that can be spelled several ways could slip past a
   * deny-list or a cache keyed by its text, so only the canonical spelling is accepted.
   */
  static boolean canonicalJwt(String token) {
    String[] parts = token.split("\\.", -1);
    if (parts.length != 3) {
      return false;
    }
    byte[][] decoded = new byte[3][];
    for (int i = 0; i < 3; i++) {
      String part = parts[i];
      if (part.isEmpty() || part.length() % 4 == 1 || !BASE64URL.matcher(part).matches()) {
        return false;
      }
      decoded[i] = Base64.getUrlDecoder().decode(part);
      if (!Base64.getUrlEncoder().withoutPadding().encodeToString(decoded[i]).equals(part)) {
        return false; // non-zero bits after the last byte: another spelling of the same bytes
      }
    }
    try {
      Integer signatureBytes = switch (new JsonObject(new String(decoded[0], StandardCharsets.UTF_8)).getString("alg", "")) {
        case "ES256" -> 64;
        case "ES384" -> 96;
        case "ES512" -> 132;
        default -> null; // RSA signatures are checked against the key's length by the verifier itself
      };
      return signatureBytes == null || decoded[2].length == signatureBytes;
    } catch (RuntimeException e) {
      return false;
    }
  }

  /** The issuer claim of a canonical JWT, read without checking anything, to pick who must verify it. */
  private static String unverifiedIssuer(String token) {
    String[] parts = token.split("\\.");
    try {
      JsonObject payload = new JsonObject(new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8));
      return payload.getString("iss", "");
    } catch (RuntimeException e) {
      return null;
    }
  }

  /** {@code <prefix><id>_<secret>} → id, or null when the token does not have that shape. */
  private static String credentialId(String token, String prefix) {
    if (!token.startsWith(prefix)) {
      return null;
    }
    int separator = token.indexOf('_', prefix.length());
    String id = separator < 0 ? null : token.substring(prefix.length(), separator);
    return id != null && CREDENTIAL_ID.matcher(id).matches() ? id : null;
  }

  static List<String> strings(JsonArray array) {
    List<String> result = new ArrayList<>();
    if (array != null) {
      array.forEach(value -> {
        if (value instanceof String s) {
          result.add(s);
        }
      });
    }
    return result;
  }

  private static String revokedSessionKey(String sessionId) {
    return "revoked:session:" + sessionId;
  }

  private static String revokedTokenKey(String tokenId) {
    return "revoked:api-token:" + tokenId;
  }

  private static String blockedUserKey(String user) {
    return "blocked:user:" + user;
  }

  private static String randomId() {
    byte[] bytes = new byte[12];
    RANDOM.nextBytes(bytes);
    return HexFormat.of().formatHex(bytes);
  }
}
