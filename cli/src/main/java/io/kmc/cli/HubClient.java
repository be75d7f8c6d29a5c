package io.kmc.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import javax.net.ssl.SSLContext;

/**
 * The hub's HTTP API, with every failure turned into one line that says what to do: an unreachable
 * hub, a certificate that changed since login, credentials the hub refuses, an action RBAC denies.
 */
final class HubClient {

  static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  private final String base;
  private final String token;
  private final HttpClient http;
  private final String commandName;

  HubClient(String base, String token, SSLContext ssl, String commandName) {
    this.base = base;
    this.token = token;
    this.commandName = commandName;
    HttpClient.Builder builder = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(10));
    if (ssl != null) {
      builder.sslContext(ssl);
    }
    this.http = builder.build();
  }

  /** A client of the hub the user is logged in to (or the one --hub names). */
  static HubClient of(Cli cli, String requestedHub) {
    CliConfig.Hub hub = freshHub(cli, requestedHub);
    return new HubClient(hub.url, hub.token, HubTls.context(hub), cli.commandName());
  }

  /** The hub's entry, its OIDC token refreshed (and saved) when it expires within a minute. */
  static CliConfig.Hub freshHub(Cli cli, String requestedHub) {
    CliConfig config = CliConfig.load(cli.configFile());
    CliConfig.Hub hub = config.hub(requestedHub, cli.commandName());
    if (hub.oidc() && hub.oidcExpiresAt - java.time.Instant.now().getEpochSecond() < 60) {
      OidcLogin.Tokens fresh = OidcLogin.refresh(hub, cli.commandName());
      hub.token = fresh.bearer();
      hub.oidcRefreshToken = fresh.refreshToken();
      hub.oidcExpiresAt = fresh.expiresAtEpochSeconds();
      config.save(cli.configFile());
    }
    return hub;
  }

  String base() {
    return base;
  }

  JsonNode get(String path) {
    return json(send("GET", path, null, "application/json"));
  }

  JsonNode post(String path, Object body) {
    return json(send("POST", path, body, "application/json"));
  }

  JsonNode patch(String path, Object body) {
    return json(send("PATCH", path, body, "application/json"));
  }

  void delete(String path) {
    send("DELETE", path, null, "application/json");
  }

  /**
   * Opens a websocket on the hub (the live stream), authenticated in the handshake with the
   * bearer token; completes once upgraded.
   */
  CompletableFuture<WebSocket> webSocket(String path, WebSocket.Listener listener) {
    WebSocket.Builder builder = http.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(10))
        .header("User-Agent", "kmc-cli/" + io.kmc.common.KmcVersion.current());
    if (token != null) {
      builder.header("Authorization", "Bearer " + token);
    }
    return builder.buildAsync(URI.create(base.replaceFirst("^http", "ws") + path), listener);
  }

  /** A non-JSON answer (a kubeconfig). */
  String text(String path) {
    return send("GET", path, null, "application/yaml");
  }

  private String send(String method, String path, Object body, String accept) {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path)).timeout(TIMEOUT)
        .header("Accept", accept)
        .header("User-Agent", "kmc-cli/" + io.kmc.common.KmcVersion.current());
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    try {
      request.method(method, body == null ? HttpRequest.BodyPublishers.noBody()
          : HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)));
      if (body != null) {
        request.header("Content-Type", "application/json");
      }
      HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() >= 400) {
        throw refused(response);
      }
      return response.body();
    } catch (IOException e) {
      throw unreachable(base, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException("interrupted");
    }
  }

  private CliException refused(HttpResponse<String> response) {
    String message = response.body();
    try {
      JsonNode error = JSON.readTree(response.body());
      if (error.hasNonNull("message")) {
        message = error.get("message").asText();
      }
    } catch (IOException e) {
      // not JSON: the body as it is
    }
    int status = response.statusCode();
    return switch (status) {
      case 401 -> new CliException("the hub refused your credentials (" + message + "): log in again with "
          + commandName + " login " + base);
      case 403 -> new CliException(message + " (an admin grants roles: docs/security.md)");
      case 429 -> new CliException(message);
      default -> new CliException(status >= 500 ? "the hub failed: " + message + " (HTTP " + status + ")" : message);
    };
  }

  /** A failure to reach the hub, as one line: refused, unknown host, timeout, or a certificate problem. */
  static CliException unreachable(String base, IOException e) {
    if (e instanceof SSLHandshakeException || e instanceof SSLException) {
      return new CliException("TLS with " + base + " failed (" + e.getMessage() + "): if the hub's certificate "
          + "changed since you logged in, check its new fingerprint in the hub's log and log in again");
    }
    if (e instanceof HttpConnectTimeoutException || e instanceof HttpTimeoutException
        || e instanceof java.net.SocketTimeoutException) {
      return new CliException("the hub at " + base + " did not answer in time; is the URL right, and the hub up?");
    }
    if (e instanceof UnknownHostException) {
      return new CliException("unknown host in " + base + ": check the hub's URL");
    }
    if (e instanceof ConnectException || e.getCause() instanceof ConnectException) {
      return new CliException("cannot connect to the hub at " + base + " (connection refused): is it running, "
          + "on that port?");
    }
    return new CliException("cannot reach the hub at " + base + ": " + e);
  }

  private static JsonNode json(String body) {
    try {
      return body == null || body.isEmpty() ? JSON.nullNode() : JSON.readTree(body);
    } catch (IOException e) {
      throw new CliException("the hub answered something that is not JSON: " + e.getMessage());
    }
  }
}
