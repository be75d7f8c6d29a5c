package io.kmc.agent.kube;

import io.kmc.ops.BlockingPool;
import io.kmc.common.protocol.Frame;
import io.kmc.common.protocol.Limits;
import io.kmc.kubesim.KubeSim;
import io.kmc.kubesim.KubeSimOptions;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The executor against the in-JVM API server: what frames come out, and when. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class KubeRequestExecutorMockTest {

  private static final int CHUNK = 4 * 1024;
  private static Vertx vertx;
  private static KubeSim sim;
  private static KubeAccess kube;
  private static final AtomicInteger ids = new AtomicInteger();

  @BeforeAll
  static void start(@TempDir Path dir) throws Exception {
    vertx = Vertx.vertx();
    sim = KubeSim.start(vertx, new KubeSimOptions().seed(true).logLineIntervalMillis(20)).await(10, TimeUnit.SECONDS);
    Path kubeconfig = dir.resolve("sim.kubeconfig");
    Files.writeString(kubeconfig, sim.kubeconfig("sim"));
    kube = KubeAccess.kubeconfig(kubeconfig, null, Duration.ofSeconds(10));
  }

  @AfterAll
  static void stop() throws Exception {
    sim.close().await(10, TimeUnit.SECONDS);
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  /** An executor whose frames land in a queue. */
  private static final class Harness implements AutoCloseable {
    final BlockingQueue<Frame> frames = new LinkedBlockingQueue<>();
    final BlockingPool requests;
    final BlockingPool streams;
    final KubeRequestExecutor executor;

    Harness(int requestThreads, int queue) {
      requests = BlockingPool.fixed("test-request", requestThreads, queue);
      streams = BlockingPool.elastic("test-stream", 4);
      Limits limits = new Limits(Limits.DEFAULT_MAX_FRAME_BYTES, Limits.DEFAULT_MAX_BODY_BYTES, CHUNK, 10, 10, 2,
          5_000, 1_000, 3_000);
      executor = new KubeRequestExecutor(vertx.getOrCreateContext(), kube, requests, streams, limits, frames::add,
          KubeRequestExecutor.Observer.NONE);
    }

    Frame next() throws InterruptedException {
      Frame frame = frames.poll(10, TimeUnit.SECONDS);
      assertNotNull(frame, "no frame within 10 s");
      return frame;
    }

    @Override
    public void close() {
      executor.cancelAll();
      requests.close();
      streams.close();
    }
  }

  private static Frame.Request get(String path, String query, boolean stream) {
    return new Frame.Request("t-" + ids.incrementAndGet(), "GET", path, query,
        Map.of("Accept", List.of("application/json")), null, null, false, stream, 2, 5_000);
  }

  @Test
  void smallAnswerIsOneResponseFrame() throws Exception {
    try (Harness h = new Harness(2, 2)) {
      h.executor.handle(get("/api/v1/namespaces/default", null, false));
      Frame.Response response = assertInstanceOf(Frame.Response.class, h.next());
      assertEquals(200, response.status());
      assertFalse(response.more());
      assertEquals("default", new JsonObject(new String(response.body(), StandardCharsets.UTF_8))
          .getJsonObject("metadata").getString("name"));
      assertTrue(response.headers().keySet().stream().noneMatch(name -> name.equalsIgnoreCase("Content-Length")));
    }
  }

  @Test
  void largeBodyComesInChunksPacedByCredits() throws Exception {
    for (int i = 0; i < 10; i++) {
      sim.create(new JsonObject().put("apiVersion", "v1").put("kind", "ConfigMap")
          .put("metadata", new JsonObject().put("name", "big-" + i).put("namespace", "default"))
          .put("data", new JsonObject().put("filler", "y".repeat(2 * CHUNK)))).await(5, TimeUnit.SECONDS);
    }
    try (Harness h = new Harness(2, 2)) {
      Frame.Request request = get("/api/v1/namespaces/default/configmaps", "labelSelector=", false);
      h.executor.handle(request);
      Frame.Response head = assertInstanceOf(Frame.Response.class, h.next());
      assertTrue(head.more());
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
    }
  }

  @Test
  void streamStopsAtItsCreditsAndEndsWhenCancelled() throws Exception {
    try (Harness h = new Harness(2, 2)) {
      String pod = firstPod();
      Frame.Request follow = get("/api/v1/namespaces/kube-system/pods/" + pod + "/log", "follow=true", true);
      h.executor.handle(follow);
      Frame.Response head = assertInstanceOf(Frame.Response.class, h.next());
      assertEquals(200, head.status());
      assertTrue(head.more());
      assertInstanceOf(Frame.Data.class, h.next());
      assertInstanceOf(Frame.Data.class, h.next());
      // The log keeps growing, but without credit nothing more is sent.
      assertNull(h.frames.poll(300, TimeUnit.MILLISECONDS));
      h.executor.handle(new Frame.Credit(follow.id(), 1));
      assertInstanceOf(Frame.Data.class, h.next());
      assertEquals(1, h.executor.inProgress());

      h.executor.handle(new Frame.Cancel(follow.id(), "client went away"));
      long deadline = System.currentTimeMillis() + 5_000;
      while (h.executor.inProgress() > 0 && System.currentTimeMillis() < deadline) {
        Thread.sleep(10);
      }
      assertEquals(0, h.executor.inProgress());
      Frame after = h.frames.poll(200, TimeUnit.MILLISECONDS);
      assertTrue(after == null || after instanceof Frame.Data, "nothing but stragglers after a cancel: " + after);
    }
  }

  @Test
  void saturatedPoolAnswers429() throws Exception {
    try (Harness h = new Harness(1, 0)) {
      String pod = firstPod();
      // A non-streaming follow keeps the only request thread busy.
      h.executor.handle(get("/api/v1/namespaces/kube-system/pods/" + pod + "/log", "follow=true", false));
      Thread.sleep(100);
      h.executor.handle(get("/api/v1/namespaces", null, false));
      Frame.Response refused = null;
      for (int i = 0; i < 10 && refused == null; i++) {
        if (h.next() instanceof Frame.Response r && r.status() == 429) {
          refused = r;
        }
      }
      assertNotNull(refused);
      assertTrue(new String(refused.body(), StandardCharsets.UTF_8).contains("TooManyRequests"));
    }
  }

  @Test
  void unreachableApiServerIs502WithAStatus(@TempDir Path dir) throws Exception {
    Path kubeconfig = dir.resolve("dead.kubeconfig");
    Files.writeString(kubeconfig, sim.kubeconfig("sim").replace(String.valueOf(sim.port()), "1"));
    KubeAccess dead = KubeAccess.kubeconfig(kubeconfig, null, Duration.ofSeconds(2));
    BlockingQueue<Frame> frames = new LinkedBlockingQueue<>();
    try (BlockingPool requests = BlockingPool.fixed("dead", 1, 1); BlockingPool streams = BlockingPool.elastic("dead-s", 1)) {
      KubeRequestExecutor executor = new KubeRequestExecutor(vertx.getOrCreateContext(), dead, requests, streams,
          Limits.DEFAULTS, frames::add, KubeRequestExecutor.Observer.NONE);
      executor.handle(get("/api/v1/namespaces", null, false));
      Frame.Response response = assertInstanceOf(Frame.Response.class, frames.poll(10, TimeUnit.SECONDS));
      assertEquals(502, response.status());
      assertTrue(new String(response.body(), StandardCharsets.UTF_8).contains("could not reach its Kubernetes API server"));
    }
  }

  private static String firstPod() throws Exception {
    try (Harness h = new Harness(1, 1)) {
      Frame.Request request = get("/api/v1/namespaces/kube-system/pods", "limit=1", false);
      h.executor.handle(request);
      Frame.Response head = assertInstanceOf(Frame.Response.class, h.next());
      ByteArrayOutputStream body = new ByteArrayOutputStream();
      body.write(head.body());
      // A pod (owner reference, managedFields, status) may well take more than one chunk.
      for (Frame frame = head.more() ? h.next() : null; frame instanceof Frame.Data data; frame = h.next()) {
        body.write(data.data());
        h.executor.handle(new Frame.Credit(request.id(), 1));
      }
      return new JsonObject(body.toString(StandardCharsets.UTF_8)).getJsonArray("items")
          .getJsonObject(0).getJsonObject("metadata").getString("name");
    }
  }
}
