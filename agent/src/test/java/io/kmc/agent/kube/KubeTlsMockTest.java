package io.kmc.agent.kube;

import io.kmc.agent.kube.KubeRequestExecutorMockTest.Harness;
import io.kmc.common.protocol.Frame;
import io.kmc.common.protocol.Limits;
import io.kmc.kubesim.KubeSim;
import io.kmc.kubesim.KubeSimOptions;
import io.kmc.kubesim.SimCertificate;
import io.kmc.ops.BlockingPool;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static io.kmc.agent.kube.KubeRequestExecutorMockTest.configMap;
import static io.kmc.agent.kube.KubeRequestExecutorMockTest.get;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The executor against an HTTPS kube-apiserver that speaks HTTP/2, as a real one does: the CA and
 * the client certificate come from a kubeconfig through client-java's loader, an unknown CA is
 * refused with a message that says so, and streams multiplex.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class KubeTlsMockTest {

  private static final String TOKEN = "tls-token";
  private static Vertx vertx;
  private static SimCertificate certificate;
  private static KubeSim sim;
  private static BlockingPool clientJava;
  private static Path dir;

  @BeforeAll
  static void start(@TempDir Path tempDir) throws Exception {
    dir = tempDir;
    vertx = Vertx.vertx();
    certificate = SimCertificate.selfSigned("127.0.0.1");
    sim = KubeSim.start(vertx, new KubeSimOptions().seed(true).certificate(certificate).http2(true).token(TOKEN))
        .await(10, TimeUnit.SECONDS);
    clientJava = BlockingPool.fixed("test-client-java", 1, 4);
  }

  @AfterAll
  static void stop() throws Exception {
    clientJava.close();
    sim.close().await(10, TimeUnit.SECONDS);
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private static KubeAccess kubeconfig(String name, String yaml) throws Exception {
    Path file = dir.resolve(name + ".kubeconfig");
    Files.writeString(file, yaml);
    return KubeAccess.kubeconfig(file, null, Duration.ofSeconds(20));
  }

  private static Harness harness(KubeAccess kube, KubeHttp.Settings settings) {
    return new Harness(vertx, kube, settings, Limits.DEFAULTS, clientJava);
  }

  private static KubeHttp.Settings settings() {
    return KubeHttp.Settings.defaults(Duration.ofSeconds(20));
  }

  @Test
  void trustsTheClusterCaOfTheKubeconfigAndSpeaksHttp2() throws Exception {
    long http2Before = sim.requestsOverHttp2().await(5, TimeUnit.SECONDS);
    KubeAccess kube = kubeconfig("trusted", sim.kubeconfig("sim"));
    assertEquals("Bearer " + TOKEN, kube.authorization(), "the kubeconfig's token");
    try (Harness h = harness(kube, settings())) {
      byte[] body = h.fetch(get("/api/v1/namespaces/default", null, false, 2));
      assertEquals("default", new JsonObject(new String(body, StandardCharsets.UTF_8))
          .getJsonObject("metadata").getString("name"));
    }
    assertTrue(sim.requestsOverHttp2().await(5, TimeUnit.SECONDS) > http2Before, "the request went over HTTP/2");
  }

  @Test
  void anUnknownCaIsRefusedWithAClearMessage() throws Exception {
    String otherCa = Base64.getEncoder().encodeToString(SimCertificate.selfSigned("127.0.0.1").certificatePem()
        .getBytes(StandardCharsets.US_ASCII));
    String yaml = sim.kubeconfig("sim").replaceAll("certificate-authority-data: .*",
        "certificate-authority-data: " + otherCa);
    try (Harness h = harness(kubeconfig("untrusted", yaml), settings())) {
      h.executor.handle(get("/api/v1/namespaces", null, false, 2));
      Frame.Response response = assertInstanceOf(Frame.Response.class, h.next());
      assertEquals(502, response.status());
      String message = new JsonObject(new String(response.body(), StandardCharsets.UTF_8)).getString("message");
      assertTrue(message.startsWith(
          "the agent could not reach its Kubernetes API server: its certificate is not trusted"), message);
      h.awaitIdle();
    }
  }

  @Test
  void insecureSkipTlsVerifyIsHonoured() throws Exception {
    String yaml = sim.kubeconfig("sim").replaceAll("certificate-authority-data: .*", "insecure-skip-tls-verify: true");
    KubeAccess kube = kubeconfig("insecure", yaml);
    assertTrue(kube.insecureSkipTlsVerify());
    try (Harness h = harness(kube, settings())) {
      assertTrue(h.fetch(get("/api/v1/namespaces", null, false, 2)).length > 0);
    }
  }

  @Test
  void aClientCertificateOfTheKubeconfigIsOffered() throws Exception {
    SimCertificate client = SimCertificate.selfSigned("kmc-agent");
    String yaml = sim.kubeconfig("sim").replaceAll("token: .*", "client-certificate-data: "
        + Base64.getEncoder().encodeToString(client.certificatePem().getBytes(StandardCharsets.US_ASCII))
        + "\n    client-key-data: "
        + Base64.getEncoder().encodeToString(client.privateKeyPem().getBytes(StandardCharsets.US_ASCII))
        + "\n    token: " + TOKEN);
    KubeAccess kube = kubeconfig("client-cert", yaml);
    assertNotNull(kube.keyManager(), "client-java loaded the client certificate");
    assertNotNull(kube.keyManager().getCertificateChain(kube.keyManager().getClientAliases("EC", null)[0]));
  }

  @Test
  void aServerWithoutHttp2IsSpokenToInHttp1() throws Exception {
    KubeSim http1Only = KubeSim.start(vertx, new KubeSimOptions().certificate(certificate)).await(10, TimeUnit.SECONDS);
    try (Harness h = harness(kubeconfig("http1", http1Only.kubeconfig("http1")), settings())) {
      assertTrue(h.fetch(get("/api/v1/namespaces", null, false, 2)).length > 0);
      assertEquals(0L, http1Only.requestsOverHttp2().await(5, TimeUnit.SECONDS));
    } finally {
      http1Only.close().await(10, TimeUnit.SECONDS);
    }
  }

  /** Over HTTP/2 hundreds of watches share a few connections, and still no thread is added per watch. */
  @Test
  void manyWatchesMultiplexWithoutThreads() throws Exception {
    String namespace = "many-h2";
    sim.create(new JsonObject().put("apiVersion", "v1").put("kind", "Namespace")
        .put("metadata", new JsonObject().put("name", namespace))).await(5, TimeUnit.SECONDS);
    int watches = 500;
    try (Harness h = harness(kubeconfig("many", sim.kubeconfig("sim")), settings().withLimits(10, watches))) {
      h.fetch(get("/api/v1/namespaces/" + namespace, null, false, 2));
      int threadsBefore = ManagementFactory.getThreadMXBean().getThreadCount();
      long http2Before = sim.requestsOverHttp2().await(5, TimeUnit.SECONDS);
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
      sim.create(configMap(namespace, "after-the-watches", 10)).await(5, TimeUnit.SECONDS);
      Set<String> told = new HashSet<>();
      while (told.size() < watches) {
        Frame.Data data = assertInstanceOf(Frame.Data.class, h.next());
        assertTrue(new String(data.data(), StandardCharsets.UTF_8).contains("after-the-watches"));
        told.add(data.id());
      }
      int threadsAfter = ManagementFactory.getThreadMXBean().getThreadCount();
      System.out.printf("%d watches over HTTP/2: JVM threads %d -> %d%n", watches, threadsBefore, threadsAfter);
      assertTrue(threadsAfter - threadsBefore < 20, "threads grew from " + threadsBefore + " to " + threadsAfter);
      assertTrue(sim.requestsOverHttp2().await(5, TimeUnit.SECONDS) - http2Before >= watches);
      requests.forEach(watch -> h.executor.handle(new Frame.Cancel(watch.id(), "done")));
      h.awaitIdle();
    }
  }

  /** A 20 MB body over HTTP/2 arrives byte for byte: flow-control windows do not stall it. */
  @Test
  void bigBodyOverHttp2ArrivesByteIdentical() throws Exception {
    String namespace = "bulk-h2";
    sim.create(new JsonObject().put("apiVersion", "v1").put("kind", "Namespace")
        .put("metadata", new JsonObject().put("name", namespace))).await(5, TimeUnit.SECONDS);
    for (int i = 0; i < 330; i++) {
      sim.create(configMap(namespace, "bulk-" + i, 64 * 1024)).await(5, TimeUnit.SECONDS);
    }
    String path = "/api/v1/namespaces/" + namespace + "/configmaps";
    HttpClient direct = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setTrustAll(true)
        .setVerifyHost(false).setUseAlpn(true).setProtocolVersion(HttpVersion.HTTP_2));
    try (Harness h = harness(kubeconfig("bulk", sim.kubeconfig("sim")), settings())) {
      for (int round = 0; round < 2; round++) {
        long directStarted = System.nanoTime();
        byte[] expected = direct.request(HttpMethod.GET, sim.port(), "127.0.0.1", path)
            .compose(req -> req.putHeader("Authorization", "Bearer " + TOKEN).putHeader("Accept", "application/json")
                .send())
            .compose(HttpClientResponse::body).map(Buffer::getBytes).await(30, TimeUnit.SECONDS);
        long directNanos = System.nanoTime() - directStarted;
        long started = System.nanoTime();
        byte[] relayed = h.fetch(get(path, null, false, Limits.DEFAULT_STREAM_CREDITS));
        long relayedNanos = System.nanoTime() - started;
        System.out.printf("%.1f MB list over TLS and HTTP/2: direct %d ms, through the executor %d ms%n",
            expected.length / 1e6, directNanos / 1_000_000, relayedNanos / 1_000_000);
        assertTrue(expected.length > 20 * 1024 * 1024);
        assertArrayEquals(expected, relayed);
      }
      h.awaitIdle();
    } finally {
      direct.close();
    }
  }
}
