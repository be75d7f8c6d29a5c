package io.kmc.hub;

import io.kmc.agent.Agent;
import io.kmc.hub.support.Fleet;
import io.kubernetes.client.util.Yaml;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Registering clusters through the API on a two-node hub: the join token is shown once, rotating it
 * drops the agent on the other node within seconds, disabling and deleting take effect everywhere,
 * and the served manifest is a complete install.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ClusterRegistryIT {

  private static Fleet fleet;
  private static Hub nodeA;
  private static Hub nodeB;

  @BeforeAll
  static void start() {
    fleet = new Fleet();
    List<Hub> hubs = fleet.hubs(2);
    nodeA = hubs.get(0);
    nodeB = hubs.get(1);
  }

  @AfterAll
  static void stop() {
    fleet.close();
  }

  @Test
  void registerConnectRotateDisableDelete() {
    HttpResponse<String> created = fleet.call(nodeA, "POST", "/api/v1/clusters", fleet.adminToken(), new JsonObject()
        .put("name", "shop-eu").put("displayName", "Shop EU").put("labels", new JsonObject().put("env", "prod")));
    assertEquals(201, created.statusCode(), created.body());
    JsonObject cluster = new JsonObject(created.body());
    String token = cluster.getString("token");
    assertTrue(token.length() >= 40);
    assertTrue(cluster.getString("installCommand").contains("/install/"), cluster.getString("installCommand"));
    assertFalse(cluster.getString("installCommand").contains(token), "the token travels in the link, not in the command");
    HttpResponse<String> read = fleet.api(nodeB, "/api/v1/clusters/shop-eu");
    assertFalse(read.body().contains(token), "the token is shown once, never again");
    assertEquals("Shop EU", new JsonObject(read.body()).getString("displayName"));

    fleet.simulatedCluster("shop-eu", token);
    Agent agent = fleet.agent("shop-eu", nodeB);
    fleet.awaitConnected(nodeA, "shop-eu");
    assertEquals(200, fleet.call(nodeA, "GET", "/k8s/clusters/shop-eu/api/v1/namespaces", fleet.adminToken(), null)
        .statusCode());

    long rotated = System.nanoTime();
    HttpResponse<String> rotation = fleet.call(nodeA, "POST", "/api/v1/clusters/shop-eu/token", fleet.adminToken(), null);
    assertEquals(200, rotation.statusCode(), rotation.body());
    String newToken = new JsonObject(rotation.body()).getString("token");
    fleet.awaitDisconnected(nodeA, "shop-eu");
    assertTrue(System.nanoTime() - rotated < TimeUnit.SECONDS.toNanos(5), "dropped within 5 s");
    // The agent keeps redialling with the old token and is refused; its cluster stays unreachable.
    Fleet.eventually(Duration.ofSeconds(2), () -> !agent.connected(), "agent refused");
    assertEquals(503, fleet.call(nodeA, "GET", "/k8s/clusters/shop-eu/api/v1/namespaces", fleet.adminToken(), null)
        .statusCode());

    fleet.stopAgent("shop-eu");
    fleet.joinToken("shop-eu", newToken);
    Agent renewed = fleet.agent("shop-eu", nodeA);
    fleet.awaitConnected(nodeB, "shop-eu");

    assertEquals(200, fleet.call(nodeB, "PATCH", "/api/v1/clusters/shop-eu", fleet.adminToken(),
        new JsonObject().put("enabled", false)).statusCode());
    fleet.awaitDisconnected(nodeB, "shop-eu");
    HttpResponse<String> disabled = fleet.call(nodeB, "GET", "/k8s/clusters/shop-eu/api/v1/namespaces",
        fleet.adminToken(), null);
    assertEquals(503, disabled.statusCode());
    assertTrue(disabled.body().contains("disabled"), disabled.body());

    assertEquals(200, fleet.call(nodeA, "PATCH", "/api/v1/clusters/shop-eu", fleet.adminToken(),
        new JsonObject().put("enabled", true).put("labels", new JsonObject().put("env", "staging"))).statusCode());
    fleet.awaitConnected(nodeB, "shop-eu");
    assertEquals("staging", new JsonObject(fleet.api(nodeB, "/api/v1/clusters/shop-eu").body())
        .getJsonObject("labels").getString("env"));

    assertEquals(204, fleet.call(nodeB, "DELETE", "/api/v1/clusters/shop-eu", fleet.adminToken(), null).statusCode());
    Fleet.eventually(Duration.ofSeconds(10), () -> !renewed.connected() && fleet.api(nodeA, "/api/v1/clusters/shop-eu")
        .statusCode() == 404, "deleted everywhere and agent dropped");
    assertEquals(404, fleet.call(nodeA, "GET", "/k8s/clusters/shop-eu/api/v1/namespaces", fleet.adminToken(), null)
        .statusCode());
  }

  @Test
  void agentManifestIsACompleteInstall() throws Exception {
    JsonObject created = new JsonObject(fleet.call(nodeA, "POST", "/api/v1/clusters", fleet.adminToken(),
        new JsonObject().put("name", "edge-7").put("impersonate", true)).body());
    String token = created.getString("token");
    HttpResponse<String> manifest = fleet.send(HttpRequest.newBuilder(fleet.uri(nodeB, "/api/v1/clusters/edge-7/agent.yaml"))
        .header("Authorization", "Bearer " + fleet.adminToken()).header("X-Kmc-Join-Token", token).GET().build());
    assertEquals(200, manifest.statusCode(), manifest.body());
    List<Object> objects = Yaml.loadAll(manifest.body());
    List<String> kinds = objects.stream().map(o -> o.getClass().getSimpleName()).toList();
    assertEquals(List.of("V1Namespace", "V1ServiceAccount", "V1ClusterRole", "V1ClusterRoleBinding", "V1Secret",
        "V1Deployment"), kinds);
    var secret = (io.kubernetes.client.openapi.models.V1Secret) objects.get(4);
    assertEquals(token, secret.getStringData().get("token"));
    var role = (io.kubernetes.client.openapi.models.V1ClusterRole) objects.get(2);
    assertEquals(List.of("impersonate"), role.getRules().get(0).getVerbs(), "an impersonating agent needs nothing else");
    var deployment = (io.kubernetes.client.openapi.models.V1Deployment) objects.get(5);
    var container = deployment.getSpec().getTemplate().getSpec().getContainers().get(0);
    assertTrue(container.getEnv().stream().anyMatch(e -> e.getName().equals("KMC_HUB_CLUSTER") && "edge-7".equals(e.getValue())));
    assertEquals("/ready", container.getReadinessProbe().getHttpGet().getPath());

    HttpResponse<String> wrongToken = fleet.send(HttpRequest.newBuilder(fleet.uri(nodeB, "/api/v1/clusters/edge-7/agent.yaml"))
        .header("Authorization", "Bearer " + fleet.adminToken()).header("X-Kmc-Join-Token", "guess").GET().build());
    assertEquals(400, wrongToken.statusCode());
    HttpResponse<String> placeholder = fleet.api(nodeB, "/api/v1/clusters/edge-7/agent.yaml?access=read");
    assertTrue(placeholder.body().contains("REPLACE-WITH-THE-JOIN-TOKEN"));
    assertTrue(placeholder.body().contains("- watch"), placeholder.body());
  }

  @Test
  void invalidRegistrationsAreRefusedClearly() {
    assertEquals(400, fleet.call(nodeA, "POST", "/api/v1/clusters", fleet.adminToken(),
        new JsonObject().put("name", "Not_Valid")).statusCode());
    assertEquals(400, fleet.call(nodeA, "POST", "/api/v1/clusters", fleet.adminToken(),
        new JsonObject().put("name", "ok").put("labels", "not-an-object")).statusCode());
    assertEquals(201, fleet.call(nodeA, "POST", "/api/v1/clusters", fleet.adminToken(),
        new JsonObject().put("name", "twice")).statusCode());
    assertEquals(409, fleet.call(nodeB, "POST", "/api/v1/clusters", fleet.adminToken(),
        new JsonObject().put("name", "twice")).statusCode());
    assertEquals(404, fleet.call(nodeB, "POST", "/api/v1/clusters/none/token", fleet.adminToken(), null).statusCode());
    assertEquals(404, fleet.call(nodeB, "DELETE", "/api/v1/clusters/none", fleet.adminToken(), null).statusCode());
    HttpResponse<String> huge = fleet.call(nodeA, "POST", "/api/v1/clusters", fleet.adminToken(),
        new JsonObject().put("name", "big").put("description", "x".repeat(4 * 1024 * 1024)));
    assertEquals(413, huge.statusCode());
    assertNull(new JsonObject(fleet.api(nodeA, "/api/v1/clusters").body()).getJsonArray("items").stream()
        .map(JsonObject.class::cast).filter(c -> "big".equals(c.getString("name"))).findFirst().orElse(null));
  }
}
