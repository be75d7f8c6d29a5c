package io.kmc.hub;

import io.kmc.hub.api.ClustersApi;
import io.kmc.hub.support.Fleet;
import io.kmc.kubesim.KubeSim;
import io.kmc.kubesim.KubeSimOptions;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static io.kmc.hub.support.Fleet.await;
import static io.kmc.hub.support.Fleet.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The programs as an operator runs them: {@code java -jar kmc-hub.jar} with nothing but environment
 * variables (embedded PostgreSQL, self-signed certificate), and {@code java -jar kmc-agent.jar} with
 * exactly the environment of the Deployment in the agent manifest the hub serves. Uses the jars
 * {@code mvn package} built.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class ProcessesIT {

  private static final Path HUB_JAR = Path.of("target", "kmc-hub.jar");
  private static final Path AGENT_JAR = Path.of("..", "agent", "target", "kmc-agent.jar");
  private static final String ADMIN_PASSWORD = "processes-it-admin-password";
  /** Where the agent manifest mounts the agent's Secret. */
  private static final String SECRET_MOUNT = "/var/run/kmc/";

  private final List<Process> processes = new ArrayList<>();
  private Vertx vertx;
  private KubeSim sim;

  @AfterEach
  void stop() throws InterruptedException {
    for (Process process : processes) {
      process.destroyForcibly();
      process.waitFor(30, TimeUnit.SECONDS);
    }
    if (sim != null) {
      await(sim.close());
    }
    if (vertx != null) {
      await(vertx.close());
    }
  }

  @Test
  void hubAndAgentRunFromTheirJarsAndSurviveAHubRestart(@TempDir Path dir) throws Exception {
    vertx = Vertx.vertx();
    sim = await(KubeSim.start(vertx, new KubeSimOptions().seed(true)));
    int hubPort = Fleet.freePort();
    int hubManagement = Fleet.freePort();
    Map<String, String> hubEnv = Map.of(
        "KMC_DATA_DIR", dir.resolve("hub-data").toString(),
        "KMC_SERVER_HOST", "127.0.0.1",
        "KMC_SERVER_PORT", String.valueOf(hubPort),
        "KMC_SERVER_SHUTDOWN_GRACE", "5s",
        "KMC_METRICS_PORT", String.valueOf(hubManagement),
        "KMC_ADMIN_PASSWORD", ADMIN_PASSWORD);
    Process hub = start(HUB_JAR, hubEnv, dir.resolve("hub-1.log"));
    awaitReady(hubManagement, Duration.ofSeconds(150), hub);
    HttpClient https = HttpClient.newBuilder()
        .sslContext(Fleet.trusting(dir.resolve("hub-data").resolve("tls").resolve("hub.crt"))).build();
    URI base = URI.create("https://127.0.0.1:" + hubPort);

    // The install flow of docs: register the cluster, fetch its manifest with the join token.
    String admin = new JsonObject(send(https, HttpRequest.newBuilder(base.resolve("/api/v1/auth/login"))
        .POST(HttpRequest.BodyPublishers.ofString(new JsonObject().put("username", "admin")
            .put("password", ADMIN_PASSWORD).encode())).header("Content-Type", "application/json"), 200))
        .getString("accessToken");
    String joinToken = new JsonObject(send(https, HttpRequest.newBuilder(base.resolve("/api/v1/clusters"))
        .POST(HttpRequest.BodyPublishers.ofString(new JsonObject().put("name", "edge").encode()))
        .header("Content-Type", "application/json").header("Authorization", "Bearer " + admin), 201))
        .getString("token");
    String manifest = send(https, HttpRequest.newBuilder(base.resolve("/api/v1/clusters/edge/agent.yaml"))
        .header("Authorization", "Bearer " + admin).header(ClustersApi.JOIN_TOKEN_HEADER, joinToken), 200);

    int agentManagement = Fleet.freePort();
    Map<String, String> agentEnv = agentEnvironment(manifest, dir.resolve("agent-secret"), agentManagement);
    Path kubeconfig = Files.writeString(dir.resolve("edge.kubeconfig"), sim.kubeconfig("edge"));
    agentEnv.put("KMC_KUBERNETES_MODE", "kubeconfig");
    agentEnv.put("KMC_KUBERNETES_KUBECONFIG", kubeconfig.toString());
    agentEnv.put("KMC_HUB_RECONNECT_MAX_BACKOFF", "1s");
    Process agent = start(AGENT_JAR, agentEnv, dir.resolve("agent.log"));

    HttpRequest.Builder namespaces = HttpRequest.newBuilder(base.resolve("/k8s/clusters/edge/api/v1/namespaces"))
        .header("Authorization", "Bearer " + admin);
    eventually(Duration.ofSeconds(60), () -> body(https, namespaces).contains("kube-system"), "the agent process serves cluster edge");
    awaitReady(agentManagement, Duration.ofSeconds(10), agent);
    assertEquals(1.0, metric(agentManagement, "kmc_agent_connected"));
    eventually(Duration.ofSeconds(15), () -> metric(hubManagement, "kmc_cluster_up{cluster=\"edge\"") == 1.0,
        "the hub reports cluster edge up");

    // SIGTERM: the hub leaves cleanly; the agent notices and says it is not ready.
    hub.destroy();
    assertTrue(hub.waitFor(30, TimeUnit.SECONDS), "the hub exits within its grace");
    assertTrue(Files.readString(dir.resolve("hub-1.log")).contains("stopping the hub node"));
    eventually(Duration.ofSeconds(30), () -> get(agentManagement, "/ready").statusCode() == 503
        && !new JsonObject(get(agentManagement, "/ready").body()).getJsonObject("checks").getJsonObject("hub")
        .getBoolean("ok"), "the agent reports the hub gone");

    // Restarted on the same data directory: same certificate, cluster, token and admin; the agent
    // comes back by itself.
    Process again = start(HUB_JAR, hubEnv, dir.resolve("hub-2.log"));
    awaitReady(hubManagement, Duration.ofSeconds(150), again);
    eventually(Duration.ofSeconds(60), () -> body(https, namespaces).contains("kube-system"), "the agent reconnected to the restarted hub");
    awaitReady(agentManagement, Duration.ofSeconds(10), agent);

    agent.destroy();
    assertTrue(agent.waitFor(30, TimeUnit.SECONDS), "the agent exits on SIGTERM");
    assertTrue(Files.readString(dir.resolve("agent.log")).contains("stopping the agent"));
    again.destroy();
    assertTrue(again.waitFor(30, TimeUnit.SECONDS));

    // Logs are JSON lines, one event each, as log collectors want them.
    for (String log : List.of("hub-1.log", "hub-2.log", "agent.log")) {
      for (String line : Files.readAllLines(dir.resolve(log))) {
        if (!line.isBlank()) {
          assertTrue(line.startsWith("{") && new JsonObject(line).containsKey("formattedMessage"), log + ": " + line);
        }
      }
    }
  }

  @Test
  void aBadConfigurationStopsTheProgramWithAMessageNamingTheKey(@TempDir Path dir) throws Exception {
    Process hub = start(HUB_JAR, Map.of("KMC_DATA_DIR", dir.toString(), "KMC_SERVER_PORT", "eighty"),
        dir.resolve("hub.log"));
    assertTrue(hub.waitFor(60, TimeUnit.SECONDS));
    assertEquals(2, hub.exitValue());
    String said = Files.readString(dir.resolve("hub.log"));
    assertTrue(said.contains("KMC_SERVER_PORT") && said.contains("eighty"), said);

    Process agent = start(AGENT_JAR, Map.of("KMC_HUB_URLS", "wss://hub.example.com"), dir.resolve("agent.log"));
    assertTrue(agent.waitFor(60, TimeUnit.SECONDS));
    assertEquals(2, agent.exitValue());
    said = Files.readString(dir.resolve("agent.log"));
    assertTrue(said.contains("hub.cluster: is required (set it in the file or as KMC_HUB_CLUSTER)")
        && said.contains("hub.token"), said);
  }

  /**
   * The environment of the agent container in {@code manifest}, with the Secret it mounts written to
   * {@code secretDir} and the management port moved to {@code managementPort}.
   */
  @SuppressWarnings("unchecked")
  private static Map<String, String> agentEnvironment(String manifest, Path secretDir, int managementPort)
      throws IOException {
    Map<String, String> env = new HashMap<>();
    Files.createDirectories(secretDir);
    for (Object document : new Yaml().loadAll(manifest)) {
      Map<String, Object> object = (Map<String, Object>) document;
      if ("Secret".equals(object.get("kind"))) {
        for (Map.Entry<String, Object> file : ((Map<String, Object>) object.get("stringData")).entrySet()) {
          Files.writeString(secretDir.resolve(file.getKey()), (String) file.getValue());
        }
      } else if ("Deployment".equals(object.get("kind"))) {
        Map<String, Object> spec = (Map<String, Object>) ((Map<String, Object>) object.get("spec")).get("template");
        List<Map<String, Object>> containers =
            (List<Map<String, Object>>) ((Map<String, Object>) spec.get("spec")).get("containers");
        for (Map<String, Object> variable : (List<Map<String, Object>>) containers.get(0).get("env")) {
          String value = (String) variable.get("value");
          env.put((String) variable.get("name"),
              value.startsWith(SECRET_MOUNT) ? secretDir.resolve(value.substring(SECRET_MOUNT.length())).toString() : value);
        }
      }
    }
    assertTrue(env.containsKey("KMC_HUB_TOKEN_FILE") && env.containsKey("KMC_HUB_CA_FILE"), env.toString());
    env.put("KMC_METRICS_PORT", String.valueOf(managementPort));
    env.put("KMC_METRICS_HOST", "127.0.0.1");
    return env;
  }

  private Process start(Path jar, Map<String, String> env, Path log) throws IOException {
    assertTrue(Files.isRegularFile(jar), jar.toAbsolutePath() + " is missing: build it with mvn package");
    ProcessBuilder builder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-jar", jar.toString()).redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().keySet().removeIf(name -> name.startsWith("KMC_"));
    builder.environment().putAll(env);
    Process process = builder.start();
    processes.add(process);
    return process;
  }

  private static void awaitReady(int managementPort, Duration timeout, Process process) {
    eventually(timeout, () -> {
      assertTrue(process.isAlive(), "the process exited with " + (process.isAlive() ? "" : process.exitValue()));
      return get(managementPort, "/ready").statusCode() == 200;
    }, "/ready on port " + managementPort);
  }

  private static double metric(int managementPort, String prefix) {
    for (String line : get(managementPort, "/metrics").body().split("\n")) {
      if (line.startsWith(prefix)) {
        return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    throw new AssertionError("no metric " + prefix);
  }

  private static HttpResponse<String> get(int port, String path) {
    try {
      return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
          .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static String body(HttpClient client, HttpRequest.Builder request) {
    try {
      return client.send(request.build(), HttpResponse.BodyHandlers.ofString()).body();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static String send(HttpClient client, HttpRequest.Builder request, int expected) throws Exception {
    HttpResponse<String> response = client.send(request.build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(expected, response.statusCode(), response.body());
    return response.body();
  }
}
