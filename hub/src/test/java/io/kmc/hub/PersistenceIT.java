package io.kmc.hub;

import io.kmc.hub.auth.AdminAccount;
import io.kmc.hub.support.Fleet;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A hub with nothing configured keeps its state in an embedded PostgreSQL under its data directory:
 * stopped and started again on the same directory, it still has everything.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class PersistenceIT {

  private final HttpClient http = HttpClient.newHttpClient();

  @Test
  void restartOnTheSameDataDirectoryKeepsEverything(@TempDir Path dataDir) throws Exception {
    String yaml = """
        data:
          dir: %s
        server:
          host: 127.0.0.1
          port: 0
          tls:
            mode: off
        metrics:
          port: 0
        """.formatted(dataDir);
    Hub hub = Fleet.await(Hub.start(Fleet.hubConfig(yaml, Map.of())));
    String cluster;
    String apiToken;
    String accessToken;
    try {
      Path passwordFile = dataDir.resolve(AdminAccount.PASSWORD_FILE);
      assertTrue(Files.exists(passwordFile), "a generated first-admin password is written to the data directory");
      String password = Files.readString(passwordFile).trim();
      accessToken = new JsonObject(call(hub, "POST", "/api/v1/auth/login", null,
          new JsonObject().put("username", "admin").put("password", password)).body()).getString("accessToken");
      apiToken = new JsonObject(call(hub, "POST", "/api/v1/tokens", accessToken,
          new JsonObject().put("name", "kept")).body()).getString("token");
      HttpResponse<String> created = call(hub, "POST", "/api/v1/clusters", apiToken,
          new JsonObject().put("name", "kept-cluster").put("labels", new JsonObject().put("tier", "gold")));
      assertEquals(201, created.statusCode(), created.body());
      cluster = created.body();
      assertEquals(201, call(hub, "POST", "/api/v1/users", apiToken,
          new JsonObject().put("name", "henry").put("password", "henry-password-123")).statusCode());
      assertEquals(201, call(hub, "POST", "/api/v1/rbac/bindings", apiToken, new JsonObject()
          .put("subject", "henry").put("role", "operator").put("domain", "kept-cluster/*")).statusCode());
    } finally {
      Fleet.await(hub.close());
    }

    Hub again = Fleet.await(Hub.start(Fleet.hubConfig(yaml, Map.of())));
    try {
      assertEquals(200, call(again, "GET", "/api/v1/auth/whoami", accessToken, null).statusCode(),
          "access tokens survive: the signing key is kept");
      JsonObject kept = new JsonObject(call(again, "GET", "/api/v1/clusters/kept-cluster", apiToken, null).body());
      assertEquals("gold", kept.getJsonObject("labels").getString("tier"));
      assertEquals(new JsonObject(cluster).getString("createdAt"), kept.getString("createdAt"));
      String henry = new JsonObject(call(again, "POST", "/api/v1/auth/login", null,
          new JsonObject().put("username", "henry").put("password", "henry-password-123")).body()).getString("accessToken");
      JsonObject visible = new JsonObject(call(again, "GET", "/api/v1/clusters", henry, null).body());
      assertEquals("kept-cluster", visible.getJsonArray("items").getJsonObject(0).getString("name"),
          "the role binding survived");
      assertEquals(200, call(again, "GET", "/ready", null, null).statusCode());
    } finally {
      Fleet.await(again.close());
    }
  }

  private HttpResponse<String> call(Hub hub, String method, String path, String token, JsonObject body) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + hub.port() + path))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body.encode()))
        .header("Content-Type", "application/json");
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }
}
