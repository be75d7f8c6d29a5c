package io.kmc.hub;

import io.kmc.common.KmcException;
import io.kmc.common.protocol.Frame;
import io.kmc.common.protocol.ProtocolException;
import io.kmc.hub.support.Fleet;
import io.kmc.hub.support.RawAgent;
import io.vertx.core.http.UpgradeRejectedException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hostile and broken input at the agent endpoint and the pass-through: each gets a clear error, and
 * the node keeps serving the healthy cluster throughout.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class GatewayIT {

  private static Fleet fleet;
  private static Hub hub;

  @BeforeAll
  static void start() {
    fleet = new Fleet().hubSettings(Map.of(
        "KMC_TUNNEL_MAX_FRAME_BYTES", "1MiB",
        "KMC_TUNNEL_MAX_IN_FLIGHT_REQUESTS", "2",
        "KMC_TUNNEL_MAX_QUEUED_REQUESTS", "2",
        "KMC_TUNNEL_REQUEST_TIMEOUT", "1500ms",
        "KMC_TUNNEL_HELLO_TIMEOUT", "1s",
        "KMC_SERVER_MAX_BODY_BYTES", "256KiB"));
    fleet.cluster("healthy");
    fleet.cluster("fake");
    hub = fleet.hubs(1).get(0);
    fleet.agent("healthy", hub);
    fleet.awaitConnected(hub, "healthy");
  }

  @AfterAll
  static void stop() {
    fleet.close();
  }

  /**
   * server.native_transport is on by default: on Linux x86_64 (where the epoll library is shipped) the
   * node's sockets are epoll ones, and the agent above connected and is served through them.
   */
  @Test
  void socketsUseEpollOnLinuxX8664() {
    org.junit.jupiter.api.Assumptions.assumeTrue(System.getProperty("os.name").toLowerCase().contains("linux")
        && List.of("amd64", "x86_64").contains(System.getProperty("os.arch")), "epoll is shipped for Linux x86_64 only");
    assertTrue(hub.vertx().isNativeTransportEnabled(), "native transport unavailable: "
        + hub.vertx().unavailableNativeTransportCause());
    stillServing();
  }

  @Test
  void handshakeRefusesMissingOrWrongTokensAndUnknownClusters() {
    assertEquals(401, rejected("fake", null));
    assertEquals(401, rejected("fake", "not-the-token"));
    assertEquals(401, rejected("fake", fleet.joinToken("healthy")));
    assertEquals(404, rejected("nowhere", "whatever"));
    HttpResponse<String> plain = fleet.send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + hub.port() + "/agent/v1/connect")).GET().build());
    assertEquals(400, plain.statusCode());
    assertTrue(plain.body().contains("websocket"), plain.body());
    stillServing();
  }

  @Test
  void malformedUnknownAndOversizedFramesGetErrorFramesAndTheConnectionLives() throws Exception {
    try (RawAgent agent = connect()) {
      agent.hello("fake");

      agent.sendText("this is not json");
      assertError(agent.next(5), ProtocolException.MALFORMED_FRAME);
      agent.sendText("{\"type\":\"teleport\",\"id\":\"x\"}");
      assertError(agent.next(5), ProtocolException.UNKNOWN_TYPE);
      agent.sendText("{\"type\":\"response\",\"id\":\"x\",\"status\":999}");
      assertError(agent.next(5), ProtocolException.MALFORMED_FRAME);
      agent.send(new Frame.Request("r", "GET", "/api", null, null, null, null, false, false, 1, 1));
      assertError(agent.next(5), ProtocolException.UNEXPECTED_FRAME);
      agent.sendText("{\"type\":\"ping\",\"sentAtMillis\":1,\"pad\":\"" + "x".repeat(2 * 1024 * 1024) + "\"}");
      assertError(agent.next(5), ProtocolException.FRAME_TOO_LARGE);

      agent.send(new Frame.Ping(42));
      assertEquals(new Frame.Pong(42), agent.next(5));
    }
    stillServing();
  }

  @Test
  void unknownProtocolVersionIsRefusedWithAReason() throws Exception {
    try (RawAgent agent = connect()) {
      agent.send(new Frame.Hello(List.of(7, 8), "fake", "future-agent", "v1.40.0", List.of()));
      Frame error = agent.next(5);
      assertError(error, ProtocolException.UNSUPPORTED_VERSION);
      assertTrue(((Frame.Error) error).message().contains("[1, 2]"), error.toString());
      String closed = agent.closedWith(5);
      assertTrue(closed.startsWith("4001"), closed);
    }
    stillServing();
  }

  @Test
  void silenceBeforeHelloAndAWrongFirstFrameCloseTheConnection() throws Exception {
    try (RawAgent quiet = connect()) {
      assertTrue(quiet.closedWith(5).startsWith("1002"));
    }
    try (RawAgent rude = connect()) {
      rude.send(new Frame.Ping(1));
      assertError(rude.next(5), ProtocolException.UNEXPECTED_FRAME);
      assertTrue(rude.closedWith(5).startsWith("1002"));
    }
    try (RawAgent impostor = connect()) {
      impostor.send(new Frame.Hello(List.of(1), "healthy", "x", "v1", List.of()));
      assertError(impostor.next(5), ProtocolException.UNEXPECTED_FRAME);
      assertTrue(impostor.closedWith(5).startsWith("1002"));
    }
    stillServing();
  }

  @Test
  void anAgentThatNeverAnswersGives504AndAFullQueueGives503WithRetryAfter() throws Exception {
    try (RawAgent agent = connect()) {
      agent.hello("fake");
      fleet.awaitConnected(hub, "fake");
      // Two requests fill the in-flight limit of this hub; the agent sits on them.
      List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> slow = List.of(
          getAsync("/k8s/clusters/fake/api/v1/namespaces"), getAsync("/k8s/clusters/fake/api/v1/pods"));
      Frame first = agent.next(5);
      Frame second = agent.next(5);
      assertInstanceOf(Frame.Request.class, first);
      assertInstanceOf(Frame.Request.class, second);

      // Two more queue for a slot (tunnel.max_queued_requests); a fifth finds the queue full: 503 at once,
      // with the reason and Retry-After (never 429: the agent is slow, the client did nothing wrong).
      List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> queued = List.of(
          getAsync("/k8s/clusters/fake/api/v1/services"), getAsync("/k8s/clusters/fake/api/v1/secrets"));
      Thread.sleep(200);
      long before = System.nanoTime();
      HttpResponse<String> refused = get("/k8s/clusters/fake/api/v1/endpoints");
      long tookMillis = (System.nanoTime() - before) / 1_000_000;
      assertEquals(503, refused.statusCode(), refused.body());
      assertTrue(refused.body().contains("\"reason\":\"ServiceUnavailable\""), refused.body());
      assertTrue(refused.body().contains("tunnel.max_queued_requests"), refused.body());
      assertEquals("1", refused.headers().firstValue("Retry-After").orElse(null));
      assertTrue(tookMillis < 1_000, "refused after " + tookMillis + " ms");

      for (var response : slow) {
        HttpResponse<String> timedOut = response.get(10, TimeUnit.SECONDS);
        assertEquals(504, timedOut.statusCode());
        assertTrue(timedOut.body().contains("\"kind\":\"Status\""), timedOut.body());
      }
      // The queued ones kept their own deadline (tunnel.request_timeout from when they arrived): 504 too, not later.
      for (var response : queued) {
        HttpResponse<String> timedOut = response.get(10, TimeUnit.SECONDS);
        assertEquals(504, timedOut.statusCode(), timedOut.body());
      }
      // The hub told the agent to stop working on the first two.
      List<Frame> sent = new java.util.ArrayList<>();
      for (Frame f = agent.next(2); f != null; f = agent.next(1)) {
        sent.add(f);
      }
      for (Frame request : List.of(first, second)) {
        String id = ((Frame.Request) request).id();
        assertTrue(sent.stream().anyMatch(f -> f instanceof Frame.Cancel c && c.id().equals(id)), "no cancel of " + id
            + " in " + sent);
      }

      // A late answer to a request that timed out is ignored, not misrouted.
      agent.send(new Frame.Response(((Frame.Request) first).id(), 200, null, "{}".getBytes(), false));
    }
    stillServing();
  }

  @Test
  void aBurstAboveTheInFlightLimitWaitsForASlotInsteadOfBeingRefused() throws Exception {
    try (RawAgent agent = connect()) {
      agent.hello("fake");
      fleet.awaitConnected(hub, "fake");
      var first = getAsync("/k8s/clusters/fake/api/v1/namespaces");
      var second = getAsync("/k8s/clusters/fake/api/v1/pods");
      Frame.Request a = assertInstanceOf(Frame.Request.class, agent.next(5));
      Frame.Request b = assertInstanceOf(Frame.Request.class, agent.next(5));
      // The limit (2) is reached: the third and fourth wait at the hub, not at the agent.
      var third = getAsync("/k8s/clusters/fake/api/v1/services");
      var fourth = getAsync("/k8s/clusters/fake/api/v1/secrets");
      Thread.sleep(150);
      assertNull(agent.next(0), "the hub sent the agent more than tunnel.max_in_flight_requests");
      answer(agent, a);
      answer(agent, b);
      // Each answer frees a slot, which goes to a waiting request.
      Frame.Request c = assertInstanceOf(Frame.Request.class, agent.next(5));
      Frame.Request d = assertInstanceOf(Frame.Request.class, agent.next(5));
      answer(agent, c);
      answer(agent, d);
      for (var response : List.of(first, second, third, fourth)) {
        HttpResponse<String> ok = response.get(10, TimeUnit.SECONDS);
        assertEquals(200, ok.statusCode(), ok.body());
      }
    }
    stillServing();
  }

  /**
   * The agent's own 503 (busy: kubernetes.max_requests in progress) says when to retry, framed as the agent
   * frames it ({@code Frame.Response.failure}); the hub hands both the Status and Retry-After to the client.
   */
  @Test
  void anAgentsBusy503ReachesTheClientWithRetryAfter() throws Exception {
    try (RawAgent agent = connect()) {
      agent.hello("fake");
      fleet.awaitConnected(hub, "fake");
      var response = getAsync("/k8s/clusters/fake/api/v1/namespaces");
      Frame.Request request = assertInstanceOf(Frame.Request.class, agent.next(5));
      agent.send(Frame.Response.failure(request.id(), KmcException.unavailable("the agent is busy: 64 requests are "
          + "in progress (kubernetes.max_requests); retry later", 2)));
      HttpResponse<String> busy = response.get(10, TimeUnit.SECONDS);
      assertEquals(503, busy.statusCode(), busy.body());
      assertTrue(busy.body().contains("kubernetes.max_requests"), busy.body());
      assertEquals("2", busy.headers().firstValue("Retry-After").orElse(null));
    }
    stillServing();
  }

  /**
   * An agent's clock is never compared with the hub's: a join token has no time in it, hello carries
   * none, and the hub echoes the agent's ping time without reading it (latency is measured on the
   * hub's own pings). So an agent 10 minutes ahead or behind is served like any other.
   */
  @Test
  void anAgentWhoseClockIsTenMinutesOffIsServed() throws Exception {
    try (RawAgent agent = connect()) {
      agent.hello("fake");
      fleet.awaitConnected(hub, "fake");
      long tenMinutes = Duration.ofMinutes(10).toMillis();
      for (long skew : List.of(tenMinutes, -tenMinutes)) {
        long agentNow = System.currentTimeMillis() + skew;
        agent.send(new Frame.Ping(agentNow));
        Frame pong = agent.next(5);
        assertEquals(agentNow, assertInstanceOf(Frame.Pong.class, pong).sentAtMillis());
        var response = getAsync("/k8s/clusters/fake/api/v1/namespaces");
        answer(agent, assertInstanceOf(Frame.Request.class, agent.next(5)));
        assertEquals(200, response.get(10, TimeUnit.SECONDS).statusCode());
      }
      assertTrue(!agent.isClosed(), "the hub closed the skewed agent's connection");
    }
    stillServing();
  }

  private static void answer(RawAgent agent, Frame.Request request) {
    agent.send(new Frame.Response(request.id(), 200, Map.of("Content-Type", List.of("application/json")),
        "{\"kind\":\"List\",\"items\":[]}".getBytes(), false));
  }

  @Test
  void passthroughRefusesBadCallsWithKubernetesStatuses() {
    HttpResponse<String> noToken = fleet.send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + hub.port() + "/k8s/clusters/healthy/api/v1/namespaces")).GET().build());
    assertEquals(401, noToken.statusCode());
    assertTrue(noToken.body().contains("\"kind\":\"Status\""), noToken.body());

    HttpResponse<String> badToken = fleet.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + hub.port() + "/k8s/clusters/healthy/api/v1/namespaces"))
        .header("Authorization", "Bearer forged").GET().build());
    assertEquals(401, badToken.statusCode());

    HttpResponse<String> unknown = get("/k8s/clusters/atlantis/api/v1/namespaces");
    assertEquals(404, unknown.statusCode());
    assertTrue(unknown.body().contains("not registered"), unknown.body());

    HttpResponse<String> huge = fleet.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + hub.port() + "/k8s/clusters/healthy/api/v1/namespaces/default/configmaps"))
        .header("Authorization", "Bearer " + fleet.adminToken())
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"data\":\"" + "x".repeat(512 * 1024) + "\"}")).build());
    assertEquals(413, huge.statusCode());
    assertTrue(huge.body().contains("\"kind\":\"Status\""), huge.body());

    HttpResponse<String> apiNoToken = fleet.send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + hub.port() + "/api/v1/clusters")).GET().build());
    assertEquals(401, apiNoToken.statusCode());
    assertTrue(apiNoToken.body().contains("\"reason\":\"Unauthorized\""), apiNoToken.body());
    stillServing();
  }

  private static void assertError(Frame frame, String code) {
    assertNotNull(frame, "expected an error frame " + code + ", got nothing");
    Frame.Error error = assertInstanceOf(Frame.Error.class, frame);
    assertEquals(code, error.code(), error.message());
  }

  private static int rejected(String cluster, String token) {
    UpgradeRejectedException e = assertThrows(UpgradeRejectedException.class, () -> {
      try {
        Fleet.await(RawAgent.connect(fleet.memberVertx(), hub, cluster, token)).close();
      } catch (IllegalStateException wrapped) {
        throw wrapped.getCause();
      }
    });
    return e.getStatus();
  }

  private static RawAgent connect() {
    return Fleet.await(RawAgent.connect(fleet.memberVertx(), hub, "fake", fleet.joinToken("fake")));
  }

  private static HttpResponse<String> get(String path) {
    return fleet.send(request(path));
  }

  private static java.util.concurrent.CompletableFuture<HttpResponse<String>> getAsync(String path) {
    return java.net.http.HttpClient.newHttpClient().sendAsync(request(path), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpRequest request(String path) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + hub.port() + path))
        .header("Authorization", "Bearer " + fleet.adminToken()).timeout(Duration.ofSeconds(20)).GET().build();
  }

  /** The healthy cluster answers through the same node. */
  private static void stillServing() {
    HttpResponse<String> response = get("/k8s/clusters/healthy/api/v1/namespaces/default");
    assertEquals(200, response.statusCode(), response.body());
  }
}
