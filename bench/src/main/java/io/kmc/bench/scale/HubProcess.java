package io.kmc.bench.scale;

import io.kmc.bench.load.JvmProcess;
import io.kmc.hub.store.TokenHashes;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * One hub node as a process of its own ({@code io.kmc.hub.HubMain} from a jar, with a fixed heap),
 * the embedded database it starts, TLS with its self-signed certificate, and the given number of
 * clusters registered from its configuration file, all sharing one join token. Its CPU, threads and
 * heap are then read apart from the simulator's ({@link JvmProcess}).
 */
public final class HubProcess implements AutoCloseable {

  public static final String CLUSTER_PREFIX = "sim-";

  private final Path workDir;
  private final Process process;
  private final int port;
  private final int managementPort;
  private final String joinToken;
  private final HttpClient http;
  private String adminToken;

  /**
   * @param jar       the jar holding the hub (this benchmark's own, or an older build to compare with)
   * @param heapMb    -Xms and -Xmx of the hub
   * @param clusters  clusters to register, named {@code sim-00000}…
   * @param settings  environment overrides ({@code KMC_...}) for the hub
   */
  public static HubProcess start(Vertx vertx, String jar, int heapMb, int clusters, Map<String, String> settings)
      throws IOException, InterruptedException {
    return new HubProcess(vertx, jar, heapMb, clusters, settings, "kmc-sim-join-" + UUID.randomUUID(),
        "kmc-sim-admin-" + UUID.randomUUID(), "");
  }

  /**
   * One node of several: the same join token and admin password as its peers, and {@code sharedYaml}
   * (the {@code cluster:}, {@code database:} and {@code redis:} sections that make them one hub) added
   * to its configuration.
   */
  public static HubProcess startNode(Vertx vertx, String jar, int heapMb, int clusters, Map<String, String> settings,
                                     String joinToken, String adminPassword, String sharedYaml)
      throws IOException, InterruptedException {
    return new HubProcess(vertx, jar, heapMb, clusters, settings, joinToken, adminPassword, sharedYaml);
  }

  private HubProcess(Vertx vertx, String jar, int heapMb, int clusters, Map<String, String> settings,
                     String joinToken, String adminPassword, String sharedYaml)
      throws IOException, InterruptedException {
    workDir = Files.createTempDirectory("kmc-fleet-sim");
    this.joinToken = joinToken;
    int[] ports = freePorts();
    port = ports[0];
    managementPort = ports[1];
    String hash = TokenHashes.sha256Hex(joinToken);
    StringBuilder yaml = new StringBuilder("""
        data:
          dir: %s
        server:
          host: 127.0.0.1
          port: %d
          tls:
            mode: self-signed
        metrics:
          host: 127.0.0.1
          port: %d
        auth:
          admin_password: %s
          requests_per_minute: 10000000
        log:
          level: warn
          format: text
        %s
        clusters:
        """.formatted(workDir.resolve("data"), port, managementPort, adminPassword,
        sharedYaml.strip()));
    for (int i = 0; i < clusters; i++) {
      yaml.append("  - name: ").append(cluster(i)).append("\n    token_sha256: ").append(hash).append('\n');
    }
    Path config = workDir.resolve("hub.yaml");
    Files.writeString(config, yaml);
    List<String> command = new ArrayList<>(List.of(javaBinary(), "-Xms" + heapMb + "m", "-Xmx" + heapMb + "m",
        "-XX:+UseG1GC"));
    String extra = System.getProperty("kmc.bench.hub-jvm-args", "").trim();
    if (!extra.isEmpty()) {
      command.addAll(List.of(extra.split("\\s+")));
    }
    command.addAll(List.of("-cp", jar, "io.kmc.hub.HubMain", config.toString()));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(workDir.resolve("hub.log").toFile());
    builder.environment().putAll(settings);
    process = builder.start();
    http = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setTrustAll(true).setVerifyHost(false)
        .setKeepAlive(true).setDefaultHost("127.0.0.1")
        // On a loaded machine a starting hub can take longer than the default 10 s to finish a handshake.
        .setSslHandshakeTimeout(60).setSslHandshakeTimeoutUnit(TimeUnit.SECONDS).setDefaultPort(port), new PoolOptions().setHttp1MaxSize(8));
    try {
      awaitReady(vertx);
      JsonObject login = new JsonObject(await(call(HttpMethod.POST, "/api/v1/auth/login", null,
          new JsonObject().put("username", "admin").put("password", adminPassword).toBuffer())).toString());
      adminToken = login.getString("accessToken");
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  public static String cluster(int i) {
    return CLUSTER_PREFIX + String.format("%05d", i);
  }

  public String agentUrl() {
    return "wss://127.0.0.1:" + port + "/agent/v1/connect";
  }

  public int port() {
    return port;
  }

  /** An access token of the built-in admin. */
  public String adminToken() {
    return adminToken;
  }

  public String joinToken() {
    return joinToken;
  }

  public JvmProcess jvm() {
    return new JvmProcess(process.pid());
  }

  public Path log() {
    return workDir.resolve("hub.log");
  }

  private void awaitReady(Vertx vertx) throws InterruptedException {
    HttpClient management = vertx.createHttpClient();
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException("the hub process ended at start; see " + log());
      }
      try {
        int status = management.request(HttpMethod.GET, managementPort, "127.0.0.1", "/ready")
            .compose(r -> r.send().map(res -> res.statusCode())).await(5, TimeUnit.SECONDS);
        if (status == 200) {
          management.close();
          return;
        }
      } catch (Exception e) {
        // not listening yet
      }
      Thread.sleep(250);
    }
    throw new IllegalStateException("the hub was not ready within 5 minutes; see " + log());
  }

  /** A call to the API as the admin; the body of a 2xx answer (anything else fails). */
  public Future<Buffer> call(HttpMethod method, String path, String bearer, Buffer body) {
    RequestOptions options = new RequestOptions().setMethod(method).setURI(path).setTimeout(60_000);
    String auth = bearer != null ? bearer : adminToken;
    if (auth != null) {
      options.putHeader("Authorization", "Bearer " + auth);
    }
    if (body != null) {
      options.putHeader("Content-Type", "application/json");
    }
    return http.request(options).compose(request -> body == null ? request.send() : request.send(body))
        .compose(response -> response.body().compose(bytes -> response.statusCode() / 100 == 2
            ? Future.succeededFuture(bytes)
            : Future.failedFuture(method + " " + path + ": " + response.statusCode() + " " + bytes)));
  }

  public Future<Buffer> get(String path) {
    return call(HttpMethod.GET, path, null, null);
  }

  /** The body of {@code /metrics} on the management port. */
  public Future<Buffer> metrics(Vertx vertx) {
    HttpClient management = vertx.createHttpClient();
    return management.request(HttpMethod.GET, managementPort, "127.0.0.1", "/metrics")
        .compose(r -> r.send()).compose(r -> r.body()).eventually(() -> management.close());
  }

  static <T> T await(Future<T> future) {
    try {
      return future.await(120, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e.getMessage(), e);
    }
  }

  /** Ends the process at once (SIGKILL: no drain, no goodbye to its agents or peers). */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    try (var paths = Files.walk(workDir)) {
      paths.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (IOException e) {
      System.err.println("cannot delete " + workDir + ": " + e.getMessage());
    }
  }

  private static String javaBinary() {
    return ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java")
        .toString());
  }

  private static int[] freePorts() throws IOException {
    try (ServerSocket a = new ServerSocket(0); ServerSocket b = new ServerSocket(0)) {
      return new int[] {a.getLocalPort(), b.getLocalPort()};
    }
  }
}
