package io.kmc.agent.kube;

import io.kmc.ops.BlockingPool;
import io.kmc.common.protocol.Frame;
import io.kmc.common.protocol.Limits;
import io.kmc.kubesim.KubeSim;
import io.kmc.kubesim.KubeSimOptions;
import io.kmc.ops.BlockingPool;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The executor against the in-JVM API server over plain HTTP/1.1: what frames come out, and when. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class KubeRequestExecutorMockTest {

  private static final int CHUNK = 4 * 1024;
  private static final Limits LIMITS = new Limits(Limits.DEFAULT_MAX_FRAME_BYTES, Limits.DEFAULT_MAX_BODY_BYTES, CHUNK,
      10, 10, 2, 5_000, 1_000, 3_000);
  private static Vertx vertx;
  private static KubeSim sim;
  private static KubeAccess kube;
  private static BlockingPool clientJava;
  private static final AtomicInteger ids = new AtomicInteger();

  @BeforeAll
  static void start(@TempDir Path dir) throws Exception {
    vertx = Vertx.vertx();
    sim = KubeSim.start(vertx, new KubeSimOptions().seed(true).logLineIntervalMillis(20)).await(10, TimeUnit.SECONDS);
    Path kubeconfig = dir.resolve("sim.kubeconfig");
    Files.writeString(kubeconfig, sim.kubeconfig("sim"));
    kube = KubeAccess.kubeconfig(kubeconfig, null, Duration.ofSeconds(10));
    clientJava = BlockingPool.fixed("test-client-java", 1, 4);
  }

  @AfterAll
  static void stop() throws Exception {
    clientJava.close();
    sim.close().await(10, TimeUnit.SECONDS);
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private static Harness harness(int maxRequests, int maxStreams) {
    return new Harness(vertx, kube, KubeHttp.Settings.defaults(Duration.ofSeconds(20)).withLimits(maxRequests,
        maxStreams), LIMITS, clientJava);
  }

  static Frame.Request get(String path, String query, boolean stream, int credits) {
    return new Frame.Request("t-" + ids.incrementAndGet(), "GET", path, query,
        Map.of("Accept", List.of("application/json")), null, null, false, stream, credits, 20_000);
  }

  @Test
  void smallAnswerIsOneResponseFrame() throws Exception {
    try (Harness h = harness(2, 2)) {
      h.executor.handle(get("/api/v1/namespaces/default", null, false, 2));
      Frame.Response response = assertInstanceOf(Frame.Response.class, h.next());
      assertEquals(200, response.status());
      assertFalse(response.more());
      assertEquals("default", new JsonObject(new String(response.body(), StandardCharsets.UTF_8))
          .getJsonObject("metadata").getString("name"));
      assertTrue(response.headers().keySet().stream().noneMatch(name -> name.equalsIgnoreCase("Content-Length")));
      assertTrue(response.headers().keySet().stream().anyMatch(name -> name.equalsIgnoreCase("Content-Type")));
      h.awaitIdle();
    }
  }

  @Test
  void errorsOfTheApiServerPassUnchanged() throws Exception {
    try (Harness h = harness(2, 2)) {
      h.executor.handle(get("/api/v1/namespaces/default/configmaps/no-such-map", null, false, 2));
      Frame.Response response = assertInstanceOf(Frame.Response.class, h.next());
      assertEquals(404, response.status());
      JsonObject status = new JsonObject(new String(response.body(), StandardCharsets.UTF_8));
      assertEquals("NotFound", status.getString("reason"));

      byte[] posted = new JsonObject().put("apiVersion", "v1").put("kind", "ConfigMap")
          .put("metadata", new JsonObject().put("name", "posted")).encode().getBytes(StandardCharsets.UTF_8);
      Frame.Request create = new Frame.Request("t-" + ids.incrementAndGet(), "POST",
          "/api/v1/namespaces/default/configmaps", null, Map.of("Content-Type", List.of("application/json"),
          "Authorization", List.of("Bearer not-forwarded")), posted, null, false, false, 2, 20_000);
      h.executor.handle(create);
      assertEquals(201, assertInstanceOf(Frame.Response.class, h.next()).status());
      h.executor.handle(create);
      assertEquals(409, assertInstanceOf(Frame.Response.class, h.next()).status(), "a second create conflicts");
    }
  }

  @Test
  void largeBodyComesInChunksPacedByCredits() throws Exception {
    for (int i = 0; i < 10; i++) {
      sim.create(configMap("default", "big-" + i, 2 * CHUNK)).await(5, TimeUnit.SECONDS);
    }
    try (Harness h = harness(2, 2)) {
      Frame.Request request = get("/api/v1/namespaces/default/configmaps", "labelSelector=", false, 2);
      h.executor.handle(request);
      Frame.Response head = assertInstanceOf(Frame.Response.class, h.next());
      assertTrue(head.more());
      assertEquals(CHUNK, head.body().length);
      ByteArrayOutputStream body = new ByteArrayOutputStream();
      body.write(head.body());
      // Two credits: two data frames, then nothing until the hub grants more.
      body.write(assertInstanceOf(Frame.Data.class, h.next()).data());
      body.write(assertInstanceOf(Frame.Data.class, h.next()).data());
      assertNull(h.frames.poll(300, TimeUnit.MILLISECONDS));
      Frame frame;
      do {
        h.executor.handle(new Frame.Credit(request.id(), 1));
        frame = h.next();
        if (frame instanceof Frame.Data data) {
          assertTrue(data.data().length <= CHUNK);
          body.write(data.data());
        }
      } while (!(frame instanceof Frame.End));
      assertNull(((Frame.End) frame).error());
      JsonObject list = new JsonObject(body.toString(StandardCharsets.UTF_8));
      assertTrue(list.getJsonArray("items").size() >= 10);
      h.awaitIdle();
    }
  }

  @Test
  void streamStopsAtItsCreditsAndEndsWhenCancelled() throws Exception {
    try (Harness h = harness(2, 2)) {
      String pod = firstPod();
      Frame.Request follow = get("/api/v1/namespaces/kube-system/pods/" + pod + "/log", "follow=true", true, 2);
      h.executor.handle(follow);
      Frame.Response head = assertInstanceOf(Frame.Response.class, h.next());
      assertEquals(200, head.status());
      assertTrue(head.more());
      assertNull(head.body(), "a stream's head goes as soon as the headers arrive");
      // Lines come every 20 ms, each forwarded as it arrives rather than when a chunk is full.
      Frame.Data firstLines = assertInstanceOf(Frame.Data.class, h.next());
      assertTrue(new String(firstLines.data(), StandardCharsets.UTF_8).contains("line"));
      assertInstanceOf(Frame.Data.class, h.next());
      // The log keeps growing, but without credit nothing more is sent.
      assertNull(h.frames.poll(300, TimeUnit.MILLISECONDS));
      h.executor.handle(new Frame.Credit(follow.id(), 1));
      Frame.Data held = assertInstanceOf(Frame.Data.class, h.next());
      assertTrue(held.data().length > 0 && held.data().length <= CHUNK);
      assertEquals(1, h.executor.inProgress());
      assertEquals(1, h.executor.streamsInProgress());
      assertEquals(0, h.executor.requestsInProgress());

      h.executor.handle(new Frame.Cancel(follow.id(), "client went away"));
      h.awaitIdle();
      Frame after = h.frames.poll(200, TimeUnit.MILLISECONDS);
      assertNull(after, "nothing after a cancel: " + after);
    }
  }

  @Test
  void cancelStreamsEndsStreamsAndLetsRequestsFinish() throws Exception {
    try (Harness h = harness(2, 2)) {
      Frame.Request watch = get("/api/v1/namespaces/default/configmaps", "watch=true", true, 10);
      h.executor.handle(watch);
      assertInstanceOf(Frame.Response.class, h.next());
      h.executor.cancelStreams();
      Frame frame = h.nextFor(watch.id());
      while (frame instanceof Frame.Data) {
        frame = h.nextFor(watch.id());
      }
      Frame.End end = assertInstanceOf(Frame.End.class, frame);
      assertTrue(end.error().contains("moving"), end.error());
      h.awaitIdle();
    }
  }

  @Test
  void beyondItsLimitsTheAgentAnswers503ForRequestsAnd429ForStreams() throws Exception {
    try (Harness h = harness(1, 1)) {
      String pod = firstPod();
      // A non-streaming follow keeps the only request place.
      h.executor.handle(get("/api/v1/namespaces/kube-system/pods/" + pod + "/log", "follow=true", false, 2));
      Frame.Request refused = get("/api/v1/namespaces", null, false, 2);
      h.executor.handle(refused);
      Frame.Response response = assertInstanceOf(Frame.Response.class, h.nextFor(refused.id()));
      assertEquals(503, response.status());
      String status = new String(response.body(), StandardCharsets.UTF_8);
      assertTrue(status.contains("ServiceUnavailable") && status.contains("kubernetes.max_requests"), status);
      assertEquals(List.of("1"), response.headers().get("Retry-After"), "a busy agent says when to retry");

      h.executor.handle(get("/api/v1/namespaces/default/configmaps", "watch=true", true, 2));
      Frame.Request secondStream = get("/api/v1/namespaces/default/configmaps", "watch=true", true, 2);
      h.executor.handle(secondStream);
      Frame.Response streamRefused = assertInstanceOf(Frame.Response.class, h.nextFor(secondStream.id()));
      assertEquals(429, streamRefused.status());
      assertTrue(new String(streamRefused.body(), StandardCharsets.UTF_8).contains("kubernetes.max_streams"));
    }
  }

  @Test
  void unreachableApiServerIs502WithAStatus(@TempDir Path dir) throws Exception {
    Path kubeconfig = dir.resolve("dead.kubeconfig");
    Files.writeString(kubeconfig, sim.kubeconfig("sim").replace(String.valueOf(sim.port()), "1"));
    KubeAccess dead = KubeAccess.kubeconfig(kubeconfig, null, Duration.ofSeconds(2));
    try (Harness h = new Harness(vertx, dead, KubeHttp.Settings.defaults(Duration.ofSeconds(2)), Limits.DEFAULTS,
        clientJava)) {
      h.executor.handle(get("/api/v1/namespaces", null, false, 2));
      Frame.Response response = assertInstanceOf(Frame.Response.class, h.next());
      assertEquals(502, response.status());
      String status = new String(response.body(), StandardCharsets.UTF_8);
      assertTrue(status.contains("the agent could not reach its Kubernetes API server"), status);
      h.awaitIdle();
    }
  }

  /**
   * A watch whose reader grants no credits: the executor forwards no more than its credits allow,
   * pauses the response, and the simulator sees its writes back up; credits bring everything.
   */
  @Test
  void streamWithoutCreditsStopsReadingAndResumesOnCredit() throws Exception {
    String namespace = "pressure";
    sim.create(namespace(namespace)).await(5, TimeUnit.SECONDS);
    try (Harness h = harness(2, 2)) {
      Frame.Request watch = get("/api/v1/namespaces/" + namespace + "/configmaps", "watch=true", true, 2);
      h.executor.handle(watch);
      assertInstanceOf(Frame.Response.class, h.next());
      int created = 0;
      int objectBytes = 64 * 1024;
      while (sim.streamsBackedUp().await(5, TimeUnit.SECONDS) == 0) {
        assertTrue(created < 1_000, "the simulator's writes never backed up after " + created + " objects");
        for (int i = 0; i < 20; i++) {
          sim.create(configMap(namespace, "p-" + created++, objectBytes)).await(5, TimeUnit.SECONDS);
        }
      }
      long written = (long) created * objectBytes;
      StringBuilder partial = new StringBuilder();
      for (int credit = 0; credit < 2; credit++) {
        partial.append(new String(assertInstanceOf(Frame.Data.class, h.next()).data(), StandardCharsets.UTF_8));
      }
      assertNull(h.frames.poll(200, TimeUnit.MILLISECONDS), "no frame beyond the two credits");
      assertTrue(written > 4L * 1024 * 1024, "the simulator wrote " + written + " bytes before it backed up");
      System.out.printf("a watch without credits: the simulator backed up after %d MB; the executor sent %d bytes%n",
          written / (1024 * 1024), partial.length());

      Set<String> seen = new HashSet<>();
      h.executor.handle(new Frame.Credit(watch.id(), Integer.MAX_VALUE / 2));
      while (seen.size() < created) {
        Frame.Data data = assertInstanceOf(Frame.Data.class, h.next());
        partial.append(new String(data.data(), StandardCharsets.UTF_8));
        int newline;
        while ((newline = partial.indexOf("\n")) >= 0) {
          JsonObject event = new JsonObject(partial.substring(0, newline));
          partial.delete(0, newline + 1);
          seen.add(event.getJsonObject("object").getJsonObject("metadata").getString("name"));
        }
      }
      assertEquals(created, seen.size());
      assertEquals(0, (int) sim.streamsBackedUp().await(5, TimeUnit.SECONDS));
    }
  }

  /** Hundreds of watches are served by the event loops the JVM already has: no thread per stream. */
  @Test
  void manyWatchesNeedNoThreads() throws Exception {
    String namespace = "many";
    sim.create(namespace(namespace)).await(5, TimeUnit.SECONDS);
    int watches = 500;
    try (Harness h = harness(10, watches)) {
      // Warm up: the event loops and the client's first connection exist before counting threads.
      h.executor.handle(get("/api/v1/namespaces/" + namespace, null, false, 2));
      assertEquals(200, assertInstanceOf(Frame.Response.class, h.next()).status());
      int threadsBefore = ManagementFactory.getThreadMXBean().getThreadCount();

      List<Frame.Request> requests = new ArrayList<>();
      for (int i = 0; i < watches; i++) {
        Frame.Request watch = get("/api/v1/namespaces/" + namespace + "/configmaps", "watch=true", true, 10);
        requests.add(watch);
        h.executor.handle(watch);
      }
      Set<String> opened = new HashSet<>();
      while (opened.size() < watches) {
        Frame.Response head = assertInstanceOf(Frame.Response.class, h.next());
        assertEquals(200, head.status());
        opened.add(head.id());
      }
      assertEquals(watches, h.executor.streamsInProgress());

      sim.create(configMap(namespace, "after-the-watches", 10)).await(5, TimeUnit.SECONDS);
      Set<String> told = new HashSet<>();
      while (told.size() < watches) {
        Frame.Data data = assertInstanceOf(Frame.Data.class, h.next());
        assertTrue(new String(data.data(), StandardCharsets.UTF_8).contains("after-the-watches"));
        told.add(data.id());
      }
      int threadsAfter = ManagementFactory.getThreadMXBean().getThreadCount();
      System.out.printf("%d watches over HTTP/1.1: JVM threads %d -> %d%n", watches, threadsBefore, threadsAfter);
      assertTrue(threadsAfter - threadsBefore < 20, "threads grew from " + threadsBefore + " to " + threadsAfter);

      requests.forEach(watch -> h.executor.handle(new Frame.Cancel(watch.id(), "done")));
      h.awaitIdle();
    }
  }

  /** A body of more than 20 MB comes through byte for byte, reassembled from the data frames. */
  @Test
  void bigBodyArrivesByteIdentical() throws Exception {
    String namespace = "bulk";
    sim.create(namespace(namespace)).await(5, TimeUnit.SECONDS);
    int objects = 330;
    for (int i = 0; i < objects; i++) {
      sim.create(configMap(namespace, "bulk-" + i, 64 * 1024)).await(5, TimeUnit.SECONDS);
    }
    String path = "/api/v1/namespaces/" + namespace + "/configmaps";
    HttpClient direct = vertx.createHttpClient();
    try (Harness h = new Harness(vertx, kube, KubeHttp.Settings.defaults(Duration.ofSeconds(20)), Limits.DEFAULTS,
        clientJava)) {
      for (int round = 0; round < 3; round++) {
        long directStarted = System.nanoTime();
        byte[] expected = direct.request(HttpMethod.GET, sim.port(), "127.0.0.1", path)
            .compose(req -> req.putHeader("Accept", "application/json").send())
            .compose(HttpClientResponse::body).map(Buffer::getBytes).await(30, TimeUnit.SECONDS);
        long directNanos = System.nanoTime() - directStarted;
        assertTrue(expected.length > 20 * 1024 * 1024, "the list has " + expected.length + " bytes");

        long started = System.nanoTime();
        byte[] relayed = h.fetch(get(path, null, false, Limits.DEFAULT_STREAM_CREDITS));
        long relayedNanos = System.nanoTime() - started;
        System.out.printf("%.1f MB list: direct %d ms, through the executor %d ms%n", expected.length / 1e6,
            directNanos / 1_000_000, relayedNanos / 1_000_000);
        assertArrayEquals(expected, relayed);
      }
      h.awaitIdle();
    } finally {
      direct.close();
    }
  }

  private static JsonObject namespace(String name) {
    return new JsonObject().put("apiVersion", "v1").put("kind", "Namespace")
        .put("metadata", new JsonObject().put("name", name));
  }

  static JsonObject configMap(String namespace, String name, int fillerBytes) {
    return new JsonObject().put("apiVersion", "v1").put("kind", "ConfigMap")
        .put("metadata", new JsonObject().put("name", name).put("namespace", namespace))
        .put("data", new JsonObject().put("filler", "y".repeat(fillerBytes)));
  }

  private static String firstPod() throws Exception {
    try (Harness h = harness(1, 1)) {
      byte[] body = h.fetch(get("/api/v1/namespaces/kube-system/pods", "limit=1", false, 2));
      return new JsonObject(new String(body, StandardCharsets.UTF_8)).getJsonArray("items")
          .getJsonObject(0).getJsonObject("metadata").getString("name");
    }
  }

  /** An executor whose frames land in a queue. */
  static final class Harness implements AutoCloseable {
    final BlockingQueue<Frame> frames = new LinkedBlockingQueue<>();
    final KubeHttp http;
    final KubeRequestExecutor executor;

    Harness(Vertx vertx, KubeAccess kube, KubeHttp.Settings settings, Limits limits, BlockingPool clientJava) {
      http = KubeHttp.create(vertx, kube, settings, clientJava);
      executor = new KubeRequestExecutor(vertx.getOrCreateContext(), http, limits, frames::add,
          KubeRequestExecutor.Observer.NONE);
    }

    Frame next() throws InterruptedException {
      Frame frame = frames.poll(20, TimeUnit.SECONDS);
      assertNotNull(frame, "no frame within 20 s");
      return frame;
    }

    /** The next frame for {@code id}, dropping frames of other exchanges. */
    Frame nextFor(String id) throws InterruptedException {
      while (true) {
        Frame frame = next();
        if (frame instanceof Frame.Exchange exchange && exchange.id().equals(id)) {
          return frame;
        }
      }
    }

    /** A whole body, granting a credit for every data frame taken, as the hub does. */
    byte[] fetch(Frame.Request request) throws Exception {
      executor.handle(request);
      Frame.Response head = assertInstanceOf(Frame.Response.class, nextFor(request.id()));
      assertEquals(200, head.status(), () -> new String(head.body(), StandardCharsets.UTF_8));
      ByteArrayOutputStream body = new ByteArrayOutputStream();
      if (head.body() != null) {
        body.write(head.body());
      }
      if (head.more()) {
        for (Frame frame = nextFor(request.id()); !(frame instanceof Frame.End); frame = nextFor(request.id())) {
          body.write(assertInstanceOf(Frame.Data.class, frame).data());
          executor.handle(new Frame.Credit(request.id(), 1));
        }
      }
      return body.toByteArray();
    }

    /** Waits until nothing is in progress, places given back included. */
    void awaitIdle() throws InterruptedException {
      long deadline = System.currentTimeMillis() + 5_000;
      while ((executor.inProgress() > 0 || http.requestsInProgress() > 0 || http.streamsInProgress() > 0)
          && System.currentTimeMillis() < deadline) {
        Thread.sleep(10);
      }
      assertEquals(0, executor.inProgress());
      assertEquals(0, http.requestsInProgress() + http.streamsInProgress(), "places given back");
    }

    @Override
    public void close() throws Exception {
      executor.cancelAll();
      http.close().await(10, TimeUnit.SECONDS);
    }
  }
}
