package io.kmc.hub;

import io.kmc.hub.support.Fleet;
import io.kmc.hub.support.TestInfra;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Logins, sessions and API tokens on a two-node hub sharing PostgreSQL and Redis: what one node
 * revokes, the other refuses at once; forged, tampered and stale tokens are refused everywhere.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class IdentityIT {

  private static Fleet fleet;
  private static Hub nodeA;
  private static Hub nodeB;
  private static final Vertx signer = Vertx.vertx();

  @BeforeAll
  static void start() {
    fleet = new Fleet().hubSettings(Map.of("KMC_AUTH_LOGIN_ATTEMPTS", "3", "KMC_AUTH_LOGIN_WINDOW", "1m"));
    fleet.cluster("edge");
    List<Hub> hubs = fleet.hubs(2);
    nodeA = hubs.get(0);
    nodeB = hubs.get(1);
    fleet.agent("edge", nodeA);
    fleet.awaitConnected(nodeB, "edge");
    createUser("carol", "carol-password-123", List.of("team-a"));
  }

  @AfterAll
  static void stop() {
    fleet.close();
    signer.close();
  }

  @Test
  void loginRefreshAndLogoutSeenByTheOtherNode() {
    HttpResponse<String> login = login(nodeA, "carol", "carol-password-123");
    assertEquals(200, login.statusCode(), login.body());
    JsonObject tokens = new JsonObject(login.body());
    String access = tokens.getString("accessToken");
    assertEquals(900, tokens.getLong("expiresIn"));

    JsonObject me = new JsonObject(fleet.call(nodeB, "GET", "/api/v1/auth/whoami", access, null).body());
    assertEquals("carol", me.getString("user"));
    assertEquals(new JsonArray().add("team-a"), me.getJsonArray("groups"));

    HttpResponse<String> refreshed = fleet.call(nodeB, "POST", "/api/v1/auth/refresh", null,
        new JsonObject().put("refreshToken", tokens.getString("refreshToken")));
    assertEquals(200, refreshed.statusCode(), refreshed.body());
    String newAccess = new JsonObject(refreshed.body()).getString("accessToken");
    assertEquals(200, fleet.call(nodeA, "GET", "/api/v1/auth/whoami", newAccess, null).statusCode());

    assertEquals(204, fleet.call(nodeA, "POST", "/api/v1/auth/logout", newAccess, null).statusCode());
    // Both access tokens of the session die at once, on the other node too.
    assertEquals(401, fleet.call(nodeB, "GET", "/api/v1/auth/whoami", newAccess, null).statusCode());
    assertEquals(401, fleet.call(nodeB, "GET", "/api/v1/auth/whoami", access, null).statusCode());
    HttpResponse<String> afterLogout = fleet.call(nodeB, "POST", "/api/v1/auth/refresh", null,
        new JsonObject().put("refreshToken", new JsonObject(refreshed.body()).getString("refreshToken")));
    assertEquals(401, afterLogout.statusCode());
  }

  @Test
  void aRefreshTokenWorksOnceAndItsReuseEndsTheSession() {
    JsonObject tokens = new JsonObject(login(nodeA, "carol", "carol-password-123").body());
    String refresh = tokens.getString("refreshToken");
    assertEquals(200, fleet.call(nodeA, "POST", "/api/v1/auth/refresh", null,
        new JsonObject().put("refreshToken", refresh)).statusCode());
    HttpResponse<String> replay = fleet.call(nodeB, "POST", "/api/v1/auth/refresh", null,
        new JsonObject().put("refreshToken", refresh));
    assertEquals(401, replay.statusCode());
    assertTrue(replay.body().contains("already used"), replay.body());
    assertEquals(401, fleet.call(nodeA, "GET", "/api/v1/auth/whoami", tokens.getString("accessToken"), null)
        .statusCode(), "the whole session was revoked");
  }

  @Test
  void adminRevocationAndDisablingTakeEffectEverywhere() {
    createUser("dave", "dave-password-123", List.of());
    String access = new JsonObject(login(nodeA, "dave", "dave-password-123").body()).getString("accessToken");
    String apiToken = fleet.apiToken(nodeA, access, "dave-ci");
    assertEquals(200, fleet.call(nodeB, "GET", "/api/v1/auth/whoami", apiToken, null).statusCode());

    HttpResponse<String> revoked = fleet.call(nodeB, "DELETE", "/api/v1/users/dave/sessions", fleet.adminToken(), null);
    assertEquals(200, revoked.statusCode(), revoked.body());
    assertEquals(401, fleet.call(nodeA, "GET", "/api/v1/auth/whoami", access, null).statusCode());

    assertEquals(200, fleet.call(nodeA, "PATCH", "/api/v1/users/dave", fleet.adminToken(),
        new JsonObject().put("disabled", true)).statusCode());
    assertEquals(401, fleet.call(nodeB, "GET", "/api/v1/auth/whoami", apiToken, null).statusCode(),
        "a disabled user's API token stops working on every node");
    assertEquals(403, login(nodeB, "dave", "dave-password-123").statusCode());
  }

  @Test
  void apiTokensAreRevocableOnEveryNodeAtOnce() {
    String token = fleet.apiToken(nodeA, fleet.adminToken(), "ci-pipeline");
    // Used (and so cached) on node B first.
    assertEquals(200, fleet.call(nodeB, "GET", "/k8s/clusters/edge/api/v1/namespaces", token, null).statusCode());
    JsonArray mine = new JsonObject(fleet.call(nodeA, "GET", "/api/v1/tokens", token, null).body()).getJsonArray("items");
    String id = mine.stream().map(JsonObject.class::cast).filter(t -> "ci-pipeline".equals(t.getString("name")))
        .findFirst().orElseThrow().getString("id");
    assertTrue(mine.encode().contains("ci-pipeline") && !mine.encode().contains(token), "secrets are never listed");

    assertEquals(204, fleet.call(nodeA, "DELETE", "/api/v1/tokens/" + id, fleet.adminToken(), null).statusCode());
    Fleet.eventually(Duration.ofSeconds(1), () -> fleet.call(nodeB, "GET", "/k8s/clusters/edge/api/v1/namespaces",
        token, null).statusCode() == 401, "revoked API token refused on node B");
  }

  @Test
  void forgedTamperedAndStaleTokensAreRefused() throws Exception {
    String good = new JsonObject(login(nodeA, "carol", "carol-password-123").body()).getString("accessToken");
    String[] parts = good.split("\\.");
    JsonObject payload = new JsonObject(new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8));

    String tampered = parts[0] + "." + encode(payload.copy().put("sub", "admin")) + "." + parts[2];
    String algNone = encode(new JsonObject().put("alg", "none").put("typ", "JWT")) + "." + parts[1] + ".";
    String algNoneNoSignature = encode(new JsonObject().put("alg", "none").put("typ", "JWT")) + "." + parts[1];
    String[] keys = signingKey();
    String hsWithPublicKey = sign(JWTAuth.create(signer, new JWTAuthOptions().addPubSecKey(new PubSecKeyOptions()
        .setAlgorithm("HS256").setBuffer(keys[1]))), "HS256", payload.copy().put("sub", "admin"), 900);
    JWTAuth realKey = JWTAuth.create(signer, new JWTAuthOptions()
        .addPubSecKey(new PubSecKeyOptions().setAlgorithm("ES256").setBuffer(keys[0])));
    long now = System.currentTimeMillis() / 1000;
    JsonObject claims = new JsonObject().put("sub", "carol").put("sid", payload.getString("sid")).put("typ", "access")
        .put("groups", new JsonArray());
    String expired = realKey.generateToken(claims.copy().put("exp", now - 120).put("iat", now - 1000),
        new JWTOptions().setAlgorithm("ES256").setIssuer("kmc").setAudience(List.of("kmc")).setNoTimestamp(true));
    String notYetValid = realKey.generateToken(claims.copy().put("nbf", now + 3600).put("exp", now + 7200),
        new JWTOptions().setAlgorithm("ES256").setIssuer("kmc").setAudience(List.of("kmc")));
    String wrongIssuer = realKey.generateToken(claims, new JWTOptions().setAlgorithm("ES256").setIssuer("evil")
        .setAudience(List.of("kmc")).setExpiresInSeconds(900));
    String wrongAudience = realKey.generateToken(claims, new JWTOptions().setAlgorithm("ES256").setIssuer("kmc")
        .setAudience(List.of("someone-else")).setExpiresInSeconds(900));
    String genuineForControl = realKey.generateToken(claims, new JWTOptions().setAlgorithm("ES256").setIssuer("kmc")
        .setAudience(List.of("kmc")).setExpiresInSeconds(900));

    assertEquals(200, fleet.call(nodeB, "GET", "/api/v1/auth/whoami", genuineForControl, null).statusCode(),
        "a token signed with the real key and sane claims is accepted, so the refusals below are about the claims");
    Map<String, String> forged = Map.of("tampered payload", tampered, "alg none", algNone,
        "alg none without signature", algNoneNoSignature, "HS256 with the public key as secret", hsWithPublicKey,
        "expired", expired, "not yet valid", notYetValid, "wrong issuer", wrongIssuer, "wrong audience", wrongAudience,
        "garbage", "not.a.token", "refresh token as bearer", new JsonObject(login(nodeA, "carol",
            "carol-password-123").body()).getString("refreshToken"));
    for (Map.Entry<String, String> token : forged.entrySet()) {
      HttpResponse<String> api = fleet.call(nodeB, "GET", "/api/v1/auth/whoami", token.getValue(), null);
      assertEquals(401, api.statusCode(), token.getKey() + ": " + api.body());
      HttpResponse<String> kube = fleet.call(nodeA, "GET", "/k8s/clusters/edge/api/v1/namespaces", token.getValue(), null);
      assertEquals(401, kube.statusCode(), token.getKey());
      assertTrue(kube.body().contains("\"kind\":\"Status\""), token.getKey() + ": " + kube.body());
    }
  }

  @Test
  void passwordGuessingIsSlowedThenRefusedWithRetryAfter() {
    createUser("erin", "erin-password-123", List.of());
    long started = System.nanoTime();
    for (int i = 0; i < 3; i++) {
      assertEquals(401, login(i % 2 == 0 ? nodeA : nodeB, "erin", "wrong-guess-" + i).statusCode());
    }
    long elapsedMillis = (System.nanoTime() - started) / 1_000_000;
    assertTrue(elapsedMillis >= 200 + 400 + 800, "each failure answers later than the one before: " + elapsedMillis);
    HttpResponse<String> limited = login(nodeB, "erin", "erin-password-123");
    assertEquals(429, limited.statusCode(), "even the right password waits out the window: " + limited.body());
    assertNotNull(limited.headers().firstValue("Retry-After").orElse(null));
    assertEquals(401, login(nodeA, "nobody-at-all", "whatever-password").statusCode(),
        "an unknown user is the same 401 as a wrong password");
  }

  @Test
  void badRequestsToTheAuthApiAreClear() {
    assertEquals(400, fleet.call(nodeA, "POST", "/api/v1/auth/login", null, new JsonObject()).statusCode());
    HttpResponse<String> notJson = fleet.send(java.net.http.HttpRequest.newBuilder(fleet.uri(nodeA, "/api/v1/auth/login"))
        .header("Content-Type", "application/json").POST(java.net.http.HttpRequest.BodyPublishers.ofString("{nope"))
        .build());
    assertEquals(400, notJson.statusCode());
    assertTrue(notJson.body().contains("not valid JSON"), notJson.body());
    HttpResponse<String> shortPassword = fleet.call(nodeA, "POST", "/api/v1/users", fleet.adminToken(),
        new JsonObject().put("name", "frank").put("password", "short"));
    assertEquals(400, shortPassword.statusCode());
    HttpResponse<String> badName = fleet.call(nodeA, "POST", "/api/v1/users", fleet.adminToken(),
        new JsonObject().put("name", "Robert'); DROP TABLE users;--").put("password", "long-enough-password"));
    assertEquals(400, badName.statusCode());
    assertEquals(409, fleet.call(nodeA, "POST", "/api/v1/users", fleet.adminToken(),
        new JsonObject().put("name", "carol").put("password", "another-password-1")).statusCode());
  }

  private static void createUser(String name, String password, List<String> groups) {
    HttpResponse<String> created = fleet.call(nodeA, "POST", "/api/v1/users", fleet.adminToken(),
        new JsonObject().put("name", name).put("password", password).put("groups", new JsonArray(groups)));
    assertEquals(201, created.statusCode(), created.body());
  }

  private static HttpResponse<String> login(Hub via, String user, String password) {
    return fleet.call(via, "POST", "/api/v1/auth/login", null,
        new JsonObject().put("username", user).put("password", password));
  }

  /** The hub's signing key pair (private, public PEM), read from its database as an attacker with it would. */
  private static String[] signingKey() throws Exception {
    try (Connection connection = TestInfra.connect(fleet.database()); Statement statement = connection.createStatement();
         ResultSet rows = statement.executeQuery("select private_pem, public_pem from signing_keys")) {
      rows.next();
      return new String[] {rows.getString(1), rows.getString(2)};
    }
  }

  private static String sign(JWTAuth auth, String algorithm, JsonObject claims, int seconds) {
    return auth.generateToken(claims, new JWTOptions().setAlgorithm(algorithm).setExpiresInSeconds(seconds));
  }

  private static String encode(JsonObject json) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(json.encode().getBytes(StandardCharsets.UTF_8));
  }
}
