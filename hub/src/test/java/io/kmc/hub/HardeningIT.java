package io.kmc.hub;

import io.kmc.hub.support.Fleet;
import io.kmc.hub.support.RawHttp;
import io.kmc.hub.support.TestInfra;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the hub accepts from clients, probed as an attacker and as users of other clients would:
 * poisonous names and labels, broken escapes, odd boolean spellings, non-canonical tokens, names of
 * clusters a user may not see. Each answer is a clear 4xx, the audit log keeps recording, and the
 * node keeps serving. Two clustered nodes; the agent of "c1" is on node B.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class HardeningIT {

  private static Fleet fleet;
  private static Hub nodeA;
  private static Hub nodeB;
  private static String developer;

  @BeforeAll
  static void start() {
    fleet = new Fleet();
    fleet.cluster("c1");
    List<Hub> hubs = fleet.hubs(2);
    nodeA = hubs.get(0);
    nodeB = hubs.get(1);
    fleet.agent("c1", nodeB);
    fleet.awaitConnected(nodeA, "c1");
    assertEquals(201, fleet.call(nodeA, "POST", "/api/v1/users", fleet.adminToken(), new JsonObject()
        .put("name", "dev").put("password", "dev-password-123")).statusCode());
    assertEquals(201, fleet.call(nodeA, "POST", "/api/v1/rbac/bindings", fleet.adminToken(), new JsonObject()
        .put("subject", "dev").put("role", "developer").put("domain", "c1/*")).statusCode());
    developer = fleet.login(nodeA, "dev", "dev-password-123");
  }

  @AfterAll
  static void stop() {
    fleet.close();
  }

  @Test
  void poisonousNamesAreRefusedAtTheEdgeAndTheAuditLogKeepsRecording() throws Exception {
    HttpResponse<String> nul = fleet.call(nodeA, "POST", "/api/v1/auth/login", null,
        new JsonObject().put("username", "a\u0000b").put("password", "x"));
    assertEquals(400, nul.statusCode(), nul.body());
    HttpResponse<String> huge = fleet.call(nodeA, "POST", "/api/v1/auth/login", null,
        new JsonObject().put("username", "a".repeat(10_000)).put("password", "x"));
    assertEquals(400, huge.statusCode(), huge.body());
    HttpResponse<String> nulUser = fleet.call(nodeA, "GET", "/api/v1/users/a%00b", fleet.adminToken(), null);
    assertEquals(400, nulUser.statusCode(), nulUser.body());
    HttpResponse<String> nulFilter = fleet.call(nodeA, "GET", "/api/v1/audit?user=a%00b", fleet.adminToken(), null);
    assertEquals(400, nulFilter.statusCode(), nulFilter.body());

    assertEquals(201, fleet.call(nodeA, "POST", "/k8s/clusters/c1/api/v1/namespaces", fleet.adminToken(),
        new JsonObject().put("metadata", new JsonObject().put("name", "after-poison"))).statusCode());
    String writes = "/k8s/clusters/c1/api/v1/namespaces/after-poison/configmaps";
    for (int i = 0; i < 100; i++) {
      HttpResponse<String> created = fleet.call(i % 2 == 0 ? nodeA : nodeB, "POST", writes, fleet.adminToken(),
          new JsonObject().put("metadata", new JsonObject().put("name", "cm-" + i)));
      assertEquals(201, created.statusCode(), created.body());
    }
    Fleet.eventually(Duration.ofSeconds(20), () -> audited(nodeA, writes).stream()
            .filter(item -> item.getInteger("status") == 201).count() == 100,
        "all 100 writes in the audit log");
  }

  @Test
  void aRecordTheDatabaseRefusesIsLeftOutAndTheRestOfItsBatchIsWritten() throws Exception {
    try (Connection db = TestInfra.connect(fleet.database()); Statement sql = db.createStatement()) {
      // Stands for any record PostgreSQL cannot store, whatever the reason.
      sql.execute("alter table audit_log add constraint refuse_poison check (path not like '%poison-record%')");
      try {
        for (int i = 0; i < 30; i++) {
          String name = i == 15 ? "poison-record" : "beside-poison-" + i;
          fleet.call(nodeA, "GET", "/k8s/clusters/c1/api/v1/namespaces/default/configmaps/" + name,
              fleet.adminToken(), null);
        }
        Fleet.eventually(Duration.ofSeconds(20), () -> audited(nodeA, "/k8s/clusters/c1/api/v1/namespaces/default/"
            + "configmaps/beside-poison-").size() == 29, "the 29 records beside the refused one");
        Fleet.eventually(Duration.ofSeconds(10), () -> metric(nodeA, "kmc_audit_rejected_total") >= 1,
            "the refused record counted");
        // Reading the audit log is itself audited, so the last read above may still wait for the next flush.
        Fleet.eventually(Duration.ofSeconds(10), () -> metric(nodeA, "kmc_audit_queue") == 0, "nothing left waiting");
      } finally {
        sql.execute("alter table audit_log drop constraint refuse_poison");
      }
    }
  }

  @Test
  void aGracefulStopWritesTheAuditQueueFirst() {
    fleet.hubSettings(Map.of("KMC_AUDIT_FLUSH_INTERVAL", "1m", "KMC_AUDIT_BATCH_SIZE", "5000"));
    Hub nodeC = fleet.startHub(Fleet.freePort());
    fleet.hubSettings(Map.of());
    for (int i = 0; i < 40; i++) {
      fleet.call(nodeC, "GET", "/k8s/clusters/c1/api/v1/namespaces/default/configmaps/queued-" + i,
          fleet.adminToken(), null);
    }
    assertTrue(metric(nodeC, "kmc_audit_queue") >= 40, "the records wait in node C's queue");
    fleet.stopHub(nodeC);
    assertEquals(40, audited(nodeA, "/k8s/clusters/c1/api/v1/namespaces/default/configmaps/queued-").size());
  }

  @Test
  void watchAndFollowAreReadAsTheApiserverReadsThem() throws Exception {
    // The official Python client sends watch=True; the apiserver takes anything but 0 and false as true.
    List<String> spellings = List.of("True", "t", "TRUE");
    for (int i = 0; i < spellings.size(); i++) {
      String spelling = spellings.get(i);
      try (RawHttp http = new RawHttp(nodeA.port(), 8_000)) {
        http.write(RawHttp.request("GET", "/k8s/clusters/c1/api/v1/namespaces/default/configmaps?watch="
            + spelling + "&resourceVersion=0", fleet.adminToken(), null));
        RawHttp.Answer head = http.readHead();
        assertEquals(200, head.status());
        assertEquals("chunked", head.header("transfer-encoding"), "a watch streams");
        String name = "watched-" + i;
        assertEquals(201, fleet.call(nodeB, "POST", "/k8s/clusters/c1/api/v1/namespaces/default/configmaps",
            fleet.adminToken(), new JsonObject().put("metadata", new JsonObject().put("name", name))).statusCode());
        List<String> events = http.streamedLinesUntil(line -> line.contains("\"" + name + "\""), 200);
        assertTrue(events.stream().anyMatch(line -> line.contains("\"ADDED\"") && line.contains("\"" + name + "\"")),
            "watch=" + spelling + " delivered the new object as it happened: " + events.size() + " lines");
      }
    }
    RawHttp.Answer notAWatch = RawHttp.exchange(nodeA.port(), RawHttp.request("GET",
        "/k8s/clusters/c1/api/v1/namespaces/default/configmaps?watch=False", fleet.adminToken(), null), 10_000);
    assertEquals(200, notAWatch.status());
    assertEquals("ConfigMapList", new JsonObject(notAWatch.body()).getString("kind"));
  }

  @Test
  void brokenPercentEscapesAreABadRequestStatus() throws Exception {
    for (String target : List.of("/k8s/clusters/c1/api/v1/namespaces/%zz",
        "/k8s/clusters/c1/api/v1/namespaces/default/configmaps?limit=%zz", "/k8s/clusters/c1/api/v1/namespaces/%",
        "/k8s/clusters/%zz/api")) {
      RawHttp.Answer answer = RawHttp.exchange(nodeA.port(), RawHttp.request("GET", target, fleet.adminToken(), null),
          10_000);
      assertEquals(400, answer.status(), target + ": " + answer.body());
      JsonObject status = new JsonObject(answer.body());
      assertEquals("Status", status.getString("kind"), target);
      assertEquals(400, status.getInteger("code"), target);
    }
    for (String target : List.of("/api/v1/users/%zz", "/api/v1/audit?limit=%zz")) {
      RawHttp.Answer answer = RawHttp.exchange(nodeA.port(), RawHttp.request("GET", target, fleet.adminToken(), null),
          10_000);
      assertEquals(400, answer.status(), target + ": " + answer.body());
      assertEquals(400, new JsonObject(answer.body()).getInteger("code"), target);
    }
    assertEquals(200, fleet.api(nodeA, "/api/v1/clusters").statusCode(), "the node still serves");
  }

  @Test
  void onlyTheCanonicalSpellingOfAnAccessTokenAuthenticates() {
    String token = fleet.login(nodeA, "admin", Fleet.ADMIN_PASSWORD);
    assertEquals(200, fleet.call(nodeA, "GET", "/api/v1/auth/whoami", token, null).statusCode());
    for (String variant : List.of(token + "A", token + ".", token + "AA", token + "=")) {
      HttpResponse<String> refused = fleet.call(nodeA, "GET", "/api/v1/auth/whoami", variant, null);
      assertEquals(401, refused.statusCode(), "accepted " + variant.substring(token.length() - 4));
    }
  }

  @Test
  void aClusterTheUserMayNotSeeIsAnswerredAsOneThatDoesNotExist() {
    assertEquals(201, fleet.call(nodeA, "POST", "/api/v1/clusters", fleet.adminToken(),
        new JsonObject().put("name", "hidden")).statusCode());
    HttpResponse<String> hidden = fleet.call(nodeA, "GET", "/k8s/clusters/hidden/api", developer, null);
    HttpResponse<String> missing = fleet.call(nodeA, "GET", "/k8s/clusters/missing/api", developer, null);
    assertEquals(404, hidden.statusCode(), hidden.body());
    assertEquals(404, missing.statusCode(), missing.body());
    assertEquals(new JsonObject(missing.body()).getString("message").replace("missing", "hidden"),
        new JsonObject(hidden.body()).getString("message"), "the same answer, so existence does not leak");
    assertEquals(404, fleet.call(nodeA, "GET", "/k8s/clusters/missing/api", fleet.adminToken(), null).statusCode());
    assertEquals(200, fleet.call(nodeA, "GET", "/k8s/clusters/c1/api", developer, null).statusCode());

    for (String name : List.of("C1", "c1;x", "-c1", "c".repeat(64))) {
      HttpResponse<String> invalid = fleet.call(nodeA, "GET", "/k8s/clusters/" + name + "/api", developer, null);
      assertEquals(400, invalid.statusCode(), name + ": " + invalid.body());
      assertTrue(invalid.body().contains("not a valid cluster name"), invalid.body());
    }
  }

  @Test
  void boundsOnQueriesAndLabelsAreClearBadRequests() {
    for (String limit : List.of("-1", "0", "501", "x")) {
      HttpResponse<String> answer = fleet.api(nodeA, "/api/v1/audit?limit=" + limit);
      assertEquals(400, answer.statusCode(), limit + ": " + answer.body());
    }
    JsonObject many = new JsonObject();
    for (int i = 0; i < 20_000; i++) {
      many.put("label-" + i, "value-" + i);
    }
    HttpResponse<String> tooMany = fleet.call(nodeA, "POST", "/api/v1/clusters", fleet.adminToken(),
        new JsonObject().put("name", "labelled").put("labels", many));
    assertEquals(400, tooMany.statusCode());
    for (Map.Entry<String, String> bad : List.of(Map.entry("bad key!", "v"), Map.entry("k", "v".repeat(64)),
        Map.entry("a/b/c", "v"), Map.entry("UPPER.example.com/k", "v"), Map.entry("k", "-v"),
        Map.entry("k".repeat(64), "v"))) {
      HttpResponse<String> refused = fleet.call(nodeA, "POST", "/api/v1/clusters", fleet.adminToken(),
          new JsonObject().put("name", "labelled").put("labels", new JsonObject().put(bad.getKey(), bad.getValue())));
      assertEquals(400, refused.statusCode(), bad + ": " + refused.body());
    }
    HttpResponse<String> fine = fleet.call(nodeA, "POST", "/api/v1/clusters", fleet.adminToken(),
        new JsonObject().put("name", "labelled").put("labels", new JsonObject()
            .put("kmc.io/tier", "v".repeat(63)).put("env", "").put("a_b.c-d", "x_y.z-1")));
    assertEquals(201, fine.statusCode(), fine.body());
  }

  @Test
  void hazelcastListensOnlyOnTheConfiguredInterface() throws Exception {
    int port = fleet.hazelcastPort(nodeA);
    // Held on 127.0.0.1 only, the same port is still free on another loopback address.
    try (ServerSocket other = new ServerSocket()) {
      other.bind(new InetSocketAddress("127.0.0.2", port));
    }
  }

  /** Audit records whose path starts with the prefix (newest 500). */
  private static List<JsonObject> audited(Hub via, String pathPrefix) {
    HttpResponse<String> page = fleet.api(via, "/api/v1/audit?limit=500&path="
        + URLEncoder.encode(pathPrefix, StandardCharsets.UTF_8));
    assertEquals(200, page.statusCode(), page.body());
    JsonArray items = new JsonObject(page.body()).getJsonArray("items");
    return items.stream().map(JsonObject.class::cast).toList();
  }

  /** A metric of the node's management port, summed over its series; 0 when absent. */
  private static double metric(Hub via, String name) {
    HttpResponse<String> scrape = fleet.send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + via.managementPort() + "/metrics")).build());
    double sum = 0;
    for (String line : scrape.body().split("\n")) {
      if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
        sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return sum;
  }
}
