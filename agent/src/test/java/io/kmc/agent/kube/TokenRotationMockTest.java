package io.kmc.agent.kube;

import io.kmc.agent.Agent;
import io.kmc.agent.AgentConfig;
import io.kmc.common.config.ConfigReader;
import io.kmc.common.protocol.Frame;
import io.kmc.common.protocol.Limits;
import io.kmc.kubesim.KubeSim;
import io.kmc.kubesim.KubeSimOptions;
import io.kmc.ops.BlockingPool;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static io.kmc.agent.kube.KubeRequestExecutorMockTest.get;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The agent in token-file mode (in-cluster is that mode with kubelet's paths) keeps working when
 * its service-account token is rotated: the file is read again on a 401 and every
 * {@code kubernetes.token_reload}, without a restart.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TokenRotationMockTest {

  private Vertx vertx;
  private KubeSim sim;
  private BlockingPool clientJava;
  private KubeHttp http;
  private KubeRequestExecutor executor;
  private final BlockingQueue<Frame> frames = new LinkedBlockingQueue<>();
  private final List<Integer> answered = new CopyOnWriteArrayList<>();
  private Path tokenFile;

  @BeforeEach
  void start(@TempDir Path dir) throws Exception {
    vertx = Vertx.vertx();
    sim = KubeSim.start(vertx, new KubeSimOptions().token("token-a")).await(10, TimeUnit.SECONDS);
    tokenFile = dir.resolve("token");
    Files.writeString(tokenFile, "token-a\n");
    ConfigReader reader = ConfigReader.fromYaml("""
        hub: {urls: [wss://hub], cluster: c, token: t}
        kubernetes:
          mode: token-file
          api_url: %s
          token_file: %s
          token_reload: 1s
        """.formatted(sim.url(), tokenFile), Map.of());
    AgentConfig config = AgentConfig.read(reader);
    reader.finish();
    KubeAccess kube = Agent.kubeAccess(config);
    clientJava = BlockingPool.fixed("test-client-java", 1, 4);
    http = KubeHttp.create(vertx, kube, config.kubeHttpSettings(), clientJava);
    executor = new KubeRequestExecutor(vertx.getOrCreateContext(), http, Limits.DEFAULTS, frames::add,
        (status, nanos) -> answered.add(status));
  }

  @AfterEach
  void stop() throws Exception {
    executor.cancelAll();
    http.close().await(10, TimeUnit.SECONDS);
    clientJava.close();
    sim.close().await(10, TimeUnit.SECONDS);
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  /** Writes the file as kubelet does: a new file moved into place, so that no reader sees half a token. */
  private void rotate(String token) throws Exception {
    Path next = tokenFile.resolveSibling("token.next");
    Files.writeString(next, token + "\n");
    Files.move(next, tokenFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  private Frame.Response ask(Frame.Request request) throws Exception {
    executor.handle(request);
    Frame frame = frames.poll(10, TimeUnit.SECONDS);
    assertNotNull(frame, "no answer within 10 s");
    return assertInstanceOf(Frame.Response.class, frame);
  }

  @Test
  void aRotatedTokenIsReadAgainOnA401AndTheRequestSucceeds() throws Exception {
    assertEquals(200, ask(get("/api/v1/namespaces", null, false, 2)).status());

    sim.acceptToken("token-b");
    rotate("token-b");
    answered.clear();
    assertEquals(200, ask(get("/api/v1/namespaces", null, false, 2)).status());
    assertEquals(List.of(200), answered, "the 401 was not passed on");
    assertEquals("Bearer token-b", http.authorization());

    // Streams too: the watch is asked for again with the new token.
    sim.acceptToken("token-c");
    rotate("token-c");
    Frame.Response watch = ask(get("/api/v1/namespaces/default/configmaps", "watch=true", true, 2));
    assertEquals(200, watch.status());
    assertTrue(watch.more());
  }

  @Test
  void whenTheFileHoldsNoNewTokenThe401IsGivenBack() throws Exception {
    sim.acceptToken("token-the-agent-does-not-have");
    Frame.Response refused = ask(get("/api/v1/namespaces", null, false, 2));
    assertEquals(401, refused.status());
    assertTrue(new String(refused.body(), StandardCharsets.UTF_8).contains("Unauthorized"));
  }

  @Test
  void theFileIsReadAgainPeriodicallyWithoutWaitingForA401() throws Exception {
    rotate("token-d");
    long deadline = System.currentTimeMillis() + 10_000;
    while (!"Bearer token-d".equals(http.authorization()) && System.currentTimeMillis() < deadline) {
      Thread.sleep(50);
    }
    assertEquals("Bearer token-d", http.authorization(), "read again within kubernetes.token_reload (1 s)");
    sim.acceptToken("token-d");
    answered.clear();
    assertEquals(200, ask(get("/api/v1/namespaces", null, false, 2)).status());
    assertEquals(List.of(200), answered);
  }
}
