package io.kmc.hub;

import io.kmc.hub.support.Fleet;
import io.kmc.hub.support.StreamClient;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Flow control of live streams end to end, with small bounds: a client that stops reading while a
 * cluster's changes flow is closed as too slow with its resume tokens, while what its hub node keeps
 * for it stays bounded; resumed on the other node, it gets exactly the changes it missed.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class StreamFlowIT {

  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final int BUFFER = 100;
  private static final int HANDOFF = 1_000;
  private static final int SUBSCRIPTIONS = 8;
  private static final int CHANGES = 2_500;
  private static Fleet fleet;
  private static Hub nodeA;
  private static Hub nodeB;

  @BeforeAll
  static void start() {
    fleet = new Fleet().hubSettings(Map.of("KMC_STREAM_BUFFER_EVENTS", String.valueOf(BUFFER),
        "KMC_STREAM_HANDOFF_CHANGES", String.valueOf(HANDOFF)));
    fleet.cluster("delta");
    List<Hub> hubs = fleet.hubs(2);
    nodeA = hubs.get(0);
    nodeB = hubs.get(1);
    fleet.agent("delta", nodeA, nodeB);
    fleet.awaitConnected(nodeA, "delta");
  }

  @AfterAll
  static void stop() {
    if (fleet != null) {
      fleet.close();
    }
  }

  @Test
  void aClientThatStopsReadingWhileChangesFlowIsClosedAndResumesOnTheOtherNodeWithExactlyWhatItMissed() {
    namespace("flow");
    // The kind is indexed (subscriptions name kinds some cluster indexes) before the subscriptions open.
    Fleet.await(fleet.sim("delta").create(configMap("default", "stream-flow-seed")));
    Fleet.eventually(Duration.ofSeconds(90), () -> {
      HttpResponse<String> response = fleet.api(nodeA, "/api/v1/search?kind=configmaps&cluster=delta"
          + "&name=stream-flow-seed&limit=1");
      return response.statusCode() == 200 && new JsonObject(response.body()).getLong("total") >= 1;
    }, "the seed configmap indexed");
    JsonObject spec = new JsonObject().put("group", "").put("version", "v1").put("resource", "configmaps")
        .put("clusters", new JsonArray().add("delta")).put("namespace", "flow");
    StreamClient client = Fleet.await(StreamClient.connect(fleet.memberVertx(), nodeA.port(), fleet.adminToken(),
        null, 4096));
    Map<String, List<String>> seen = new HashMap<>();
    JsonObject closing = null;
    double mostQueued = 0;
    try {
      // Several subscriptions of the same changes: many messages per change, more than the kernel buffers.
      for (int i = 0; i < SUBSCRIPTIONS; i++) {
        client.subscribe("s" + i, spec);
        seen.put("s" + i, new ArrayList<>());
      }
      for (int i = 0; i < SUBSCRIPTIONS; i++) {
        client.until(WAIT, m -> "INITIAL_STATE_DONE".equals(m.getString("type")));
      }
      client.pause();
      for (int from = 0; from < CHANGES; from += 250) {
        List<Future<?>> created = new ArrayList<>();
        for (int i = from; i < from + 250; i++) {
          created.add(fleet.sim("delta").create(configMap("flow", "cm-" + i)));
        }
        Fleet.await(Future.all(created));
        mostQueued = Math.max(mostQueued, metric(nodeA, "kmc_stream_queued"));
      }
      long deadline = System.currentTimeMillis() + WAIT.toMillis();
      while (nodeA.streams().sockets() > 0 && System.currentTimeMillis() < deadline) {
        mostQueued = Math.max(mostQueued, metric(nodeA, "kmc_stream_queued"));
        sleep(50);
      }
      assertEquals(0, nodeA.streams().sockets(), "the socket of the client that stopped reading was closed");
      assertTrue(metric(nodeA, "kmc_stream_slow_closes_total") >= 1, "the close is counted");
      assertTrue(mostQueued <= BUFFER + HANDOFF, "what the node kept for the socket stayed bounded: " + mostQueued);
      Fleet.eventually(Duration.ofSeconds(10), () -> metric(nodeA, "kmc_stream_queued") == 0,
          "nothing is kept for a closed socket");

      client.resume();
      while (closing == null) {
        JsonObject m = client.next(WAIT);
        if ("CLOSING".equals(m.getString("type"))) {
          closing = m;
        } else if ("ADDED".equals(m.getString("type"))) {
          seen.get(m.getString("id")).add(m.getJsonObject("object").getString("name"));
        }
      }
      Fleet.eventually(Duration.ofSeconds(5), () -> client.closeCode() != null, "closed");
    } finally {
      client.close();
    }
    assertEquals("too slow", closing.getString("reason"));
    assertEquals(4008, closing.getInteger("code"));
    assertEquals((short) 4008, client.closeCode());
    JsonObject tokens = closing.getJsonObject("resume");
    assertNotNull(tokens, closing.encode());
    assertEquals(seen.keySet(), tokens.fieldNames(), "a token for every subscription");
    assertTrue(seen.values().stream().anyMatch(names -> names.size() < CHANGES), "some changes were missed");

    awaitIndexed("flow", CHANGES, WAIT);
    // Every subscription resumes on the other node: what it got before and after is each change once.
    try (StreamClient again = StreamClient.connect(fleet.memberVertx(), nodeB.port(), fleet.adminToken())) {
      for (String id : seen.keySet()) {
        again.subscribe(id, spec.copy().put("resume", tokens.getString(id)));
      }
      Set<String> done = new HashSet<>();
      while (done.size() < seen.size()) {
        JsonObject m = again.next(WAIT);
        String type = m.getString("type");
        assertTrue(!"RESTART".equals(type) && !"ERROR".equals(type), m.encode());
        if ("ADDED".equals(type)) {
          seen.get(m.getString("id")).add(m.getJsonObject("object").getString("name"));
        } else if ("INITIAL_STATE_DONE".equals(type) && m.getString("cluster") == null) {
          done.add(m.getString("id"));
        }
      }
    }
    Set<String> all = new HashSet<>();
    for (int i = 0; i < CHANGES; i++) {
      all.add("cm-" + i);
    }
    seen.forEach((id, names) -> {
      assertEquals(CHANGES, names.size(), id + ": each change once (" + names.size() + " events)");
      assertEquals(all, new HashSet<>(names), id + ": every change");
    });
  }

  private static void awaitIndexed(String namespace, int count, Duration within) {
    Fleet.eventually(within, () -> {
      HttpResponse<String> response = fleet.api(nodeA, "/api/v1/search?kind=configmaps&cluster=delta&namespace="
          + namespace + "&limit=1");
      return response.statusCode() == 200 && new JsonObject(response.body()).getLong("total") == count;
    }, count + " configmaps of " + namespace + " indexed");
  }

  private static JsonObject configMap(String namespace, String name) {
    return new JsonObject().put("apiVersion", "v1").put("kind", "ConfigMap")
        .put("metadata", new JsonObject().put("name", name).put("namespace", namespace)
            .put("labels", new JsonObject().put("filler", "x".repeat(60))))
        .put("data", new JsonObject().put("setting", "value"));
  }

  private static void namespace(String name) {
    Fleet.await(fleet.sim("delta").create(new JsonObject().put("apiVersion", "v1").put("kind", "Namespace")
        .put("metadata", new JsonObject().put("name", name))));
  }

  private static double metric(Hub hub, String name) {
    HttpResponse<String> response = fleet.send(java.net.http.HttpRequest.newBuilder(
        java.net.URI.create("http://127.0.0.1:" + hub.managementPort() + "/metrics")).build());
    return response.body().lines().filter(line -> line.startsWith(name + " ") || line.startsWith(name + "{"))
        .mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1))).sum();
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
