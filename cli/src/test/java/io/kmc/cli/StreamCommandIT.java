package io.kmc.cli;

import io.kmc.agent.Agent;
import io.kmc.agent.AgentConfig;
import io.kmc.agent.kube.KubeAccess;
import io.kmc.common.config.ConfigReader;
import io.kmc.hub.Hub;
import io.kmc.hub.config.HubConfig;
import io.kmc.hub.store.TokenHashes;
import io.kmc.kubesim.KubeSim;
import io.kmc.kubesim.KubeSimOptions;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code kmc stream} against a real hub with a simulated cluster and its agent: the events are printed as they come.
 * On the way, {@code kmc kubeconfig} against the same hub: its fleet context reads the index.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class StreamCommandIT {

  @Test
  void kmcStreamPrintsTheInitialStateThenChanges(@TempDir Path dir) throws Exception {
    Vertx vertx = Vertx.vertx();
    Hub hub = null;
    try {
      KubeSim sim = KubeSim.start(vertx, new KubeSimOptions().seed(true)).await(30, TimeUnit.SECONDS);
      String joinToken = "join-sim-" + System.nanoTime();
      ConfigReader reader = ConfigReader.fromYaml("""
          clusters:
            - name: sim
              token_sha256: %s
          """.formatted(TokenHashes.sha256Hex(joinToken)), Map.of("KMC_DATA_DIR", dir.resolve("kmc-data").toString(),
          "KMC_SERVER_PORT", "0", "KMC_SERVER_HOST", "127.0.0.1", "KMC_SERVER_TLS_MODE", "off",
          "KMC_METRICS_PORT", "0", "KMC_METRICS_HOST", "127.0.0.1"));
      HubConfig config = HubConfig.read(reader);
      reader.finish();
      hub = Hub.start(config).await(120, TimeUnit.SECONDS);
      String base = "http://127.0.0.1:" + hub.port();

      Path kubeconfig = dir.resolve("sim.kubeconfig");
      Files.writeString(kubeconfig, sim.kubeconfig("sim"));
      ConfigReader agentReader = ConfigReader.fromYaml("""
          hub:
            urls: ["ws://127.0.0.1:%d"]
            cluster: sim
            token: %s
          kubernetes:
            mode: kubeconfig
            kubeconfig: %s
          """.formatted(hub.port(), joinToken, kubeconfig), Map.of("KMC_METRICS_PORT", "0"));
      AgentConfig agentConfig = AgentConfig.read(agentReader);
      agentReader.finish();
      Agent agent = Agent.start(vertx, agentConfig, KubeAccess.kubeconfig(kubeconfig, null, Duration.ofSeconds(10)))
          .await(60, TimeUnit.SECONDS);

      String password = Files.readString(dir.resolve("kmc-data").resolve("initial-admin-password")).trim();
      HttpResponse<String> login = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base
              + "/api/v1/auth/login")).header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(new JsonObject().put("username", "admin")
              .put("password", password).encode())).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, login.statusCode(), login.body());
      Path home = Files.createDirectories(dir.resolve("home"));
      CliConfig cliConfig = new CliConfig();
      CliConfig.Hub entry = new CliConfig.Hub();
      entry.url = base;
      entry.user = "admin";
      entry.token = new JsonObject(login.body()).getString("accessToken");
      cliConfig.hubs.put(base, entry);
      cliConfig.current = base;
      cliConfig.save(home.resolve(".kmc").resolve("config"));

      sim.create(new JsonObject().put("apiVersion", "v1").put("kind", "ConfigMap")
          .put("metadata", new JsonObject().put("name", "before").put("namespace", "default")))
          .await(10, TimeUnit.SECONDS);
      StringWriter out = new StringWriter();
      Cli cli = new Cli(Map.of("HOME", home.toString()), new ByteArrayInputStream(new byte[0]),
          new PrintWriter(out), new PrintWriter(new StringWriter()), null, "kmc");
      AtomicInteger status = new AtomicInteger(-1);
      Thread stream = new Thread(() -> status.set(KmcMain.run(cli, "stream", "v1/configmaps", "-n", "default",
        "--field", "nameContains=f")));
      stream.setDaemon(true);
      String token = entry.token;
      long indexedBy = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!indexed(base, token)) {
        assertTrue(System.nanoTime() < indexedBy, "the configmap was not indexed");
        Thread.sleep(100);
      }
      fleetContextReadsTheIndex(home, dir, base);
      stream.start();
      awaitOutput(out, "# initial state done", Duration.ofSeconds(30), () -> { });
      assertTrue(out.toString().contains("ADDED     sim              default/before"), out.toString());
      for (String name : List.of("skipped", "after")) {
        sim.create(new JsonObject().put("apiVersion", "v1").put("kind", "ConfigMap")
            .put("metadata", new JsonObject().put("name", name).put("namespace", "default")))
            .await(10, TimeUnit.SECONDS);
      }
      awaitOutput(out, "ADDED     sim              default/after", Duration.ofSeconds(30), () -> { });
      assertFalse(out.toString().contains("default/skipped"), "--field nameContains=f leaves it out:\n" + out);
      agent.stop().await(30, TimeUnit.SECONDS);
      hub.close().await(60, TimeUnit.SECONDS);
      hub = null;
      stream.join(30_000);
      assertEquals(1, status.get(), "the command ends when the hub closes the stream:\n" + out);
    } finally {
      if (hub != null) {
        hub.close().await(60, TimeUnit.SECONDS);
      }
      vertx.close().await(30, TimeUnit.SECONDS);
    }
  }

  /**
   * {@code kmc kubeconfig} brings the hub's fleet context beside the cluster's, and its server and
   * token answer a Kubernetes list across the fleet from the index.
   */
  @SuppressWarnings("unchecked")
  private static void fleetContextReadsTheIndex(Path home, Path dir, String base) throws Exception {
    Path kubeconfig = dir.resolve("merged.kubeconfig");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    Cli cli = new Cli(Map.of("HOME", home.toString()), new ByteArrayInputStream(new byte[0]),
        new PrintWriter(out), new PrintWriter(err), null, "kmc");
    assertEquals(0, KmcMain.run(cli, "kubeconfig", "sim", "--merge", "--kubeconfig", kubeconfig.toString()),
        out + "\n" + err);
    assertTrue(out.toString().contains("--context fleet"), out.toString());
    Map<String, Object> merged = KubeconfigFile.read(kubeconfig);
    Map<String, Object> fleet = null;
    Map<String, Object> user = null;
    for (Object entry : (java.util.List<Object>) merged.get("clusters")) {
      if ("fleet".equals(((Map<String, Object>) entry).get("name"))) {
        fleet = (Map<String, Object>) ((Map<String, Object>) entry).get("cluster");
      }
    }
    for (Object entry : (java.util.List<Object>) merged.get("users")) {
      if ("kmc-admin@fleet".equals(((Map<String, Object>) entry).get("name"))) {
        user = (Map<String, Object>) ((Map<String, Object>) entry).get("user");
      }
    }
    assertTrue(fleet != null && user != null, Files.readString(kubeconfig));
    assertEquals(base + "/k8s/fleet", fleet.get("server"));
    HttpResponse<String> list = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(fleet.get("server")
        + "/api/v1/namespaces/default/configmaps")).header("Authorization", "Bearer " + user.get("token")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, list.statusCode(), list.body());
    JsonObject before = new JsonObject(list.body()).getJsonArray("items").stream().map(JsonObject.class::cast)
        .filter(item -> item.getJsonObject("metadata").getString("name").equals("before")).findFirst().orElseThrow();
    assertEquals("sim", before.getJsonObject("metadata").getJsonObject("annotations").getString("kmc.io/cluster"));
  }

  private static boolean indexed(String base, String token) throws Exception {
    HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(base
        + "/api/v1/search?kind=configmaps&namespace=default&name=before")).header("Authorization", "Bearer " + token)
        .build(), HttpResponse.BodyHandlers.ofString());
    return response.statusCode() == 200 && new JsonObject(response.body()).getLong("total") == 1;
  }

  /** Waits for {@code line} in the output; the first wait also covers the index being fed. */
  private static void awaitOutput(StringWriter out, String line, Duration timeout, Runnable each)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!out.toString().contains(line)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("no line '" + line + "' within " + timeout + "; output:\n" + out);
      }
      each.run();
      Thread.sleep(50);
    }
  }
}
