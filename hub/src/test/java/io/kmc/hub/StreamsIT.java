package io.kmc.hub;

import io.kmc.hub.support.Fleet;
import io.kmc.hub.support.StreamClient;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.util.ClientBuilder;
import io.kubernetes.client.util.KubeConfig;
import io.kubernetes.client.util.generic.KubernetesApiResponse;
import io.kubernetes.client.util.generic.dynamic.DynamicKubernetesApi;
import io.kubernetes.client.util.generic.dynamic.DynamicKubernetesObject;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.StringReader;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Live resource streams end to end: two clustered hub nodes, simulated clusters with real agents
 * whose informers feed the index, and stream clients on both nodes.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class StreamsIT {

  private static final Duration WAIT = Duration.ofSeconds(20);
  private static Fleet fleet;
  private static Hub nodeA;
  private static Hub nodeB;
  private static final Map<String, ApiClient> direct = new HashMap<>();

  @BeforeAll
  static void start() throws IOException {
    fleet = new Fleet().hubSettings(Map.of("KMC_STREAM_BOOKMARK_INTERVAL", "1s",
        "KMC_STREAM_TICKET_LIFETIME", "2s", "KMC_STREAM_RECHECK_INTERVAL", "300ms", "KMC_STREAM_MAX_REPLAY", "50", "KMC_STREAM_CREDENTIAL_CHECK_INTERVAL", "500ms"));
    for (String cluster : List.of("alpha", "beta", "gamma")) {
      fleet.cluster(cluster);
    }
    List<Hub> hubs = fleet.hubs(2);
    nodeA = hubs.get(0);
    nodeB = hubs.get(1);
    fleet.agent("alpha", nodeA, nodeB);
    fleet.agent("beta", nodeB, nodeA);
    // Gamma's agent keeps ConfigMaps whole in the index: subscriptions asking for objects get them.
    fleet.agent("gamma", List.of("ws://127.0.0.1:" + nodeA.port(), "ws://127.0.0.1:" + nodeB.port()),
        Map.of("KMC_INDEX_KEEP_OBJECTS", "v1/configmaps"));
    for (String cluster : List.of("alpha", "beta", "gamma")) {
      fleet.awaitConnected(nodeA, cluster);
      KubeConfig config = KubeConfig.loadKubeConfig(new StringReader(fleet.sim(cluster).kubeconfig(cluster)));
      direct.put(cluster, ClientBuilder.kubeconfig(config).setReadTimeout(Duration.ofSeconds(10)).build());
    }
  }

  @AfterAll
  static void stop() {
    if (fleet != null) {
      fleet.close();
    }
  }

  // ---- order and completeness ---------------------------------------------------------------------

  @Test
  @Order(1)
  void eventsFollowTheMembersInOrderAndCompletely() {
    for (String cluster : List.of("alpha", "beta")) {
      namespace(cluster, "order");
      for (int i = 0; i < 3; i++) {
        configMap(cluster, "order", "pre-" + i, Map.of("app", "web"));
      }
    }
    awaitIndexed("alpha", "order", 3);
    awaitIndexed("beta", "order", 3);
    try (StreamClient client = StreamClient.connect(fleet.memberVertx(), nodeA.port(), fleet.adminToken());
         StreamClient counts = StreamClient.connect(fleet.memberVertx(), nodeB.port(), fleet.adminToken())) {
      client.subscribe("s1", kind("configmaps").put("clusters", new JsonArray().add("alpha").add("beta"))
          .put("namespace", "order"));
      List<JsonObject> initial = client.until(WAIT, m -> "INITIAL_STATE_DONE".equals(m.getString("type")));
      assertEquals("SUBSCRIBED", initial.get(0).getString("type"));
      assertEquals(Set.of("alpha/pre-0", "alpha/pre-1", "alpha/pre-2", "beta/pre-0", "beta/pre-1", "beta/pre-2"),
          keys(initial, "ADDED"));
      counts.subscribe("c1", kind("configmaps").put("namespace", "order").put("counts", true));
      JsonObject firstCounts = expect(counts, "COUNTS");
      assertEquals(3L, firstCounts.getJsonObject("counts").getLong("alpha"), firstCounts.encode());

      // A sequence of changes in both members: creations, updates, deletions, a relabel.
      for (int i = 0; i < 8; i++) {
        configMap("alpha", "order", "cm-" + i, Map.of("app", "web", "round", "0"));
        configMap("beta", "order", "cm-" + i, Map.of("app", "api"));
      }
      for (int i = 0; i < 8; i += 2) {
        relabel("alpha", "order", "cm-" + i, Map.of("app", "web", "round", "1"));
      }
      for (int i = 0; i < 8; i += 3) {
        delete("alpha", "order", "cm-" + i);
        delete("beta", "order", "cm-" + i);
      }
      delete("alpha", "order", "pre-0");

      Map<String, String> expected = new TreeMap<>();
      for (String cluster : List.of("alpha", "beta")) {
        for (DynamicKubernetesObject object : list(cluster, "order")) {
          expected.put(cluster + "/" + object.getMetadata().getName(), object.getMetadata().getResourceVersion());
        }
      }
      // The client's view, built only from events, converges on the members' own state...
      Map<String, String> view = new TreeMap<>();
      initial.stream().filter(m -> "ADDED".equals(m.getString("type"))).forEach(m -> view.put(key(m), version(m)));
      Map<String, List<Long>> versions = new HashMap<>();
      long deadline = System.currentTimeMillis() + WAIT.toMillis();
      boolean bookmark = false;
      while (!view.equals(expected) || !bookmark) {
        assertTrue(System.currentTimeMillis() < deadline, "converged: " + view + " vs " + expected);
        JsonObject m = client.next(WAIT);
        String type = m.getString("type");
        if (Set.of("ADDED", "MODIFIED", "DELETED", "BOOKMARK").contains(type)) {
          assertNotNull(m.getString("resume"), "every event carries a resume token: " + m);
        }
        switch (type) {
          case "ADDED" -> assertFalse(view.containsKey(key(m)), "added twice: " + m) ;
          case "MODIFIED" -> assertTrue(view.containsKey(key(m)), "modified before added: " + m);
          case "DELETED" -> assertTrue(view.containsKey(key(m)), "deleted before added: " + m);
          case "BOOKMARK" -> bookmark = true;
          default -> { }
        }
        if ("ADDED".equals(type) || "MODIFIED".equals(type)) {
          view.put(key(m), version(m));
          // ...in the order the member's API server wrote each object: versions only go up.
          List<Long> seen = versions.computeIfAbsent(key(m), k -> new ArrayList<>());
          long v = Long.parseLong(version(m));
          assertTrue(seen.isEmpty() || seen.get(seen.size() - 1) < v, "out of order: " + m + " after " + seen);
          seen.add(v);
        } else if ("DELETED".equals(type)) {
          view.remove(key(m));
        }
      }
      // Per-cluster counts follow the same changes.
      Map<String, Long> want = Map.of("alpha", count(expected, "alpha"), "beta", count(expected, "beta"));
      counts.until(WAIT, m -> "COUNTS".equals(m.getString("type"))
          && want.get("alpha").equals(m.getJsonObject("counts").getLong("alpha"))
          && want.get("beta").equals(m.getJsonObject("counts").getLong("beta")));
    }
  }

  // ---- bad input ------------------------------------------------------------------------------------

  @Test
  @Order(2)
  void badMessagesAreAnsweredOnTheirSubscriptionAndTheSocketStays() {
    try (StreamClient client = StreamClient.connect(fleet.memberVertx(), nodeB.port(), fleet.adminToken())) {
      client.sendText("{not json");
      JsonObject error = client.next(WAIT);
      assertEquals("ERROR", error.getString("type"));
      assertEquals(400, error.getInteger("code"));
      client.send(new JsonObject().put("type", "launch").put("id", "x0"));
      assertEquals("x0", expect(client, "ERROR").getString("id"));
      client.subscribe("x1", kind("widgetsnothere"));
      JsonObject unknown = expect(client, "ERROR");
      assertEquals("x1", unknown.getString("id"));
      assertEquals(404, unknown.getInteger("code"));
      client.subscribe("x2", kind("configmaps").put("labelSelector", "app in (web"));
      JsonObject badSelector = expect(client, "ERROR");
      assertEquals("x2", badSelector.getString("id"));
      assertEquals(400, badSelector.getInteger("code"));
      client.subscribe("x3", kind("configmaps").put("clusterSelector", "=oops"));
      assertEquals("x3", expect(client, "ERROR").getString("id"));
      client.subscribe("x4", kind("configmaps").put("resume", "not-a-token"));
      assertEquals("x4", expect(client, "ERROR").getString("id"));
      // The same socket still serves.
      client.subscribe("ok", kind("configmaps").put("namespace", "order"));
      client.until(WAIT, m -> "INITIAL_STATE_DONE".equals(m.getString("type")) && "ok".equals(m.getString("id")));
      client.subscribe("ok", kind("configmaps"));
      assertEquals(409, expect(client, "ERROR").getInteger("code"));
    }
  }

  // ---- field filters, as in search ---------------------------------------------------------------------

  @Test
  @Order(2)
  void fieldFiltersSelectAsSearchDoesAndObjectsEnterAndLeaveAsTheirStatusChanges() {
    namespace("alpha", "fields");
    try (StreamClient client = StreamClient.connect(fleet.memberVertx(), nodeB.port(), fleet.adminToken())) {
      // Bad filters are answered on their subscription, as search answers them (400).
      client.subscribe("f0", kind("pods").put("summary.no-such field", "x"));
      JsonObject badField = expect(client, "ERROR");
      assertEquals("f0", badField.getString("id"));
      assertEquals(400, badField.getInteger("code"));
      client.subscribe("f1", kind("configmaps").put("namePrefix", 5));
      assertEquals(400, expect(client, "ERROR").getInteger("code"));

      JsonObject pods = kind("pods").put("clusters", new JsonArray().add("alpha")).put("namespace", "fields");
      client.subscribe("running", pods.copy().put("namePrefix", "web-").put("summary.phase", "Running"));
      client.subscribe("named", kind("configmaps").put("clusters", new JsonArray().add("alpha"))
          .put("namespace", "fields").put("nameContains", "-keep-"));
      Set<String> initialDone = new TreeSet<>();
      client.until(WAIT, m -> "INITIAL_STATE_DONE".equals(m.getString("type")) && initialDone.add(m.getString("id"))
          && initialDone.size() == 2);

      // The simulator's kubelet makes each pod Running a moment after it is created (Pending).
      for (String name : List.of("web-1", "web-2", "api-1")) {
        Fleet.await(fleet.sim("alpha").create(new JsonObject().put("apiVersion", "v1").put("kind", "Pod")
            .put("metadata", new JsonObject().put("name", name).put("namespace", "fields"))
            .put("spec", new JsonObject().put("containers", new JsonArray().add(new JsonObject()
                .put("name", "main").put("image", "nginx:1.27"))))));
      }
      configMap("alpha", "fields", "a-keep-1", Map.of());
      configMap("alpha", "fields", "a-drop-1", Map.of());
      List<JsonObject> seen = client.until(WAIT, m -> "ADDED".equals(m.getString("type"))
          && "named".equals(m.getString("id")));
      Fleet.eventually(WAIT, () -> {
        seen.addAll(client.drain(Duration.ofMillis(200)));
        return ofSubscription(seen, "running", "ADDED").equals(Set.of("alpha/web-1", "alpha/web-2"));
      }, "both web pods ADDED once Running: " + seen);
      for (JsonObject m : seen) {
        if ("running".equals(m.getString("id")) && "ADDED".equals(m.getString("type"))) {
          assertEquals("Running", m.getJsonObject("object").getJsonObject("summary").getString("phase"), m.encode());
        }
      }
      assertEquals(Set.of("alpha/a-keep-1"), ofSubscription(seen, "named", "ADDED"), seen.toString());

      // Search answers the same question with the same parameters.
      HttpResponse<String> search = fleet.api(nodeA, "/api/v1/search?kind=pods&cluster=alpha&namespace=fields"
          + "&namePrefix=web-&summary.phase=Running");
      assertEquals(200, search.statusCode(), search.body());
      assertEquals(2L, new JsonObject(search.body()).getLong("total"), search.body());

      // A deletion reaches the subscriptions the object matched; the one it never matched hears nothing.
      Fleet.await(fleet.sim("alpha").create(new JsonObject().put("apiVersion", "v1").put("kind", "ConfigMap")
          .put("metadata", new JsonObject().put("name", "b-keep-2").put("namespace", "fields"))));
      delete("alpha", "fields", "a-drop-1");
      delete("alpha", "fields", "a-keep-1");
      List<JsonObject> after = client.until(WAIT, m -> "DELETED".equals(m.getString("type")));
      after.addAll(client.drain(Duration.ofSeconds(1)));
      assertEquals(Set.of("alpha/b-keep-2"), ofSubscription(after, "named", "ADDED"), after.toString());
      assertEquals(Set.of("alpha/a-keep-1"), ofSubscription(after, "named", "DELETED"), after.toString());
    }
  }

  private static Set<String> ofSubscription(List<JsonObject> messages, String id, String type) {
    return keys(messages.stream().filter(m -> id.equals(m.getString("id"))).toList(), type);
  }

  // ---- tickets ----------------------------------------------------------------------------------------

  @Test
  @Order(3)
  void ticketsWorkOnceOnAnyNodeAndExpire() throws Exception {
    String ticket = ticket(nodeA);
    try (StreamClient client = Fleet.await(StreamClient.connect(fleet.memberVertx(), nodeB.port(), null, ticket, 0))) {
      client.subscribe("t", kind("configmaps").put("namespace", "order"));
      client.until(WAIT, m -> "INITIAL_STATE_DONE".equals(m.getString("type")));
    }
    assertEquals(401, handshake(nodeA, "?ticket=" + ticket, null));
    assertEquals(401, handshake(nodeA, "?ticket=kmcst_bogus", null));
    assertEquals(401, handshake(nodeA, "", null));
    assertEquals(401, handshake(nodeA, "", "not-a-token"));
    HttpResponse<String> plain = fleet.api(nodeA, "/api/v1/stream");
    assertEquals(400, plain.statusCode(), plain.body());
    String late = ticket(nodeB);
    Thread.sleep(2_500);
    assertEquals(401, handshake(nodeA, "?ticket=" + late, null));
  }

  // ---- RBAC -----------------------------------------------------------------------------------------

  @Test
  @Order(4)
  void eachEventIsFilteredByTheUsersPermissionsAndRoleChangesApply() {
    for (String cluster : List.of("alpha", "beta")) {
      for (String ns : List.of("team-a", "team-b")) {
        namespace(cluster, ns);
        configMap(cluster, ns, "before", Map.of());
      }
    }
    awaitIndexed("alpha", "team-b", 1);
    awaitIndexed("beta", "team-b", 1);
    admin("POST", "/api/v1/rbac/roles", new JsonObject().put("role", "cm-reader").put("resource", "configmaps")
        .put("action", "read"));
    admin("POST", "/api/v1/users", new JsonObject().put("name", "streamer").put("password", "streamer-password-1"));
    bind("alpha/team-a");
    String token = fleet.login(nodeB, "streamer", "streamer-password-1");
    try (StreamClient client = StreamClient.connect(fleet.memberVertx(), nodeB.port(), token)) {
      client.subscribe("r", kind("configmaps"));
      List<JsonObject> initial = client.until(WAIT, m -> "INITIAL_STATE_DONE".equals(m.getString("type")));
      assertEquals(new JsonArray().add("alpha"), initial.get(0).getJsonArray("clusters"));
      assertEquals(Set.of("alpha/team-a/before"), namespacedKeys(initial, "ADDED"));

      configMap("alpha", "team-b", "hidden", Map.of());
      configMap("beta", "team-a", "hidden", Map.of());
      configMap("alpha", "team-a", "shown", Map.of());
      List<JsonObject> live = client.until(WAIT, m -> "ADDED".equals(m.getString("type")));
      assertEquals(Set.of("alpha/team-a/shown"), namespacedKeys(live, "ADDED"));

      // A new binding widens the open subscription: the cluster starts over with what is now visible.
      bind("alpha/team-b");
      List<JsonObject> widened = client.until(WAIT, m -> "INITIAL_STATE_DONE".equals(m.getString("type"))
          && "alpha".equals(m.getString("cluster")));
      assertTrue(widened.stream().anyMatch(m -> "RESTART".equals(m.getString("type"))), widened.toString());
      assertEquals(Set.of("alpha/team-a/before", "alpha/team-a/shown", "alpha/team-b/before",
          "alpha/team-b/hidden"), namespacedKeys(widened, "ADDED"));
      // And removing it narrows it again.
      HttpResponse<String> removed = fleet.call(nodeA, "DELETE",
          "/api/v1/rbac/bindings?subject=streamer&role=cm-reader&domain=alpha/team-b", fleet.adminToken(), null);
      assertEquals(204, removed.statusCode(), removed.body());
      List<JsonObject> narrowed = client.until(WAIT, m -> "INITIAL_STATE_DONE".equals(m.getString("type"))
          && "alpha".equals(m.getString("cluster")));
      assertEquals(Set.of("alpha/team-a/before", "alpha/team-a/shown"), namespacedKeys(narrowed, "ADDED"));
      configMap("alpha", "team-b", "hidden-again", Map.of());
      configMap("alpha", "team-a", "shown-again", Map.of());
      List<JsonObject> after = client.until(WAIT, m -> "ADDED".equals(m.getString("type")));
      assertEquals(Set.of("alpha/team-a/shown-again"), namespacedKeys(after, "ADDED"));

      // Revoking the user's sessions ends the open stream too.
      HttpResponse<String> revoked = fleet.call(nodeA, "DELETE", "/api/v1/users/streamer/sessions",
          fleet.adminToken(), null);
      assertTrue(revoked.statusCode() / 100 == 2, revoked.statusCode() + " " + revoked.body());
      List<JsonObject> closing = client.until(WAIT, m -> "CLOSING".equals(m.getString("type")));
      assertEquals(4001, closing.get(closing.size() - 1).getInteger("code"));
    }
  }

  // ---- cluster selectors --------------------------------------------------------------------------

  @Test
  @Order(5)
  void clustersJoinAndLeaveAsTheirLabelsChange() {
    namespace("gamma", "sel");
    configMap("gamma", "sel", "g1", Map.of());
    awaitIndexed("gamma", "sel", 1);
    try (StreamClient client = StreamClient.connect(fleet.memberVertx(), nodeA.port(), fleet.adminToken())) {
      client.subscribe("sel", kind("configmaps").put("clusterSelector", "streams=on").put("namespace", "sel")
          .put("objects", true));
      List<JsonObject> initial = client.until(WAIT, m -> "INITIAL_STATE_DONE".equals(m.getString("type")));
      assertEquals(new JsonArray(), initial.get(0).getJsonArray("clusters"));
      label("gamma", Map.of("env", "test", "streams", "on"));
      List<JsonObject> joined = client.until(WAIT, m -> "INITIAL_STATE_DONE".equals(m.getString("type")));
      assertTrue(joined.stream().anyMatch(m -> "CLUSTER".equals(m.getString("type"))
          && "joined".equals(m.getString("state")) && "gamma".equals(m.getString("cluster"))), joined.toString());
      assertEquals(Set.of("gamma/g1"), keys(joined, "ADDED"));
      JsonObject whole = joined.stream().filter(m -> "ADDED".equals(m.getString("type"))).findFirst().orElseThrow()
          .getJsonObject("object").getJsonObject("object");
      assertNotNull(whole, "the whole object, which gamma's agent keeps: " + joined);
      assertEquals("value", whole.getJsonObject("data").getString("setting"));
      configMap("gamma", "sel", "g2", Map.of());
      assertEquals("gamma/g2", key(expect(client, "ADDED")));
      label("gamma", Map.of("env", "test"));
      client.until(WAIT, m -> "CLUSTER".equals(m.getString("type")) && "left".equals(m.getString("state")));
      configMap("gamma", "sel", "g3", Map.of());
      List<JsonObject> quiet = client.drain(Duration.ofSeconds(2));
      assertTrue(quiet.stream().noneMatch(m -> "ADDED".equals(m.getString("type"))), quiet.toString());
    }
  }

  // ---- a member offline, then back ------------------------------------------------------------------

  @Test
  @Order(6)
  void aClusterOfflineThenBackLosesNoDeletes() {
    namespace("beta", "off");
    configMap("beta", "off", "stays", Map.of());
    configMap("beta", "off", "goes", Map.of());
    awaitIndexed("beta", "off", 2);
    try (StreamClient client = StreamClient.connect(fleet.memberVertx(), nodeA.port(), fleet.adminToken())) {
      client.subscribe("off", kind("configmaps").put("clusters", new JsonArray().add("beta")).put("namespace", "off"));
      client.until(WAIT, m -> "INITIAL_STATE_DONE".equals(m.getString("type")));
      fleet.stopAgent("beta");
      List<JsonObject> away = client.until(WAIT, m -> "CLUSTER".equals(m.getString("type"))
          && "stale".equals(m.getString("state")));
      assertTrue(away.stream().anyMatch(m -> "disconnected".equals(m.getString("state"))), away.toString());
      delete("beta", "off", "goes");
      configMap("beta", "off", "new", Map.of());
      // The cluster never pauses for a second from here on: "resynced" must come from the agent's
      // caught-up marker, not from a quiet spell (which would never come).
      java.util.concurrent.atomic.AtomicBoolean churning = new java.util.concurrent.atomic.AtomicBoolean(true);
      Thread churn = new Thread(() -> {
        for (int turn = 0; churning.get(); turn++) {
          relabel("beta", "off", "stays", Map.of("turn", String.valueOf(turn)));
          try {
            Thread.sleep(150);
          } catch (InterruptedException e) {
            return;
          }
        }
      }, "churn-beta");
      churn.start();
      List<JsonObject> back;
      try {
        fleet.agent("beta", nodeB, nodeA);
        back = client.until(WAIT, m -> "CLUSTER".equals(m.getString("type"))
            && "resynced".equals(m.getString("state")));
      } finally {
        churning.set(false);
        try {
          churn.join(5_000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      assertTrue(back.stream().anyMatch(m -> "connected".equals(m.getString("state"))), back.toString());
      // What happened while it was away arrives before "resynced" vouches for it.
      assertEquals(Set.of("beta/goes"), keys(back, "DELETED"), back.toString());
      assertEquals(Set.of("beta/new"), keys(back, "ADDED"), back.toString());
    }
  }

  // ---- a slow reader --------------------------------------------------------------------------------

  @Test
  @Order(7)
  void aClientThatDoesNotReadIsClosedWithItsResumeTokens() {
    namespace("gamma", "bulk");
    List<io.vertx.core.Future<?>> created = new ArrayList<>();
    for (int i = 0; i < 500; i++) {
      created.add(fleet.sim("gamma").create(configMapJson("bulk", "bulk-" + i, Map.of("filler", "x".repeat(60)))));
    }
    Fleet.await(io.vertx.core.Future.all(created));
    awaitIndexed("gamma", "bulk", 500);
    StreamClient client = Fleet.await(StreamClient.connect(fleet.memberVertx(), nodeA.port(), fleet.adminToken(),
        null, 4096));
    try {
      client.pause();
      for (int i = 0; i < 60; i++) {
        client.subscribe("slow-" + i, kind("configmaps").put("clusters", new JsonArray().add("gamma"))
            .put("namespace", "bulk"));
      }
      Fleet.eventually(Duration.ofSeconds(30), () -> nodeAStreams() == 0, "the slow socket closed (open: "
          + nodeAStreams() + ")");
      client.resume();
      JsonObject closing = null;
      long deadline = System.currentTimeMillis() + WAIT.toMillis();
      while (closing == null && System.currentTimeMillis() < deadline) {
        JsonObject m = client.next(WAIT);
        if ("CLOSING".equals(m.getString("type"))) {
          closing = m;
        }
      }
      assertNotNull(closing);
      assertEquals("too slow", closing.getString("reason"));
      assertNotNull(closing.getJsonObject("resume"));
      Fleet.eventually(Duration.ofSeconds(5), () -> client.closeCode() != null, "closed");
      assertEquals((short) 4008, client.closeCode());
      assertTrue(metric(nodeA, "kmc_stream_slow_closes_total") >= 1, "the close is counted");
      // Each token resumes its subscription on a new socket.
      JsonObject tokens = closing.getJsonObject("resume");
      assertFalse(tokens.isEmpty(), closing.encode());
      String id = tokens.fieldNames().iterator().next();
      try (StreamClient again = StreamClient.connect(fleet.memberVertx(), nodeB.port(), fleet.adminToken())) {
        again.subscribe(id, kind("configmaps").put("clusters", new JsonArray().add("gamma")).put("namespace", "bulk")
            .put("resume", tokens.getString(id)));
        List<JsonObject> resumed = again.until(WAIT, m -> "INITIAL_STATE_DONE".equals(m.getString("type"))
            && m.getString("cluster") == null);
        assertTrue(resumed.stream().noneMatch(m -> "ERROR".equals(m.getString("type"))), resumed.toString());
      }
    } finally {
      client.close();
    }
  }

  private static double metric(Hub hub, String name) {
    HttpResponse<String> response = fleet.send(java.net.http.HttpRequest.newBuilder(
        java.net.URI.create("http://127.0.0.1:" + hub.managementPort() + "/metrics")).build());
    return response.body().lines().filter(line -> line.startsWith(name + " ") || line.startsWith(name + "{"))
        .mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1))).sum();
  }

  private static int nodeAStreams() {
    return nodeA.streams() == null ? -1 : nodeA.streams().sockets();
  }

  // ---- history too old: one cluster starts over, not the fleet ---------------------------------------

  // ---- propagations: spec, status and drift from the hub's database ------------------------------

  /**
   * A propagation written through node A, followed from node B: its creation, every change of its
   * per-cluster status as the controller (on whichever node holds the lease) applies it, a new
   * generation, and its deletion. A subscriber that resumes on the other node gets what changed while
   * it was away, once, and nothing it already holds.
   */
  @Test
  @Order(8)
  void propagationSubscriptionsFollowSpecAndStatusWrittenOnAnyNode() {
    JsonObject configMap = new JsonObject().put("apiVersion", "v1").put("kind", "ConfigMap")
        .put("metadata", new JsonObject().put("name", "streamed").put("namespace", "default"))
        .put("data", new JsonObject().put("mode", "one"));
    JsonObject propagation = new JsonObject().put("apiVersion", "kmc.io/v1alpha1").put("kind", "Propagation")
        .put("metadata", new JsonObject().put("name", "streamed"))
        .put("spec", new JsonObject().put("resources", new JsonArray().add(configMap))
            .put("placement", new JsonObject().put("clusters", new JsonArray().add("alpha").add("beta"))));
    String token;
    JsonObject held;
    try (StreamClient all = StreamClient.connect(fleet.memberVertx(), nodeB.port(), fleet.adminToken());
         StreamClient one = StreamClient.connect(fleet.memberVertx(), nodeB.port(), fleet.adminToken())) {
      all.subscribe("p", new JsonObject().put("source", "propagations"));
      one.subscribe("other", new JsonObject().put("source", "propagations").put("name", "not-this-one"));
      List<JsonObject> initial = all.until(WAIT, m -> "INITIAL_STATE_DONE".equals(m.getString("type")));
      assertEquals("SUBSCRIBED", initial.get(0).getString("type"));
      assertEquals("propagations", initial.get(0).getString("source"));
      assertTrue(initial.stream().noneMatch(m -> "streamed".equals(propagationName(m))), initial.toString());
      one.until(WAIT, m -> "INITIAL_STATE_DONE".equals(m.getString("type")));

      admin("POST", "/api/v1/propagations", propagation);
      List<JsonObject> rollout = all.until(WAIT, m -> "streamed".equals(propagationName(m))
          && "applied".equals(clusterState(m, "alpha")) && "applied".equals(clusterState(m, "beta")));
      assertEquals("ADDED", rollout.get(0).getString("type"), rollout.toString());
      assertTrue(rollout.stream().skip(1).allMatch(m -> "MODIFIED".equals(m.getString("type"))), rollout.toString());
      assertTrue(rollout.size() >= 2, "the status changes arrive as they happen: " + rollout);
      for (int i = 1; i < rollout.size(); i++) {
        assertNotEquals(rollout.get(i - 1).getJsonObject("object"), rollout.get(i).getJsonObject("object"),
            "a change is sent once");
      }
      token = rollout.get(rollout.size() - 1).getString("resume");
      held = rollout.get(rollout.size() - 1).getJsonObject("object");
      assertTrue(one.drain(Duration.ofMillis(500)).isEmpty(), "a subscription by name sees no other propagation");
    }

    // Away: a new generation is written through node A; resuming on node A gets it, once.
    configMap.getJsonObject("data").put("mode", "two");
    HttpResponse<String> replaced = fleet.call(nodeA, "PUT", "/api/v1/propagations/streamed", fleet.adminToken(),
        propagation);
    assertEquals(200, replaced.statusCode(), replaced.body());
    Fleet.eventually(WAIT, () -> {
      JsonObject status = new JsonObject(fleet.api(nodeA, "/api/v1/propagations/streamed").body())
          .getJsonObject("status");
      return status.getJsonArray("clusters").stream().map(JsonObject.class::cast)
          .allMatch(c -> "applied".equals(c.getString("state")) && c.getLong("generation") == 2);
    }, "generation 2 applied");
    try (StreamClient back = StreamClient.connect(fleet.memberVertx(), nodeA.port(), fleet.adminToken())) {
      back.subscribe("p", new JsonObject().put("source", "propagations").put("resume", token));
      List<JsonObject> resumed = back.until(WAIT, m -> "INITIAL_STATE_DONE".equals(m.getString("type")));
      List<JsonObject> changes = resumed.stream().filter(m -> "streamed".equals(propagationName(m))).toList();
      assertEquals(1, changes.size(), "what changed while away, once: " + resumed);
      assertEquals("MODIFIED", changes.get(0).getString("type"));
      assertEquals(2L, changes.get(0).getJsonObject("object").getJsonObject("metadata").getLong("generation"));
      assertNotEquals(held, changes.get(0).getJsonObject("object"));
      String latest = resumed.get(resumed.size() - 1).getString("resume");
      JsonObject latestHeld = changes.get(0).getJsonObject("object");
      back.close();

      // Resuming with the latest token sends nothing the client holds already.
      try (StreamClient again = StreamClient.connect(fleet.memberVertx(), nodeB.port(), fleet.adminToken())) {
        again.subscribe("p", new JsonObject().put("source", "propagations").put("resume", latest));
        List<JsonObject> twice = again.until(WAIT, m -> "INITIAL_STATE_DONE".equals(m.getString("type")));
        twice.stream().filter(m -> "streamed".equals(propagationName(m))).forEach(m ->
            assertNotEquals(latestHeld, m.getJsonObject("object"), "a propagation the client holds is not sent again"));

        // Deleted through node A: the subscriber on node B hears it is gone.
        HttpResponse<String> deleted = fleet.call(nodeA, "DELETE", "/api/v1/propagations/streamed",
            fleet.adminToken(), null);
        assertEquals(202, deleted.statusCode(), deleted.body());
        List<JsonObject> end = again.until(WAIT, m -> "DELETED".equals(m.getString("type"))
            && "streamed".equals(propagationName(m)));
        assertTrue(end.stream().anyMatch(m -> "MODIFIED".equals(m.getString("type")) && Boolean.TRUE.equals(
            m.getJsonObject("object").getJsonObject("metadata").getValue("deletionRequested"))), end.toString());
      }
    }
  }

  /** initialState false: no ADDED for what exists (a followed search has it already), then every change. */
  @Test
  @Order(8)
  void aChangesOnlySubscriptionStartsFromNow() {
    namespace("alpha", "changes");
    for (int i = 0; i < 3; i++) {
      configMap("alpha", "changes", "old-" + i, Map.of());
    }
    awaitIndexed("alpha", "changes", 3);
    try (StreamClient client = StreamClient.connect(fleet.memberVertx(), nodeB.port(), fleet.adminToken())) {
      client.subscribe("bad", kind("configmaps").put("initialState", "no"));
      assertError(client, "bad", 400, "initialState");
      client.subscribe("bad2", kind("configmaps").put("initialState", false).put("counts", true));
      assertError(client, "bad2", 400, "initial state");
      client.subscribe("now", kind("configmaps").put("namespace", "changes").put("initialState", false));
      List<JsonObject> initial = client.until(WAIT, m -> "INITIAL_STATE_DONE".equals(m.getString("type")));
      assertEquals(Set.of(), keys(initial, "ADDED"), initial.toString());
      configMap("alpha", "changes", "new", Map.of());
      List<JsonObject> after = client.until(WAIT, m -> "ADDED".equals(m.getString("type")));
      assertEquals(Set.of("alpha/new"), keys(after, "ADDED"), after.toString());
    }
  }

  @Test
  @Order(8)
  void badPropagationSubscriptionsAreClearErrors() {
    admin("POST", "/api/v1/users", new JsonObject().put("name", "outsider").put("password", "outsider-password-1"));
    String outsider = fleet.login(nodeB, "outsider", "outsider-password-1");
    try (StreamClient admin = StreamClient.connect(fleet.memberVertx(), nodeB.port(), fleet.adminToken());
         StreamClient other = StreamClient.connect(fleet.memberVertx(), nodeB.port(), outsider)) {
      admin.subscribe("a", new JsonObject().put("source", "propagations").put("name", "Not_A_Name"));
      assertError(admin, "a", 400, "DNS label");
      admin.subscribe("b", new JsonObject().put("source", "propagations").put("resource", "configmaps"));
      assertError(admin, "b", 400, "takes name and resume");
      admin.subscribe("c", new JsonObject().put("source", "propagations").put("resume", "not-a-token"));
      assertError(admin, "c", 400, "resume");
      admin.subscribe("d", new JsonObject().put("source", "nothing"));
      assertError(admin, "d", 400, "unknown source");
      admin.subscribe("e", new JsonObject().put("source", "propagations"));
      assertEquals("SUBSCRIBED", admin.next(WAIT).getString("type"));
      admin.subscribe("e", new JsonObject().put("source", "propagations"));
      assertError(admin, "e", 409, "open already");
      other.subscribe("f", new JsonObject().put("source", "propagations"));
      assertError(other, "f", 403, "may not list propagations");
    }
  }

  private static void assertError(StreamClient client, String id, int code, String says) {
    JsonObject error = client.until(WAIT, m -> "ERROR".equals(m.getString("type"))).stream()
        .filter(m -> "ERROR".equals(m.getString("type"))).findFirst().orElseThrow();
    assertEquals(id, error.getString("id"), error.encode());
    assertEquals(code, error.getInteger("code"), error.encode());
    assertTrue(error.getString("message").contains(says), error.encode());
  }

  private static String propagationName(JsonObject message) {
    return message.getValue("object") instanceof JsonObject object
        && object.getValue("metadata") instanceof JsonObject metadata ? metadata.getString("name") : null;
  }

  private static String clusterState(JsonObject message, String cluster) {
    JsonObject status = message.getJsonObject("object").getJsonObject("status");
    if (status == null || status.getJsonArray("clusters") == null) {
      return null;
    }
    return status.getJsonArray("clusters").stream().map(JsonObject.class::cast)
        .filter(c -> cluster.equals(c.getString("cluster"))).map(c -> c.getString("state")).findFirst().orElse(null);
  }

  @Test
  @Order(9)
  void aClusterWhoseHistoryIsTooOldStartsOverAlone() {
    namespace("alpha", "old");
    List<io.vertx.core.Future<?>> created = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      created.add(fleet.sim("alpha").create(configMapJson("old", "old-" + i, Map.of())));
    }
    Fleet.await(io.vertx.core.Future.all(created));
    awaitIndexed("alpha", "old", 60);
    JsonObject spec = kind("configmaps").put("clusters", new JsonArray().add("alpha").add("beta"));
    String token;
    try (StreamClient first = StreamClient.connect(fleet.memberVertx(), nodeB.port(), fleet.adminToken())) {
      first.subscribe("h", spec);
      token = expect(first, "INITIAL_STATE_DONE").getString("resume");
    }
    // The same token, but alpha's part from before the 60 changes (more than stream.max_replay of them).
    JsonObject seqs = new JsonObject(new String(java.util.Base64.getUrlDecoder().decode(token),
        java.nio.charset.StandardCharsets.UTF_8));
    assertTrue(seqs.containsKey("alpha") && seqs.containsKey("beta"), seqs.encode());
    seqs.put("alpha", 1);
    String old = java.util.Base64.getUrlEncoder().withoutPadding()
        .encodeToString(seqs.encode().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    try (StreamClient client = StreamClient.connect(fleet.memberVertx(), nodeA.port(), fleet.adminToken())) {
      client.subscribe("h", spec.copy().put("resume", old));
      List<JsonObject> resumed = client.until(WAIT, m -> "INITIAL_STATE_DONE".equals(m.getString("type"))
          && m.getString("cluster") == null);
      List<JsonObject> restarts = resumed.stream().filter(m -> "RESTART".equals(m.getString("type"))).toList();
      assertEquals(1, restarts.size(), resumed.toString());
      assertEquals("alpha", restarts.get(0).getString("cluster"));
      assertEquals(410, restarts.get(0).getInteger("code"));
      Set<String> added = keys(resumed, "ADDED");
      assertTrue(added.contains("alpha/old-59"), added.toString());
      assertTrue(added.stream().allMatch(k -> k.startsWith("alpha/")), "beta resumed without a restart: " + added);
    }
  }

  // ---- resume on the other node after a kill --------------------------------------------------------

  @Test
  @Order(10)
  void aSubscriberResumingOnTheOtherNodeMissesNothingAndSeesNothingTwice() {
    namespace("alpha", "resume");
    for (int i = 0; i < 3; i++) {
      configMap("alpha", "resume", "r-" + i, Map.of());
    }
    awaitIndexed("alpha", "resume", 3);
    JsonObject spec = kind("configmaps").put("clusters", new JsonArray().add("alpha")).put("namespace", "resume");
    try (StreamClient reference = StreamClient.connect(fleet.memberVertx(), nodeA.port(), fleet.adminToken())) {
      StreamClient doomed = StreamClient.connect(fleet.memberVertx(), nodeB.port(), fleet.adminToken());
      reference.subscribe("ref", spec);
      doomed.subscribe("sub", spec);
      List<String> expected = events(reference.until(WAIT, m -> "INITIAL_STATE_DONE".equals(m.getString("type"))));
      List<JsonObject> before = doomed.until(WAIT, m -> "INITIAL_STATE_DONE".equals(m.getString("type")));
      List<String> seen = events(before);
      for (int i = 0; i < 5; i++) {
        configMap("alpha", "resume", "a-" + i, Map.of());
      }
      List<JsonObject> more = doomed.until(WAIT, m -> "ADDED".equals(m.getString("type"))
          && m.getJsonObject("object").getString("name").equals("a-2"));
      seen.addAll(events(more));
      String token = more.get(more.size() - 1).getString("resume");

      fleet.forget(nodeB);
      Fleet.await(nodeB.halt());
      for (int i = 0; i < 5; i++) {
        relabel("alpha", "resume", "r-" + (i % 3), Map.of("turn", String.valueOf(i)));
        configMap("alpha", "resume", "b-" + i, Map.of());
      }
      delete("alpha", "resume", "a-0");
      // Changes of one cluster keep their order: the deletion made last is the last event.
      java.util.function.Predicate<JsonObject> last = m -> "DELETED".equals(m.getString("type"))
          && "a-0".equals(m.getJsonObject("object").getString("name"));
      expected.addAll(events(reference.until(WAIT, last)));

      try (StreamClient resumed = StreamClient.connect(fleet.memberVertx(), nodeA.port(), fleet.adminToken())) {
        resumed.subscribe("sub", spec.copy().put("resume", token));
        List<JsonObject> after = resumed.until(WAIT, last);
        assertTrue(after.stream().noneMatch(m -> "RESTART".equals(m.getString("type"))), after.toString());
        seen.addAll(events(after));
        assertTrue(events(resumed.drain(Duration.ofSeconds(2))).isEmpty(), "nothing after the last change");
      }
      doomed.close();
      assertEquals(expected, seen, "the resumed subscriber's events are exactly the continuous subscriber's");
    }
  }

  // ---- helpers ----------------------------------------------------------------------------------------

  private static List<String> events(List<JsonObject> messages) {
    List<String> events = new ArrayList<>();
    for (JsonObject m : messages) {
      String type = m.getString("type");
      if ("ADDED".equals(type) || "MODIFIED".equals(type) || "DELETED".equals(type)) {
        events.add(type + " " + key(m) + " " + m.getJsonObject("object").getString("resourceVersion"));
      }
    }
    return events;
  }

  private static JsonObject expect(StreamClient client, String type) {
    List<JsonObject> seen = client.until(WAIT, m -> type.equals(m.getString("type")));
    return seen.get(seen.size() - 1);
  }

  private static JsonObject kind(String resource) {
    return new JsonObject().put("group", "").put("version", "v1").put("resource", resource);
  }

  private static String key(JsonObject m) {
    return m.getString("cluster") + "/" + m.getJsonObject("object").getString("name");
  }

  private static String version(JsonObject m) {
    return m.getJsonObject("object").getString("resourceVersion");
  }

  private static Set<String> keys(List<JsonObject> messages, String type) {
    return messages.stream().filter(m -> type.equals(m.getString("type"))).map(StreamsIT::key)
        .collect(Collectors.toCollection(TreeSet::new));
  }

  private static Set<String> namespacedKeys(List<JsonObject> messages, String type) {
    return messages.stream().filter(m -> type.equals(m.getString("type")))
        .map(m -> m.getString("cluster") + "/" + m.getJsonObject("object").getString("namespace") + "/"
            + m.getJsonObject("object").getString("name"))
        .collect(Collectors.toCollection(TreeSet::new));
  }

  private static long count(Map<String, String> view, String cluster) {
    return view.keySet().stream().filter(k -> k.startsWith(cluster + "/")).count();
  }

  private static void awaitIndexed(String cluster, String namespace, int count) {
    Fleet.eventually(WAIT, () -> {
      HttpResponse<String> response = fleet.api(nodeA, "/api/v1/search?kind=configmaps&cluster=" + cluster
          + "&namespace=" + namespace + "&limit=1");
      return response.statusCode() == 200 && new JsonObject(response.body()).getLong("total") == count;
    }, count + " configmaps of " + cluster + "/" + namespace + " indexed");
  }

  private static String ticket(Hub via) {
    HttpResponse<String> response = fleet.call(via, "POST", "/api/v1/stream/tickets", fleet.adminToken(), null);
    assertEquals(201, response.statusCode(), response.body());
    return new JsonObject(response.body()).getString("ticket");
  }

  /** The status of a websocket handshake on the stream path (101 when upgraded). */
  private static int handshake(Hub via, String query, String bearer) {
    try {
      StreamClient client = Fleet.await(StreamClient.connect(fleet.memberVertx(), via.port(), bearer,
          query.startsWith("?ticket=") ? query.substring("?ticket=".length()) : null, 0));
      client.close();
      return 101;
    } catch (RuntimeException e) {
      Throwable cause = e;
      while (cause != null) {
        if (cause instanceof io.vertx.core.http.UpgradeRejectedException rejected) {
          return rejected.getStatus();
        }
        cause = cause.getCause();
      }
      throw e;
    }
  }

  private static void admin(String method, String path, JsonObject body) {
    HttpResponse<String> response = fleet.call(nodeA, method, path, fleet.adminToken(), body);
    assertTrue(response.statusCode() / 100 == 2, method + " " + path + ": " + response.statusCode() + " "
        + response.body());
  }

  private static void bind(String domain) {
    admin("POST", "/api/v1/rbac/bindings", new JsonObject().put("subject", "streamer").put("role", "cm-reader")
        .put("domain", domain));
  }

  private static void label(String cluster, Map<String, String> labels) {
    JsonObject json = new JsonObject();
    labels.forEach(json::put);
    HttpResponse<String> response = fleet.call(nodeB, "PATCH", "/api/v1/clusters/" + cluster, fleet.adminToken(),
        new JsonObject().put("labels", json));
    assertEquals(200, response.statusCode(), response.body());
  }

  private static void namespace(String cluster, String name) {
    io.vertx.core.Future<?> created = fleet.sim(cluster).create(new JsonObject().put("apiVersion", "v1")
        .put("kind", "Namespace").put("metadata", new JsonObject().put("name", name)));
    try {
      Fleet.await(created);
    } catch (RuntimeException e) {
      if (!String.valueOf(e.getMessage()).contains("409") && !String.valueOf(e.getCause()).contains("409")) {
        throw e;
      }
    }
  }

  private static JsonObject configMapJson(String namespace, String name, Map<String, String> labels) {
    JsonObject labelObject = new JsonObject();
    labels.forEach(labelObject::put);
    return new JsonObject().put("apiVersion", "v1").put("kind", "ConfigMap")
        .put("metadata", new JsonObject().put("name", name).put("namespace", namespace).put("labels", labelObject))
        .put("data", new JsonObject().put("setting", "value"));
  }

  /** Creates a ConfigMap in the member's API server, as someone working in the cluster would. */
  private static void configMap(String cluster, String namespace, String name, Map<String, String> labels) {
    Fleet.await(fleet.sim(cluster).create(configMapJson(namespace, name, labels)));
  }

  private static DynamicKubernetesApi configMaps(String cluster) {
    return new DynamicKubernetesApi("", "v1", "configmaps", direct.get(cluster));
  }

  private static void relabel(String cluster, String namespace, String name, Map<String, String> labels) {
    DynamicKubernetesObject current = configMaps(cluster).get(namespace, name).getObject();
    com.google.gson.JsonObject labelObject = new com.google.gson.JsonObject();
    labels.forEach(labelObject::addProperty);
    current.getRaw().getAsJsonObject("metadata").add("labels", labelObject);
    KubernetesApiResponse<DynamicKubernetesObject> updated = configMaps(cluster).update(current);
    assertTrue(updated.isSuccess(), "update: " + updated.getHttpStatusCode());
  }

  private static void delete(String cluster, String namespace, String name) {
    KubernetesApiResponse<DynamicKubernetesObject> deleted = configMaps(cluster).delete(namespace, name);
    assertTrue(deleted.isSuccess(), "delete: " + deleted.getHttpStatusCode());
  }

  private static List<DynamicKubernetesObject> list(String cluster, String namespace) {
    return configMaps(cluster).list(namespace).getObject().getItems();
  }
}
