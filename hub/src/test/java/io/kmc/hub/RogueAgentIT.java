package io.kmc.hub;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.kmc.common.protocol.Frame;
import io.kmc.common.protocol.ProtocolException;
import io.kmc.hub.support.Fleet;
import io.kmc.hub.support.RawAgent;
import io.kmc.hub.support.RawHttp;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.kmc.hub.support.Fleet.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The hub trusts no agent. A scripted agent for cluster "rogue" answers with forged framing, broken
 * headers, bodies that stop, data beyond its credits, oversized frames and log-forging text; every
 * client still gets an answer within the request timeout, no answer leaks into another cluster's
 * connection, the log stays readable, and the node keeps serving the healthy cluster "c1".
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class RogueAgentIT {

  /** Whom the hub's own requests (the resource counts of its metrics) act as. */
  private static final String HUB_USER = "system:kmc-hub";

  private static final long REQUEST_TIMEOUT_MILLIS = 3_000;

  private static Fleet fleet;
  private static Hub hub;
  private RawAgent rogue;

  @BeforeAll
  static void start() {
    fleet = new Fleet().hubSettings(Map.of("KMC_TUNNEL_REQUEST_TIMEOUT", REQUEST_TIMEOUT_MILLIS + "ms"));
    fleet.cluster("c1");
    fleet.cluster("rogue");
    hub = fleet.hubs(1).get(0);
    fleet.agent("c1", hub);
    fleet.awaitConnected(hub, "c1");
  }

  @AfterAll
  static void stop() {
    fleet.close();
  }

  @BeforeEach
  void connectRogue() throws Exception {
    rogue = await(RawAgent.connect(fleet.memberVertx(), hub, "rogue", fleet.joinToken("rogue")));
    rogue.hello("rogue");
    fleet.awaitConnected(hub, "rogue");
  }

  @AfterEach
  void closeRogue() {
    rogue.close();
    fleet.awaitDisconnected(hub, "rogue");
  }

  @Test
  void anAgentCannotSpliceAForgedAnswerIntoAKeepAliveConnection() throws Exception {
    String forged = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"forged\":\"yes\"}";
    try (RawHttp http = new RawHttp(hub.port(), 10_000)) {
      http.write(RawHttp.request("GET", "/k8s/clusters/rogue/api/v1/namespaces/default/configmaps/x",
          fleet.adminToken(), null));
      Frame.Request request = nextRequest();
      rogue.send(new Frame.Response(request.id(), 200, Map.of("Content-Length", List.of("7"),
          "Content-Type", List.of("application/json"), "Connection", List.of("keep-alive, X-Hop"),
          "X-Hop", List.of("1"), "Transfer-Encoding", List.of("identity")),
          ("{\"a\":1}" + forged).getBytes(StandardCharsets.UTF_8), false));
      RawHttp.Answer first = http.read();
      assertEquals(200, first.status());
      assertEquals("{\"a\":1}" + forged, first.body(), "the hub framed the whole body itself");
      assertEquals(null, first.header("x-hop"), "headers named in Connection are hop-by-hop");

      http.write(RawHttp.request("GET", "/k8s/clusters/c1/api/v1/namespaces/default/configmaps", fleet.adminToken(),
          null));
      RawHttp.Answer second = http.read();
      assertEquals(200, second.status(), second.body());
      assertEquals("ConfigMapList", new JsonObject(second.body()).getString("kind"), "c1's own answer");
    }
  }

  @Test
  void anAnswerWithABrokenHeadIsABadGatewayAtOnce() throws Exception {
    Map<String, Frame.Response> broken = new LinkedHashMap<>();
    broken.put("CR LF in a value", head(200, Map.of("X-A", List.of("a\r\nX-Injected: 1"))));
    broken.put("NUL in a value", head(200, Map.of("X-A", List.of("a\u0000b"))));
    broken.put("an empty name", head(200, Map.of("", List.of("v"))));
    broken.put("a space in a name", head(200, Map.of("Bad Name", List.of("v"))));
    broken.put("a colon in a name", head(200, Map.of("Bad:Name", List.of("v"))));
    broken.put("status 100", head(100, Map.of()));
    broken.put("status 199", head(199, Map.of()));
    Map<String, List<String>> many = new LinkedHashMap<>();
    for (int i = 0; i < 150; i++) {
      many.put("X-Many-" + i, List.of("v"));
    }
    broken.put("150 headers", head(200, many));
    broken.put("a 100 KB header", head(200, Map.of("X-Big", List.of("v".repeat(100_000)))));
    for (Map.Entry<String, Frame.Response> entry : broken.entrySet()) {
      CompletableFuture<RawHttp.Answer> answer = ask("/k8s/clusters/rogue/api/v1/namespaces/default/configmaps/x");
      Frame.Request request = nextRequest();
      Frame.Response template = entry.getValue();
      rogue.send(new Frame.Response(request.id(), template.status(), template.headers(), template.body(), false));
      RawHttp.Answer refused = answer.get(10, TimeUnit.SECONDS);
      assertEquals(502, refused.status(), entry.getKey() + ": " + refused.body());
      JsonObject status = new JsonObject(refused.body());
      assertEquals("Status", status.getString("kind"), entry.getKey());
      assertTrue(status.getString("message").contains("cluster 'rogue'"), entry.getKey() + ": " + status);
      assertTrue(refused.millis() < REQUEST_TIMEOUT_MILLIS, entry.getKey() + " took " + refused.millis() + " ms");
    }
    // Not even decodable (status out of range): the exchange is named in the frame, so it ends at once too.
    CompletableFuture<RawHttp.Answer> answer = ask("/k8s/clusters/rogue/api/v1/namespaces/default/configmaps/x");
    Frame.Request request = nextRequest();
    rogue.sendText("{\"type\":\"response\",\"id\":\"" + request.id() + "\",\"status\":700}");
    RawHttp.Answer refused = answer.get(10, TimeUnit.SECONDS);
    assertEquals(502, refused.status(), refused.body());
    assertTrue(refused.millis() < REQUEST_TIMEOUT_MILLIS, "took " + refused.millis() + " ms");
    healthyStillServed();
  }

  @Test
  void aBodyThatStopsOrOverrunsItsCreditsEndsWithinTheRequestTimeout() throws Exception {
    // The head promises more, then nothing comes: the client's answer ends within the request timeout.
    CompletableFuture<RawHttp.Answer> stalled = ask("/k8s/clusters/rogue/api/v1/namespaces/default/configmaps");
    Frame.Request request = nextRequest();
    rogue.send(new Frame.Response(request.id(), 200, Map.of("Content-Type", List.of("application/json")),
        "{\"items\":[".getBytes(StandardCharsets.UTF_8), true));
    RawHttp.Answer answer = stalled.get(REQUEST_TIMEOUT_MILLIS + 5_000, TimeUnit.MILLISECONDS);
    assertTrue(answer.millis() < REQUEST_TIMEOUT_MILLIS + 3_000, "ended after " + answer.millis() + " ms");
    assertCancelled(request.id());

    // Data beyond the credits granted to a client that does not read: the exchange ends and the agent
    // is told to stop, instead of the hub buffering whatever the agent sends.
    try (RawHttp idle = new RawHttp(hub.port(), 10_000)) {
      idle.write(RawHttp.request("GET", "/k8s/clusters/rogue/api/v1/namespaces/default/configmaps",
          fleet.adminToken(), null));
      Frame.Request second = nextRequest();
      rogue.send(new Frame.Response(second.id(), 200, Map.of(), new byte[0], true));
      byte[] chunk = "x".repeat(32 * 1024).getBytes(StandardCharsets.UTF_8);
      for (int i = 0; i < 400; i++) {
        rogue.send(new Frame.Data(second.id(), chunk));
      }
      assertCancelled(second.id());
    }
    healthyStillServed();
  }

  @Test
  void largeFramesAreTakenOrAnsweredNeverADisconnect() throws Exception {
    // One unfragmented frame well over 64 KiB, within the message limit: taken.
    rogue.sendSingleFrame("{\"type\":\"ping\",\"sentAtMillis\":7,\"pad\":\"" + "x".repeat(200 * 1024) + "\"}");
    assertEquals(new Frame.Pong(7), fromHub(5));
    // Over the message limit, fragmented or not: answered with frame-too-large, the connection lives.
    String oversized = "{\"type\":\"ping\",\"sentAtMillis\":8,\"pad\":\"" + "x".repeat(7 * 1024 * 1024) + "\"}";
    rogue.sendText(oversized);
    assertError(fromHub(10), ProtocolException.FRAME_TOO_LARGE);
    rogue.sendSingleFrame(oversized);
    assertError(fromHub(10), ProtocolException.FRAME_TOO_LARGE);
    rogue.send(new Frame.Ping(9));
    assertEquals(new Frame.Pong(9), fromHub(5));
    assertFalse(rogue.isClosed());
  }

  @Test
  void peerTextIsEscapedAndBoundedAndAFloodIsCountedNotLogged() throws Exception {
    ListAppender<ILoggingEvent> captured = new ListAppender<>();
    captured.start();
    Logger hubLogger = (Logger) LoggerFactory.getLogger("io.kmc.hub");
    hubLogger.addAppender(captured);
    try {
      rogue.send(new Frame.Error(null, "oops", "first line\n15:00:00.000 ERROR [main] forged - line\r\n"
          + "x".repeat(10_000)));
      rogue.send(new Frame.Ping(1));
      assertEquals(new Frame.Pong(1), fromHub(5));
      ILoggingEvent reported = captured.list.stream()
          .filter(event -> event.getFormattedMessage().contains("first line")).findFirst().orElseThrow();
      String line = reported.getFormattedMessage();
      assertFalse(line.contains("\n") || line.contains("\r"), line);
      assertTrue(line.length() < 1_000, "logged " + line.length() + " characters");

      double suppressedBefore = metric("kmc_agent_warnings_suppressed_total");
      int before = warnings(captured);
      for (int i = 0; i < 20_000; i++) {
        rogue.send(new Frame.Error(null, "flood", "message " + i));
        if (i % 2 == 0) {
          rogue.sendText("not json " + i);
        }
      }
      rogue.send(new Frame.Ping(2));
      Frame next;
      do {
        next = fromHub(30);
        assertNotNull(next, "the connection still answers after the flood");
      } while (!(next instanceof Frame.Pong));
      int logged = warnings(captured) - before;
      assertTrue(logged <= 25, logged + " warning lines for a flood of 30,000 bad frames");
      assertTrue(metric("kmc_agent_warnings_suppressed_total") - suppressedBefore >= 29_000,
          "the rest were counted");
    } finally {
      hubLogger.detachAppender(captured);
    }
    healthyStillServed();
  }

  private static int warnings(ListAppender<ILoggingEvent> captured) {
    return (int) new ArrayList<>(captured.list).stream().filter(event -> event.getLevel() == Level.WARN).count();
  }

  private static Frame.Response head(int status, Map<String, List<String>> headers) {
    return new Frame.Response("template", status, headers, new byte[0], false);
  }

  /**
   * The next frame the hub sends, past the hub's own periodic resource-count requests (the first
   * comes 5 s after start, whichever test is running then), which are answered as an agent would.
   */
  private Frame fromHub(int seconds) throws InterruptedException {
    while (true) {
      Frame frame = rogue.next(seconds);
      if (!(frame instanceof Frame.Request request) || !HUB_USER.equals(request.user().name())) {
        return frame;
      }
      rogue.send(new Frame.Response(request.id(), 200, Map.of("Content-Type", List.of("application/json")),
          "{\"items\":[]}".getBytes(StandardCharsets.UTF_8), false));
    }
  }

  /** The next request the hub sends, passing over cancels of exchanges that ended before. */
  private Frame.Request nextRequest() throws InterruptedException {
    Frame frame = fromHub(10);
    while (frame instanceof Frame.Cancel) {
      frame = fromHub(10);
    }
    return assertInstanceOf(Frame.Request.class, frame, "expected a request, got " + frame);
  }

  /** The agent is told to stop working on the exchange, among whatever else the hub sends. */
  private void assertCancelled(String id) throws InterruptedException {
    for (Frame frame = fromHub(10); frame != null; frame = fromHub(10)) {
      if (frame instanceof Frame.Cancel cancel && cancel.id().equals(id)) {
        return;
      }
    }
    throw new AssertionError("no cancel for " + id);
  }

  /** Sends a GET through the hub on a thread of its own; the answer is read off the wire. */
  private static CompletableFuture<RawHttp.Answer> ask(String path) {
    return CompletableFuture.supplyAsync(() -> {
      try (RawHttp http = new RawHttp(hub.port(), (int) REQUEST_TIMEOUT_MILLIS * 4)) {
        http.write(RawHttp.request("GET", path, fleet.adminToken(), null));
        return http.read();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
  }

  private static void assertError(Frame frame, String code) {
    Frame.Error error = assertInstanceOf(Frame.Error.class, frame, "expected an error frame, got " + frame);
    assertEquals(code, error.code(), error.toString());
  }

  private static void healthyStillServed() {
    assertEquals(200, fleet.call(hub, "GET", "/k8s/clusters/c1/api/v1/namespaces", fleet.adminToken(), null)
        .statusCode());
  }

  private static double metric(String name) {
    String body = fleet.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + hub.managementPort()
        + "/metrics")).build()).body();
    double sum = 0;
    for (String line : body.split("\n")) {
      if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
        sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return sum;
  }
}
