package io.kmc.hub;

import io.kmc.common.protocol.Frame;
import io.kmc.hub.support.Fleet;
import io.kmc.hub.support.RawAgent;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An agent's connection goes silent (half-open: the agent reads nothing and sends nothing) while
 * more reads than tunnel.max_in_flight_requests (256) are waiting for it, then the agent comes back
 * on a new connection. Every read already accepted keeps its place and its deadline: they all reach
 * the new session and succeed, none is refused with 429 for arriving there at once; and a read
 * that comes while the agent is known to be silent is refused with 503 and the reason.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SilentAgentIT {

  private static final int READS = 400;
  private static final int SLOTS = 256;

  private static final ExecutorService CLIENTS = Executors.newFixedThreadPool(8);
  private static Fleet fleet;
  private static Hub hub;

  @BeforeAll
  static void start() {
    // Hundreds of reads in a moment: far above the per-user limit of a real hub, which is not what is tested here.
    // The tunnel's defaults: the test fleet's 2 s ping timeout would drop the silent connection before the
    // hub could call it silent (2 s), and its 10 s request timeout would end reads while they are still sent.
    fleet = new Fleet().hubSettings(Map.of("KMC_AUTH_REQUESTS_PER_MINUTE", "1000000",
        "KMC_TUNNEL_PING_INTERVAL", "20s", "KMC_TUNNEL_PING_TIMEOUT", "30s", "KMC_TUNNEL_REQUEST_TIMEOUT", "30s"));
    fleet.cluster("quiet");
    hub = fleet.hubs(1).get(0);
  }

  @AfterAll
  static void stop() {
    fleet.close();
    CLIENTS.shutdownNow();
  }

  @Test
  void readsHeldForASilentAgentAllReachItsNewConnectionAndNoneGets429() throws Exception {
    HttpClient http = HttpClient.newBuilder().executor(CLIENTS).connectTimeout(Duration.ofSeconds(10)).build();
    RawAgent silent = Fleet.await(RawAgent.connect(fleet.memberVertx(), hub, "quiet", fleet.joinToken("quiet")));
    silent.hello("quiet");
    fleet.awaitConnected(hub, "quiet");

    List<CompletableFuture<HttpResponse<String>>> reads = new ArrayList<>();
    for (int i = 0; i < READS; i++) {
      reads.add(http.sendAsync(get("/k8s/clusters/quiet/api/v1/namespaces/ns-" + i), HttpResponse.BodyHandlers.ofString()));
    }
    // The agent receives as many as it has slots for and answers none of them; meanwhile it still pings
    // (an agent's own pings count as traffic), so the rest queue at the hub while they arrive.
    AtomicBoolean talking = new AtomicBoolean(true);
    Thread pinger = new Thread(() -> {
      while (talking.get()) {
        silent.send(new Frame.Ping(System.currentTimeMillis()));
        try {
          Thread.sleep(250);
        } catch (InterruptedException e) {
          return;
        }
      }
    }, "silent-agent-pings");
    pinger.start();
    int received = 0;
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
    while (received < SLOTS && System.nanoTime() < until) {
      if (silent.next(1) instanceof Frame.Request) {
        received++;
      }
    }
    assertEquals(SLOTS, received, "requests the agent received before its connection went silent");
    Thread.sleep(3_000); // the last of the 400 reach the hub and queue
    talking.set(false);
    pinger.join();
    for (Frame frame = silent.next(1); frame != null; frame = silent.next(1)) {
      assertTrue(!(frame instanceof Frame.Request), "the hub sent the agent more than tunnel.max_in_flight_requests");
    }
    assertTrue(reads.stream().noneMatch(CompletableFuture::isDone), () -> "a read was answered while the agent was heard "
        + "from: " + reads.stream().filter(CompletableFuture::isDone).map(f -> f.handle((r, e) -> e != null ? e.toString()
        : r.statusCode() + " " + r.body()).join()).limit(3).toList());

    // Known silent for over 2 s with every slot taken: a new read is refused at once, with the reason.
    Thread.sleep(2_500);
    HttpResponse<String> refused = http.send(get("/k8s/clusters/quiet/api/v1/namespaces/late"),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(503, refused.statusCode(), refused.body());
    assertTrue(refused.body().contains("has sent nothing for"), refused.body());
    assertTrue(refused.body().contains("tunnel.ping_timeout"), refused.body());
    assertEquals("1", refused.headers().firstValue("Retry-After").orElse(null));
    assertTrue(reads.stream().noneMatch(CompletableFuture::isDone), "a read held for the silent agent was answered");

    // The agent gives up on its silent connection and dials again, as it does after tunnel.ping_timeout.
    silent.close();
    TreeMap<Integer, Integer> statuses = new TreeMap<>();
    try (RawAgent back = Fleet.await(RawAgent.connect(fleet.memberVertx(), hub, "quiet", fleet.joinToken("quiet")))) {
      back.hello("quiet");
      int answered = 0;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!reads.stream().allMatch(CompletableFuture::isDone) && System.nanoTime() < deadline) {
        Frame frame = back.next(1);
        if (frame instanceof Frame.Request request) {
          back.send(new Frame.Response(request.id(), 200, Map.of("Content-Type", List.of("application/json")),
              ("{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"" + request.path() + "\"}}").getBytes(), false));
          answered++;
        }
      }
      List<String> failures = new ArrayList<>();
      for (CompletableFuture<HttpResponse<String>> read : reads) {
        HttpResponse<String> response = read.get(5, TimeUnit.SECONDS);
        statuses.merge(response.statusCode(), 1, Integer::sum);
        if (response.statusCode() != 200) {
          failures.add(response.statusCode() + " " + response.body());
        }
      }
      assertTrue(!statuses.containsKey(429), () -> "429s: " + statuses + ", e.g. " + failures.get(0));
      for (String failure : failures) {
        assertTrue(failure.startsWith("503 ") || failure.startsWith("504 "), failure);
        assertTrue(failure.contains("\"message\":\"") && failure.contains("quiet"), "no reason: " + failure);
      }
      // Nothing was lost on the way: every read was sent again and answered by the agent's new connection.
      assertEquals(Map.of(200, READS), statuses, "statuses; failures: " + failures.stream().limit(3).toList());
      assertEquals(READS, answered, "requests the agent's new connection received");
    }
  }

  private static HttpRequest get(String path) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + hub.port() + path))
        .header("Authorization", "Bearer " + fleet.adminToken()).timeout(Duration.ofSeconds(60)).GET().build();
  }
}
