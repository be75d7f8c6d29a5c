package io.kmc.hub;

import io.kmc.hub.support.Fleet;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The typed API v1 end to end: calls on hub node A for cluster "prod", whose agent is connected to
 * node B, through the tunnel to an in-JVM Kubernetes API server. Authorization, policies and audit
 * are the pass-through's; errors are in the hub's own shape.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class TypedApiIT {

  private static final String BASE = "/api/v1/clusters/prod";
  private static final String IMAGE = "registry.example.com/web:1.4";

  private static Fleet fleet;
  private static Hub nodeA;
  private static Hub nodeB;

  @BeforeAll
  static void start() {
    fleet = new Fleet();
    fleet.cluster("prod");
    List<Hub> hubs = fleet.hubs(2);
    nodeA = hubs.get(0);
    nodeB = hubs.get(1);
    fleet.agent("prod", nodeB);
    fleet.awaitConnected(nodeA, "prod");
    for (String namespace : List.of("shop", "guarded")) {
      HttpResponse<String> created = admin("POST", BASE + "/namespaces",
          new JsonObject().put("metadata", new JsonObject().put("name", namespace)));
      assertEquals(201, created.statusCode(), created.body());
    }
  }

  @AfterAll
  static void stop() {
    fleet.close();
  }

  @Test
  void aDeploymentIsCreatedReadListedUpdatedScaledRestartedAndDeleted() {
    Instant since = Instant.now().minusSeconds(1);
    HttpResponse<String> created = admin("POST", BASE + "/deployments?namespace=shop", deployment("web", 1));
    assertEquals(201, created.statusCode(), created.body());
    JsonObject object = new JsonObject(created.body());
    assertEquals("Deployment", object.getString("kind"), "apiVersion and kind are filled in");
    assertEquals("shop", object.getJsonObject("metadata").getString("namespace"));

    HttpResponse<String> read = admin("GET", BASE + "/deployments/web?namespace=shop", null);
    assertEquals(200, read.statusCode(), read.body());
    assertEquals(IMAGE, image(new JsonObject(read.body())));

    JsonObject list = new JsonObject(admin("GET", BASE + "/deployments?namespace=shop&labelSelector=app%3Dweb", null)
        .body());
    assertEquals("DeploymentList", list.getString("kind"));
    assertEquals(List.of("web"), names(list));
    assertEquals(List.of(), names(new JsonObject(admin("GET", BASE + "/deployments?namespace=shop&labelSelector="
        + "app%3Dnone", null).body())), "the selector reaches the member cluster");
    assertTrue(names(new JsonObject(admin("GET", BASE + "/deployments", null).body())).contains("web"),
        "without a namespace, every namespace");

    // A read-modify-write races the deployment controller's status updates: a 409 keeps its meaning, and a retry
    // with the object read again goes through.
    Fleet.eventually(Duration.ofSeconds(10), () -> {
      JsonObject changed = get("/deployments/web?namespace=shop");
      changed.getJsonObject("spec").getJsonObject("template").getJsonObject("spec").getJsonArray("containers")
          .getJsonObject(0).put("image", "registry.example.com/web:1.5");
      HttpResponse<String> updated = admin("PUT", BASE + "/deployments/web?namespace=shop", changed);
      assertTrue(updated.statusCode() == 200 || updated.statusCode() == 409 && "Conflict".equals(
          new JsonObject(updated.body()).getString("reason")), updated.body());
      return updated.statusCode() == 200;
    }, "the update");
    assertEquals("registry.example.com/web:1.5", image(get("/deployments/web?namespace=shop")));

    HttpResponse<String> scaled = admin("PUT", BASE + "/deployments/web/scale?namespace=shop",
        new JsonObject().put("replicas", 3));
    assertEquals(200, scaled.statusCode(), scaled.body());
    assertEquals("Scale", new JsonObject(scaled.body()).getString("kind"));
    assertEquals(3, get("/deployments/web?namespace=shop").getJsonObject("spec").getInteger("replicas"));

    HttpResponse<String> restarted = admin("POST", BASE + "/deployments/web/restart?namespace=shop", null);
    assertEquals(200, restarted.statusCode(), restarted.body());
    String restartedAt = get("/deployments/web?namespace=shop").getJsonObject("spec").getJsonObject("template")
        .getJsonObject("metadata").getJsonObject("annotations").getString("kubectl.kubernetes.io/restartedAt");
    assertNotNull(restartedAt, "the pod template carries the restart time, as kubectl rollout restart sets it");
    assertFalse(Instant.parse(restartedAt).isBefore(since.minusSeconds(1)), restartedAt);

    HttpResponse<String> deleted = admin("DELETE", BASE + "/deployments/web?namespace=shop", null);
    assertEquals(200, deleted.statusCode(), deleted.body());
    Fleet.eventually(Duration.ofSeconds(10), () -> admin("GET", BASE + "/deployments/web?namespace=shop", null)
        .statusCode() == 404, "the deployment is gone");
    JsonObject gone = new JsonObject(admin("GET", BASE + "/deployments/web?namespace=shop", null).body());
    assertEquals(404, gone.getInteger("code"), "the hub's error shape: " + gone);
    assertEquals("NotFound", gone.getString("reason"));
    assertTrue(gone.getString("message").contains("\"web\" not found"), gone.encode());

    JsonObject listed = awaitAuditRecord(since, r -> "list".equals(r.getString("verb"))
        && r.getString("path", "").equals(BASE + "/deployments"));
    assertEquals("deployments", listed.getString("resource"), "a typed read is recorded as the Kubernetes call");
    JsonObject record = awaitAuditRecord(since, r -> "patch".equals(r.getString("verb"))
        && r.getString("path", "").endsWith("/deployments/web/scale"));
    assertEquals("deployments", record.getString("resource"));
    assertEquals("shop", record.getString("namespace"));
    assertEquals(200, record.getInteger("status"));
    assertEquals("admin", record.getString("user"));
  }

  @Test
  void podsAreListedReadFollowedAndDeleted() throws Exception {
    assertEquals(201, admin("POST", BASE + "/deployments?namespace=shop", deployment("logger", 1)).statusCode());
    String pod = Fleet.awaitValue(Duration.ofSeconds(20), () -> {
      List<String> pods = names(new JsonObject(admin("GET", BASE + "/pods?namespace=shop&labelSelector=app%3Dlogger",
          null).body()));
      return pods.isEmpty() ? null : pods.get(0);
    }, "the deployment's pod");
    JsonObject object = get("/pods/" + pod + "?namespace=shop");
    assertEquals("Pod", object.getString("kind"));

    Fleet.eventually(Duration.ofSeconds(10), () -> admin("GET", BASE + "/pods/" + pod + "/logs?namespace=shop"
        + "&tailLines=2", null).body().contains("line"), "the pod has written its first lines");
    HttpResponse<String> tail = admin("GET", BASE + "/pods/" + pod + "/logs?namespace=shop&tailLines=2", null);
    assertEquals(200, tail.statusCode(), tail.body());
    assertEquals(2, tail.body().lines().count(), tail.body());
    assertTrue(tail.body().startsWith("kube-sim " + pod + "/web line "), tail.body());

    // A followed log streams: lines arrive while the request is open.
    HttpResponse<InputStream> followed = HttpClient.newHttpClient().send(HttpRequest.newBuilder(fleet.uri(nodeA,
        BASE + "/pods/" + pod + "/logs?namespace=shop&tailLines=0&follow=true"))
        .header("Authorization", "Bearer " + fleet.adminToken()).build(), HttpResponse.BodyHandlers.ofInputStream());
    assertEquals(200, followed.statusCode());
    List<String> lines = new ArrayList<>();
    try (BufferedReader reader = new BufferedReader(new InputStreamReader(followed.body(), StandardCharsets.UTF_8))) {
      while (lines.size() < 3) {
        String line = reader.readLine();
        assertNotNull(line, "the stream ended after " + lines);
        lines.add(line);
      }
    }
    long first = lineNumber(lines.get(0));
    assertEquals(List.of(first + 1, first + 2), List.of(lineNumber(lines.get(1)), lineNumber(lines.get(2))), "" + lines);

    HttpResponse<String> missing = admin("GET", BASE + "/pods/nope/logs?namespace=shop&follow=true", null);
    assertEquals(404, missing.statusCode(), missing.body());
    assertEquals("NotFound", new JsonObject(missing.body()).getString("reason"), missing.body());

    HttpResponse<String> deleted = admin("DELETE", BASE + "/pods/" + pod + "?namespace=shop", null);
    assertEquals(200, deleted.statusCode(), deleted.body());
    Fleet.eventually(Duration.ofSeconds(20), () -> !names(new JsonObject(admin("GET", BASE + "/pods?namespace=shop"
        + "&labelSelector=app%3Dlogger", null).body())).contains(pod), "the pod is gone (the deployment replaces it)");
    assertEquals(200, admin("DELETE", BASE + "/deployments/logger?namespace=shop", null).statusCode());
  }

  @Test
  void servicesConfigMapsEventsAndNamespaces() {
    JsonObject service = new JsonObject().put("metadata", new JsonObject().put("name", "front"))
        .put("spec", new JsonObject().put("selector", new JsonObject().put("app", "front"))
            .put("ports", new JsonArray().add(new JsonObject().put("port", 80))));
    assertEquals(201, admin("POST", BASE + "/services?namespace=shop", service).statusCode());
    assertEquals(80, get("/services/front?namespace=shop").getJsonObject("spec").getJsonArray("ports").getJsonObject(0)
        .getInteger("port"));
    assertTrue(names(get("/services?namespace=shop")).contains("front"));
    assertEquals(200, admin("DELETE", BASE + "/services/front?namespace=shop", null).statusCode());

    JsonObject config = new JsonObject().put("metadata", new JsonObject().put("name", "settings").put("namespace", "shop"))
        .put("data", new JsonObject().put("mode", "fast"));
    assertEquals(201, admin("POST", BASE + "/configmaps", config).statusCode(), "the namespace from the body");
    HttpResponse<String> duplicate = admin("POST", BASE + "/configmaps", config);
    assertEquals(409, duplicate.statusCode(), duplicate.body());
    JsonObject conflict = new JsonObject(duplicate.body());
    assertEquals("AlreadyExists", conflict.getString("reason"), duplicate.body());
    assertTrue(conflict.getString("message").contains("settings"), duplicate.body());

    JsonObject changed = get("/configmaps/settings?namespace=shop");
    changed.getJsonObject("data").put("mode", "safe");
    assertEquals(200, admin("PUT", BASE + "/configmaps/settings?namespace=shop", changed).statusCode());
    assertEquals("safe", get("/configmaps/settings?namespace=shop").getJsonObject("data").getString("mode"));
    assertTrue(names(get("/configmaps?namespace=shop")).contains("settings"));
    HttpResponse<String> misnamed = admin("PUT", BASE + "/configmaps/other?namespace=shop", changed);
    assertEquals(400, misnamed.statusCode(), misnamed.body());
    assertEquals(200, admin("DELETE", BASE + "/configmaps/settings?namespace=shop", null).statusCode());

    // The deployment controller records events as it scales.
    assertEquals(201, admin("POST", BASE + "/deployments?namespace=shop", deployment("eventful", 1)).statusCode());
    Fleet.eventually(Duration.ofSeconds(10), () -> get("/events?namespace=shop").getJsonArray("items").stream()
        .map(JsonObject.class::cast).anyMatch(e -> "eventful".equals(e.getJsonObject("involvedObject")
            .getString("name")) && "ScalingReplicaSet".equals(e.getString("reason"))), "the scaling event");
    assertEquals(200, admin("DELETE", BASE + "/deployments/eventful?namespace=shop", null).statusCode());

    List<String> namespaces = names(get("/namespaces"));
    assertTrue(namespaces.containsAll(List.of("default", "shop", "guarded")), namespaces.toString());
    assertEquals("Namespace", get("/namespaces/shop").getString("kind"));
    assertEquals(400, admin("GET", BASE + "/namespaces?namespace=shop", null).statusCode(), "not namespaced");
  }

  @Test
  void anyKindTheClusterServesIsReachedThroughDiscoveryIncludingACrdCreatedNow() {
    String gadgets = BASE + "/resources/test.kmc.io/v1/gadgets";
    HttpResponse<String> before = admin("GET", gadgets + "?namespace=shop", null);
    assertEquals(404, before.statusCode(), before.body());
    assertTrue(new JsonObject(before.body()).getString("message").contains("test.kmc.io/v1"), before.body());

    JsonObject crd = new JsonObject("""
        {"metadata":{"name":"gadgets.test.kmc.io"},"spec":{"group":"test.kmc.io","scope":"Namespaced",
         "names":{"plural":"gadgets","singular":"gadget","kind":"Gadget"},"versions":[{"name":"v1","served":true,
         "storage":true,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}""");
    HttpResponse<String> defined = admin("POST", BASE + "/resources/apiextensions.k8s.io/v1/customresourcedefinitions",
        crd);
    assertEquals(201, defined.statusCode(), defined.body());
    assertEquals(400, admin("GET", BASE + "/resources/apiextensions.k8s.io/v1/customresourcedefinitions"
        + "?namespace=shop", null).statusCode(), "CRDs are cluster-scoped");

    JsonObject gadget = new JsonObject().put("metadata", new JsonObject().put("name", "g1"))
        .put("spec", new JsonObject().put("size", 1));
    HttpResponse<String> created = admin("POST", gadgets + "?namespace=shop", gadget);
    assertEquals(201, created.statusCode(), created.body());
    assertEquals("Gadget", new JsonObject(created.body()).getString("kind"), "the kind comes from discovery");
    assertEquals(List.of("g1"), names(get("/resources/test.kmc.io/v1/gadgets?namespace=shop")));
    assertEquals(List.of("g1"), names(get("/resources/test.kmc.io/v1/gadgets")), "every namespace");

    JsonObject changed = get("/resources/test.kmc.io/v1/gadgets/g1?namespace=shop");
    changed.getJsonObject("spec").put("size", 5);
    HttpResponse<String> updated = admin("PUT", gadgets + "/g1?namespace=shop", changed);
    assertEquals(200, updated.statusCode(), updated.body());
    assertEquals(5, get("/resources/test.kmc.io/v1/gadgets/g1?namespace=shop").getJsonObject("spec")
        .getInteger("size"));
    assertEquals(200, admin("DELETE", gadgets + "/g1?namespace=shop", null).statusCode());
    assertEquals(404, admin("GET", gadgets + "/g1?namespace=shop", null).statusCode());

    // A second kind in a group version the hub has just looked up is found at once, cluster-scoped this time.
    JsonObject widgets = crd.copy();
    widgets.getJsonObject("metadata").put("name", "widgets.test.kmc.io");
    widgets.getJsonObject("spec").put("scope", "Cluster").put("names", new JsonObject().put("plural", "widgets")
        .put("singular", "widget").put("kind", "Widget"));
    assertEquals(201, admin("POST", BASE + "/resources/apiextensions.k8s.io/v1/customresourcedefinitions", widgets)
        .statusCode());
    HttpResponse<String> widget = admin("POST", BASE + "/resources/test.kmc.io/v1/widgets",
        new JsonObject().put("metadata", new JsonObject().put("name", "w1")));
    assertEquals(201, widget.statusCode(), widget.body());
    assertEquals("Widget", new JsonObject(widget.body()).getString("kind"));
    assertEquals(400, admin("GET", BASE + "/resources/test.kmc.io/v1/widgets?namespace=shop", null).statusCode(),
        "a cluster-scoped kind refuses a namespace");
    assertEquals(List.of("w1"), names(get("/resources/test.kmc.io/v1/widgets")));
    assertEquals(200, admin("DELETE", BASE + "/resources/apiextensions.k8s.io/v1/customresourcedefinitions/"
        + "widgets.test.kmc.io", null).statusCode());

    // The core group is "core" in the path.
    assertTrue(names(get("/resources/core/v1/namespaces")).contains("shop"));
    HttpResponse<String> unknown = admin("GET", BASE + "/resources/apps/v1/gizmos", null);
    assertEquals(404, unknown.statusCode(), unknown.body());
    assertTrue(unknown.body().contains("serves no resource 'gizmos' in apps/v1"), unknown.body());
    assertEquals(200, admin("DELETE", BASE + "/resources/apiextensions.k8s.io/v1/customresourcedefinitions/"
        + "gadgets.test.kmc.io", null).statusCode());
  }

  @Test
  void rolesDecideAsThroughThePassthrough() {
    String developer = user("typed-dev", "developer", "prod/*");
    String operator = user("typed-op", "operator", "prod/shop");
    assertEquals(200, call(developer, "GET", BASE + "/deployments?namespace=shop", null).statusCode());
    HttpResponse<String> refused = call(developer, "POST", BASE + "/deployments?namespace=shop",
        deployment("nope", 1));
    assertEquals(403, refused.statusCode(), refused.body());
    JsonObject error = new JsonObject(refused.body());
    assertEquals("Forbidden", error.getString("reason"));
    assertTrue(error.getString("message").contains("may not create deployments in namespace shop of cluster prod"),
        refused.body());
    assertEquals(403, call(developer, "GET", BASE + "/pods?namespace=shop", null).statusCode());
    assertEquals(403, call(developer, "PUT", BASE + "/deployments/any/scale?namespace=shop",
        new JsonObject().put("replicas", 2)).statusCode());

    assertEquals(201, call(operator, "POST", BASE + "/deployments?namespace=shop", deployment("ops", 1)).statusCode());
    assertEquals(200, call(operator, "PUT", BASE + "/deployments/ops/scale?namespace=shop",
        new JsonObject().put("replicas", 2)).statusCode());
    assertEquals(200, call(operator, "POST", BASE + "/deployments/ops/restart?namespace=shop", null).statusCode());
    assertEquals(403, call(operator, "GET", BASE + "/deployments", null).statusCode(), "not every namespace");
    assertEquals(403, call(operator, "GET", BASE + "/deployments?namespace=default", null).statusCode());
    assertEquals(403, call(operator, "DELETE", BASE + "/pods/any?namespace=shop", null).statusCode());
    assertEquals(403, call(operator, "GET", BASE + "/resources/core/v1/secrets?namespace=shop", null).statusCode());
    assertEquals(200, call(operator, "DELETE", BASE + "/deployments/ops?namespace=shop", null).statusCode());

    String outsider = user("typed-nobody", null, null);
    assertEquals(404, call(outsider, "GET", BASE + "/deployments?namespace=shop", null).statusCode(),
        "a cluster the user has no role in is answered as one that does not exist");
    assertEquals(404, call(outsider, "GET", BASE + "/resources/apps/v1/deployments", null).statusCode());
  }

  @Test
  void aPolicyRefusesATypedCreateAndScale() {
    JsonObject policy = new JsonObject("""
        {"apiVersion":"kmc.io/v1alpha1","kind":"Policy","metadata":{"name":"typed-small"},
         "spec":{"action":"deny","match":{"kinds":["apps/Deployment"],"namespaces":["guarded"]},
           "validations":[{"expression":"!has(object.spec.replicas) || object.spec.replicas <= 5",
             "messageExpression":"'replicas ' + string(object.spec.replicas) + ' is more than 5'"}]}}""");
    HttpResponse<String> added = admin("POST", "/api/v1/policies", policy);
    assertEquals(201, added.statusCode(), added.body());
    Fleet.eventually(Duration.ofSeconds(10), () -> admin("POST", BASE + "/deployments?namespace=guarded&dryRun=All",
        deployment("probe", 9)).statusCode() == 403, "node A enforces the policy");

    HttpResponse<String> refused = admin("POST", BASE + "/deployments?namespace=guarded", deployment("big", 9));
    assertEquals(403, refused.statusCode(), refused.body());
    JsonObject error = new JsonObject(refused.body());
    assertEquals(403, error.getInteger("code"), refused.body());
    assertTrue(error.getString("message").contains("[typed-small] replicas 9 is more than 5"), refused.body());
    assertEquals(404, admin("GET", BASE + "/deployments/big?namespace=guarded", null).statusCode(), "nothing written");

    assertEquals(201, admin("POST", BASE + "/deployments?namespace=guarded", deployment("small", 2)).statusCode());
    HttpResponse<String> scaled = admin("PUT", BASE + "/deployments/small/scale?namespace=guarded",
        new JsonObject().put("replicas", 7));
    assertEquals(403, scaled.statusCode(), scaled.body());
    assertTrue(scaled.body().contains("replicas 7 is more than 5"), scaled.body());
    assertEquals(2, get("/deployments/small?namespace=guarded").getJsonObject("spec").getInteger("replicas"));
    assertEquals(204, admin("DELETE", "/api/v1/policies/typed-small", null).statusCode());
    assertEquals(200, admin("DELETE", BASE + "/deployments/small?namespace=guarded", null).statusCode());
  }

  @Test
  void errorsAreInTheHubsShape() {
    HttpResponse<String> unknown = admin("GET", "/api/v1/clusters/atlantis/deployments", null);
    assertEquals(404, unknown.statusCode(), unknown.body());
    JsonObject error = new JsonObject(unknown.body());
    assertEquals("NotFound", error.getString("reason"));
    assertTrue(error.getString("message").contains("atlantis"), unknown.body());

    HttpResponse<String> registered = admin("POST", "/api/v1/clusters", new JsonObject().put("name", "dark"));
    assertEquals(201, registered.statusCode(), registered.body());
    HttpResponse<String> offline = admin("GET", "/api/v1/clusters/dark/pods", null);
    assertEquals(503, offline.statusCode(), offline.body());
    assertEquals(503, new JsonObject(offline.body()).getInteger("code"), offline.body());
    assertTrue(new JsonObject(offline.body()).getString("message").contains("dark"), offline.body());

    HttpResponse<String> badJson = fleet.send(HttpRequest.newBuilder(fleet.uri(nodeA, BASE + "/configmaps"))
        .header("Authorization", "Bearer " + fleet.adminToken()).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"metadata\": ")).build());
    assertEquals(400, badJson.statusCode(), badJson.body());
    assertEquals("BadRequest", new JsonObject(badJson.body()).getString("reason"), badJson.body());
    assertEquals(400, admin("PUT", BASE + "/deployments/web/scale", new JsonObject().put("replicas", "many"))
        .statusCode());
    assertEquals(400, admin("POST", BASE + "/configmaps", new JsonObject().put("kind", "Secret")).statusCode(),
        "a body of another kind");
    assertEquals(400, admin("GET", BASE + "/pods?namespace=Not_A_Namespace", null).statusCode());
    assertEquals(400, admin("GET", "/api/v1/clusters/Bad_Name/pods", null).statusCode());
    // A name cannot reach past its object: an escaped slash would make it a subresource.
    HttpResponse<String> slash = admin("GET", BASE + "/pods/web%2Fexec?namespace=shop", null);
    assertEquals(400, slash.statusCode(), slash.body());
    assertEquals(400, admin("GET", BASE + "/resources/apps/v1/deployments%2Fscale", null).statusCode());
    assertEquals(400, admin("GET", BASE + "/configmaps?namespace=shop&labelSelector=a%0Ab", null).statusCode(),
        "control characters in a selector");
    assertEquals(401, call(null, "GET", BASE + "/pods", null).statusCode());

    HttpResponse<String> invalid = admin("POST", BASE + "/configmaps?namespace=shop",
        new JsonObject().put("metadata", new JsonObject()));
    assertTrue(invalid.statusCode() == 422 || invalid.statusCode() == 400, invalid.statusCode() + " " + invalid.body());
    assertFalse(new JsonObject(invalid.body()).containsKey("kind"), "not a Kubernetes Status: " + invalid.body());
  }

  private static JsonObject deployment(String name, int replicas) {
    return new JsonObject("""
        {"metadata":{"name":"%s","labels":{"app":"%1$s"}},
         "spec":{"replicas":%d,"selector":{"matchLabels":{"app":"%1$s"}},
           "template":{"metadata":{"labels":{"app":"%1$s"}},"spec":{"containers":[{"name":"web","image":"%s"}]}}}}"""
        .formatted(name, replicas, IMAGE));
  }

  private static String image(JsonObject deployment) {
    return deployment.getJsonObject("spec").getJsonObject("template").getJsonObject("spec").getJsonArray("containers")
        .getJsonObject(0).getString("image");
  }

  private static List<String> names(JsonObject list) {
    return list.getJsonArray("items").stream().map(JsonObject.class::cast)
        .map(o -> o.getJsonObject("metadata").getString("name")).toList();
  }

  private static long lineNumber(String line) {
    return Long.parseLong(line.substring(line.lastIndexOf(' ') + 1));
  }

  private static JsonObject get(String path) {
    HttpResponse<String> answer = admin("GET", BASE + path, null);
    assertEquals(200, answer.statusCode(), path + ": " + answer.body());
    return new JsonObject(answer.body());
  }

  private static HttpResponse<String> admin(String method, String path, JsonObject body) {
    return call(fleet.adminToken(), method, path, body);
  }

  private static HttpResponse<String> call(String token, String method, String path, JsonObject body) {
    return fleet.call(nodeA, method, path, token, body);
  }

  private static String user(String name, String role, String domain) {
    HttpResponse<String> created = fleet.call(nodeA, "POST", "/api/v1/users", fleet.adminToken(), new JsonObject()
        .put("name", name).put("password", name + "-password-123").put("groups", new JsonArray()));
    assertEquals(201, created.statusCode(), created.body());
    if (role != null) {
      HttpResponse<String> bound = fleet.call(nodeA, "POST", "/api/v1/rbac/bindings", fleet.adminToken(),
          new JsonObject().put("subject", name).put("role", role).put("domain", domain));
      assertEquals(201, bound.statusCode(), bound.body());
    }
    return fleet.login(nodeA, name, name + "-password-123");
  }

  private static JsonObject awaitAuditRecord(Instant since, Predicate<JsonObject> wanted) {
    JsonObject[] found = new JsonObject[1];
    Fleet.eventually(Duration.ofSeconds(10), () -> {
      HttpResponse<String> page = fleet.call(nodeA, "GET", "/api/v1/audit?since=" + since + "&cluster=prod&limit=500",
          fleet.adminToken(), null);
      assertEquals(200, page.statusCode(), page.body());
      found[0] = new JsonObject(page.body()).getJsonArray("items").stream().map(JsonObject.class::cast)
          .filter(wanted).findFirst().orElse(null);
      return found[0] != null;
    }, "the audit record");
    return found[0];
  }
}
