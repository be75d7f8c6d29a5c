package io.kmc.hub;

import io.kmc.common.protocol.AgentEndpoint;
import io.kmc.common.protocol.Frame;
import io.kmc.common.protocol.FrameCodec;
import io.kmc.hub.support.Fleet;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The small version of the fleet simulator's run (docs/scale.md) that guards against regressions:
 * 300 agents (raw websockets speaking the protocol) dial one hub node at once, three times over. The
 * node admits them at {@code tunnel.admission_rate} and tells the rest when to come back, the cluster
 * list pages through all of them, and after every cycle the node's agent sessions, event-bus
 * handlers and threads are back where they started: nothing leaks per connection.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ScaleIT {

  private static final int AGENTS = 300;
  private static final int CYCLES = 3;
  private static final int ADMISSION_RATE = 100;

  private final HttpClient http = HttpClient.newHttpClient();
  private final Vertx vertx = Vertx.vertx();
  private Fleet fleet;

  @AfterEach
  void stop() {
    if (fleet != null) {
      fleet.close();
    }
    vertx.close();
  }

  @Test
  void threeHundredAgentsComeAndGoWithoutLeavingAnythingBehind() throws Exception {
    fleet = new Fleet().hubSettings(Map.of("KMC_TUNNEL_ADMISSION_RATE", String.valueOf(ADMISSION_RATE)));
    Hub hub = fleet.hubs(1).get(0);
    Map<String, String> tokens = new ConcurrentHashMap<>();
    for (int i = 0; i < AGENTS; i++) {
      String name = String.format("scale-%03d", i);
      HttpResponse<String> created = fleet.call(hub, "POST", "/api/v1/clusters", fleet.adminToken(),
          new JsonObject().put("name", name));
      assertEquals(201, created.statusCode(), created.body());
      tokens.put(name, new JsonObject(created.body()).getString("token"));
    }
    WebSocketClient client = vertx.createWebSocketClient(new WebSocketClientOptions().setMaxConnections(10_000));
    String before = scrape(hub);
    double handlersBefore = value(before, "vertx_eventbus_handlers");
    int threadsBefore = Thread.activeCount();
    int deferred = 0;

    for (int cycle = 0; cycle < CYCLES; cycle++) {
      AtomicInteger retried = new AtomicInteger();
      List<Future<WebSocket>> dials = new ArrayList<>();
      tokens.forEach((cluster, token) -> dials.add(connect(client, hub, cluster, token, retried)));
      List<WebSocket> sockets = new ArrayList<>();
      for (Future<WebSocket> dial : dials) {
        sockets.add(dial.await(90, TimeUnit.SECONDS));
      }
      deferred += retried.get();
      Fleet.eventually(Duration.ofSeconds(30), () -> value(scrape(hub), "kmc_agent_sessions") == AGENTS,
          "all " + AGENTS + " agents held in cycle " + cycle);
      assertEquals(AGENTS, connectedInPages(hub, 128), "every cluster listed once, connected, over three pages");
      // One liveness timer per event loop, not per agent (each upgrade runs on a context of its own).
      double sweeps = value(scrape(hub), "kmc_tunnel_liveness_sweeps");
      assertTrue(sweeps >= 1 && sweeps <= io.vertx.core.VertxOptions.DEFAULT_EVENT_LOOP_POOL_SIZE,
          sweeps + " liveness sweeps for " + AGENTS + " agents");

      for (WebSocket socket : sockets) {
        socket.close();
      }
      Fleet.eventually(Duration.ofSeconds(30), () -> value(scrape(hub), "kmc_agent_sessions") == 0,
          "every session gone after cycle " + cycle);
    }

    assertTrue(deferred > 0, "a burst of " + AGENTS + " dials over an admission rate of " + ADMISSION_RATE
        + "/s is spread out with Retry-After");
    assertTrue(value(scrape(hub), "kmc_agent_connects_deferred_total") >= deferred);
    Fleet.eventually(Duration.ofSeconds(15), () -> value(scrape(hub), "vertx_eventbus_handlers") == handlersBefore,
        "event-bus handlers back to " + handlersBefore + " after " + CYCLES * AGENTS + " connections");
    // Threads are pooled, never one per connection: a few may start lazily (a worker pool's first use).
    int threadsAfter = Thread.activeCount();
    assertTrue(threadsAfter <= threadsBefore + 8, "threads " + threadsBefore + " before, " + threadsAfter + " after");
    client.close();
  }

  @Test
  void theRealAgentComesBackWhenTheBusyNodeSaysRatherThanHammeringIt() throws Exception {
    fleet = new Fleet().hubSettings(Map.of("KMC_TUNNEL_ADMISSION_RATE", "1"));
    fleet.cluster("first");
    fleet.cluster("second");
    Hub hub = fleet.hubs(1).get(0);
    WebSocketClient client = vertx.createWebSocketClient();
    // Takes the one connection the node admits this second.
    WebSocket first = connect(client, hub, "first", fleet.joinToken("first"), new AtomicInteger())
        .await(30, TimeUnit.SECONDS);
    long start = System.nanoTime();
    fleet.agent("second", hub);
    fleet.awaitConnected(hub, "second");
    long waitedMillis = (System.nanoTime() - start) / 1_000_000;
    double deferred = value(scrape(hub), "kmc_agent_connects_deferred_total");
    // Its own back-off (50 ms to 500 ms here) would have dialled again and again within the second it was told to wait.
    assertTrue(deferred >= 1 && deferred <= 2, "deferred " + deferred + " times");
    assertTrue(waitedMillis >= 900, "came back after the Retry-After, not at once: " + waitedMillis + " ms");
    first.close();
    client.close();
  }

  /**
   * server.tls.max_concurrent_handshakes through the real hub and agent: with the node's one handshake
   * held by a connection that never says ClientHello, the agent's dial waits, accepted but unread, and
   * goes through once that connection ends.
   */
  @Test
  void anAgentsHandshakeWaitsItsTurnAtABusyNode() throws Exception {
    fleet = new Fleet().tls().hubSettings(Map.of("KMC_SERVER_TLS_MAX_CONCURRENT_HANDSHAKES", "1"));
    fleet.cluster("queued");
    Hub hub = fleet.hubs(1).get(0);
    io.vertx.core.net.NetSocket silent = vertx.createNetClient().connect(hub.port(), "127.0.0.1")
        .await(10, TimeUnit.SECONDS);
    Fleet.eventually(Duration.ofSeconds(10), () -> value(scrape(hub), "kmc_tls_handshakes_running") == 1,
        "the silent connection holds the node's one handshake");

    fleet.agent("queued", hub);
    Fleet.eventually(Duration.ofSeconds(20), () -> value(scrape(hub), "kmc_tls_handshakes_waiting") == 1,
        "the agent's handshake waits");
    assertEquals(0, value(scrape(hub), "kmc_agent_sessions"));

    silent.close();
    fleet.awaitConnected(hub, "queued");
    String after = scrape(hub);
    assertEquals(0, value(after, "kmc_tls_handshakes_waiting"));
    assertEquals(0, value(after, "kmc_tls_handshakes_closed_waiting_total"));
  }

  /**
   * Pings are for idle connections only, on both sides: while requests flow the real agent sends
   * none, and an idle link carries one ping (and its pong) per interval, not one from each side.
   * Fleet's hubs ping after 500 ms of silence.
   */
  @Test
  void onlyIdleConnectionsArePingedAndOnlyFromOneSide() throws Exception {
    fleet = new Fleet();
    fleet.cluster("pinged");
    Hub hub = fleet.hubs(1).get(0);
    fleet.agent("pinged", hub);
    fleet.awaitConnected(hub, "pinged");
    Thread.sleep(1_000);

    double fromAgent = pings(scrape(hub), "agent");
    double fromHub = pings(scrape(hub), "hub");
    long busyUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
    int answered = 0;
    while (System.nanoTime() < busyUntil) {
      assertEquals(200, fleet.api(hub, "/k8s/clusters/pinged/api/v1/namespaces").statusCode());
      answered++;
      Thread.sleep(100);
    }
    String busy = scrape(hub);
    // Before, the agent pinged every 500 ms however busy the link was: 6 pings in these 3 s.
    assertTrue(pings(busy, "agent") - fromAgent <= 2,
        "the agent pinged a busy link (" + answered + " requests answered): " + busy.lines()
            .filter(l -> l.startsWith("kmc_tunnel_pings")).toList());
    assertTrue(pings(busy, "hub") - fromHub <= 2, "the hub pinged a busy link");

    double pingsBefore = pings(busy, "agent")
        + pings(busy, "hub");
    Thread.sleep(5_000);
    String idle = scrape(hub);
    double idlePings = pings(idle, "agent")
        + pings(idle, "hub") - pingsBefore;
    // 5 s idle at a 500 ms interval: about 10 round trips if one side pings (sweeps tick every 250 ms,
    // so up to 750 ms apart); 20 if both did.
    assertTrue(idlePings >= 4 && idlePings <= 14, idlePings + " pings in 5 s of idle link");
    assertEquals(1, value(idle, "kmc_agent_sessions"), "the idle agent stayed connected");
  }

  /** An agent that says hello and answers pings; redials after the Retry-After of a 503. */
  private Future<WebSocket> connect(WebSocketClient client, Hub hub, String cluster, String token,
                                    AtomicInteger retried) {
    Promise<WebSocket> welcomed = Promise.promise();
    dial(client, hub, cluster, token, retried, welcomed);
    return welcomed.future();
  }

  private void dial(WebSocketClient client, Hub hub, String cluster, String token, AtomicInteger retried,
                    Promise<WebSocket> welcomed) {
    client.connect(new WebSocketConnectOptions().setAbsoluteURI("ws://127.0.0.1:" + hub.port() + "/agent/v1/connect")
            .addHeader(AgentEndpoint.CLUSTER_HEADER, cluster).addHeader("Authorization", "Bearer " + token))
        .onSuccess(ws -> {
          ws.textMessageHandler(text -> {
            Frame frame = FrameCodec.decode(text);
            if (frame instanceof Frame.Ping ping) {
              ws.writeTextMessage(FrameCodec.encodeToString(new Frame.Pong(ping.sentAtMillis())));
            } else if (frame instanceof Frame.Welcome) {
              welcomed.tryComplete(ws);
            }
          });
          ws.writeTextMessage(FrameCodec.encodeToString(new Frame.Hello(List.of(2), cluster, "scale-it", "v1.30.0",
              List.of())));
        })
        .onFailure(e -> {
          String retryAfter = e instanceof UpgradeRejectedException rejected && rejected.getStatus() == 503
              ? rejected.getHeaders().get("Retry-After") : null;
          if (retryAfter == null) {
            welcomed.tryFail(e);
            return;
          }
          retried.incrementAndGet();
          vertx.setTimer(Long.parseLong(retryAfter) * 1000 + (long) (Math.random() * 1000),
              t -> dial(client, hub, cluster, token, retried, welcomed));
        });
  }

  /** Pages through GET /api/v1/clusters; returns how many clusters were connected, each listed once. */
  private int connectedInPages(Hub hub, int limit) {
    Set<String> seen = new HashSet<>();
    int connected = 0;
    int pages = 0;
    String next = null;
    do {
      String path = "/api/v1/clusters?limit=" + limit + (next == null ? ""
          : "&continue=" + URLEncoder.encode(next, StandardCharsets.UTF_8));
      HttpResponse<String> page = fleet.call(hub, "GET", path, fleet.adminToken(), null);
      assertEquals(200, page.statusCode(), page.body());
      JsonObject body = new JsonObject(page.body());
      JsonArray items = body.getJsonArray("items");
      assertTrue(items.size() <= limit);
      for (int i = 0; i < items.size(); i++) {
        JsonObject cluster = items.getJsonObject(i);
        assertTrue(seen.add(cluster.getString("name")), "listed twice: " + cluster.getString("name"));
        JsonObject connection = cluster.getJsonObject("connection");
        if (connection != null && Boolean.TRUE.equals(connection.getBoolean("connected"))) {
          connected++;
        }
      }
      next = body.getString("continue");
      pages++;
    } while (next != null);
    assertEquals((AGENTS + limit - 1) / limit, pages);
    return connected;
  }

  private String scrape(Hub hub) {
    try {
      return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + hub.managementPort() + "/metrics"))
          .GET().build(), HttpResponse.BodyHandlers.ofString()).body();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** kmc_tunnel_pings_total of one side. */
  private static double pings(String exposition, String from) {
    return exposition.lines().filter(l -> l.startsWith("kmc_tunnel_pings_total{") && l.contains("from=\"" + from + "\""))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
  }

  /** The sum of a metric's samples over all label sets. */
  private static double value(String exposition, String name) {
    Matcher m = Pattern.compile("^" + Pattern.quote(name) + "(\\{[^}]*})?\\s+(\\S+)$", Pattern.MULTILINE)
        .matcher(exposition);
    double sum = 0;
    while (m.find()) {
      sum += Double.parseDouble(m.group(2));
    }
    return sum;
  }
}
