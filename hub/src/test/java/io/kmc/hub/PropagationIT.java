package io.kmc.hub;

import io.kmc.hub.support.Fleet;
import io.kmc.hub.support.WebhookReceiver;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Propagations end to end: written through the hub's API (YAML and JSON), applied by the
 * controller through the agents' tunnels to simulated clusters, checked there through the
 * pass-through: placement by label, overrides, clusters coming and going, drift, batch rollouts
 * that stop, pause, delete and orphan, an offline cluster caught up, the dry run, and bad input.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class PropagationIT {

  private static final Duration WAIT = Duration.ofSeconds(20);

  private static Fleet fleet;
  private static Hub hub;
  private static Vertx receiverVertx;
  private static WebhookReceiver receiver;

  @BeforeAll
  static void start() {
    fleet = new Fleet().hubSettings(Map.of("KMC_PROPAGATION_RESYNC_INTERVAL", "1s",
        "KMC_PROPAGATION_DRIFT_INTERVAL", "1s", "KMC_PROPAGATION_LEASE_TTL", "3s",
        "KMC_NOTIFICATIONS_POLL_INTERVAL", "200ms"));
    for (String name : List.of("east", "west", "north", "south")) {
      fleet.cluster(name);
    }
    hub = fleet.hubs(1).get(0);
    for (String name : List.of("east", "west", "north", "south")) {
      fleet.agent(name, hub);
    }
    for (String name : List.of("east", "west", "north", "south")) {
      fleet.awaitConnected(hub, name);
    }
    Fleet.eventually(Duration.ofSeconds(15), hub::propagationController, "the hub node holds the controller lease");
    // Propagation failures and drift go out as notifications, like the hub's other events.
    receiverVertx = Vertx.vertx();
    receiver = new WebhookReceiver(receiverVertx);
    assertEquals(201, json("POST", "/api/v1/notifications/channels", new JsonObject().put("name", "hook")
        .put("type", "webhook").put("config", new JsonObject().put("url", receiver.url("/propagations"))
            .put("secret", "a-webhook-secret-of-enough-length"))).statusCode());
    HttpResponse<String> subscribed = json("POST", "/api/v1/notifications/subscriptions", new JsonObject()
        .put("name", "propagations").put("channels", new JsonArray().add("hook"))
        .put("eventTypes", new JsonArray().add("propagation.failed").add("propagation.drift")));
    assertEquals(201, subscribed.statusCode(), subscribed.body());
  }

  @AfterAll
  static void stop() {
    fleet.close();
    receiver.close();
    Fleet.await(receiverVertx.close());
  }

  private static JsonObject notification(String type, String cluster) {
    return Fleet.awaitValue(WAIT, () -> receiver.at("/propagations").stream()
        .map(WebhookReceiver.Received::json).map(j -> j.getJsonObject("event"))
        .filter(e -> type.equals(e.getString("type")) && cluster.equals(e.getString("cluster"))).findFirst()
        .orElse(null), "notification " + type + " of " + cluster);
  }

  @Test
  void aSelectorWithImageAndReplicasOverridesLandsOnEachClusterAndFollowsTheClustersLabels() {
    label("east", Map.of("env", "test", "tier", "web"));
    label("west", Map.of("env", "test", "tier", "web"));
    HttpResponse<String> created = yaml("POST", "/api/v1/propagations", """
        apiVersion: kmc.io/v1alpha1
        kind: Propagation
        metadata:
          name: web
        spec:
          manifests: |
            apiVersion: v1
            kind: Namespace
            metadata:
              name: shop
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: web
              namespace: shop
            spec:
              replicas: 1
              selector:
                matchLabels: {app: web}
              template:
                metadata:
                  labels: {app: web}
                spec:
                  containers:
                    - name: web
                      image: registry.example.com/web:1.0
          placement:
            clusterSelector:
              matchLabels: {tier: web}
          overrides:
            - clusters: [west]
              image: registry.example.com/web:1.0-west
              replicas: 3
              labels: {region: west}
        """);
    assertEquals(201, created.statusCode(), created.body());
    assertEquals(1, new JsonObject(created.body()).getJsonObject("metadata").getLong("generation"));

    awaitPhase("web", "Healthy");
    HttpResponse<String> asYaml = fleet.send(HttpRequest.newBuilder(fleet.uri(hub, "/api/v1/propagations/web"))
        .header("Authorization", "Bearer " + fleet.adminToken()).header("Accept", "application/yaml").build());
    assertEquals(200, asYaml.statusCode(), asYaml.body());
    assertTrue(asYaml.body().contains("kind: Propagation\n") && asYaml.body().contains("phase: Healthy"),
        asYaml.body());
    JsonObject east = object("east", "/apis/apps/v1/namespaces/shop/deployments/web");
    JsonObject west = object("west", "/apis/apps/v1/namespaces/shop/deployments/web");
    assertEquals("registry.example.com/web:1.0", image(east));
    assertEquals(1, east.getJsonObject("spec").getInteger("replicas"));
    assertEquals("registry.example.com/web:1.0-west", image(west));
    assertEquals(3, west.getJsonObject("spec").getInteger("replicas"));
    assertEquals("west", west.getJsonObject("metadata").getJsonObject("labels").getString("region"));
    assertTrue(west.getJsonObject("metadata").getJsonArray("managedFields").stream()
        .anyMatch(m -> "kmc".equals(((JsonObject) m).getString("manager"))), west.encodePrettily());
    assertEquals(404, kube("north", "GET", "/apis/apps/v1/namespaces/shop/deployments/web").statusCode());
    JsonObject westStatus = clusterStatus("web", "west");
    JsonObject workload = westStatus.getJsonArray("workloads").getJsonObject(0);
    assertEquals(3, workload.getInteger("availableReplicas"), westStatus.encodePrettily());
    assertTrue(workload.getBoolean("rolloutComplete"));

    // A cluster that starts matching gets it; one relabelled away loses it.
    label("north", Map.of("env", "test", "tier", "web"));
    Fleet.eventually(WAIT, () -> kube("north", "GET", "/apis/apps/v1/namespaces/shop/deployments/web")
        .statusCode() == 200, "north gets the deployment once it matches");
    label("east", Map.of("env", "test", "tier", "none"));
    Fleet.eventually(WAIT, () -> kube("east", "GET", "/apis/apps/v1/namespaces/shop/deployments/web")
        .statusCode() == 404, "east loses the deployment once it no longer matches");
    Fleet.eventually(WAIT, () -> status("web").getJsonArray("clusters").stream()
        .map(c -> ((JsonObject) c).getString("cluster")).toList().equals(List.of("north", "west")),
        "the status lists north and west only");
    awaitPhase("web", "Healthy");

    JsonArray events = new JsonObject(fleet.api(hub, "/api/v1/propagations/web/events").body()).getJsonArray("items");
    List<String> types = events.stream().map(e -> ((JsonObject) e).getString("type")).toList();
    assertTrue(types.containsAll(List.of("RolloutStarted", "Applied", "RolloutSucceeded", "Removed")), types.toString());
    String metrics = fleet.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + hub.managementPort()
        + "/metrics")).build()).body();
    assertTrue(metrics.contains("kmc_propagation_applies_total{result=\"applied\"}"), metrics);
    assertTrue(metrics.contains("kmc_propagation_controller_leader 1.0"), metrics);
    label("north", Map.of("env", "test"));
    label("west", Map.of("env", "test"));
    label("east", Map.of("env", "test"));
  }

  @Test
  void aNewlyRegisteredClusterThatMatchesGetsThePropagation() {
    assertEquals(201, json("POST", "/api/v1/propagations", propagation("greeting", List.of(),
        new JsonObject().put("matchLabels", new JsonObject().put("wave", "new")),
        configMap("greeting", "default", "hello"))).statusCode());
    HttpResponse<String> registered = fleet.call(hub, "POST", "/api/v1/clusters", fleet.adminToken(),
        new JsonObject().put("name", "late").put("labels", new JsonObject().put("wave", "new")));
    assertEquals(201, registered.statusCode(), registered.body());
    fleet.simulatedCluster("late", new JsonObject(registered.body()).getString("token"));
    fleet.agent("late", hub);
    fleet.awaitConnected(hub, "late");
    Fleet.eventually(WAIT, () -> kube("late", "GET", "/api/v1/namespaces/default/configmaps/greeting")
        .statusCode() == 200, "the new cluster gets the config map");
    awaitPhase("greeting", "Healthy");
  }

  @Test
  void driftIsRepairedOrOnlyReportedAsConfigured() {
    assertEquals(201, json("POST", "/api/v1/propagations", propagation("fixed", List.of("east"), null,
        configMap("fixed", "default", "v1"))).statusCode());
    JsonObject reported = propagation("reported", List.of("west"), null, configMap("reported", "default", "v1"));
    reported.getJsonObject("spec").put("drift", new JsonObject().put("mode", "Report"));
    assertEquals(201, json("POST", "/api/v1/propagations", reported).statusCode());
    awaitPhase("fixed", "Healthy");
    awaitPhase("reported", "Healthy");

    JsonObject change = new JsonObject().put("data", new JsonObject().put("value", "changed by hand"));
    assertEquals(200, kubePatch("east", "/api/v1/namespaces/default/configmaps/fixed", change).statusCode());
    assertEquals(200, kubePatch("west", "/api/v1/namespaces/default/configmaps/reported", change).statusCode());

    Fleet.eventually(WAIT, () -> "v1".equals(object("east", "/api/v1/namespaces/default/configmaps/fixed")
        .getJsonObject("data").getString("value")), "the drift on east is repaired");
    Fleet.eventually(WAIT, () -> "drifted".equals(clusterStatus("reported", "west").getString("state")),
        "the drift on west is reported");
    assertTrue(clusterStatus("reported", "west").getString("message").contains("ConfigMap reported: /data/value"),
        clusterStatus("reported", "west").encodePrettily());
    assertEquals("Drifted", status("reported").getString("phase"));
    assertEquals("changed by hand", object("west", "/api/v1/namespaces/default/configmaps/reported")
        .getJsonObject("data").getString("value"), "report only: the change is left alone");
    assertTrue(notification("propagation.drift", "west").getString("summary")
        .contains("ConfigMap reported: /data/value"));
    List<String> fixedEvents = eventTypes("fixed");
    assertTrue(fixedEvents.contains("DriftRepaired"), fixedEvents.toString());
  }

  @Test
  void aBatchRolloutStopsAtAFailingClusterAndAPausedOneWaits() {
    HttpResponse<String> policy = yaml("POST", "/api/v1/policies", """
        apiVersion: kmc.io/v1alpha1
        kind: Policy
        metadata:
          name: no-stopper-on-north
        spec:
          action: deny
          match:
            kinds: [ConfigMap]
            clusters: [north]
          validations:
            - expression: "object.metadata.name != 'stopper'"
              message: "config map stopper is not allowed on north"
        """);
    assertEquals(201, policy.statusCode(), policy.body());
    JsonObject batched = propagation("stopper", List.of("east", "north", "west"), null,
        configMap("stopper", "default", "v1"));
    batched.getJsonObject("spec").put("rollout", new JsonObject().put("strategy", "Batch").put("batchSize", 1));
    assertEquals(201, json("POST", "/api/v1/propagations", batched).statusCode());

    awaitPhase("stopper", "Stopped");
    JsonObject north = clusterStatus("stopper", "north");
    assertEquals("failed", north.getString("state"));
    assertTrue(north.getString("message").contains("[no-stopper-on-north] config map stopper is not allowed on north"),
        north.encodePrettily());
    assertEquals("applied", clusterStatus("stopper", "east").getString("state"));
    sleep(1500); // a few passes: west must still not get it
    assertEquals("pending", clusterStatus("stopper", "west").getString("state"));
    assertEquals(404, kube("west", "GET", "/api/v1/namespaces/default/configmaps/stopper").statusCode());
    assertTrue(eventTypes("stopper").contains("RolloutStopped"));
    JsonObject failure = notification("propagation.failed", "north");
    assertEquals("propagation/stopper", failure.getString("subject"));
    assertTrue(failure.getString("summary").contains("[no-stopper-on-north]"), failure.encode());
    assertEquals(204, fleet.call(hub, "DELETE", "/api/v1/policies/no-stopper-on-north", fleet.adminToken(), null)
        .statusCode());

    // Paused: nothing is applied until it is resumed (a merge patch of the manifest).
    JsonObject paused = propagation("paused", List.of("east"), null, configMap("paused", "default", "v1"));
    paused.getJsonObject("spec").put("rollout", new JsonObject().put("paused", true));
    assertEquals(201, json("POST", "/api/v1/propagations", paused).statusCode());
    awaitPhase("paused", "Paused");
    sleep(1500);
    assertEquals(404, kube("east", "GET", "/api/v1/namespaces/default/configmaps/paused").statusCode());
    HttpResponse<String> resumed = json("PATCH", "/api/v1/propagations/paused", new JsonObject().put("spec",
        new JsonObject().put("rollout", new JsonObject().put("paused", false))));
    assertEquals(200, resumed.statusCode(), resumed.body());
    assertEquals(2, new JsonObject(resumed.body()).getJsonObject("metadata").getLong("generation"));
    awaitPhase("paused", "Healthy");
    JsonArray revisions = new JsonObject(fleet.api(hub, "/api/v1/propagations/paused/revisions").body())
        .getJsonArray("items");
    assertEquals(List.of("create", "update"), revisions.stream().map(r -> ((JsonObject) r).getString("operation"))
        .toList());
    assertEquals("admin", revisions.getJsonObject(1).getString("changedBy"));
  }

  /** A workload that never becomes healthy (the simulator runs no DaemonSets) fails its cluster at the deadline. */
  @Test
  void aBatchThatNeverBecomesHealthyStopsAtTheProgressDeadline() {
    JsonObject daemons = new JsonObject().put("apiVersion", "apps/v1").put("kind", "DaemonSet")
        .put("metadata", new JsonObject().put("name", "agentd").put("namespace", "default"))
        .put("spec", new JsonObject()
            .put("selector", new JsonObject().put("matchLabels", new JsonObject().put("app", "agentd")))
            .put("template", new JsonObject().put("metadata", new JsonObject().put("labels",
                    new JsonObject().put("app", "agentd")))
                .put("spec", new JsonObject().put("containers", new JsonArray().add(new JsonObject()
                    .put("name", "agentd").put("image", "registry.example.com/agentd:1"))))));
    JsonObject p = propagation("slow", List.of("east", "west"), null, daemons);
    p.getJsonObject("spec").put("rollout", new JsonObject().put("strategy", "Batch").put("batchSize", 1)
        .put("progressDeadlineSeconds", 2));
    assertEquals(201, json("POST", "/api/v1/propagations", p).statusCode());
    awaitPhase("slow", "Stopped");
    JsonObject east = clusterStatus("slow", "east");
    assertEquals("failed", east.getString("state"));
    assertTrue(east.getString("message").startsWith("not healthy 2s after it was applied"), east.encodePrettily());
    assertEquals("pending", clusterStatus("slow", "west").getString("state"));
    assertEquals(404, kube("west", "GET", "/apis/apps/v1/namespaces/default/daemonsets/agentd").statusCode());
  }

  @Test
  void deleteRemovesTheObjectsAndOrphanKeepsThem() {
    assertEquals(201, json("POST", "/api/v1/propagations", propagation("removed", List.of("east", "west"), null,
        configMap("removed", "default", "v1"))).statusCode());
    assertEquals(201, json("POST", "/api/v1/propagations", propagation("kept", List.of("east"), null,
        configMap("kept", "default", "v1"))).statusCode());
    awaitPhase("removed", "Healthy");
    awaitPhase("kept", "Healthy");

    assertEquals(202, fleet.call(hub, "DELETE", "/api/v1/propagations/removed", fleet.adminToken(), null)
        .statusCode());
    assertEquals(202, fleet.call(hub, "DELETE", "/api/v1/propagations/kept?orphan=true", fleet.adminToken(), null)
        .statusCode());
    Fleet.eventually(WAIT, () -> fleet.api(hub, "/api/v1/propagations/removed").statusCode() == 404
        && fleet.api(hub, "/api/v1/propagations/kept").statusCode() == 404, "both propagations are gone");
    assertEquals(404, kube("east", "GET", "/api/v1/namespaces/default/configmaps/removed").statusCode());
    assertEquals(404, kube("west", "GET", "/api/v1/namespaces/default/configmaps/removed").statusCode());
    assertEquals(200, kube("east", "GET", "/api/v1/namespaces/default/configmaps/kept").statusCode());
  }

  @Test
  void anOfflineClusterIsCaughtUpWhenItReturns() {
    fleet.stopAgent("south");
    fleet.awaitDisconnected(hub, "south");
    assertEquals(201, json("POST", "/api/v1/propagations", propagation("catchup", List.of("east", "south"), null,
        configMap("catchup", "default", "v1"))).statusCode());
    Fleet.eventually(WAIT, () -> "applied".equals(clusterStatus("catchup", "east").getString("state"))
        && "cluster not connected: applied when its agent connects".equals(
            clusterStatus("catchup", "south").getString("message")),
        "east applied, south waiting for its agent");
    assertEquals("pending", clusterStatus("catchup", "south").getString("state"));
    fleet.agent("south", hub);
    fleet.awaitConnected(hub, "south");
    Fleet.eventually(WAIT, () -> kube("south", "GET", "/api/v1/namespaces/default/configmaps/catchup")
        .statusCode() == 200, "south is caught up");
    awaitPhase("catchup", "Healthy");
  }

  @Test
  void aDryRunDiffsEachClustersRenderedObjectsAgainstWhatIsThereAndStoresNothing() {
    JsonObject existing = configMap("preview", "default", "old");
    assertEquals(201, kube("east", "POST", "/api/v1/namespaces/default/configmaps", existing).statusCode());
    JsonObject p = propagation("preview", List.of("east", "west"), null, configMap("preview", "default", "new"));
    p.getJsonObject("spec").put("overrides", new JsonArray().add(new JsonObject().put("clusters",
        new JsonArray().add("west")).put("mergePatch", new JsonObject().put("data",
        new JsonObject().put("value", "west")))));
    // The ConfigMap's data belongs to the manager that created it: without force, applying it is a
    // conflict, as a real API server says, and the dry run shows it.
    HttpResponse<String> conflict = json("POST", "/api/v1/propagations?dryRun=true", p);
    assertEquals(200, conflict.statusCode(), conflict.body());
    JsonObject eastConflict = new JsonObject(conflict.body()).getJsonArray("clusters").stream()
        .map(JsonObject.class::cast).filter(c -> "east".equals(c.getString("cluster"))).findFirst().orElseThrow()
        .getJsonArray("objects").getJsonObject(0);
    assertEquals("error", eastConflict.getString("action"), eastConflict.encodePrettily());
    assertTrue(eastConflict.getString("message").contains("conflict"), eastConflict.encodePrettily());
    p.getJsonObject("spec").put("conflictResolution", "Overwrite");
    HttpResponse<String> dry = json("POST", "/api/v1/propagations?dryRun=true", p);
    assertEquals(200, dry.statusCode(), dry.body());
    JsonArray clusters = new JsonObject(dry.body()).getJsonArray("clusters");
    JsonObject east = clusters.stream().map(JsonObject.class::cast).filter(c -> "east".equals(c.getString("cluster")))
        .findFirst().orElseThrow();
    JsonObject west = clusters.stream().map(JsonObject.class::cast).filter(c -> "west".equals(c.getString("cluster")))
        .findFirst().orElseThrow();
    JsonObject eastObject = east.getJsonArray("objects").getJsonObject(0);
    assertEquals("update", eastObject.getString("action"), east.encodePrettily());
    JsonObject change = eastObject.getJsonArray("diff").stream().map(JsonObject.class::cast)
        .filter(d -> "/data/value".equals(d.getString("path"))).findFirst().orElseThrow();
    assertEquals("old", change.getString("from"));
    assertEquals("new", change.getString("to"));
    JsonObject westObject = west.getJsonArray("objects").getJsonObject(0);
    assertEquals("create", westObject.getString("action"), west.encodePrettily());
    assertEquals("west", westObject.getJsonObject("rendered").getJsonObject("data").getString("value"));
    assertEquals(404, fleet.api(hub, "/api/v1/propagations/preview").statusCode());
    assertEquals(404, kube("west", "GET", "/api/v1/namespaces/default/configmaps/preview").statusCode());
    assertEquals("old", object("east", "/api/v1/namespaces/default/configmaps/preview").getJsonObject("data")
        .getString("value"));
  }

  @Test
  void badInputIsAClear400() {
    HttpResponse<String> malformed = yaml("POST", "/api/v1/propagations", "apiVersion: kmc.io/v1alpha1\nkind: [\n");
    assertEquals(400, malformed.statusCode(), malformed.body());
    assertTrue(malformed.body().contains("not valid YAML"), malformed.body());

    HttpResponse<String> unknown = json("POST", "/api/v1/propagations", propagation("widgets", List.of("east"), null,
        new JsonObject().put("apiVersion", "example.com/v1").put("kind", "Widget")
            .put("metadata", new JsonObject().put("name", "w").put("namespace", "default"))));
    assertEquals(400, unknown.statusCode(), unknown.body());
    assertTrue(unknown.body().contains("unknown kind: cluster east does not serve Widget (example.com/v1)"),
        unknown.body());

    HttpResponse<String> empty = json("POST", "/api/v1/propagations", propagation("nowhere", List.of(), null,
        configMap("x", "default", "v")));
    assertEquals(400, empty.statusCode(), empty.body());
    assertTrue(empty.body().contains("spec.placement must name clusters or have a clusterSelector"), empty.body());

    JsonObject nameless = propagation("nameless", List.of("east"), null, configMap("x", "default", "v"));
    nameless.getJsonObject("spec").getJsonArray("resources").getJsonObject(0).getJsonObject("metadata").remove("name");
    HttpResponse<String> noName = json("POST", "/api/v1/propagations", nameless);
    assertEquals(400, noName.statusCode(), noName.body());
    assertTrue(noName.body().contains("spec.resources[0] (ConfigMap) needs metadata.name"), noName.body());

    JsonObject badBatch = propagation("badbatch", List.of("east"), null, configMap("x", "default", "v"));
    badBatch.getJsonObject("spec").put("rollout", new JsonObject().put("strategy", "Batch").put("batchSize", "0%"));
    HttpResponse<String> batch = json("POST", "/api/v1/propagations", badBatch);
    assertEquals(400, batch.statusCode(), batch.body());
    assertTrue(batch.body().contains("spec.rollout.batchSize"), batch.body());
    assertEquals(404, fleet.api(hub, "/api/v1/propagations/widgets").statusCode());
  }

  /** A CRD and a custom resource of it in one propagation: the definition goes first, then its object. */
  @Test
  void aCustomResourceDefinitionIsAppliedBeforeItsObjects() {
    JsonObject crd = new JsonObject().put("apiVersion", "apiextensions.k8s.io/v1").put("kind", "CustomResourceDefinition")
        .put("metadata", new JsonObject().put("name", "widgets.example.com"))
        .put("spec", new JsonObject().put("group", "example.com").put("scope", "Namespaced")
            .put("names", new JsonObject().put("plural", "widgets").put("singular", "widget").put("kind", "Widget"))
            .put("versions", new JsonArray().add(new JsonObject().put("name", "v1").put("served", true)
                .put("storage", true).put("schema", new JsonObject().put("openAPIV3Schema", new JsonObject()
                    .put("type", "object").put("x-kubernetes-preserve-unknown-fields", true))))));
    JsonObject widget = new JsonObject().put("apiVersion", "example.com/v1").put("kind", "Widget")
        .put("metadata", new JsonObject().put("name", "gizmo").put("namespace", "tools"))
        .put("spec", new JsonObject().put("size", 3));
    JsonObject namespace = new JsonObject().put("apiVersion", "v1").put("kind", "Namespace")
        .put("metadata", new JsonObject().put("name", "tools"));
    // Written in the wrong order on purpose: the object, its namespace, then its definition.
    HttpResponse<String> created = json("POST", "/api/v1/propagations",
        propagation("widgets", List.of("west"), null, widget, namespace, crd));
    assertEquals(201, created.statusCode(), created.body());
    awaitPhase("widgets", "Healthy");
    assertEquals(3, object("west", "/apis/example.com/v1/namespaces/tools/widgets/gizmo").getJsonObject("spec")
        .getInteger("size"));
  }

  /** Admin and operator write propagations, developer only reads them (config/rbac-policies.csv). */
  @Test
  void operatorsWriteAndDevelopersOnlyRead() {
    String operator = user("prop-operator", "operator");
    String developer = user("prop-developer", "developer");
    JsonObject p = propagation("by-operator", List.of("east"), null, configMap("by-operator", "default", "v1"));
    assertEquals(403, fleet.call(hub, "POST", "/api/v1/propagations", developer, p).statusCode());
    HttpResponse<String> created = fleet.call(hub, "POST", "/api/v1/propagations", operator, p);
    assertEquals(201, created.statusCode(), created.body());
    assertEquals("prop-operator", new JsonObject(created.body()).getJsonObject("metadata").getString("createdBy"));
    assertEquals(200, fleet.call(hub, "GET", "/api/v1/propagations/by-operator", developer, null).statusCode());
    assertEquals(200, fleet.call(hub, "GET", "/api/v1/propagations", developer, null).statusCode());
    assertEquals(403, fleet.call(hub, "DELETE", "/api/v1/propagations/by-operator", developer, null).statusCode());
    assertEquals(202, fleet.call(hub, "DELETE", "/api/v1/propagations/by-operator", operator, null).statusCode());
  }

  private static String user(String name, String role) {
    HttpResponse<String> created = fleet.call(hub, "POST", "/api/v1/users", fleet.adminToken(), new JsonObject()
        .put("name", name).put("password", name + "-password-123"));
    assertEquals(201, created.statusCode(), created.body());
    HttpResponse<String> bound = fleet.call(hub, "POST", "/api/v1/rbac/bindings", fleet.adminToken(),
        new JsonObject().put("subject", name).put("role", role).put("domain", "*"));
    assertEquals(201, bound.statusCode(), bound.body());
    return fleet.login(hub, name, name + "-password-123");
  }

  /**
   * Two hub nodes; the one holding the controller lease is killed (no goodbye) in the middle of a
   * batch rollout. The other takes over within 10 s and finishes the rollout, and no cluster the
   * first one had applied is applied again.
   */
  @Test
  void whenTheControllersNodeIsKilledAnotherTakesOverWithin10sWithoutApplyingTwice() {
    try (Fleet pair = new Fleet().hubSettings(Map.of("KMC_PROPAGATION_RESYNC_INTERVAL", "1s"))) {
      List<String> names = List.of("c1", "c2", "c3", "c4");
      names.forEach(pair::cluster);
      List<Hub> nodes = pair.hubs(2);
      Hub leader = Fleet.awaitValue(Duration.ofSeconds(15), () -> nodes.stream().filter(Hub::propagationController)
          .findFirst().orElse(null), "one node holds the controller lease");
      Hub survivor = nodes.get(0) == leader ? nodes.get(1) : nodes.get(0);
      assertFalse(survivor.propagationController());
      names.forEach(name -> pair.agent(name, survivor));
      names.forEach(name -> pair.awaitConnected(survivor, name));

      JsonObject p = propagation("failover", names, null, new JsonObject().put("apiVersion", "apps/v1")
          .put("kind", "Deployment").put("metadata", new JsonObject().put("name", "app").put("namespace", "default"))
          .put("spec", new JsonObject().put("replicas", 2)
              .put("selector", new JsonObject().put("matchLabels", new JsonObject().put("app", "app")))
              .put("template", new JsonObject().put("metadata", new JsonObject().put("labels",
                      new JsonObject().put("app", "app")))
                  .put("spec", new JsonObject().put("containers", new JsonArray().add(new JsonObject()
                      .put("name", "app").put("image", "registry.example.com/app:1")))))));
      p.getJsonObject("spec").put("rollout", new JsonObject().put("strategy", "Batch").put("batchSize", 1));
      HttpResponse<String> created = pair.call(survivor, "POST", "/api/v1/propagations", pair.adminToken(), p);
      assertEquals(201, created.statusCode(), created.body());
      Fleet.eventually(WAIT, () -> appliedEvents(pair, survivor).size() >= 1, "the first batch is applied");

      pair.forget(leader);
      long killed = System.nanoTime();
      Fleet.await(leader.halt());
      Fleet.eventually(Duration.ofSeconds(10), survivor::propagationController,
          "the surviving node takes the controller lease within 10 s");
      long tookOver = (System.nanoTime() - killed) / 1_000_000;
      assertTrue(tookOver <= 10_000, "took over after " + tookOver + " ms");

      Fleet.eventually(Duration.ofSeconds(30), () -> {
        HttpResponse<String> got = pair.api(survivor, "/api/v1/propagations/failover");
        return "Healthy".equals(new JsonObject(got.body()).getJsonObject("status").getString("phase"));
      }, "the rollout finishes on the surviving node");
      List<String> applied = appliedEvents(pair, survivor);
      assertEquals(names, applied.stream().sorted().toList(), "each cluster applied exactly once: " + applied);
      Fleet.eventually(WAIT, () -> new JsonObject(pair.api(survivor, "/api/v1/propagations/failover/events").body())
          .getJsonArray("items").stream().anyMatch(e -> "RolloutSucceeded".equals(((JsonObject) e).getString("type"))),
          "the rollout's success is recorded");
      List<String> types = new JsonObject(pair.api(survivor, "/api/v1/propagations/failover/events").body())
          .getJsonArray("items").stream().map(e -> ((JsonObject) e).getString("type")).toList();
      assertEquals(1, types.stream().filter("RolloutStarted"::equals).count(), "started once: " + types);
      assertEquals(1, types.stream().filter("RolloutSucceeded"::equals).count(), "succeeded once: " + types);
      for (String name : names) {
        HttpResponse<String> deployment = pair.call(survivor, "GET", "/k8s/clusters/" + name
            + "/apis/apps/v1/namespaces/default/deployments/app", pair.adminToken(), null);
        assertEquals(200, deployment.statusCode(), deployment.body());
      }
    }
  }

  private static List<String> appliedEvents(Fleet pair, Hub via) {
    return new JsonObject(pair.api(via, "/api/v1/propagations/failover/events").body()).getJsonArray("items")
        .stream().map(JsonObject.class::cast).filter(e -> "Applied".equals(e.getString("type")))
        .map(e -> e.getString("cluster")).toList();
  }

  // --- helpers ---

  static JsonObject propagation(String name, List<String> clusters, JsonObject selector, JsonObject... resources) {
    JsonObject placement = new JsonObject();
    if (!clusters.isEmpty()) {
      placement.put("clusters", new JsonArray(clusters));
    }
    if (selector != null) {
      placement.put("clusterSelector", selector);
    }
    return new JsonObject().put("apiVersion", "kmc.io/v1alpha1").put("kind", "Propagation")
        .put("metadata", new JsonObject().put("name", name))
        .put("spec", new JsonObject().put("resources", new JsonArray(List.of(resources))).put("placement", placement));
  }

  static JsonObject configMap(String name, String namespace, String value) {
    return new JsonObject().put("apiVersion", "v1").put("kind", "ConfigMap")
        .put("metadata", new JsonObject().put("name", name).put("namespace", namespace))
        .put("data", new JsonObject().put("value", value));
  }

  private static void label(String cluster, Map<String, String> labels) {
    HttpResponse<String> response = fleet.call(hub, "PATCH", "/api/v1/clusters/" + cluster, fleet.adminToken(),
        new JsonObject().put("labels", new JsonObject(Map.copyOf(labels))));
    assertEquals(200, response.statusCode(), response.body());
  }

  private static HttpResponse<String> yaml(String method, String path, String body) {
    return fleet.send(HttpRequest.newBuilder(fleet.uri(hub, path)).header("Content-Type", "application/yaml")
        .header("Authorization", "Bearer " + fleet.adminToken())
        .method(method, HttpRequest.BodyPublishers.ofString(body)).build());
  }

  private static HttpResponse<String> json(String method, String path, JsonObject body) {
    return fleet.call(hub, method, path, fleet.adminToken(), body);
  }

  private static HttpResponse<String> kube(String cluster, String method, String path) {
    return fleet.call(hub, method, "/k8s/clusters/" + cluster + path, fleet.adminToken(), null);
  }

  private static HttpResponse<String> kube(String cluster, String method, String path, JsonObject body) {
    return fleet.call(hub, method, "/k8s/clusters/" + cluster + path, fleet.adminToken(), body);
  }

  private static HttpResponse<String> kubePatch(String cluster, String path, JsonObject patch) {
    return fleet.send(HttpRequest.newBuilder(fleet.uri(hub, "/k8s/clusters/" + cluster + path))
        .header("Content-Type", "application/merge-patch+json").header("Authorization", "Bearer " + fleet.adminToken())
        .method("PATCH", HttpRequest.BodyPublishers.ofString(patch.encode())).build());
  }

  private static JsonObject object(String cluster, String path) {
    HttpResponse<String> response = kube(cluster, "GET", path);
    assertEquals(200, response.statusCode(), cluster + " " + path + ": " + response.body());
    return new JsonObject(response.body());
  }

  private static String image(JsonObject deployment) {
    return deployment.getJsonObject("spec").getJsonObject("template").getJsonObject("spec").getJsonArray("containers")
        .getJsonObject(0).getString("image");
  }

  private static JsonObject status(String name) {
    HttpResponse<String> response = fleet.api(hub, "/api/v1/propagations/" + name);
    assertEquals(200, response.statusCode(), response.body());
    return new JsonObject(response.body()).getJsonObject("status");
  }

  private static JsonObject clusterStatus(String name, String cluster) {
    JsonObject status = status(name);
    JsonObject found = status.getJsonArray("clusters").stream().map(JsonObject.class::cast)
        .filter(c -> cluster.equals(c.getString("cluster"))).findFirst().orElse(null);
    assertNotNull(found, cluster + " in " + status.encodePrettily());
    return found;
  }

  private static void awaitPhase(String name, String phase) {
    Fleet.eventually(WAIT, () -> {
      JsonObject status = status(name);
      assertEquals(phase, status.getString("phase"), status.encodePrettily());
      return true;
    }, "propagation " + name + " reaches phase " + phase);
  }

  private static List<String> eventTypes(String name) {
    return new JsonObject(fleet.api(hub, "/api/v1/propagations/" + name + "/events").body()).getJsonArray("items")
        .stream().map(e -> ((JsonObject) e).getString("type")).toList();
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
