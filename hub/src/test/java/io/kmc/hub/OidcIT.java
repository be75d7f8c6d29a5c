package io.kmc.hub;

import io.kmc.hub.support.Browser;
import io.kmc.hub.support.Fleet;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.vertx.core.http.HttpServerRequest;
import org.junit.jupiter.api.Assumptions;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.WebDriverWait;
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
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.RSAPublicKey;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Tokens of an external OIDC issuer, checked against the JWKS it serves, map to users and groups. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class OidcIT {

  private static String issuer;
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
    idp = vertx.createHttpServer().requestHandler(request -> request.body().onSuccess(body ->
        identityProvider(request, body.toString(), jwks))).listen(0, "127.0.0.1").await();
    issuer = "http://127.0.0.1:" + idp.actualPort();

    fleet = new Fleet().hubSettings(Map.of(
        "KMC_AUTH_OIDC_ISSUER", issuer,
        "KMC_AUTH_OIDC_AUDIENCE", "kmc",
        "KMC_AUTH_OIDC_CLIENT_ID", "kmc",
        "KMC_AUTH_OIDC_JWKS_URL", issuer + "/.well-known/jwks.json"));
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
    String token = token(issuerKey, "kmc", issuer);
    JsonObject me = new JsonObject(fleet.call(hub, "GET", "/api/v1/auth/whoami", token, null).body());
    assertEquals("ivy", me.getString("user"));
    assertEquals("oidc", me.getString("kind"));
    assertEquals(new JsonArray().add("platform"), me.getJsonArray("groups"));
    assertEquals(200, fleet.call(hub, "GET", "/k8s/clusters/prod/apis/apps/v1/deployments", token, null).statusCode());
    assertEquals(403, fleet.call(hub, "GET", "/k8s/clusters/prod/api/v1/secrets", token, null).statusCode());
  }

  @Test
  void wrongAudienceOrKeyOrIssuerIsRefused() {
    assertEquals(401, fleet.call(hub, "GET", "/api/v1/auth/whoami", token(issuerKey, "other-app", issuer), null)
        .statusCode());
    assertEquals(401, fleet.call(hub, "GET", "/api/v1/auth/whoami", token(strangerKey, "kmc", issuer), null)
        .statusCode());
    assertEquals(401, fleet.call(hub, "GET", "/api/v1/auth/whoami", token(issuerKey, "kmc", "https://evil.test"), null)
        .statusCode());
  }

  // ---- signing in from a browser: authorization code with PKCE, through the hub -------------------

  @Test
  void aBrowserSignsInWithTheCodeFlowAndComesBackWhereItWasGoing() throws Exception {
    JsonObject providers = new JsonObject(fleet.call(hub, "GET", "/api/v1/auth/providers", null, null).body());
    assertEquals("/api/v1/auth/oidc/authorize", providers.getJsonObject("oidc").getString("browser"));

    // The console's button: to the issuer, with PKCE, and a callback on the hub.
    HttpResponse<String> toIssuer = get(fleet.uri(hub, "/api/v1/auth/oidc/authorize?then="
        + URLEncoder.encode("#/search?kind=pods", StandardCharsets.UTF_8)).toString());
    assertEquals(302, toIssuer.statusCode());
    String authorize = location(toIssuer);
    assertTrue(authorize.startsWith(issuer + "/authorize?"), authorize);
    assertTrue(authorize.contains("code_challenge_method=S256") && authorize.contains("client_id=kmc")
        && authorize.contains("redirect_uri=" + URLEncoder.encode(fleet.uri(hub, "/api/v1/auth/oidc/callback").toString(),
            StandardCharsets.UTF_8)), authorize);

    // The issuer signs the user in and sends the browser back; the hub hands the page a one-use code.
    String callback = location(get(authorize));
    HttpResponse<String> toConsole = get(callback);
    assertEquals(302, toConsole.statusCode());
    String console = location(toConsole);
    assertTrue(console.startsWith("/#/oidc?handoff="), console);
    assertTrue(console.endsWith("&then=" + URLEncoder.encode("#/search?kind=pods", StandardCharsets.UTF_8)), console);
    String handoff = URLDecoder.decode(console.replaceAll(".*handoff=([^&]*).*", "$1"), StandardCharsets.UTF_8);

    // The page redeems it, once, for the issuer's token, which the hub accepts.
    HttpResponse<String> redeemed = fleet.call(hub, "POST", "/api/v1/auth/oidc/token", null,
        new JsonObject().put("handoff", handoff));
    assertEquals(200, redeemed.statusCode(), redeemed.body());
    JsonObject tokens = new JsonObject(redeemed.body());
    assertEquals("ivy", tokens.getString("user"));
    assertTrue(tokens.getLong("expiresIn") > 200, tokens.encode());
    JsonObject me = new JsonObject(fleet.call(hub, "GET", "/api/v1/auth/whoami", tokens.getString("accessToken"), null)
        .body());
    assertEquals("ivy", me.getString("user"));
    assertEquals("oidc", me.getString("kind"));
    assertEquals(401, fleet.call(hub, "POST", "/api/v1/auth/oidc/token", null, new JsonObject().put("handoff", handoff))
        .statusCode());
    // The way back cannot be used twice either.
    assertTrue(location(get(callback)).startsWith("/#/login?error="), "a replayed callback signs nobody in");

    // Renewed through the hub with the issuer's refresh token; a wrong one is refused.
    HttpResponse<String> renewed = fleet.call(hub, "POST", "/api/v1/auth/oidc/refresh", null,
        new JsonObject().put("refreshToken", tokens.getString("refreshToken")));
    assertEquals(200, renewed.statusCode(), renewed.body());
    String next = new JsonObject(renewed.body()).getString("accessToken");
    assertEquals(200, fleet.call(hub, "GET", "/api/v1/auth/whoami", next, null).statusCode());
    HttpResponse<String> refused = fleet.call(hub, "POST", "/api/v1/auth/oidc/refresh", null,
        new JsonObject().put("refreshToken", "stolen"));
    assertEquals(401, refused.statusCode());
    assertTrue(refused.body().contains("invalid_grant"), refused.body());
  }

  @Test
  void aDeclinedOrForgedSignInGoesBackToTheLoginWithTheReason() throws Exception {
    String declined = location(get(fleet.uri(hub, "/api/v1/auth/oidc/callback?error=access_denied"
        + "&error_description=user+said+no&state=x").toString()));
    assertTrue(declined.startsWith("/#/login?error="), declined);
    assertTrue(URLDecoder.decode(declined, StandardCharsets.UTF_8).contains("access_denied user said no"), declined);
    String forged = location(get(fleet.uri(hub, "/api/v1/auth/oidc/callback?code=code-1&state=made-up").toString()));
    assertTrue(URLDecoder.decode(forged, StandardCharsets.UTF_8).contains("this sign-in is unknown"), forged);
    assertEquals(400, fleet.call(hub, "POST", "/api/v1/auth/oidc/token", null, new JsonObject()).statusCode());
    assertEquals(401, fleet.call(hub, "POST", "/api/v1/auth/oidc/token", null, new JsonObject()
        .put("handoff", "nothing")).statusCode());
  }

  @Test
  void theConsoleOffersTheIssuerAndSignsInThroughIt() {
    Assumptions.assumeTrue(Browser.available(), Browser.missing());
    try (Browser browser = new Browser()) {
      WebDriver driver = browser.driver();
      driver.get(fleet.uri(hub, "/#/search?kind=pods").toString());
      WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(30));
      WebElement button = wait.until(d -> d.findElements(By.id("login-oidc")).stream().findFirst().orElse(null));
      assertTrue(button.getText().startsWith("Sign in with 127.0.0.1:"), button.getText());
      browser.screenshot("20-login-oidc");
      button.click();
      wait.until(d -> "ivy".equals(d.findElement(By.id("who")).getText()));
      wait.until(d -> d.getCurrentUrl().endsWith("#/search?kind=pods"));
      browser.screenshot("21-signed-in-with-oidc");
    }
  }

  private static final Map<String, String[]> CODES = new ConcurrentHashMap<>();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private static HttpResponse<String> get(String url) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(url)).GET().build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String location(HttpResponse<String> response) {
    assertEquals(302, response.statusCode(), response.body());
    return response.headers().firstValue("Location").orElseThrow();
  }

  /**
   * A small OpenID provider: discovery, keys, an authorization endpoint that signs "ivy" in at once,
   * and a token endpoint that checks the PKCE verifier and the redirect URI as a real one does.
   */
  private static void identityProvider(HttpServerRequest request, String body, JsonObject jwks) {
    QueryStringDecoder query = new QueryStringDecoder(request.uri());
    Map<String, List<String>> form = new QueryStringDecoder(body, false).parameters();
    String path = query.path();
    if (path.equals("/.well-known/openid-configuration")) {
      json(request, 200, new JsonObject().put("issuer", issuer).put("authorization_endpoint", issuer + "/authorize")
          .put("token_endpoint", issuer + "/token").put("jwks_uri", issuer + "/.well-known/jwks.json"));
    } else if (path.equals("/authorize")) {
      Map<String, List<String>> p = query.parameters();
      String code = "code-" + CODES.size();
      CODES.put(code, new String[] {p.get("code_challenge").get(0), p.get("redirect_uri").get(0)});
      request.response().setStatusCode(302).putHeader("Location", p.get("redirect_uri").get(0) + "?code=" + code
          + "&state=" + URLEncoder.encode(p.get("state").get(0), StandardCharsets.UTF_8)).end();
    } else if (path.equals("/token")) {
      String grant = first(form, "grant_type");
      boolean good;
      if ("authorization_code".equals(grant)) {
        String[] issued = CODES.remove(first(form, "code"));
        good = issued != null && issued[1].equals(first(form, "redirect_uri")) && "kmc".equals(first(form, "client_id"))
            && issued[0].equals(Base64.getUrlEncoder().withoutPadding().encodeToString(sha256(first(form, "code_verifier"))));
      } else {
        good = "refresh_token".equals(grant) && "refresh-ivy".equals(first(form, "refresh_token"));
      }
      if (good) {
        json(request, 200, new JsonObject().put("id_token", token(issuerKey, "kmc", issuer))
            .put("access_token", "opaque-access").put("refresh_token", "refresh-ivy").put("expires_in", 300));
      } else {
        json(request, 400, new JsonObject().put("error", "invalid_grant"));
      }
    } else {
      json(request, 200, jwks);
    }
  }

  private static String first(Map<String, List<String>> form, String name) {
    List<String> values = form.get(name);
    return values == null || values.isEmpty() ? null : values.get(0);
  }

  private static byte[] sha256(String text) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(text == null ? new byte[0] : text.getBytes(StandardCharsets.UTF_8));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static void json(HttpServerRequest request, int status, JsonObject body) {
    request.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(body.encode());
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
