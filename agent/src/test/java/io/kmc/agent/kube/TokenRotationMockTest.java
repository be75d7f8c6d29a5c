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
import java.time.Duration;
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

  /** A kubeconfig whose token comes from an exec plugin: client-java runs it again after a 401. */
  @Test
  void anExecPluginIsRunAgainOnA401(@TempDir Path dir) throws Exception {
    Path source = dir.resolve("exec-token");
    Files.writeString(source, "token-a");
    Path plugin = dir.resolve("exec-plugin.sh");
    Files.writeString(plugin, """
        #!/bin/sh
        printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%%s"}}' \\
          "$(cat '%s')"
        """.formatted(source));
    assertTrue(plugin.toFile().setExecutable(true));
    Path kubeconfig = dir.resolve("exec.kubeconfig");
    Files.writeString(kubeconfig, """
        apiVersion: v1
        kind: Config
        clusters:
        - name: sim
          cluster: {server: "%s"}
        contexts:
        - name: sim
          context: {cluster: sim, user: exec}
        current-context: sim
        users:
        - name: exec
          user:
            exec: {apiVersion: client.authentication.k8s.io/v1, interactiveMode: Never, command: "%s"}
        """.formatted(sim.url(), plugin));
    KubeAccess kube = KubeAccess.kubeconfig(kubeconfig, null, Duration.ofSeconds(10));
    assertEquals("Bearer token-a", kube.authorization());
    KubeHttp execHttp = KubeHttp.create(vertx, kube, KubeHttp.Settings.defaults(Duration.ofSeconds(10)), clientJava);
    BlockingQueue<Frame> execFrames = new LinkedBlockingQueue<>();
    KubeRequestExecutor execExecutor = new KubeRequestExecutor(vertx.getOrCreateContext(), execHttp, Limits.DEFAULTS,
        execFrames::add, KubeRequestExecutor.Observer.NONE);
    try {
      sim.acceptToken("token-e");
      Files.writeString(source, "token-e");
      execExecutor.handle(get("/api/v1/namespaces", null, false, 2));
      Frame frame = execFrames.poll(20, TimeUnit.SECONDS);
      assertNotNull(frame, "no answer within 20 s");
      assertEquals(200, assertInstanceOf(Frame.Response.class, frame).status());
      assertEquals("Bearer token-e", execHttp.authorization());
    } finally {
      execExecutor.cancelAll();
      execHttp.close().await(10, TimeUnit.SECONDS);
    }
  }
}
