package io.kmc.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Signing in through the hub's OIDC issuer with the OAuth device flow (RFC 8628): the user opens a
 * URL and enters a code in any browser; the CLI polls for the tokens, keeps the refresh token in
 * ~/.kmc/config and presents the ID token (or the access token, whichever names the hub's
 * audience) to the hub, refreshing it shortly before it expires.
 */
final class OidcLogin {

  /** What the CLI presents, and how to get the next one. */
  record Tokens(String bearer, String refreshToken, long expiresAtEpochSeconds) {
    @Override
    public String toString() {
      return "Tokens[hidden, expiresAt=" + expiresAtEpochSeconds + "]";
    }
  }

  private static final String DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  private OidcLogin() {
  }

  static Tokens deviceFlow(Cli cli, String issuer, String clientId, String audience) throws InterruptedException {
    JsonNode discovery = get(issuer.replaceAll("/+$", "") + "/.well-known/openid-configuration");
    String deviceEndpoint = required(discovery, "device_authorization_endpoint", issuer);
    String tokenEndpoint = required(discovery, "token_endpoint", issuer);
    JsonNode device = post(deviceEndpoint, Map.of("client_id", clientId, "scope", "openid profile email offline_access"));
    String verify = device.hasNonNull("verification_uri_complete") ? device.get("verification_uri_complete").asText()
        : required(device, "verification_uri", deviceEndpoint);
    cli.err().println("To log in, open " + verify + " in a browser and enter the code " + required(device, "user_code",
        deviceEndpoint) + ". Waiting…");
    cli.err().flush();
    long interval = Math.max(1, device.path("interval").asLong(5));
    Instant deadline = Instant.now().plusSeconds(device.path("expires_in").asLong(600));
    while (Instant.now().isBefore(deadline)) {
      Thread.sleep(interval * 1000);
      Map<String, String> form = new LinkedHashMap<>();
      form.put("grant_type", DEVICE_GRANT);
      form.put("device_code", required(device, "device_code", deviceEndpoint));
      form.put("client_id", clientId);
      HttpResponse<String> answer = send(tokenEndpoint, form);
      JsonNode body = json(answer.body(), tokenEndpoint);
      if (answer.statusCode() == 200) {
        return tokens(body, audience, null);
      }
      String error = body.path("error").asText("");
      switch (error) {
        case "authorization_pending" -> { }
        case "slow_down" -> interval += 5;
        case "access_denied" -> throw new CliException("the sign-in was declined at " + issuer);
        case "expired_token" -> throw new CliException("the code expired before the sign-in finished: run "
            + cli.commandName() + " login again");
        default -> throw new CliException(issuer + " refused the sign-in: " + error + " "
            + body.path("error_description").asText(""));
      }
    }
    throw new CliException("the code expired before the sign-in finished: run " + cli.commandName() + " login again");
  }

  /** New tokens with the refresh token; the IdP may or may not hand out a new refresh token too. */
  static Tokens refresh(CliConfig.Hub hub, String commandName) {
    JsonNode discovery = get(hub.oidcIssuer.replaceAll("/+$", "") + "/.well-known/openid-configuration");
    String tokenEndpoint = required(discovery, "token_endpoint", hub.oidcIssuer);
    HttpResponse<String> answer = send(tokenEndpoint, Map.of("grant_type", "refresh_token",
        "refresh_token", hub.oidcRefreshToken, "client_id", hub.oidcClientId));
    if (answer.statusCode() != 200) {
      throw new CliException("your sign-in at " + hub.oidcIssuer + " has ended: run " + commandName + " login "
          + hub.url);
    }
    return tokens(json(answer.body(), tokenEndpoint), hub.oidcAudience, hub.oidcRefreshToken);
  }

  private static Tokens tokens(JsonNode body, String audience, String previousRefresh) {
    String id = body.path("id_token").asText(null);
    String access = body.path("access_token").asText(null);
    String bearer = id != null && names(id, audience) ? id : access != null && names(access, audience) ? access
        : id != null ? id : access;
    if (bearer == null) {
      throw new CliException("the issuer answered without a token");
    }
    long exp = claims(bearer).path("exp").asLong(Instant.now().getEpochSecond() + body.path("expires_in").asLong(300));
    return new Tokens(bearer, body.path("refresh_token").asText(previousRefresh), exp);
  }

  /** Whether a JWT's aud names the audience (read, not verified: the hub verifies it). */
  private static boolean names(String jwt, String audience) {
    JsonNode aud = claims(jwt).path("aud");
    if (aud.isArray()) {
      for (JsonNode one : aud) {
        if (one.asText().equals(audience)) {
          return true;
        }
      }
      return false;
    }
    return aud.asText("").equals(audience);
  }

  private static JsonNode claims(String jwt) {
    String[] parts = jwt.split("\\.");
    if (parts.length != 3) {
      return HubClient.JSON.createObjectNode();
    }
    try {
      return HubClient.JSON.readTree(Base64.getUrlDecoder().decode(parts[1]));
    } catch (IOException | IllegalArgumentException e) {
      return HubClient.JSON.createObjectNode();
    }
  }

  private static JsonNode get(String url) {
    try {
      HttpResponse<String> answer = HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30))
          .header("Accept", "application/json").GET().build(), HttpResponse.BodyHandlers.ofString());
      if (answer.statusCode() != 200) {
        throw new CliException(url + " answered HTTP " + answer.statusCode() + ": is the hub's auth.oidc.issuer right?");
      }
      return json(answer.body(), url);
    } catch (IOException e) {
      throw HubClient.unreachable(url, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException("interrupted");
    }
  }

  private static JsonNode post(String url, Map<String, String> form) {
    HttpResponse<String> answer = send(url, form);
    if (answer.statusCode() != 200) {
      throw new CliException(url + " refused the device sign-in (HTTP " + answer.statusCode() + "): " + answer.body()
          + "; the hub's auth.oidc.client_id must be a public client allowed the device flow");
    }
    return json(answer.body(), url);
  }

  private static HttpResponse<String> send(String url, Map<String, String> form) {
    String body = form.entrySet().stream().map(e -> e.getKey() + "=" + URLEncoder.encode(e.getValue(),
        StandardCharsets.UTF_8)).collect(Collectors.joining("&"));
    try {
      return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30))
          .header("Content-Type", "application/x-www-form-urlencoded").header("Accept", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw HubClient.unreachable(url, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException("interrupted");
    }
  }

  private static JsonNode json(String body, String from) {
    try {
      return HubClient.JSON.readTree(body);
    } catch (IOException e) {
      throw new CliException(from + " answered something that is not JSON");
    }
  }

  private static String required(JsonNode node, String field, String from) {
    if (!node.hasNonNull(field)) {
      throw new CliException(from + " gave no " + field + (field.startsWith("device") ? " (the issuer must offer "
          + "the OAuth device flow)" : ""));
    }
    return node.get(field).asText();
  }
}
