package io.kmc.hub;

import io.kmc.hub.support.Fleet;
import io.kmc.hub.support.HubNodeProcess;
import io.kmc.hub.support.Watcher;
import io.kmc.kubesim.KubeSim;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The hub node holding an agent freezes (SIGSTOP: a stop-the-world pause, a VM paused by its host).
 * Nobody is told: its sockets stay open. The node is a process of its own, clustered with an in-JVM
 * node A where reads and watches enter. The other node must drop it within {@code cluster.member_timeout},
 * the agent must notice the silence itself ({@code tunnel.ping_timeout}) and dial node A; reads in
 * between may fail only with 503 or 504 and a reason, never 429, 500 or no answer; afterwards every
 * read succeeds; and a watch open across it loses and repeats nothing. Let run again, the node merges
 * back and reads entering there reach the agent on node A (503 or 504 until then, never 502).
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class FrozenNodeIT {

  /** Short, so that the test is; the in-JVM node's own GC pauses stay far below it. */
  private static final Duration MEMBER_TIMEOUT = Duration.ofSeconds(8);
  /** What a loaded two-core machine may add to a timeout before the other node acts on it. */
  private static final Duration SLACK = Duration.ofSeconds(15);
  private static final String MAPS = "/api/v1/namespaces/default/configmaps";

  private static final ExecutorService CLIENTS = Executors.newFixedThreadPool(12);

  private static Fleet fleet;
  private static Hub nodeA;
  private static HubNodeProcess frozen;

  private record Call(long startedAt, long endedAt, int status, String body) {
  }

  @BeforeAll
  static void start() {
    fleet = new Fleet().hubSettings(Map.of("KMC_AUTH_REQUESTS_PER_MINUTE", "1000000",
        "KMC_CLUSTER_MEMBER_TIMEOUT", MEMBER_TIMEOUT.toSeconds() + "s"));
    fleet.cluster("c1");
    nodeA = fleet.hubs(1).get(0);
    frozen = fleet.hubProcess();
    // The agent dials the process node first, node A only when that one fails it.
    fleet.agent("c1", List.of("ws://127.0.0.1:" + frozen.port(), "ws://127.0.0.1:" + nodeA.port()));
    Fleet.eventually(Duration.ofSeconds(30), () -> {
      JsonObject connection = fleet.connection(nodeA, "c1");
      return connection.getBoolean("connected") && !nodeA.nodeId().equals(connection.getString("node"));
    }, "c1's agent on the process node");
  }

  @AfterAll
  static void stop() {
    if (fleet != null) {
      fleet.close();
    }
    CLIENTS.shutdownNow();
  }

  @Test
  void aFrozenNodeIsDroppedItsAgentMovesAndNothingIsLost() throws Exception {
    String frozenNode = fleet.connection(nodeA, "c1").getString("node");
    assertTrue(nodeA.clusterMembers().contains(frozenNode), "the process node is a member: " + nodeA.clusterMembers());
    KubeSim sim = fleet.sim("c1");
    String listed = new JsonObject(get(URI.create(sim.url() + MAPS), null).body())
        .getJsonObject("metadata").getString("resourceVersion");
    String watch = MAPS + "?watch=true&resourceVersion=" + listed;
    Watcher reference = new Watcher(CLIENTS, sim.url() + watch, null);
    List<Watcher> watchers = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      watchers.add(new Watcher(CLIENTS, "http://127.0.0.1:" + nodeA.port() + "/k8s/clusters/c1" + watch, fleet.adminToken()));
    }
    reference.awaitOpen();
    for (Watcher watcher : watchers) {
      watcher.awaitOpen();
    }

    // Changes straight to the member cluster, ten a second, before, during and after the freeze.
    AtomicBoolean writing = new AtomicBoolean(true);
    CompletableFuture<Integer> writer = CompletableFuture.supplyAsync(() -> write(sim, writing), CLIENTS);
    // Steady reads through node A.
    AtomicBoolean reading = new AtomicBoolean(true);
    ConcurrentLinkedQueue<Call> calls = new ConcurrentLinkedQueue<>();
    List<CompletableFuture<Void>> readers = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      readers.add(CompletableFuture.runAsync(() -> {
        while (reading.get()) {
          calls.add(read());
          sleep(50);
        }
      }, CLIENTS));
    }
    Thread.sleep(1_500);

    long frozenAt = System.currentTimeMillis();
    frozen.freeze();
    Fleet.eventually(MEMBER_TIMEOUT.plus(SLACK), () -> !nodeA.clusterMembers().contains(frozenNode),
        "node A dropping the frozen node");
    long droppedAfter = System.currentTimeMillis() - frozenAt;
    Fleet.eventually(Duration.ofSeconds(60), () -> {
      JsonObject connection = fleet.connection(nodeA, "c1");
      return connection.getBoolean("connected") && nodeA.nodeId().equals(connection.getString("node"));
    }, "c1's agent back, on node A");
    long backAfter = System.currentTimeMillis() - frozenAt;
    Thread.sleep(2_000);
    reading.set(false);
    CompletableFuture.allOf(readers.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    writing.set(false);
    int changes = writer.get(30, TimeUnit.SECONDS);

    String context = "dropped after " + droppedAfter + " ms, agent back after " + backAfter + " ms";
    System.out.println("FrozenNodeIT: " + context + "; reads " + calls.size() + ", failed "
        + calls.stream().filter(call -> call.status() != 200).collect(Collectors.groupingBy(Call::status,
            Collectors.counting())));
    assertTrue(droppedAfter >= MEMBER_TIMEOUT.toMillis() / 2, "dropped too early to be the member timeout: " + context);
    List<Call> failed = calls.stream().filter(call -> call.status() != 200).toList();
    Map<Integer, Long> statuses = failed.stream().collect(Collectors.groupingBy(Call::status, Collectors.counting()));
    for (Call call : failed) {
      assertTrue(call.status() == 503 || call.status() == 504, "a read failed with " + call.status() + " "
          + call.body() + " (" + statuses + " of " + calls.size() + "; " + context + ")");
      String message = new JsonObject(call.body()).getString("message", "");
      assertFalse(message.isBlank(), "a " + call.status() + " without a reason: " + call.body());
    }
    assertTrue(calls.size() > 20, calls.size() + " reads");

    // Afterwards every read succeeds.
    for (int i = 0; i < 20; i++) {
      Call call = read();
      assertEquals(200, call.status(), "a read after recovery: " + call.body() + " (" + context + ")");
    }

    // The watches went on across it: every event once, in order, none ended.
    List<String> expected = reference.events();
    assertTrue(expected.size() > 20, changes + " changes made, " + expected.size() + " events");
    Fleet.eventually(Duration.ofSeconds(30), () -> watchers.stream()
        .allMatch(watcher -> watcher.events().size() >= expected.size()), "every watch has all "
        + expected.size() + " events");
    for (Watcher watcher : watchers) {
      assertEquals(expected, watcher.events(), "a watch through node A: no event lost, none twice (" + context + ")");
      assertTrue(watcher.open(), "the watch did not end");
    }
    reference.close();
    watchers.forEach(Watcher::close);
    assertNotEquals(frozenNode, fleet.connection(nodeA, "c1").getString("node"));

    // Let run again, the node finds itself outside the hub cluster and merges back. Meanwhile reads
    // entering there may fail only with 503 or 504 and a reason (it once routed them to itself, where the
    // session it held was gone: 502 for ever); once merged, they reach the agent on node A, every one.
    // A read right after SIGCONT may already succeed, before the node notices it was dropped and, while
    // it merges back, knows no agent connection for a moment (503): what counts is ten in a row once
    // node A has it back as a member.
    frozen.resume();
    URI throughResumed = URI.create("http://127.0.0.1:" + frozen.port() + "/k8s/clusters/c1" + MAPS);
    List<String> meanwhile = new ArrayList<>();
    int[] inARow = {0};
    long resumedAt = System.currentTimeMillis();
    Fleet.eventually(Duration.ofSeconds(90), () -> {
      HttpResponse<String> response = get(throughResumed, fleet.adminToken());
      if (response.statusCode() != 200) {
        meanwhile.add(response.statusCode() + " " + response.body());
        inARow[0] = 0;
      } else if (nodeA.clusterMembers().size() == 2) {
        inARow[0]++;
      }
      return inARow[0] >= 10;
    }, "ten reads in a row through the resumed node, merged back, reaching the agent on node A");
    System.out.println("FrozenNodeIT: reads through the resumed node succeed for good " + (System.currentTimeMillis()
        - resumedAt) + " ms after SIGCONT; " + meanwhile.size() + " failed before");
    for (String failure : meanwhile) {
      assertTrue(failure.startsWith("503 ") || failure.startsWith("504 "), "a read through the resumed node: "
          + failure);
      assertFalse(new JsonObject(failure.substring(4)).getString("message", "").isBlank(), failure);
    }
  }

  private static Call read() {
    long started = System.currentTimeMillis();
    try {
      // Longer than any deadline of the hub's (tunnel.request_timeout 10 s): a read without an answer by
      // then has hung.
      HttpResponse<String> response = get(fleet.uri(nodeA, "/k8s/clusters/c1" + MAPS), fleet.adminToken());
      return new Call(started, System.currentTimeMillis(), response.statusCode(), response.body());
    } catch (IllegalStateException e) {
      return new Call(started, System.currentTimeMillis(), -1, "no answer: " + e.getMessage());
    }
  }

  private static HttpResponse<String> get(URI uri, String bearer) {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(45));
    if (bearer != null) {
      request.header("Authorization", "Bearer " + bearer);
    }
    try {
      return HttpClient.newHttpClient().send(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (HttpTimeoutException e) {
      throw new IllegalStateException("none within 45 s", e);
    } catch (IOException e) {
      throw new IllegalStateException(e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static int write(KubeSim sim, AtomicBoolean writing) {
    int changes = 0;
    HttpClient client = HttpClient.newHttpClient();
    while (writing.get()) {
      String name = "cm-" + (changes % 7);
      boolean delete = changes % 3 == 2;
      HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(sim.url() + MAPS + (delete ? "/" + name : "")))
          .header("Content-Type", "application/json");
      request.method(delete ? "DELETE" : "POST", delete ? HttpRequest.BodyPublishers.noBody()
          : HttpRequest.BodyPublishers.ofString(new JsonObject().put("metadata", new JsonObject().put("name", name))
              .encode()));
      try {
        client.send(request.build(), HttpResponse.BodyHandlers.discarding());
      } catch (IOException | InterruptedException e) {
        return changes;
      }
      changes++;
      sleep(100);
    }
    return changes;
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
