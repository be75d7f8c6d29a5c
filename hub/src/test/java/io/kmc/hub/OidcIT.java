package io.kmc.hub;

import io.kmc.hub.support.Fleet;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
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

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.RSAPublicKey;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Tokens of an external OIDC issuer, checked against the JWKS it serves, map to users and groups. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class OidcIT {

  private static final String ISSUER = "https://login.example.test";
  private static final Vertx vertx = Vertx.vertx();
  private static Fleet fleet;
  private static Hub hub;
  private static HttpServer idp;
  private static JWTAuth issuerKey;
  private static JWTAuth strangerKey;

  @BeforeAll
  static void start() throws Exception {
    KeyPair keys = rsa();
    issuerKey = signer(keys);
    strangerKey = signer(rsa());
    RSAPublicKey publicKey = (RSAPublicKey) keys.getPublic();
    JsonObject jwks = new JsonObject().put("keys", new JsonArray().add(new JsonObject()
        .put("kty", "RSA").put("alg", "RS256").put("use", "sig").put("kid", "test-1")
        .put("n", base64Url(publicKey.getModulus())).put("e", base64Url(publicKey.getPublicExponent()))));
    idp = vertx.createHttpServer().requestHandler(request -> request.response()
        .putHeader("Content-Type", "application/json").end(jwks.encode())).listen(0, "127.0.0.1").await();

    fleet = new Fleet().hubSettings(Map.of(
        "KMC_AUTH_OIDC_ISSUER", ISSUER,
        "KMC_AUTH_OIDC_AUDIENCE", "kmc",
        "KMC_AUTH_OIDC_JWKS_URL", "http://127.0.0.1:" + idp.actualPort() + "/.well-known/jwks.json"));
    fleet.cluster("prod");
    hub = fleet.hubs(1).get(0);
    fleet.agent("prod", hub);
    fleet.awaitConnected(hub, "prod");
    assertEquals(201, fleet.call(hub, "POST", "/api/v1/rbac/bindings", fleet.adminToken(), new JsonObject()
        .put("subject", "group:platform").put("role", "developer").put("domain", "prod/*")).statusCode());
  }

  @AfterAll
  static void stop() {
    fleet.close();
    vertx.close();
  }

  @Test
  void tokensFromTheIssuerAreAcceptedWithTheirGroups() {
    String token = token(issuerKey, "kmc", ISSUER);
    JsonObject me = new JsonObject(fleet.call(hub, "GET", "/api/v1/auth/whoami", token, null).body());
    assertEquals("ivy", me.getString("user"));
    assertEquals("oidc", me.getString("kind"));
    assertEquals(new JsonArray().add("platform"), me.getJsonArray("groups"));
    assertEquals(200, fleet.call(hub, "GET", "/k8s/clusters/prod/apis/apps/v1/deployments", token, null).statusCode());
    assertEquals(403, fleet.call(hub, "GET", "/k8s/clusters/prod/api/v1/secrets", token, null).statusCode());
  }

  @Test
  void wrongAudienceOrKeyOrIssuerIsRefused() {
    assertEquals(401, fleet.call(hub, "GET", "/api/v1/auth/whoami", token(issuerKey, "other-app", ISSUER), null)
        .statusCode());
    assertEquals(401, fleet.call(hub, "GET", "/api/v1/auth/whoami", token(strangerKey, "kmc", ISSUER), null)
        .statusCode());
    assertEquals(401, fleet.call(hub, "GET", "/api/v1/auth/whoami", token(issuerKey, "kmc", "https://evil.test"), null)
        .statusCode());
  }

  private static String token(JWTAuth key, String audience, String issuer) {
    return key.generateToken(new JsonObject().put("sub", "u-123").put("preferred_username", "ivy")
            .put("groups", new JsonArray().add("platform")),
        new JWTOptions().setAlgorithm("RS256").setIssuer(issuer).setAudience(List.of(audience))
            .setExpiresInSeconds(300).setHeader(new JsonObject().put("kid", "test-1")));
  }

  private static JWTAuth signer(KeyPair keys) {
    String pem = "-----BEGIN PRIVATE KEY-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(keys.getPrivate().getEncoded())
        + "\n-----END PRIVATE KEY-----\n";
    return JWTAuth.create(vertx, new JWTAuthOptions().addPubSecKey(new PubSecKeyOptions().setAlgorithm("RS256")
        .setBuffer(pem)));
  }

  private static KeyPair rsa() throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
    generator.initialize(2048);
    return generator.generateKeyPair();
  }

  private static String base64Url(BigInteger value) {
    byte[] bytes = value.toByteArray();
    if (bytes[0] == 0 && bytes.length > 1) {
      bytes = java.util.Arrays.copyOfRange(bytes, 1, bytes.length);
    }
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }
}
