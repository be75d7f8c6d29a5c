package io.kmc.hub;

import io.kmc.common.protocol.Frame;
import io.kmc.hub.support.Fleet;
import io.kmc.hub.support.RawAgent;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
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

import static io.kmc.hub.support.Fleet.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The node holding the agents dies (as with kill -9) while requests entering another node are on
 * their way to it. Idempotent requests go again to the agent's new session; the others are told at
 * once that the node was lost; none waits for its timeout.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class NodeLossIT {

  /** The most a request may take past the moment the agent is back on the surviving node. */
  private static final long AFTER_RETURN_MILLIS = 2_000;

  /** Clients of their own: the common pool has one thread on a two-core machine. */
  private static final ExecutorService CLIENTS = Executors.newFixedThreadPool(12);

  private static Fleet fleet;
  private static Hub nodeA;
  private static Hub nodeB;

  private record Call(long startedAt, long endedAt, int status, String body) {
  }

  @BeforeAll
  static void start() {
    // The steady readers below go as fast as they can: far above the per-user limit of a real hub.
    fleet = new Fleet().hubSettings(Map.of("KMC_AUTH_REQUESTS_PER_MINUTE", "1000000"));
    fleet.cluster("c1");
    fleet.cluster("rogue");
    List<Hub> hubs = fleet.hubs(2);
    nodeA = hubs.get(0);
    nodeB = hubs.get(1);
    fleet.agent("c1", nodeB, nodeA);
    fleet.awaitConnected(nodeA, "c1");
  }

  @AfterAll
  static void stop() {
    fleet.close();
    CLIENTS.shutdownNow();
  }

  @Test
  void requestsInFlightToALostNodeGoAgainOrAreToldAtOnce() throws Exception {
    assertEquals(nodeB.nodeId(), fleet.connection(nodeA, "c1").getString("node"));
    RawAgent rogueOnB = await(RawAgent.connect(fleet.memberVertx(), nodeB, "rogue", fleet.joinToken("rogue")));
    rogueOnB.hello("rogue");
    fleet.awaitConnected(nodeA, "rogue");

    // Two requests the scripted agent on B receives and never answers: one may go again, one may not.
    String rogueMaps = "/k8s/clusters/rogue/api/v1/namespaces/default/configmaps";
    CompletableFuture<Call> read = call("GET", rogueMaps, null);
    CompletableFuture<Call> write = call("POST", rogueMaps,
        new JsonObject().put("metadata", new JsonObject().put("name", "maybe")));
    assertInstanceOf(Frame.Request.class, rogueOnB.next(10));
    assertInstanceOf(Frame.Request.class, rogueOnB.next(10));

    // Steady reads of c1 through node A.
    AtomicBoolean running = new AtomicBoolean(true);
    ConcurrentLinkedQueue<Call> calls = new ConcurrentLinkedQueue<>();
    List<CompletableFuture<Void>> clients = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      clients.add(CompletableFuture.runAsync(() -> {
        while (running.get()) {
          calls.add(call("GET", "/k8s/clusters/c1/api/v1/namespaces/default/configmaps", null).join());
        }
      }, CLIENTS));
    }
    Thread.sleep(500);

    long killedAt = System.currentTimeMillis();
    fleet.forget(nodeB);
    await(nodeB.halt());
    // The scripted agent redials to the surviving node after a back-off longer than the ~3 s a
    // politely moving agent is waited for: the read still waits for it, as a real one does.
    Thread.sleep(4_000);
    RawAgent rogueOnA = await(RawAgent.connect(fleet.memberVertx(), nodeA, "rogue", fleet.joinToken("rogue")));
    rogueOnA.hello("rogue");
    // The read goes again, to the agent's next session, with what is left of its own deadline: answered
    // at once here, as a live agent would.
    Frame.Request again = assertInstanceOf(Frame.Request.class, rogueOnA.next(10));
    assertEquals("GET", again.method());
    rogueOnA.send(new Frame.Response(again.id(), 200, Map.of("Content-Type", List.of("application/json")),
        "{\"kind\":\"ConfigMapList\",\"items\":[]}".getBytes(StandardCharsets.UTF_8), false));
    Call answered = read.get(15, TimeUnit.SECONDS);
    assertEquals(200, answered.status(), answered.body());
    Fleet.eventually(Duration.ofSeconds(20), () -> {
      JsonObject connection = fleet.connection(nodeA, "c1");
      return connection.getBoolean("connected") && nodeA.nodeId().equals(connection.getString("node"));
    }, "c1's agent back, on node A");
    long backAt = System.currentTimeMillis();
    Thread.sleep(1_500);
    running.set(false);
    CompletableFuture.allOf(clients.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);

    List<Call> failed = calls.stream().filter(call -> call.status() != 200).toList();
    assertTrue(failed.isEmpty(), () -> failed.size() + " of " + calls.size() + " reads failed, e.g. " + failed.get(0));
    for (Call call : calls) {
      long waitedPastReturn = call.endedAt() - Math.max(call.startedAt(), backAt);
      assertTrue(waitedPastReturn <= AFTER_RETURN_MILLIS, "a read that started "
          + (call.startedAt() - killedAt) + " ms after the kill ended " + waitedPastReturn
          + " ms after the agent was back (killed at +0, back at +" + (backAt - killedAt) + " ms)");
    }

    // The write cannot go again: it is told the node was lost, well before its timeout.
    Call lost = write.get(15, TimeUnit.SECONDS);
    assertEquals(503, lost.status(), lost.body());
    // Told by the survivor that the node left, or, when the dying node got that far, that the agent went.
    assertTrue(lost.body().contains("left the hub cluster") || lost.body().contains("disconnected"), lost.body());
    assertTrue(lost.endedAt() - killedAt < 5_000, "told after " + (lost.endedAt() - killedAt) + " ms");

    rogueOnA.close();
    rogueOnB.close();
  }

  private static CompletableFuture<Call> call(String method, String path, JsonObject body) {
    return CompletableFuture.supplyAsync(() -> {
      long started = System.currentTimeMillis();
      HttpResponse<String> response = fleet.call(nodeA, method, path, fleet.adminToken(), body);
      return new Call(started, System.currentTimeMillis(), response.statusCode(), response.body());
    }, CLIENTS);
  }
}
