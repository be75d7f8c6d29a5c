package io.kmc.hub;

import io.kmc.hub.support.Fleet;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every pass-through call, change, login and refusal leaves an audit record, with nothing secret in it. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class AuditIT {

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
  }

  @AfterAll
  static void stop() {
    fleet.close();
  }

  @Test
  void passThroughChangesLoginsAndRefusalsAreRecorded() {
    Instant since = Instant.now().minusSeconds(1);
    HttpResponse<String> response = fleet.call(nodeA, "GET", "/k8s/clusters/prod/api/v1/namespaces/default/configmaps",
        fleet.adminToken(), null);
    String requestId = response.headers().firstValue("X-Request-Id").orElseThrow();
    fleet.call(nodeA, "POST", "/k8s/clusters/prod/api/v1/namespaces/default/configmaps", fleet.adminToken(),
        new JsonObject().put("metadata", new JsonObject().put("name", "audited")));
    fleet.call(nodeB, "POST", "/api/v1/users", fleet.adminToken(),
        new JsonObject().put("name", "grace").put("password", "grace-password-123"));
    fleet.call(nodeB, "POST", "/api/v1/auth/login", null,
        new JsonObject().put("username", "grace").put("password", "wrong-password"));
    String graceToken = fleet.login(nodeA, "grace", "grace-password-123");
    fleet.call(nodeA, "GET", "/k8s/clusters/prod/api/v1/namespaces/default/secrets", graceToken, null);

    // Each node flushes its own batches, so wait until every expected record has arrived.
    Predicate<JsonObject> list = r -> requestId.equals(r.getString("requestId"));
    Predicate<JsonObject> create = r -> "create".equals(r.getString("verb")) && "configmaps".equals(r.getString("resource"));
    Predicate<JsonObject> userCreated = r -> "/api/v1/users".equals(r.getString("path"));
    Predicate<JsonObject> failedLogin = r -> "login".equals(r.getString("verb")) && "grace".equals(r.getString("user"))
        && r.getInteger("status") == 401;
    Predicate<JsonObject> login = r -> "login".equals(r.getString("verb")) && "grace".equals(r.getString("user"))
        && r.getInteger("status") == 200;
    Predicate<JsonObject> refused = r -> "grace".equals(r.getString("user")) && "secrets".equals(r.getString("resource"));
    List<Predicate<JsonObject>> expected = List.of(list, create, userCreated, failedLogin, login, refused);
    JsonArray items = waitForRecords("since=" + since, records -> expected.stream()
        .allMatch(which -> records.stream().map(JsonObject.class::cast).anyMatch(which)));

    JsonObject listed = find(items, list);
    assertEquals("admin", listed.getString("user"));
    assertEquals("prod", listed.getString("cluster"));
    assertEquals("list", listed.getString("verb"));
    assertEquals("configmaps", listed.getString("resource"));
    assertEquals("default", listed.getString("namespace"));
    assertEquals(200, listed.getInteger("status"));
    assertNotNull(listed.getInteger("latencyMillis"));
    assertEquals("127.0.0.1", listed.getString("source"));
    assertEquals(201, find(items, create).getInteger("status"));
    assertEquals("admin", find(items, userCreated).getString("user"));
    assertEquals(404, find(items, refused).getInteger("status"), "grace has no role in prod: it is not shown to her");

    String everything = items.encode();
    assertFalse(everything.contains("grace-password-123") || everything.contains("wrong-password"), "no passwords");
    assertFalse(everything.contains(fleet.adminToken()) || everything.contains(graceToken), "no tokens");
  }

  @Test
  void filtersAndPagesAndHostileFiltersAreHarmless() {
    for (int i = 0; i < 7; i++) {
      fleet.call(nodeB, "GET", "/k8s/clusters/prod/api/v1/namespaces/kube-system/pods?limit=1", fleet.adminToken(), null);
    }
    String pods = "cluster=prod&verb=list&path=" + encode("/k8s/clusters/prod/api/v1/namespaces/kube-system/pods");
    // The calls went to node B; its batches reach the database within a flush interval.
    waitForRecords(pods, records -> records.size() >= 7);
    JsonObject first = page(pods + "&limit=3");
    assertEquals(3, first.getJsonArray("items").size());
    JsonObject second = page(pods + "&limit=3&before=" + first.getString("next"));
    assertEquals(3, second.getJsonArray("items").size());
    assertTrue(first.getJsonArray("items").getJsonObject(2).getLong("id")
        > second.getJsonArray("items").getJsonObject(0).getLong("id"), "newest first, pages do not overlap");

    for (String hostile : List.of("' or '1'='1", "admin'; drop table audit_log; --", "%", "_", "\\")) {
      HttpResponse<String> response = fleet.call(nodeA, "GET", "/api/v1/audit?user=" + encode(hostile)
          + "&path=" + encode(hostile), fleet.adminToken(), null);
      assertEquals(200, response.statusCode(), hostile);
      assertEquals(0, new JsonObject(response.body()).getJsonArray("items").size(), hostile);
    }
    assertTrue(page("limit=1").getJsonArray("items").size() == 1, "the table is still there");
    assertEquals(400, fleet.call(nodeA, "GET", "/api/v1/audit?status=abc", fleet.adminToken(), null).statusCode());
    assertEquals(400, fleet.call(nodeA, "GET", "/api/v1/audit?since=yesterday", fleet.adminToken(), null).statusCode());
  }

  private static JsonArray waitForRecords(String query, Predicate<JsonArray> enough) {
    JsonArray[] found = new JsonArray[1];
    Fleet.eventually(Duration.ofSeconds(10), () -> {
      found[0] = page(query + "&limit=500").getJsonArray("items");
      return enough.test(found[0]);
    }, "audit records for " + query);
    return found[0];
  }

  private static JsonObject page(String query) {
    HttpResponse<String> response = fleet.call(nodeA, "GET", "/api/v1/audit?" + query, fleet.adminToken(), null);
    assertEquals(200, response.statusCode(), response.body());
    return new JsonObject(response.body());
  }

  private static JsonObject find(JsonArray items, Predicate<JsonObject> which) {
    return items.stream().map(JsonObject.class::cast).filter(which).findFirst()
        .orElseThrow(() -> new AssertionError("no such audit record in " + items.encodePrettily()));
  }

  private static String encode(String text) {
    return URLEncoder.encode(text, StandardCharsets.UTF_8);
  }
}
