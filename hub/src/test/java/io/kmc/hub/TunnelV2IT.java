package io.kmc.hub;

import io.kmc.hub.support.Fleet;
import io.kmc.hub.support.RawHttp;
import io.kmc.hub.support.Watcher;
import io.kmc.kubesim.KubeSim;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Protocol v2 end to end on clustered nodes: a v1 and a v2 agent side by side, bodies of more than
 * 20 MB through two nodes byte for byte, and watches that outlive the node holding the agent.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TunnelV2IT {

  private static final ExecutorService CLIENTS = Executors.newFixedThreadPool(60);
  private static Fleet fleet;
  private static Hub nodeA;
  private static Hub nodeB;

  @BeforeAll
  static void start() {
    fleet = new Fleet();
    fleet.cluster("old");
    fleet.cluster("new");
    fleet.cluster("moving");
    List<Hub> hubs = fleet.hubs(2);
    nodeA = hubs.get(0);
    nodeB = hubs.get(1);
    fleet.agent("old", List.of("ws://127.0.0.1:" + nodeB.port()), Map.of("KMC_HUB_PROTOCOL_VERSIONS", "1"));
    fleet.agent("new", nodeB);
    fleet.agent("moving", nodeB, nodeA);
    for (String cluster : List.of("old", "new", "moving")) {
      fleet.awaitConnected(nodeA, cluster);
    }
  }

  @AfterAll
  static void stop() {
    fleet.close();
    CLIENTS.shutdownNow();
  }

  @Test
  @Order(1)
  void v1AndV2AgentsWorkSideBySide() throws Exception {
    assertEquals(1, fleet.connection(nodeA, "old").getInteger("protocolVersion"));
    assertEquals(2, fleet.connection(nodeA, "new").getInteger("protocolVersion"));
    for (String cluster : List.of("old", "new")) {
      String maps = "/k8s/clusters/" + cluster + "/api/v1/namespaces/default/configmaps";
      assertEquals(201, fleet.call(nodeA, "POST", maps, fleet.adminToken(),
          new JsonObject().put("metadata", new JsonObject().put("name", "hello")).put("data",
              new JsonObject().put("k", "v"))).statusCode());
      JsonObject read = new JsonObject(fleet.call(nodeA, "GET", maps + "/hello", fleet.adminToken(), null).body());
      assertEquals("v", read.getJsonObject("data").getString("k"), cluster);
      assertEquals(404, fleet.call(nodeA, "GET", maps + "/missing", fleet.adminToken(), null).statusCode());
    }
  }

  @Test
  @Order(2)
  void bodiesOfMoreThan20MegabytesArriveByteForByteThroughTwoNodes() throws Exception {
    for (String cluster : List.of("new", "old")) {
      String namespace = "/k8s/clusters/" + cluster + "/api/v1/namespaces";
      assertEquals(201, fleet.call(nodeA, "POST", namespace, fleet.adminToken(),
          new JsonObject().put("metadata", new JsonObject().put("name", "big"))).statusCode());
      String value = "0123456789abcdef".repeat(60_000); // 960,000 characters
      for (int i = 0; i < 22; i++) {
        HttpResponse<String> created = fleet.call(nodeB, "POST", namespace + "/big/configmaps", fleet.adminToken(),
            new JsonObject().put("metadata", new JsonObject().put("name", "big-" + i))
                .put("data", new JsonObject().put("v", i + value)));
        assertEquals(201, created.statusCode(), created.body());
      }
      KubeSim sim = fleet.sim(cluster);
      byte[] direct = bytes(URI.create(sim.url() + "/api/v1/namespaces/big/configmaps"), null);
      byte[] through = bytes(fleet.uri(nodeA, namespace + "/big/configmaps"), fleet.adminToken());
      assertTrue(direct.length > 20_000_000, "the list is " + direct.length + " bytes");
      assertArrayEquals(direct, through, cluster + ": the same bytes through the hub");
    }
  }

  /** Last: it kills node B. */
  @Test
  @Order(3)
  void watchesThroughASurvivingNodeOutliveTheNodeHoldingTheAgent() throws Exception {
    KubeSim sim = fleet.sim("moving");
    String maps = "/api/v1/namespaces/default/configmaps";
    String listed = new JsonObject(new String(bytes(URI.create(sim.url() + maps), null)))
        .getJsonObject("metadata").getString("resourceVersion");
    String watch = maps + "?watch=true&resourceVersion=" + listed;

    // The API server's own sequence, watched directly, and 50 watches through node A.
    Watcher reference = new Watcher(CLIENTS, sim.url() + watch, null);
    List<Watcher> watchers = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      watchers.add(new Watcher(CLIENTS, "http://127.0.0.1:" + nodeA.port() + "/k8s/clusters/moving" + watch,
          fleet.adminToken()));
    }
    for (Watcher watcher : watchers) {
      watcher.awaitOpen();
    }
    reference.awaitOpen();
    // And a followed log of a pod of that cluster, through node A too.
    String pod = new JsonObject(new String(bytes(URI.create(sim.url() + "/api/v1/namespaces/kube-system/pods"), null)))
        .getJsonArray("items").getJsonObject(0).getJsonObject("metadata").getString("name");
    RawHttp logs = new RawHttp(nodeA.port(), 30_000);
    logs.write(RawHttp.request("GET", "/k8s/clusters/moving/api/v1/namespaces/kube-system/pods/" + pod
        + "/log?follow=true&tailLines=1", fleet.adminToken(), null));
    assertEquals(200, logs.readHead().status());
    CompletableFuture<List<String>> followed = CompletableFuture.supplyAsync(() -> {
      try {
        return logs.streamedLinesUntil(line -> false, 160);
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }, CLIENTS);

    // Changes made straight to the member cluster, 20 a second, before, during and after the kill.
    AtomicBoolean writing = new AtomicBoolean(true);
    CompletableFuture<Integer> writer = CompletableFuture.supplyAsync(() -> {
      int changes = 0;
      HttpClient client = HttpClient.newHttpClient();
      while (writing.get()) {
        String name = "cm-" + (changes % 7);
        String method = changes % 3 == 2 ? "DELETE" : "POST";
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(sim.url() + maps
                + (method.equals("DELETE") ? "/" + name : "")))
            .header("Content-Type", "application/json");
        request.method(method, method.equals("DELETE") ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(new JsonObject().put("metadata", new JsonObject()
                .put("name", name)).encode()));
        try {
          client.send(request.build(), HttpResponse.BodyHandlers.discarding());
          Thread.sleep(50);
        } catch (IOException | InterruptedException e) {
          return changes;
        }
        changes++;
      }
      return changes;
    }, CLIENTS);
    Thread.sleep(1_000);
    fleet.forget(nodeB);
    Fleet.await(nodeB.halt());
    Thread.sleep(4_000);
    writing.set(false);
    int changes = writer.get(30, TimeUnit.SECONDS);
    Thread.sleep(1_000);
    List<String> expected = reference.events();
    Fleet.eventually(Duration.ofSeconds(30), () -> watchers.stream()
        .allMatch(watcher -> watcher.events().size() >= expected.size()), "every watch has all "
        + expected.size() + " events");
    assertTrue(expected.size() > 50, changes + " changes made, " + expected.size() + " events");
    for (Watcher watcher : watchers) {
      assertEquals(expected, watcher.events(), "a watch through node A: no event lost, none twice");
      assertTrue(watcher.open(), "the watch did not end");
    }
    reference.close();
    watchers.forEach(Watcher::close);

    // The log went on through the kill: every line once, in order, without the timestamps the hub asked for.
    List<String> lines = followed.get(60, TimeUnit.SECONDS);
    logs.close();
    assertTrue(lines.size() >= 100, lines.size() + " log lines");
    long first = lineNumber(lines.get(0));
    for (int i = 0; i < lines.size(); i++) {
      assertEquals(first + i, lineNumber(lines.get(i)), "log line " + i + " of " + lines.size() + ": " + lines.get(i));
    }
  }

  /** "kube-sim pod/container line 17" → 17; a timestamp in front would fail the parse. */
  private static long lineNumber(String line) {
    return Long.parseLong(line.substring(line.lastIndexOf(' ') + 1));
  }

  private static byte[] bytes(URI uri, String bearer) throws IOException, InterruptedException {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri);
    if (bearer != null) {
      request.header("Authorization", "Bearer " + bearer);
    }
    HttpResponse<byte[]> response = HttpClient.newHttpClient().send(request.build(),
        HttpResponse.BodyHandlers.ofByteArray());
    assertEquals(200, response.statusCode(), uri.toString());
    return response.body();
  }
}
