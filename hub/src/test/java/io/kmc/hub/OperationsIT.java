package io.kmc.hub;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import io.kmc.agent.Agent;
import io.kmc.hub.support.Fleet;
import io.kmc.hub.support.TestInfra;
import io.kmc.ops.Logging;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What an SRE relies on: metrics that count true, readiness that follows the dependencies, clean shutdowns, safe logs. */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class OperationsIT {

  private final HttpClient http = HttpClient.newHttpClient();
  private Fleet fleet;

  @AfterEach
  void stop() {
    if (fleet != null) {
      fleet.close();
    }
  }

  @Test
  void metricsCountTheTrafficThatWentThrough() {
    fleet = new Fleet().hubSettings(Map.of("KMC_METRICS_RESOURCE_COUNT_INTERVAL", "1s"));
    fleet.cluster("prod");
    List<Hub> hubs = fleet.hubs(2);
    Hub nodeA = hubs.get(0);
    Hub nodeB = hubs.get(1);
    fleet.agent("prod", nodeB);
    fleet.awaitConnected(nodeA, "prod");
    for (int i = 0; i < 5; i++) {
      assertEquals(200, fleet.call(nodeA, "GET", "/k8s/clusters/prod/api/v1/namespaces", fleet.adminToken(), null)
          .statusCode());
    }
    assertEquals(404, fleet.call(nodeA, "GET", "/k8s/clusters/prod/api/v1/namespaces/none", fleet.adminToken(), null)
        .statusCode());

    String ok = "method=\"GET\",route=\"/k8s/clusters/:cluster/*\",status=\"200\"";
    String missing = "method=\"GET\",route=\"/k8s/clusters/:cluster/*\",status=\"404\"";
    // A request is counted once its response has gone out, which the client may see first.
    Fleet.eventually(Duration.ofSeconds(10), () -> value(scrape(nodeA), "kmc_api_requests_seconds_count", ok) >= 5.0
        && value(scrape(nodeA), "kmc_api_requests_seconds_count", missing) >= 1.0, "the requests counted on node A");
    String a = scrape(nodeA);
    assertEquals(5.0, value(a, "kmc_api_requests_seconds_count", ok));
    assertEquals(1.0, value(a, "kmc_api_requests_seconds_count", missing));
    assertEquals(0.0, value(a, "kmc_agent_sessions", ""));
    String b = scrape(nodeB);
    assertEquals(1.0, value(b, "kmc_agent_sessions", ""));
    assertEquals(1.0, value(b, "kmc_agent_connects_total", "cluster=\"prod\""));
    // One histogram for the node, not one per cluster (metrics.per_cluster_detail is off by default).
    assertTrue(value(b, "kmc_tunnel_requests_seconds_count", "") >= 6.0);
    assertFalse(b.contains("kmc_tunnel_requests_seconds_count{cluster="), "no per-cluster tunnel histogram");
    assertTrue(a.contains("jvm_memory_used_bytes") && a.contains("vertx_eventbus"), "JVM and event-bus metrics too");
    Fleet.eventually(Duration.ofSeconds(15), () -> value(scrape(nodeA), "kmc_cluster_up", "cluster=\"prod\"") == 1.0,
        "cluster up on the node that does not hold the agent");
    // The seeded cluster has default, kube-system, kube-public and kube-node-lease.
    // One gauge per kind summing the node's clusters (per cluster only with metrics.per_cluster_detail).
    Fleet.eventually(Duration.ofSeconds(10), () -> value(scrape(nodeB), "kmc_cluster_resources",
        "kind=\"namespaces\"") == 4.0, "namespaces counted by the node holding the agent");
    assertFalse(scrape(nodeB).contains("kmc_cluster_resources{cluster="), "no resource counts per cluster");
    assertEquals(0.0, value(scrape(nodeA), "kmc_cluster_resources", "kind=\"namespaces\""),
        "only the node holding the agent counts");

    fleet.stopAgent("prod");
    Fleet.eventually(Duration.ofSeconds(15), () -> value(scrape(nodeA), "kmc_cluster_up", "cluster=\"prod\"") == 0.0,
        "cluster down once its agent is gone");
    assertEquals(1.0, value(scrape(nodeB), "kmc_agent_disconnects_total", ""));
    assertTrue(value(scrape(nodeA), "kmc_cluster_last_seen_timestamp_seconds", "cluster=\"prod\"") > 0,
        "when the cluster was last heard from, kept after its agent went");
  }

  @Test
  void readinessFollowsRedisAndRecovers() throws Exception {
    fleet = new Fleet();
    Hub hub = fleet.hubs(1).get(0);
    assertEquals(200, ready(hub).statusCode());
    TestInfra.stopRedisForAWhile();
    try {
      Fleet.eventually(Duration.ofSeconds(10), () -> ready(hub).statusCode() == 503, "not ready without Redis");
      JsonObject checks = new JsonObject(ready(hub).body()).getJsonObject("checks");
      assertFalse(checks.getJsonObject("redis").getBoolean("ok"));
      assertTrue(checks.getJsonObject("database").getBoolean("ok"));
    } finally {
      TestInfra.restartRedis();
    }
    Fleet.eventually(Duration.ofSeconds(20), () -> ready(hub).statusCode() == 200, "ready again with Redis back");
  }

  @Test
  void readinessFollowsPostgresAndRecovers(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    int port = Fleet.freePort();
    var postgres = io.zonky.test.db.postgres.embedded.EmbeddedPostgres.builder().setDataDirectory(dir.resolve("pg"))
        .setCleanDataDirectory(false).setPort(port).start();
    Hub hub = Fleet.await(Hub.start(Fleet.hubConfig("""
        data: {dir: %s}
        server: {host: 127.0.0.1, port: 0, tls: {mode: off}}
        metrics: {host: 127.0.0.1, port: 0}
        database: {host: 127.0.0.1, port: %d, name: postgres, user: postgres}
        """.formatted(dir, port), Map.of())));
    try {
      assertEquals(200, ready(hub).statusCode());
      postgres.close();
      Fleet.eventually(Duration.ofSeconds(15), () -> ready(hub).statusCode() == 503, "not ready without PostgreSQL");
      assertFalse(new JsonObject(ready(hub).body()).getJsonObject("checks").getJsonObject("database").getBoolean("ok"));
      postgres = io.zonky.test.db.postgres.embedded.EmbeddedPostgres.builder().setDataDirectory(dir.resolve("pg"))
          .setCleanDataDirectory(false).setPort(port).start();
      Fleet.eventually(Duration.ofSeconds(30), () -> ready(hub).statusCode() == 200, "ready again with PostgreSQL back");
    } finally {
      Fleet.await(hub.close());
      postgres.close();
    }
  }

  @Test
  void aNodeShuttingDownUnderLoadHandsItsAgentOverWithoutAWrongAnswer() throws Exception {
    // Four clients in a tight loop send well over auth.requests_per_minute's default 1,200 in the test's
    // few seconds; the caller's rate limit is not what is tested here.
    fleet = new Fleet().hubSettings(Map.of("KMC_AUTH_REQUESTS_PER_MINUTE", "1000000"));
    fleet.cluster("prod");
    List<Hub> hubs = fleet.hubs(2);
    Hub nodeA = hubs.get(0);
    Hub nodeB = hubs.get(1);
    Agent agent = fleet.agent("prod", nodeB, nodeA);
    fleet.awaitConnected(nodeA, "prod");
    assertEquals(201, fleet.call(nodeA, "POST", "/k8s/clusters/prod/api/v1/namespaces/default/configmaps",
        fleet.adminToken(), new JsonObject().put("metadata", new JsonObject().put("name", "steady"))
            .put("data", new JsonObject().put("answer", "42"))).statusCode());

    AtomicBoolean running = new AtomicBoolean(true);
    ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
    int[] answered = new int[4];
    List<Thread> clients = new java.util.ArrayList<>();
    for (int c = 0; c < 4; c++) {
      int index = c;
      Thread client = new Thread(() -> {
        while (running.get()) {
          HttpResponse<String> response = fleet.call(nodeA, "GET",
              "/k8s/clusters/prod/api/v1/namespaces/default/configmaps/steady", fleet.adminToken(), null);
          if (response.statusCode() != 200
              || !"42".equals(new JsonObject(response.body()).getJsonObject("data").getString("answer"))) {
            wrong.add(response.statusCode() + " " + response.body());
          }
          answered[index]++;
        }
      });
      clients.add(client);
      client.start();
    }
    Thread.sleep(500);
    fleet.stopHub(nodeB); // what HubMain does on SIGTERM
    Fleet.eventually(Duration.ofSeconds(15), () -> agent.connected() && agent.connectedTo().getPort() == nodeA.port(),
        "agent moved to node A");
    Thread.sleep(500);
    running.set(false);
    for (Thread client : clients) {
      client.join(10_000);
    }
    int total = java.util.Arrays.stream(answered).sum();
    assertTrue(total > 20, "the clients kept going: " + total);
    assertTrue(wrong.isEmpty(), wrong.size() + " of " + total + " requests got a wrong answer: " + wrong.stream().limit(3).toList());
  }

  @Test
  void logsCarryRequestFieldsButNeverPasswordsOrTokens() {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    JsonEncoder encoder = Logging.jsonEncoder(context);
    OutputStreamAppender<ILoggingEvent> appender = new OutputStreamAppender<>();
    appender.setContext(context);
    appender.setEncoder(encoder);
    appender.setOutputStream(captured);
    appender.start();
    Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    Logger kmc = context.getLogger("io.kmc");
    Level before = kmc.getLevel();
    root.addAppender(appender);
    kmc.setLevel(Level.DEBUG);
    try {
      fleet = new Fleet().hubSettings(Map.of("KMC_SERVER_ACCESS_LOG", "true"));
      fleet.cluster("prod");
      Hub hub = fleet.hubs(1).get(0);
      fleet.agent("prod", hub);
      fleet.awaitConnected(hub, "prod");
      String password = "kate-very-secret-password";
      fleet.call(hub, "POST", "/api/v1/users", fleet.adminToken(), new JsonObject().put("name", "kate").put("password", password));
      String access = fleet.login(hub, "kate", password);
      fleet.call(hub, "POST", "/api/v1/auth/login", null, new JsonObject().put("username", "kate").put("password", "wrong-" + password));
      String apiToken = fleet.apiToken(hub, access, "kate-ci");
      String requestId = fleet.call(hub, "GET", "/k8s/clusters/prod/api/v1/secrets", apiToken, null)
          .headers().firstValue("X-Request-Id").orElseThrow();
      fleet.call(hub, "GET", "/api/v1/auth/whoami", apiToken + "tampered", null);
      JsonObject registered = new JsonObject(fleet.call(hub, "POST", "/api/v1/clusters", fleet.adminToken(),
          new JsonObject().put("name", "fresh")).body());
      String joinToken = registered.getString("token");
      fleet.call(hub, "POST", "/api/v1/clusters/prod/token", fleet.adminToken(), null);
      fleet.awaitDisconnected(hub, "prod");

      String logs = captured.toString(StandardCharsets.UTF_8);
      assertTrue(logs.contains("cluster prod connected"), "the capture works: " + logs.length() + " bytes");
      for (String secret : List.of(password, access, apiToken, joinToken, fleet.joinToken("prod"), fleet.adminToken(),
          Fleet.ADMIN_PASSWORD)) {
        assertFalse(logs.contains(secret), "a secret is in the logs: " + secret.substring(0, 6) + "…");
      }
      Map<String, Object> logged = logs.lines().map(JsonObject::new)
          .filter(line -> "io.kmc.hub.access".equals(line.getString("loggerName")))
          .map(OperationsIT::fields).filter(fields -> requestId.equals(fields.get("requestId")))
          .findFirst().orElseThrow(() -> new AssertionError("no access log line for request " + requestId));
      assertEquals("kate", logged.get("user"));
      assertEquals("prod", logged.get("cluster"));
      assertEquals("/k8s/clusters/:cluster/*", logged.get("route"));
      assertEquals("404", String.valueOf(logged.get("status")), "kate has no role in prod yet: as if it did not exist");
    } finally {
      root.detachAppender(appender);
      kmc.setLevel(before);
    }
  }

  /** The key-value fields of a JSON log line. */
  private static Map<String, Object> fields(JsonObject line) {
    Map<String, Object> fields = new java.util.HashMap<>();
    for (Object pair : line.getJsonArray("kvpList", new io.vertx.core.json.JsonArray())) {
      fields.putAll(((JsonObject) pair).getMap());
    }
    return fields;
  }

  private String scrape(Hub hub) {
    return get(hub.managementPort(), "/metrics").body();
  }

  private HttpResponse<String> ready(Hub hub) {
    return get(hub.managementPort(), "/ready");
  }

  private HttpResponse<String> get(int port, String path) {
    try {
      return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).GET().build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** The value of one sample of a Prometheus text exposition; 0 when absent. */
  private static double value(String exposition, String name, String labels) {
    Matcher m = Pattern.compile("^" + Pattern.quote(name) + "(\\{([^}]*)})?\\s+(\\S+)$", Pattern.MULTILINE)
        .matcher(exposition);
    while (m.find()) {
      String found = m.group(2) == null ? "" : m.group(2);
      if (labels.isEmpty() || containsAll(found, labels)) {
        return Double.parseDouble(m.group(3));
      }
    }
    return 0;
  }

  private static boolean containsAll(String found, String wanted) {
    for (String pair : wanted.split(",(?=[a-z_]+=)")) {
      if (!found.contains(pair)) {
        return false;
      }
    }
    return true;
  }
}
