package io.kmc.cli;

import io.kmc.common.config.ConfigReader;
import io.kmc.hub.Hub;
import io.kmc.hub.config.HubConfig;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.RSAPublicKey;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code kmc login} through the hub's OIDC issuer with the device flow, against a small issuer made
 * here: the code is shown, the CLI polls until the sign-in is done, presents the ID token, refreshes
 * it when it expires, and writes kubeconfig contexts that ask {@code kmc token} for it.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class OidcLoginIT {

  private final Vertx vertx = Vertx.vertx();
  private final AtomicInteger polls = new AtomicInteger();
  private final AtomicInteger refreshes = new AtomicInteger();
  private Hub hub;

  @AfterEach
  void stop() throws Exception {
    if (hub != null) {
      hub.close().await(60, TimeUnit.SECONDS);
    }
    vertx.close().await(30, TimeUnit.SECONDS);
  }

  @Test
  void theDeviceFlowSignsInAndTheTokenIsRefreshed(@TempDir Path dir) throws Exception {
    KeyPair keys = KeyPairGenerator.getInstance("RSA").generateKeyPair();
    JWTAuth signer = JWTAuth.create(vertx, new JWTAuthOptions().addPubSecKey(new PubSecKeyOptions()
        .setAlgorithm("RS256").setBuffer("-----BEGIN PRIVATE KEY-----\n"
            + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(keys.getPrivate().getEncoded())
            + "\n-----END PRIVATE KEY-----\n")));
    String[] issuer = new String[1];
    HttpServer idp = vertx.createHttpServer().requestHandler(request -> request.body().onSuccess(body ->
        answer(request, body.toString(), issuer[0], signer, (RSAPublicKey) keys.getPublic())))
        .listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    issuer[0] = "http://127.0.0.1:" + idp.actualPort();

    ConfigReader reader = ConfigReader.fromYaml("", Map.of("KMC_DATA_DIR", dir.resolve("kmc-data").toString(),
        "KMC_SERVER_PORT", "0", "KMC_SERVER_HOST", "127.0.0.1", "KMC_SERVER_TLS_MODE", "off",
        "KMC_METRICS_ENABLED", "false", "KMC_AUTH_OIDC_ISSUER", issuer[0], "KMC_AUTH_OIDC_AUDIENCE", "kmc",
        "KMC_AUTH_OIDC_JWKS_URL", issuer[0] + "/jwks", "KMC_AUTH_OIDC_CLIENT_ID", "kmc-cli",
        "KMC_AUTH_ADMIN_PASSWORD", "oidc-it-admin-password"));
    HubConfig config = HubConfig.read(reader);
    reader.finish();
    hub = Hub.start(config).await(120, TimeUnit.SECONDS);
    String hubUrl = "http://127.0.0.1:" + hub.port();

    Path home = Files.createDirectories(dir.resolve("home"));
    String said = run(home, "login", hubUrl);
    assertTrue(said.contains("open " + issuer[0] + "/activate?code=WDJB-MJHT") && said.contains("WDJB-MJHT"), said);
    assertTrue(said.contains("Logged in to " + hubUrl + " as olivia through " + issuer[0]), said);
    assertTrue(polls.get() >= 2, "polled until the sign-in was done");
    assertTrue(run(home, "clusters", "list").startsWith("NAME"));

    // The token expires: the next command refreshes it first.
    Path file = home.resolve(".kmc").resolve("config");
    Files.writeString(file, Files.readString(file).replaceAll("expiresAt: \\d+", "expiresAt: 1"));
    String credential = run(home, "token");
    assertEquals(1, refreshes.get(), credential);
    assertTrue(new JsonObject(credential).getJsonObject("status").getString("token").startsWith("eyJ"), credential);

    // Contexts of an OIDC sign-in ask kmc for the token, so kubectl always has a fresh one.
    String admin = new HubClient(hubUrl, null, null, "kmc").post("/api/v1/auth/login",
        Map.of("username", "admin", "password", "oidc-it-admin-password")).get("accessToken").asText();
    HubClient asAdmin = new HubClient(hubUrl, admin, null, "kmc");
    asAdmin.post("/api/v1/clusters", Map.of("name", "edge-3"));
    asAdmin.post("/api/v1/rbac/bindings", Map.of("subject", "group:platform", "role", "developer", "domain", "edge-3/*"));
    String kubeconfig = run(home, "kubeconfig", "--all");
    assertTrue(kubeconfig.contains("server: " + hubUrl + "/k8s/clusters/edge-3") && kubeconfig.contains("command: kmc")
        && kubeconfig.contains("- token") && kubeconfig.contains("- " + hubUrl), kubeconfig);
  }

  private String run(Path home, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    Map<String, String> env = new HashMap<>();
    env.put("HOME", home.toString());
    Cli cli = new Cli(env, new ByteArrayInputStream(new byte[0]), new PrintWriter(out), new PrintWriter(err), null, "kmc");
    int status = KmcMain.run(cli, args);
    if (status != 0) {
      throw new AssertionError("kmc " + String.join(" ", args) + " exited " + status + ":\n" + out + err);
    }
    return out + err.toString();
  }

  /** A minimal OIDC issuer with the device flow: discovery, device codes, tokens, refresh, JWKS. */
  private void answer(HttpServerRequest request, String body, String issuer, JWTAuth signer, RSAPublicKey key) {
    JsonObject json = switch (request.path()) {
      case "/.well-known/openid-configuration" -> new JsonObject().put("issuer", issuer)
          .put("device_authorization_endpoint", issuer + "/device").put("token_endpoint", issuer + "/token")
          .put("jwks_uri", issuer + "/jwks");
      case "/device" -> new JsonObject().put("device_code", "device-1").put("user_code", "WDJB-MJHT")
          .put("verification_uri", issuer + "/activate").put("verification_uri_complete", issuer + "/activate?code=WDJB-MJHT")
          .put("interval", 1).put("expires_in", 60);
      case "/token" -> {
        if (body.contains("grant_type=refresh_token")) {
          refreshes.incrementAndGet();
          yield tokens(signer, issuer);
        }
        if (polls.incrementAndGet() < 2) {
          request.response().setStatusCode(400);
          yield new JsonObject().put("error", "authorization_pending");
        }
        yield tokens(signer, issuer);
      }
      case "/jwks" -> new JsonObject().put("keys", new JsonArray().add(new JsonObject().put("kty", "RSA")
          .put("alg", "RS256").put("use", "sig").put("kid", "k1").put("n", base64Url(key.getModulus()))
          .put("e", base64Url(key.getPublicExponent()))));
      default -> {
        request.response().setStatusCode(404);
        yield new JsonObject();
      }
    };
    request.response().putHeader("Content-Type", "application/json").end(json.encode());
  }

  private static JsonObject tokens(JWTAuth signer, String issuer) {
    String id = signer.generateToken(new JsonObject().put("sub", "u-1").put("preferred_username", "olivia")
            .put("groups", new JsonArray().add("platform")),
        new JWTOptions().setAlgorithm("RS256").setIssuer(issuer).setAudience(List.of("kmc")).setExpiresInSeconds(300)
            .setHeader(new JsonObject().put("kid", "k1")));
    return new JsonObject().put("id_token", id).put("access_token", "opaque").put("refresh_token", "refresh-1")
        .put("expires_in", 300).put("token_type", "Bearer");
  }

  private static String base64Url(BigInteger value) {
    byte[] bytes = value.toByteArray();
    if (bytes[0] == 0 && bytes.length > 1) {
      bytes = java.util.Arrays.copyOfRange(bytes, 1, bytes.length);
    }
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }
}
