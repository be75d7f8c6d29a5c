package io.kmc.hub;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.kmc.hub.support.Blackhole;
import io.kmc.hub.support.Fleet;
import io.kmc.kubesim.Kubectl;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.util.ClientBuilder;
import io.kubernetes.client.util.KubeConfig;
import io.kubernetes.client.util.generic.KubernetesApiResponse;
import io.kubernetes.client.util.generic.dynamic.DynamicKubernetesApi;
import io.kubernetes.client.util.generic.dynamic.DynamicKubernetesObject;
import io.vertx.core.json.JsonArray;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.StringReader;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fleet index end to end: simulated clusters, real agents whose informers feed two hub nodes,
 * and search, aggregated lists and the fleet view for kubectl answered from the index.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class FleetIndexIT {

  private static final List<String> CLUSTERS = List.of("prod", "staging", "edge");
  private static Fleet fleet;
  private static Hub nodeA;
  private static Hub nodeB;
  private static final Map<String, ApiClient> direct = new HashMap<>();
  /** A cluster whose agent reaches the hub through a relay the test can cut. */
  private static final String LAB = "lab";
  private static Blackhole labLink;

  @BeforeAll
  static void start() throws IOException {
    // kubectl sends its bearer token over TLS only. Objects written are counted per cluster only with
    // metrics.per_cluster_detail, and a reconnect test below reads the lab's.
    fleet = new Fleet().tls().hubSettings(Map.of("KMC_METRICS_PER_CLUSTER_DETAIL", "true"));
    CLUSTERS.forEach(fleet::cluster);
    fleet.cluster(LAB);
    List<Hub> hubs = fleet.hubs(2);
    nodeA = hubs.get(0);
    nodeB = hubs.get(1);
    labLink = Fleet.await(Blackhole.start(fleet.memberVertx(), nodeB.port()));
    fleet.agent(LAB, List.of("wss://127.0.0.1:" + labLink.port()), Map.of("KMC_HUB_CONNECT_TIMEOUT", "1s"));
    fleet.awaitConnected(nodeA, LAB);
    KubeConfig labConfig = KubeConfig.loadKubeConfig(new StringReader(fleet.sim(LAB).kubeconfig(LAB)));
    direct.put(LAB, ClientBuilder.kubeconfig(labConfig).setReadTimeout(Duration.ofSeconds(10)).build());
    fleet.agent("prod", nodeA);
    fleet.agent("staging", nodeB);
    startEdgeAgent();
    for (String cluster : CLUSTERS) {
      fleet.awaitConnected(nodeA, cluster);
      KubeConfig config = KubeConfig.loadKubeConfig(new StringReader(fleet.sim(cluster).kubeconfig(cluster)));
      direct.put(cluster, ClientBuilder.kubeconfig(config).setReadTimeout(Duration.ofSeconds(10)).build());
    }
  }

  /** Edge's agent keeps whole ConfigMaps in the index, for answers while edge is offline. */
  private static void startEdgeAgent() {
    fleet.agent("edge", List.of("wss://127.0.0.1:" + nodeA.port()), Map.of("KMC_INDEX_KEEP_OBJECTS", "v1/configmaps"));
  }

  @AfterAll
  static void stop() {
    labLink.close();
    fleet.close();
  }

  // ---- search correctness -----------------------------------------------------------------------

  private record Fixture(String cluster, String namespace, String name, Map<String, String> labels) {
    String key() {
      return cluster + "/" + namespace + "/" + name;
    }
  }

  private static final Map<String, List<String>> LABEL_VALUES = Map.of(
      "app", List.of("web", "api", "db"), "tier", List.of("front", "back"), "env", List.of("prod", "dev", "qa"));

  /** Randomised selectors (seeded) against a brute-force scan of the same objects; paging and counts too. */
  @Test
  void searchAgreesWithABruteForceScan() {
    Random random = new Random(20261203);
    List<Fixture> fixtures = new ArrayList<>();
    for (String cluster : CLUSTERS) {
      for (String namespace : List.of("bf-a", "bf-b")) {
        create(cluster, namespace("bf", namespace));
        for (int i = 0; i < 20; i++) {
          Map<String, String> labels = new LinkedHashMap<>();
          labels.put("set", "bf");
          for (Map.Entry<String, List<String>> key : new java.util.TreeMap<>(LABEL_VALUES).entrySet()) {
            if (random.nextInt(10) < 7) {
              labels.put(key.getKey(), key.getValue().get(random.nextInt(key.getValue().size())));
            }
          }
          Fixture fixture = new Fixture(cluster, namespace, "cm-" + i, labels);
          fixtures.add(fixture);
          create(cluster, configMap(namespace, fixture.name(), labels));
        }
      }
    }
    Fleet.eventually(Duration.ofSeconds(30), () -> search(nodeB, "kind=configmaps&labelSelector=set%3Dbf&limit=1")
        .getLong("total") == fixtures.size(), "every fixture indexed");

    for (int round = 0; round < 40; round++) {
      List<String> terms = new ArrayList<>();
      List<java.util.function.Predicate<Map<String, String>>> checks = new ArrayList<>();
      int count = 1 + random.nextInt(3);
      for (int t = 0; t < count; t++) {
        List<String> keys = new ArrayList<>(new TreeSet<>(LABEL_VALUES.keySet()));
        String key = keys.get(random.nextInt(keys.size()));
        List<String> values = LABEL_VALUES.get(key);
        String a = values.get(random.nextInt(values.size()));
        String b = values.get(random.nextInt(values.size()));
        switch (random.nextInt(6)) {
          case 0 -> {
            terms.add(key + "=" + a);
            checks.add(l -> a.equals(l.get(key)));
          }
          case 1 -> {
            terms.add(key + "!=" + a);
            checks.add(l -> !a.equals(l.get(key)));
          }
          case 2 -> {
            terms.add(key + " in (" + a + "," + b + ")");
            checks.add(l -> a.equals(l.get(key)) || b.equals(l.get(key)));
          }
          case 3 -> {
            terms.add(key + " notin (" + a + "," + b + ")");
            checks.add(l -> !a.equals(l.get(key)) && !b.equals(l.get(key)));
          }
          case 4 -> {
            terms.add(key);
            checks.add(l -> l.containsKey(key));
          }
          default -> {
            terms.add("!" + key);
            checks.add(l -> !l.containsKey(key));
          }
        }
      }
      String selector = "set=bf," + String.join(",", terms);
      String namespace = random.nextBoolean() ? null : (random.nextBoolean() ? "bf-a" : "bf-b");
      Set<String> expected = fixtures.stream()
          .filter(f -> checks.stream().allMatch(c -> c.test(f.labels())))
          .filter(f -> namespace == null || namespace.equals(f.namespace()))
          .map(Fixture::key).collect(Collectors.toCollection(TreeSet::new));
      Map<String, Long> expectedCounts = fixtures.stream()
          .filter(f -> expected.contains(f.key()))
          .collect(Collectors.groupingBy(Fixture::cluster, Collectors.counting()));

      int pageSize = 1 + random.nextInt(25);
      String query = "labelSelector=" + encode(selector) + (namespace == null ? "" : "&namespace=" + namespace)
          + "&limit=" + pageSize + "&sort=" + (random.nextBoolean() ? "name" : "-cluster");
      Set<String> found = new TreeSet<>();
      String token = null;
      int pages = 0;
      io.vertx.core.json.JsonObject first = null;
      do {
        io.vertx.core.json.JsonObject page = fleet.call(random.nextBoolean() ? nodeA : nodeB, "GET",
            "/api/v1/resources/core/v1/configmaps?" + query + (token == null ? "" : "&continue=" + token),
            fleet.adminToken(), null).body().transform(io.vertx.core.json.JsonObject::new);
        first = first == null ? page : first;
        for (Object item : page.getJsonArray("items")) {
          io.vertx.core.json.JsonObject json = (io.vertx.core.json.JsonObject) item;
          assertTrue(found.add(json.getString("cluster") + "/" + json.getString("namespace") + "/"
              + json.getString("name")), "no item twice across pages: " + json);
        }
        token = page.getString("continue");
        assertTrue(++pages <= expected.size() / pageSize + 2, "paging ends");
      } while (token != null);
      assertEquals(expected, found, "selector " + selector + " in " + namespace);
      assertEquals(expected.size(), first.getLong("total"), "total for " + selector);
      for (String cluster : CLUSTERS) {
        io.vertx.core.json.JsonObject counted = first.getJsonObject("clusters").getJsonObject(cluster);
        assertEquals(expectedCounts.getOrDefault(cluster, 0L), counted == null ? 0L : counted.getLong("count"),
            "count of " + cluster + " for " + selector);
      }
    }

    // The search pages by key when every sort column is ascending text (the console's cluster,namespace,name;
    // none): each page starts after the last row of the one before, on either node, with nothing twice or left
    // out; any other sort pages by offset. A token of another sort is refused.
    Set<String> all = fixtures.stream().map(Fixture::key).collect(Collectors.toCollection(TreeSet::new));
    for (String sort : List.of("&sort=cluster,namespace,name", "", "&sort=name", "&sort=-name")) {
      List<String> seen = new ArrayList<>();
      String token = null;
      do {
        io.vertx.core.json.JsonObject page = search(seen.size() % 2 == 0 ? nodeA : nodeB,
            "kind=configmaps&labelSelector=set%3Dbf&limit=7" + sort + (token == null ? "" : "&continue=" + token));
        page.getJsonArray("items").forEach(item -> {
          io.vertx.core.json.JsonObject json = (io.vertx.core.json.JsonObject) item;
          seen.add(json.getString("cluster") + "/" + json.getString("namespace") + "/" + json.getString("name"));
        });
        assertEquals(fixtures.size(), page.getLong("total"), "every page counts the whole result");
        token = page.getString("continue");
        if (token != null) {
          String text = new String(java.util.Base64.getUrlDecoder().decode(token), java.nio.charset.StandardCharsets.UTF_8);
          assertTrue(text.startsWith(sort.equals("&sort=-name") ? "o:" : "k:"), sort + ": " + text);
        }
        assertTrue(seen.size() <= fixtures.size(), "paging ends: " + seen.size());
      } while (token != null);
      assertEquals(fixtures.size(), seen.size(), sort + ": nothing twice");
      assertEquals(all, new TreeSet<>(seen), sort + ": nothing left out");
    }
    String keyed = search(nodeA, "kind=configmaps&labelSelector=set%3Dbf&limit=7&sort=name").getString("continue");
    assertEquals(400, fleet.call(nodeA, "GET", "/api/v1/search?kind=configmaps&labelSelector=set%3Dbf&limit=7"
        + "&sort=cluster,name&continue=" + keyed, fleet.adminToken(), null).statusCode(), "a token of another sort");

    // Cluster names and a cluster label selector narrow the clusters.
    io.vertx.core.json.JsonObject two = search(nodeA, "kind=configmaps&labelSelector=set%3Dbf&cluster=prod,edge&limit=1");
    assertEquals(fixtures.stream().filter(f -> !f.cluster().equals("staging")).count(), two.getLong("total"));
    assertEquals(0, search(nodeA, "kind=configmaps&labelSelector=set%3Dbf&clusterSelector=env%3Dnone").getLong("total"));
    assertEquals(fixtures.size(), search(nodeA, "kind=configmaps&labelSelector=set%3Dbf&clusterSelector=env%3Dtest&limit=1")
        .getLong("total"));
    // Name filters.
    assertEquals(3 * 2, search(nodeA, "kind=configmaps&labelSelector=set%3Dbf&name=cm-7").getLong("total"));
    assertEquals(3 * 2 * 11, search(nodeA, "kind=configmaps&labelSelector=set%3Dbf&namePrefix=cm-1").getLong("total"),
        "cm-1 and cm-10 to cm-19");
    assertEquals(400, fleet.call(nodeA, "GET", "/api/v1/search?labelSelector=" + encode("a in (b"), fleet.adminToken(),
        null).statusCode(), "a bad selector is the caller's error");
    assertEquals(400, fleet.call(nodeA, "GET", "/api/v1/search?sort=secret", fleet.adminToken(), null).statusCode());
  }

  // ---- freshness, resync, CRDs --------------------------------------------------------------------

  @Test
  void aChangeIsSearchableWithinTwoSeconds() {
    create("prod", namespace("fresh", "fresh"));
    long started = System.nanoTime();
    create("prod", configMap("fresh", "quick", Map.of("fresh", "one")));
    Fleet.eventually(Duration.ofSeconds(10), () -> search(nodeB, "labelSelector=fresh%3Done").getLong("total") == 1,
        "the new object searchable");
    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    assertTrue(millis <= 2000, "searchable after " + millis + " ms");

    started = System.nanoTime();
    relabel("prod", "fresh", "quick", Map.of("fresh", "two"));
    Fleet.eventually(Duration.ofSeconds(10), () -> search(nodeB, "labelSelector=fresh%3Dtwo").getLong("total") == 1
        && search(nodeB, "labelSelector=fresh%3Done").getLong("total") == 0, "the change searchable");
    millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    assertTrue(millis <= 2000, "change searchable after " + millis + " ms");

    delete("prod", "v1", "configmaps", "fresh", "quick");
    Fleet.eventually(Duration.ofSeconds(5), () -> search(nodeB, "labelSelector=fresh").getLong("total") == 0,
        "the deletion searchable");
  }

  /**
   * Objects created, changed and deleted while the agent was away are right once it is back (the
   * deletions included: the agent relists and the hub drops what the relist did not name); meanwhile
   * the cluster's items are answered from the index, marked stale, and fast.
   */
  @Test
  void resyncAfterTheAgentWasOffline() {
    create("edge", namespace("away", "away"));
    create("edge", configMap("away", "kept", Map.of("away", "yes")));
    create("edge", configMap("away", "changed", Map.of("away", "yes", "v", "1")));
    create("edge", configMap("away", "deleted", Map.of("away", "yes")));
    Fleet.eventually(Duration.ofSeconds(10), () -> search(nodeA, "labelSelector=away").getLong("total") == 3,
        "the three indexed");

    fleet.stopAgent("edge");
    fleet.awaitDisconnected(nodeA, "edge");
    create("edge", configMap("away", "created", Map.of("away", "yes")));
    relabel("edge", "away", "changed", Map.of("away", "yes", "v", "2"));
    delete("edge", "v1", "configmaps", "away", "deleted");

    long started = System.nanoTime();
    io.vertx.core.json.JsonObject stale = search(nodeB, "labelSelector=away");
    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    assertTrue(millis < 1000, "an offline cluster does not slow the answer: " + millis + " ms");
    assertEquals(3, stale.getLong("total"), "the last known state, until the agent is back");
    for (Object item : stale.getJsonArray("items")) {
      io.vertx.core.json.JsonObject json = (io.vertx.core.json.JsonObject) item;
      assertTrue(json.getBoolean("stale"), json.encode());
      assertNotNull(json.getString("lastSync"), json.encode());
    }
    assertTrue(stale.getJsonObject("clusters").getJsonObject("edge").getBoolean("stale"));

    // Whole objects of a kind the agent keeps are answered from the index while it is away.
    HttpResponse<String> kept = fleet.call(nodeB, "GET", "/k8s/fleet/api/v1/namespaces/away/configmaps/kept",
        fleet.adminToken(), null);
    assertEquals(200, kept.statusCode(), kept.body());
    io.vertx.core.json.JsonObject keptObject = new io.vertx.core.json.JsonObject(kept.body());
    assertEquals("value", keptObject.getJsonObject("data").getString("setting"), kept.body());
    assertEquals("true", keptObject.getJsonObject("metadata").getJsonObject("annotations").getString("kmc.io/stale"));
    assertEquals("edge", keptObject.getJsonObject("metadata").getJsonObject("annotations").getString("kmc.io/cluster"));

    startEdgeAgent();
    fleet.awaitConnected(nodeB, "edge");
    Fleet.eventually(Duration.ofSeconds(20), () -> {
      io.vertx.core.json.JsonObject now = search(nodeB, "labelSelector=away&sort=name");
      Set<String> names = names(now);
      return names.equals(Set.of("changed", "created", "kept"))
          && search(nodeB, "labelSelector=away,v%3D2").getLong("total") == 1
          && !now.getJsonArray("items").getJsonObject(0).getBoolean("stale");
    }, "the index current again after the resync");
  }

  /**
   * A connection lost while the agent keeps running: on reconnecting, the hub hands back the
   * watermarks it holds and the agent sends only what changed meanwhile (deletions included), not a
   * relist of every object.
   */
  @Test
  void aReconnectingAgentSendsOnlyWhatTheHubMissed() {
    create(LAB, namespace("resume", "resume"));
    for (int i = 0; i < 30; i++) {
      create(LAB, configMap("resume", "cm-" + i, Map.of("resume", "yes")));
    }
    Fleet.eventually(Duration.ofSeconds(20), () -> search(nodeA, "labelSelector=resume").getLong("total") == 30,
        "the lab's objects indexed");
    Fleet.eventually(Duration.ofSeconds(10), () -> metric(nodeB, "kmc_index_objects_written_total", LAB) >= 30,
        "the writes counted");
    double before = metric(nodeB, "kmc_index_objects_written_total", LAB);

    labLink.swallow();
    fleet.awaitDisconnected(nodeA, LAB);
    create(LAB, configMap("resume", "new", Map.of("resume", "yes")));
    relabel(LAB, "resume", "cm-1", Map.of("resume", "changed"));
    delete(LAB, "v1", "configmaps", "resume", "cm-2");
    labLink.relay();
    fleet.awaitConnected(nodeA, LAB);

    Fleet.eventually(Duration.ofSeconds(20), () -> {
      Set<String> names = names(search(nodeA, "labelSelector=resume%3Dyes&limit=100"));
      return names.size() == 29 && names.contains("new") && !names.contains("cm-1") && !names.contains("cm-2")
          && search(nodeA, "labelSelector=resume%3Dchanged").getLong("total") == 1;
    }, "the index current after the reconnect");
    double written = metric(nodeB, "kmc_index_objects_written_total", LAB) - before;
    assertTrue(written >= 3 && written < 20, "only what changed was sent again, not a relist: " + written + " objects");
  }

  @Test
  void aCustomResourceDefinedAtRunTimeBecomesSearchable() {
    JsonObject crd = JsonParser.parseString("""
        {"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
         "metadata":{"name":"widgets.example.com"},
         "spec":{"group":"example.com","scope":"Namespaced",
           "names":{"plural":"widgets","singular":"widget","kind":"Widget"},
           "versions":[{"name":"v1","served":true,"storage":true,
             "schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}
        """).getAsJsonObject();
    create("staging", crd);
    Fleet.eventually(Duration.ofSeconds(20), () -> {
      try {
        create("staging", JsonParser.parseString("""
            {"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"gizmo","namespace":"default",
             "labels":{"shape":"round"}},"spec":{"size":3}}""").getAsJsonObject());
        return true;
      } catch (AssertionError e) {
        return false;
      }
    }, "the CRD served");
    Fleet.eventually(Duration.ofSeconds(20), () -> {
      io.vertx.core.json.JsonObject found = fleet.call(nodeA, "GET",
          "/api/v1/resources/example.com/v1/widgets?labelSelector=shape%3Dround", fleet.adminToken(), null)
          .body().transform(io.vertx.core.json.JsonObject::new);
      return found.getLong("total", 0L) == 1
          && "Widget".equals(found.getJsonArray("items").getJsonObject(0).getString("kind"));
    }, "the custom resource searchable");
  }

  // ---- RBAC -----------------------------------------------------------------------------------------

  @Test
  void rbacFiltersSearchListsAndTheFleetViewInTheQuery() {
    create("prod", namespace("shop", "shop"));
    for (String cluster : CLUSTERS) {
      create(cluster, deployment("default", "rbac-web", "rbac"));
    }
    create("prod", deployment("shop", "rbac-web", "rbac"));
    create("prod", configMap("shop", "rbac-config", Map.of("rbac", "yes")));
    Fleet.eventually(Duration.ofSeconds(20), () -> search(nodeA, "kind=deployments&labelSelector=app%3Drbac")
        .getLong("total") == 4 && search(nodeA, "labelSelector=rbac").getLong("total") == 1, "all indexed");

    String developer = user("fleet-dev", "developer", "staging/*");
    String operator = user("fleet-op", "operator", "prod/shop");
    String nobody = user("fleet-nobody", null, null);

    io.vertx.core.json.JsonObject dev = search(nodeB, "kind=deployments&labelSelector=app%3Drbac&limit=1", developer);
    assertEquals(1, dev.getLong("total"), dev.encode());
    assertEquals(Set.of("staging"), dev.getJsonObject("clusters").fieldNames());
    assertEquals(0, search(nodeB, "labelSelector=rbac", developer).getLong("total"), "developers read no configmaps");

    io.vertx.core.json.JsonObject op = search(nodeA, "kind=deployments&labelSelector=app%3Drbac", operator);
    assertEquals(1, op.getLong("total"), op.encode());
    assertEquals("shop", op.getJsonArray("items").getJsonObject(0).getString("namespace"));
    assertEquals("prod", op.getJsonArray("items").getJsonObject(0).getString("cluster"));

    assertEquals(0, search(nodeA, "labelSelector=app%3Drbac", nobody).getLong("total"));

    HttpResponse<String> fleetView = fleet.call(nodeA, "GET",
        "/k8s/fleet/apis/apps/v1/deployments?labelSelector=app%3Drbac", operator, null);
    assertEquals(200, fleetView.statusCode(), fleetView.body());
    JsonArray items = new io.vertx.core.json.JsonObject(fleetView.body()).getJsonArray("items");
    assertEquals(1, items.size(), fleetView.body());
    assertEquals("prod", items.getJsonObject(0).getJsonObject("metadata").getJsonObject("annotations")
        .getString("kmc.io/cluster"));

    io.vertx.core.json.JsonObject counts = fleet.call(nodeA, "GET", "/api/v1/resources/counts", developer, null)
        .body().transform(io.vertx.core.json.JsonObject::new);
    assertEquals(Set.of("staging"), counts.getJsonObject("clusters").fieldNames(), counts.encode());
    assertFalse(counts.getJsonObject("clusters").getJsonObject("staging").getJsonObject("kinds")
        .containsKey("configmaps"), counts.encode());
  }

  // ---- kubectl --context fleet ------------------------------------------------------------------------

  @Test
  void kubectlListsTheFleetWithAClusterColumn() throws Exception {
    for (String cluster : CLUSTERS) {
      create(cluster, deployment("default", "web-" + cluster, "web"));
    }
    create("prod", deployment("default", "not-web", "api"));
    Fleet.eventually(Duration.ofSeconds(20), () -> search(nodeA, "kind=deployments&labelSelector=app%3Dweb")
        .getLong("total") == 3, "the deployments indexed");

    HttpResponse<String> response = fleet.api(nodeA, "/api/v1/clusters/prod/kubeconfig");
    assertEquals(200, response.statusCode(), response.body());
    assertTrue(response.body().contains("name: fleet"), response.body());
    Path kubeconfig = fleet.workDir().resolve("fleet.kubeconfig");
    Files.writeString(kubeconfig, response.body());
    List<Path> binaries = Kubectl.available();
    assertFalse(binaries.isEmpty(), "no kubectl found; CI installs it with: apt-get install -y kubernetes-client");
    for (Path binary : binaries) {
      Kubectl kubectl = new Kubectl(binary, kubeconfig, Files.createTempDirectory(fleet.workDir(), "kubectl"));
      String table = kubectl.ok("--context", "fleet", "get", "deployments", "-A", "-l", "app=web");
      List<String> lines = table.lines().toList();
      assertTrue(lines.get(0).matches("NAMESPACE\\s+CLUSTER\\s+NAME\\s+READY\\s+AGE\\s*"), binary + ":\n" + table);
      for (String cluster : CLUSTERS) {
        assertTrue(lines.stream().anyMatch(line -> line.matches("default\\s+" + cluster + "\\s+web-" + cluster + "\\s.*")),
            binary + ":\n" + table);
      }
      assertEquals(4, lines.size(), binary + ":\n" + table);

      String json = kubectl.ok("--context", "fleet", "get", "deployments", "-A", "-l", "app=web", "-o", "json");
      io.vertx.core.json.JsonObject list = new io.vertx.core.json.JsonObject(json);
      Set<String> clusters = new HashSet<>();
      for (Object item : list.getJsonArray("items")) {
        clusters.add(((io.vertx.core.json.JsonObject) item).getJsonObject("metadata").getJsonObject("annotations")
            .getString("kmc.io/cluster"));
      }
      assertEquals(Set.copyOf(CLUSTERS), clusters, json);

      String one = kubectl.ok("--context", "fleet", "-n", "default", "get", "deployment", "web-edge", "-o",
          "jsonpath={.metadata.annotations.kmc\\.io/cluster}");
      assertEquals("edge", one.trim());
      // A get by name is the whole object, from the agent's informer cache: the spec is there.
      String image = kubectl.ok("--context", "fleet", "-n", "default", "get", "deployment", "web-edge", "-o",
          "jsonpath={.spec.template.spec.containers[0].image}");
      assertEquals("nginx", image.trim());

      // get -w: listed, then what changes in any cluster streams from the index.
      String late = "late-" + Math.abs(binary.hashCode() % 1000);
      create("prod", deployment("default", late + "-a", late));
      Process watch = kubectl.start("--context", "fleet", "get", "deployments", "-A", "-l", "app=" + late, "-w");
      try {
        Fleet.eventually(Duration.ofSeconds(20), () -> kubectl.output(watch).contains(late + "-a"), "listed");
        // At once, while kubectl may not have opened its watch yet: it watches from the list's resourceVersion.
        create("edge", deployment("default", late + "-b", late));
        String watched = kubectl.readUntil(watch, output -> output.contains(late + "-b"), 20);
        assertTrue(watched.lines().anyMatch(line -> line.matches("default\\s+edge\\s+" + late + "-b\\s.*")),
            binary + ":\n" + watched);
      } finally {
        watch.destroy();
      }

      Kubectl.Result refused = kubectl.run("--context", "fleet", "-n", "default", "delete", "deployment", "web-prod");
      assertTrue(refused.exitCode() != 0 && refused.output().contains("read-only")
          && refused.output().contains("--context"), refused.output());
    }
  }

  /**
   * Fleet watch events carry the fleet's resourceVersion: a watch from a list's misses nothing changed
   * since the list, a watch from an event's gets what came after that event and not the event again,
   * and a resourceVersion that is not the fleet's is 410 Gone (list again), as client-java and kubectl
   * expect.
   */
  @Test
  void aFleetWatchResumesFromItsResourceVersion() {
    create("prod", namespace("rv", "rv"));
    create("staging", namespace("rv", "rv"));
    String base = "/k8s/fleet/api/v1/namespaces/rv/configmaps?labelSelector=fleetwatch%3Dyes";
    HttpResponse<String> list = fleet.call(nodeA, "GET", base, fleet.adminToken(), null);
    assertEquals(200, list.statusCode(), list.body());
    String listed = new io.vertx.core.json.JsonObject(list.body()).getJsonObject("metadata").getString("resourceVersion");
    assertFalse(listed.isEmpty(), list.body());

    create("prod", configMap("rv", "first", Map.of("fleetwatch", "yes")));
    create("staging", configMap("rv", "second", Map.of("fleetwatch", "yes")));
    create("staging", configMap("rv", "unselected", Map.of("fleetwatch", "no")));
    Fleet.eventually(Duration.ofSeconds(20), () -> search(nodeA, "namespace=rv&labelSelector=fleetwatch").getLong("total") == 3,
        "the three indexed");

    // From the list's resourceVersion, through the other node: both changes since the list, in each cluster's order.
    List<io.vertx.core.json.JsonObject> fromList = watch(nodeB, base + "&resourceVersion=" + encode(listed));
    assertEquals(List.of("ADDED first", "ADDED second"), fromList.stream().map(e -> e.getString("type") + " "
        + e.getJsonObject("object").getJsonObject("metadata").getString("name")).sorted().toList(), fromList.toString());
    io.vertx.core.json.JsonObject firstEvent = fromList.stream().filter(e -> e.getJsonObject("object")
        .getJsonObject("metadata").getString("name").equals("first")).findFirst().orElseThrow();
    io.vertx.core.json.JsonObject metadata = firstEvent.getJsonObject("object").getJsonObject("metadata");
    assertEquals("prod", metadata.getJsonObject("annotations").getString("kmc.io/cluster"));
    assertNotNull(metadata.getJsonObject("annotations").getString("kmc.io/resource-version"), metadata.encode());

    // From the first event's resourceVersion: the second only.
    List<io.vertx.core.json.JsonObject> fromEvent = watch(nodeA, base + "&resourceVersion="
        + encode(metadata.getString("resourceVersion")));
    assertEquals(List.of("second"), fromEvent.stream().map(e -> e.getJsonObject("object").getJsonObject("metadata")
        .getString("name")).toList(), fromEvent.toString());

    // A change of labels that leaves the selection is a DELETED, from the last event's resourceVersion on.
    String last = fromEvent.get(0).getJsonObject("object").getJsonObject("metadata").getString("resourceVersion");
    relabel("staging", "rv", "second", Map.of("fleetwatch", "no"));
    Fleet.eventually(Duration.ofSeconds(20), () -> search(nodeA, "namespace=rv&labelSelector=fleetwatch%3Dyes")
        .getLong("total") == 1, "the relabel indexed");
    List<io.vertx.core.json.JsonObject> afterRelabel = watch(nodeB, base + "&resourceVersion=" + encode(last));
    assertEquals(List.of("DELETED second"), afterRelabel.stream().map(e -> e.getString("type") + " "
        + e.getJsonObject("object").getJsonObject("metadata").getString("name")).toList(), afterRelabel.toString());

    HttpResponse<String> foreign = fleet.call(nodeA, "GET", base + "&watch=true&resourceVersion=12345",
        fleet.adminToken(), null);
    assertEquals(410, foreign.statusCode(), foreign.body());
    io.vertx.core.json.JsonObject status = new io.vertx.core.json.JsonObject(foreign.body());
    assertEquals("Status", status.getString("kind"), foreign.body());
    assertEquals("Expired", status.getString("reason"), foreign.body());
  }

  /** The events of a fleet watch that ends after two seconds. */
  private static List<io.vertx.core.json.JsonObject> watch(Hub via, String path) {
    HttpResponse<String> watched = fleet.call(via, "GET", path + "&watch=true&timeoutSeconds=2", fleet.adminToken(), null);
    assertEquals(200, watched.statusCode(), watched.body());
    return watched.body().lines().filter(line -> !line.isBlank()).map(io.vertx.core.json.JsonObject::new).toList();
  }

  private static double metric(Hub hub, String name, String cluster) {
    try {
      String exposition = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
              java.net.URI.create("http://127.0.0.1:" + hub.managementPort() + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      String prefix = name + "{cluster=\"" + cluster + "\"";
      return exposition.lines().filter(line -> line.startsWith(prefix))
          .mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1))).sum();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  // ---- helpers ------------------------------------------------------------------------------------------

  private static io.vertx.core.json.JsonObject search(Hub via, String query) {
    return search(via, query, fleet.adminToken());
  }

  private static io.vertx.core.json.JsonObject search(Hub via, String query, String token) {
    HttpResponse<String> response = fleet.call(via, "GET", "/api/v1/search?" + query, token, null);
    assertEquals(200, response.statusCode(), response.body());
    return new io.vertx.core.json.JsonObject(response.body());
  }

  private static Set<String> names(io.vertx.core.json.JsonObject page) {
    Set<String> names = new TreeSet<>();
    page.getJsonArray("items").forEach(item -> names.add(((io.vertx.core.json.JsonObject) item).getString("name")));
    return names;
  }

  private static String user(String name, String role, String domain) {
    HttpResponse<String> created = fleet.call(nodeA, "POST", "/api/v1/users", fleet.adminToken(),
        new io.vertx.core.json.JsonObject().put("name", name).put("password", name + "-password-123"));
    assertEquals(201, created.statusCode(), created.body());
    if (role != null) {
      HttpResponse<String> bound = fleet.call(nodeA, "POST", "/api/v1/rbac/bindings", fleet.adminToken(),
          new io.vertx.core.json.JsonObject().put("subject", name).put("role", role).put("domain", domain));
      assertEquals(201, bound.statusCode(), bound.body());
    }
    return fleet.login(nodeB, name, name + "-password-123");
  }

  private static String encode(String text) {
    return URLEncoder.encode(text, StandardCharsets.UTF_8);
  }

  private static JsonObject namespace(String purpose, String name) {
    return JsonParser.parseString("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"" + name
        + "\"}}").getAsJsonObject();
  }

  private static JsonObject configMap(String namespace, String name, Map<String, String> labels) {
    JsonObject metadata = new JsonObject();
    metadata.addProperty("name", name);
    metadata.addProperty("namespace", namespace);
    JsonObject labelObject = new JsonObject();
    labels.forEach(labelObject::addProperty);
    metadata.add("labels", labelObject);
    JsonObject object = new JsonObject();
    object.addProperty("apiVersion", "v1");
    object.addProperty("kind", "ConfigMap");
    object.add("metadata", metadata);
    JsonObject data = new JsonObject();
    data.addProperty("setting", "value");
    object.add("data", data);
    return object;
  }

  private static JsonObject deployment(String namespace, String name, String app) {
    return JsonParser.parseString("""
        {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"%s","namespace":"%s","labels":{"app":"%s"}},
         "spec":{"replicas":1,"selector":{"matchLabels":{"app":"%s"}},
           "template":{"metadata":{"labels":{"app":"%s"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}"""
        .formatted(name, namespace, app, app, app)).getAsJsonObject();
  }

  /** Creates an object in the cluster directly (not through the hub), as someone working in the cluster would. */
  private static void create(String cluster, JsonObject object) {
    DynamicKubernetesApi api = api(cluster, object);
    KubernetesApiResponse<DynamicKubernetesObject> created = api.create(new DynamicKubernetesObject(object));
    if (!created.isSuccess() && created.getHttpStatusCode() != 409) {
      throw new AssertionError("create in " + cluster + ": " + created.getHttpStatusCode() + " " + created.getStatus());
    }
  }

  private static void relabel(String cluster, String namespace, String name, Map<String, String> labels) {
    DynamicKubernetesApi api = new DynamicKubernetesApi("", "v1", "configmaps", direct.get(cluster));
    DynamicKubernetesObject current = api.get(namespace, name).getObject();
    JsonObject labelObject = new JsonObject();
    labels.forEach(labelObject::addProperty);
    current.getRaw().getAsJsonObject("metadata").add("labels", labelObject);
    KubernetesApiResponse<DynamicKubernetesObject> updated = api.update(current);
    assertTrue(updated.isSuccess(), "update: " + updated.getHttpStatusCode());
  }

  private static void delete(String cluster, String version, String plural, String namespace, String name) {
    KubernetesApiResponse<DynamicKubernetesObject> deleted =
        new DynamicKubernetesApi("", version, plural, direct.get(cluster)).delete(namespace, name);
    assertTrue(deleted.isSuccess(), "delete: " + deleted.getHttpStatusCode());
  }

  private static DynamicKubernetesApi api(String cluster, JsonObject object) {
    String apiVersion = object.get("apiVersion").getAsString();
    String kind = object.get("kind").getAsString();
    int slash = apiVersion.indexOf('/');
    String group = slash < 0 ? "" : apiVersion.substring(0, slash);
    String version = slash < 0 ? apiVersion : apiVersion.substring(slash + 1);
    String plural = switch (kind) {
      case "Namespace" -> "namespaces";
      case "ConfigMap" -> "configmaps";
      case "Deployment" -> "deployments";
      case "CustomResourceDefinition" -> "customresourcedefinitions";
      case "Widget" -> "widgets";
      default -> throw new IllegalArgumentException(kind);
    };
    return new DynamicKubernetesApi(group, version, plural, direct.get(cluster));
  }
}
