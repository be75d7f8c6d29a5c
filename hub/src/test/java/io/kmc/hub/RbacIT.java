package io.kmc.hub;

import io.kmc.hub.support.Fleet;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The seed roles (admin, developer, operator) scoped to clusters and namespaces, over the hub API
 * and the Kubernetes pass-through, on two hub nodes.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class RbacIT {

  private static final String DEPLOYMENT = """
      {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"%s"},
       "spec":{"replicas":1,"selector":{"matchLabels":{"app":"%1$s"}},
         "template":{"metadata":{"labels":{"app":"%1$s"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}""";

  private static Fleet fleet;
  private static Hub nodeA;
  private static Hub nodeB;
  private static String developer;
  private static String operator;
  private static String sre;
  private static String nobody;

  @BeforeAll
  static void start() {
    fleet = new Fleet();
    fleet.cluster("prod");
    fleet.cluster("staging");
    List<Hub> hubs = fleet.hubs(2);
    nodeA = hubs.get(0);
    nodeB = hubs.get(1);
    fleet.agent("prod", nodeB);
    fleet.agent("staging", nodeA);
    fleet.awaitConnected(nodeA, "prod");
    fleet.awaitConnected(nodeA, "staging");
    assertEquals(201, admin("POST", "/k8s/clusters/prod/api/v1/namespaces",
        new JsonObject().put("metadata", new JsonObject().put("name", "shop"))).statusCode());

    developer = user("dev", List.of(), "developer", "staging/*");
    operator = user("op", List.of(), "operator", "prod/shop");
    sre = user("sam", List.of("sre"), null, null);
    bind("group:sre", "operator", "*/shop");
    nobody = user("nobody", List.of(), null, null);
  }

  @AfterAll
  static void stop() {
    fleet.close();
  }

  @Test
  void developerReadsDeploymentsAndServicesInItsClusterOnly() {
    assertEquals(200, kube(developer, "GET", "/k8s/clusters/staging/apis/apps/v1/namespaces/default/deployments"));
    assertEquals(200, kube(developer, "GET", "/k8s/clusters/staging/apis/apps/v1/deployments"), "all namespaces");
    assertEquals(200, kube(developer, "GET", "/k8s/clusters/staging/api/v1/namespaces/default/services"));
    assertEquals(200, kube(developer, "GET", "/k8s/clusters/staging/api"), "discovery");
    assertEquals(403, kube(developer, "POST", "/k8s/clusters/staging/apis/apps/v1/namespaces/default/deployments",
        new JsonObject(DEPLOYMENT.formatted("nope"))));
    assertEquals(403, kube(developer, "GET", "/k8s/clusters/staging/api/v1/namespaces/default/pods"));
    assertEquals(403, kube(developer, "GET", "/k8s/clusters/staging/api/v1/namespaces/default/secrets"));
    // A cluster the user has no role in is answered as one that does not exist.
    assertEquals(404, kube(developer, "GET", "/k8s/clusters/prod/apis/apps/v1/namespaces/default/deployments"));
    assertEquals(404, kube(developer, "GET", "/k8s/clusters/prod/api"));

    HttpResponse<String> refused = fleet.call(nodeB, "DELETE",
        "/k8s/clusters/staging/apis/apps/v1/namespaces/kube-system/deployments/coredns", developer, null);
    assertEquals(403, refused.statusCode());
    assertTrue(refused.body().contains("\"kind\":\"Status\"") && refused.body().contains("may not delete deployments"),
        refused.body());
  }

  @Test
  void operatorManagesDeploymentsInItsNamespaceOnly() {
    assertEquals(201, kube(operator, "POST", "/k8s/clusters/prod/apis/apps/v1/namespaces/shop/deployments",
        new JsonObject(DEPLOYMENT.formatted("cart"))));
    assertEquals(200, kubeWithType(operator, "PATCH", "/k8s/clusters/prod/apis/apps/v1/namespaces/shop/deployments/cart",
        new JsonObject().put("spec", new JsonObject().put("replicas", 2)), "application/merge-patch+json"));
    assertEquals(200, kube(operator, "GET", "/k8s/clusters/prod/api/v1/namespaces/shop/pods"));
    assertEquals(403, kube(operator, "DELETE", "/k8s/clusters/prod/api/v1/namespaces/shop/pods/any"));
    assertEquals(403, kube(operator, "GET", "/k8s/clusters/prod/api/v1/namespaces/shop/secrets"));
    assertEquals(403, kube(operator, "POST", "/k8s/clusters/prod/apis/apps/v1/namespaces/default/deployments",
        new JsonObject(DEPLOYMENT.formatted("elsewhere"))));
    assertEquals(403, kube(operator, "GET", "/k8s/clusters/prod/apis/apps/v1/deployments"), "not cluster-wide");
    assertEquals(403, kube(operator, "GET", "/k8s/clusters/prod/api/v1/nodes"), "not cluster-scoped resources");
    assertEquals(403, kube(operator, "DELETE", "/k8s/clusters/prod/api/v1/namespaces/shop"),
        "a namespace-scoped role cannot delete its namespace");
    assertEquals(404, kube(operator, "GET", "/k8s/clusters/staging/api/v1/namespaces/shop/pods"));
    assertEquals(200, kube(operator, "DELETE", "/k8s/clusters/prod/apis/apps/v1/namespaces/shop/deployments/cart"));
  }

  @Test
  void groupBindingsApply() {
    assertEquals(200, kube(sre, "GET", "/k8s/clusters/prod/api/v1/namespaces/shop/pods"));
    assertEquals(200, kube(sre, "GET", "/k8s/clusters/staging/apis/apps/v1/namespaces/shop/deployments"));
    assertEquals(403, kube(sre, "GET", "/k8s/clusters/prod/apis/apps/v1/namespaces/default/deployments"));
  }

  @Test
  void hubApiIsScopedToo() {
    JsonArray visible = new JsonObject(fleet.call(nodeA, "GET", "/api/v1/clusters", developer, null).body())
        .getJsonArray("items");
    assertEquals(List.of("staging"), visible.stream().map(c -> ((JsonObject) c).getString("name")).toList());
    assertEquals(404, fleet.call(nodeA, "GET", "/api/v1/clusters/prod", developer, null).statusCode());
    assertEquals(200, fleet.call(nodeA, "GET", "/api/v1/clusters/staging/kubeconfig", developer, null).statusCode());
    assertEquals(403, fleet.call(nodeA, "POST", "/api/v1/clusters", developer, new JsonObject().put("name", "x"))
        .statusCode());
    for (String path : List.of("/api/v1/users", "/api/v1/audit", "/api/v1/rbac/bindings", "/api/v1/rbac/roles")) {
      HttpResponse<String> refused = fleet.call(nodeB, "GET", path, operator, null);
      assertEquals(403, refused.statusCode(), path);
      assertTrue(refused.body().contains("\"reason\":\"Forbidden\""), refused.body());
    }
    assertEquals(0, new JsonObject(fleet.call(nodeA, "GET", "/api/v1/clusters", nobody, null).body())
        .getJsonArray("items").size());
    assertEquals(200, fleet.call(nodeA, "GET", "/api/v1/auth/whoami", nobody, null).statusCode());
  }

  @Test
  void aNewBindingIsInForceOnTheOtherNodeWithinASecond() {
    String path = "/k8s/clusters/prod/apis/apps/v1/namespaces/kube-system/deployments";
    assertEquals(404, kube(nobody, "GET", path));
    HttpResponse<String> added = fleet.call(nodeA, "POST", "/api/v1/rbac/bindings", fleet.adminToken(),
        new JsonObject().put("subject", "nobody").put("role", "developer").put("domain", "prod/*"));
    assertEquals(201, added.statusCode(), added.body());
    Fleet.eventually(Duration.ofSeconds(1), () -> fleet.call(nodeB, "GET", path, nobody, null).statusCode() == 200,
        "binding in force on node B");
    assertEquals(204, fleet.call(nodeB, "DELETE", "/api/v1/rbac/bindings?subject=nobody&role=developer&domain=prod/*",
        fleet.adminToken(), null).statusCode());
    Fleet.eventually(Duration.ofSeconds(1), () -> fleet.call(nodeA, "GET", path, nobody, null).statusCode() == 404,
        "binding removed on node A");

    HttpResponse<String> invalid = fleet.call(nodeA, "POST", "/api/v1/rbac/bindings", fleet.adminToken(),
        new JsonObject().put("subject", "nobody").put("role", "developer").put("domain", "pr*"));
    assertEquals(400, invalid.statusCode(), invalid.body());
  }

  @Test
  void impersonationCarriesTheHubUserIntoTheCluster() {
    String review = "/k8s/clusters/staging/apis/authentication.k8s.io/v1/selfsubjectreviews";
    JsonObject body = new JsonObject().put("apiVersion", "authentication.k8s.io/v1").put("kind", "SelfSubjectReview");
    JsonObject asAgent = new JsonObject(admin("POST", review, body).body());
    assertEquals("kube-sim-admin", asAgent.getJsonObject("status").getJsonObject("userInfo").getString("username"));

    assertEquals(200, fleet.call(nodeA, "PATCH", "/api/v1/clusters/staging", fleet.adminToken(),
        new JsonObject().put("impersonate", true)).statusCode());
    // Node B learns of the change from the event bus and reads the cluster again.
    Fleet.eventually(Duration.ofSeconds(10), () -> "admin".equals(new JsonObject(admin("POST", review, body).body())
        .getJsonObject("status").getJsonObject("userInfo").getString("username")), "the agent impersonates admin");
    JsonArray groups = new JsonObject(admin("POST", review, body).body()).getJsonObject("status")
        .getJsonObject("userInfo").getJsonArray("groups");
    assertTrue(groups.contains("kmc:admins"), groups.encode());
  }

  private static String user(String name, List<String> groups, String role, String domain) {
    HttpResponse<String> created = fleet.call(nodeA, "POST", "/api/v1/users", fleet.adminToken(), new JsonObject()
        .put("name", name).put("password", name + "-password-123").put("groups", new JsonArray(groups)));
    assertEquals(201, created.statusCode(), created.body());
    if (role != null) {
      bind(name, role, domain);
    }
    return fleet.login(nodeB, name, name + "-password-123");
  }

  private static void bind(String subject, String role, String domain) {
    HttpResponse<String> bound = fleet.call(nodeA, "POST", "/api/v1/rbac/bindings", fleet.adminToken(),
        new JsonObject().put("subject", subject).put("role", role).put("domain", domain));
    assertEquals(201, bound.statusCode(), bound.body());
  }

  private static int kube(String token, String method, String path) {
    return kube(token, method, path, null);
  }

  private static int kube(String token, String method, String path, JsonObject body) {
    return fleet.call(nodeA, method, path, token, body).statusCode();
  }

  private static int kubeWithType(String token, String method, String path, JsonObject body, String contentType) {
    return fleet.send(java.net.http.HttpRequest.newBuilder(fleet.uri(nodeA, path))
        .header("Authorization", "Bearer " + token).header("Content-Type", contentType)
        .method(method, java.net.http.HttpRequest.BodyPublishers.ofString(body.encode())).build()).statusCode();
  }

  private static HttpResponse<String> admin(String method, String path, JsonObject body) {
    return fleet.call(nodeB, method, path, fleet.adminToken(), body);
  }
}
