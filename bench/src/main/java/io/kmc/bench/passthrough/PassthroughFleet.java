package io.kmc.bench.passthrough;

import io.kmc.agent.Agent;
import io.kmc.agent.AgentConfig;
import io.kmc.common.config.ConfigReader;
import io.kmc.hub.Hub;
import io.kmc.hub.config.HubConfig;
import io.kmc.hub.store.TokenHashes;
import io.kmc.kubesim.KubeSim;
import io.kmc.kubesim.KubeSimOptions;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.httpproxy.HttpProxy;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import redis.embedded.RedisServer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * What the pass-through benchmark runs against: a simulated member cluster holding the ConfigMap,
 * two clustered hub nodes (Hazelcast TCP-IP on loopback, plain HTTP) sharing a PostgreSQL and a
 * Redis, and a real agent connected to node A. All in this JVM except PostgreSQL and Redis, which
 * are started from Maven artifacts as processes of their own. Each hub node has its own Vert.x
 * instance, as separate processes would; the simulator and the agent share another one, standing
 * for the member cluster's side. A bare reverse proxy in front of the simulator, on a Vert.x of its
 * own, shows what merely adding a hop costs on this machine.
 */
final class PassthroughFleet implements AutoCloseable {

  static final String CLUSTER = "bench";
  static final String NAMESPACE = "default";
  static final String CONFIG_MAP = "bench";
  static final String CONFIG_MAP_PATH = "/api/v1/namespaces/" + NAMESPACE + "/configmaps/" + CONFIG_MAP;

  private static final long START_TIMEOUT_SECONDS = 120;
  /** Environment overrides for every node and the agent: on one machine, any management port must be a free one. */
  private static final Map<String, String> SETTINGS = Map.of("KMC_METRICS_PORT", "0");

  private final String adminPassword = "kmc-bench-admin-" + UUID.randomUUID();
  private final String joinToken = "kmc-bench-join-" + UUID.randomUUID();
  private final String simToken = "kmc-bench-sim-" + UUID.randomUUID();
  private final String hazelcastCluster = "kmc-bench-" + UUID.randomUUID();
  private final Path workDir;
  private final Vertx memberVertx = Vertx.vertx();
  private final Vertx proxyVertx = Vertx.vertx();
  private final List<AutoCloseable> toClose = new ArrayList<>();
  private final HttpClient http = HttpClient.newHttpClient();
  private EmbeddedPostgres postgres;
  private int redisPort;
  private String adminToken;
  private KubeSim sim;
  private Hub nodeA;
  private Hub nodeB;
  private Agent agent;
  private int bareProxyPort;

  private PassthroughFleet() throws IOException {
    workDir = Files.createTempDirectory("kmc-bench");
  }

  /** Starts PostgreSQL, Redis, the simulator, both hub nodes and the agent; returns once node A welcomed the agent. */
  static PassthroughFleet start() throws IOException {
    PassthroughFleet fleet = new PassthroughFleet();
    try {
      fleet.startAll();
      return fleet;
    } catch (RuntimeException | IOException e) {
      fleet.close();
      throw e;
    }
  }

  private void startAll() throws IOException {
    postgres = EmbeddedPostgres.builder().setDataDirectory(postgresDirectory()).setCleanDataDirectory(true).start();
    toClose.add(postgres);
    List<Integer> ports = freePorts(4);
    redisPort = ports.get(0);
    RedisServer redis = new RedisServer(redisPort);
    redis.start();
    toClose.add(redis::stop);

    sim = await(KubeSim.start(memberVertx, new KubeSimOptions().seed(true).token(simToken)));
    toClose.add(() -> await(sim.close()));
    await(sim.create(configMap()));
    bareProxyPort = startBareProxy(ports.get(1));

    int hazelcastA = ports.get(2);
    int hazelcastB = ports.get(3);
    List<Integer> members = List.of(hazelcastA, hazelcastB);
    nodeA = await(Hub.start(hubConfig(hazelcastA, members)));
    toClose.add(() -> await(nodeA.close()));
    nodeB = await(Hub.start(hubConfig(hazelcastB, members)));
    toClose.add(() -> await(nodeB.close()));
    adminToken = createApiToken(login());

    Path kubeconfig = workDir.resolve(CLUSTER + ".kubeconfig");
    Files.writeString(kubeconfig, sim.kubeconfig(CLUSTER));
    AgentConfig agentConfig = read(AgentConfig::read, """
        hub:
          urls: ["ws://127.0.0.1:%d"]
          cluster: %s
          token: %s
          reconnect:
            initial_backoff: 50ms
            max_backoff: 500ms
        kubernetes:
          mode: kubeconfig
          kubeconfig: %s
        """.formatted(nodeA.port(), CLUSTER, joinToken, kubeconfig));
    agent = await(Agent.start(memberVertx, agentConfig, Agent.kubeAccess(agentConfig)));
    toClose.add(() -> await(agent.stop()));
    awaitConnected();
  }

  /**
   * vertx-http-proxy forwarding everything to the simulator, one server per core like the hub's API:
   * no authentication, no tunnel, no audit; the floor under any proxy's cost.
   */
  private int startBareProxy(int port) {
    HttpProxy proxy = HttpProxy.reverseProxy(proxyVertx.createHttpClient(new PoolOptions().setHttp1MaxSize(16)))
        .origin(sim.port(), "127.0.0.1");
    await(proxyVertx.deployVerticle(() -> new VerticleBase() {
      @Override
      public Future<?> start() {
        return vertx.createHttpServer().requestHandler(proxy).listen(port, "127.0.0.1");
      }
    }, new DeploymentOptions().setInstances(Runtime.getRuntime().availableProcessors())));
    return port;
  }

  /** A ConfigMap of a typical size: a few short settings and a small file. */
  private static JsonObject configMap() {
    StringBuilder properties = new StringBuilder();
    for (int i = 0; i < 12; i++) {
      properties.append("setting.").append(i).append("=value-").append(i).append('\n');
    }
    return new JsonObject()
        .put("apiVersion", "v1")
        .put("kind", "ConfigMap")
        .put("metadata", new JsonObject().put("name", CONFIG_MAP).put("namespace", NAMESPACE)
            .put("labels", new JsonObject().put("app", "kmc-bench")))
        .put("data", new JsonObject()
            .put("mode", "benchmark")
            .put("replicas", "3")
            .put("application.properties", properties.toString()));
  }

  /** PostgreSQL's data directory, whose path also picks out the server's processes for {@link #processMarkers()}. */
  private Path postgresDirectory() {
    return workDir.resolve("postgres");
  }

  /**
   * Every node at its defaults but for the shared stores and a rate limit that a benchmark does not
   * trip (the limiter still counts every request in Redis).
   */
  private HubConfig hubConfig(int hazelcastPort, List<Integer> members) {
    String memberList = String.join(", ", members.stream().map(p -> "\"127.0.0.1:" + p + "\"").toList());
    return read(HubConfig::read, """
        data:
          dir: %s
        server:
          host: 127.0.0.1
          port: 0
          tls:
            mode: "off"
        cluster:
          enabled: true
          name: %s
          host: 127.0.0.1
          port: %d
          members: [%s]
        database:
          host: 127.0.0.1
          port: %d
          name: postgres
          user: postgres
        redis:
          url: redis://127.0.0.1:%d
        auth:
          admin_password: %s
          requests_per_minute: 10000000
        clusters:
          - name: %s
            token_sha256: %s
        """.formatted(workDir, hazelcastCluster, hazelcastPort, memberList, postgres.getPort(), redisPort,
        adminPassword, CLUSTER, TokenHashes.sha256Hex(joinToken)));
  }

  /** Logs the built-in admin in on node A; returns the access token. */
  private String login() {
    JsonObject answer = post("/api/v1/auth/login", null,
        new JsonObject().put("username", "admin").put("password", adminPassword), 200);
    return answer.getString("accessToken");
  }

  /** An API token of the admin, as a script or CI job would use; returns its secret. */
  private String createApiToken(String accessToken) {
    JsonObject answer = post("/api/v1/tokens", accessToken,
        new JsonObject().put("name", "kmc-bench").put("expiresIn", "1d"), 201);
    return answer.getString("token");
  }

  private JsonObject post(String path, String bearer, JsonObject body, int expectedStatus) {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + nodeA.port() + path))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body.encode()));
    if (bearer != null) {
      request.header("Authorization", "Bearer " + bearer);
    }
    try {
      HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != expectedStatus) {
        throw new IllegalStateException("POST " + path + " answered " + response.statusCode() + ": " + response.body());
      }
      return new JsonObject(response.body());
    } catch (IOException e) {
      throw new UncheckedIOException("POST " + path + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  private static <T> T read(Function<ConfigReader, T> reader, String yaml) {
    ConfigReader config = ConfigReader.fromYaml(yaml, SETTINGS);
    T value = reader.apply(config);
    config.finish();
    return value;
  }

  private void awaitConnected() {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!agent.connected()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the agent did not connect to hub node A within 30 s");
      }
      sleep(20);
    }
  }

  KubeSim sim() {
    return sim;
  }

  /** The node the agent is connected to. */
  Hub nodeA() {
    return nodeA;
  }

  /** The other node: requests sent here cross the clustered event bus to node A. */
  Hub nodeB() {
    return nodeB;
  }

  /** An API token of the hub's admin. */
  String adminToken() {
    return adminToken;
  }

  /** What identifies the processes besides this JVM that serve the hub (PostgreSQL's server and backends). */
  List<String> processMarkers() {
    return List.of(postgresDirectory().toString());
  }

  /** The bare reverse proxy in front of the simulator. */
  int bareProxyPort() {
    return bareProxyPort;
  }

  String simToken() {
    return simToken;
  }

  /** Stops the agent, the hub nodes, the simulator, Redis and PostgreSQL, in that order, and deletes the work files. */
  @Override
  public void close() {
    List<AutoCloseable> reversed = new ArrayList<>(toClose);
    Collections.reverse(reversed);
    for (AutoCloseable closeable : reversed) {
      try {
        closeable.close();
      } catch (Exception e) {
        System.err.println("while stopping the fleet: " + e.getMessage());
      }
    }
    await(memberVertx.close());
    await(proxyVertx.close());
    deleteWorkDir();
  }

  private void deleteWorkDir() {
    try (var paths = Files.walk(workDir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (IOException | UncheckedIOException e) {
      System.err.println("cannot delete " + workDir + ": " + e.getMessage());
    }
  }

  private static <T> T await(Future<T> future) {
    try {
      return future.await(START_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e.getMessage(), e);
    }
  }

  static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** Distinct free ports for servers started later: all are held open together, so none is handed out twice. */
  private static List<Integer> freePorts(int count) {
    List<ServerSocket> sockets = new ArrayList<>();
    try {
      for (int i = 0; i < count; i++) {
        sockets.add(new ServerSocket(0));
      }
      return sockets.stream().map(ServerSocket::getLocalPort).toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      for (ServerSocket socket : sockets) {
        try {
          socket.close();
        } catch (IOException e) {
          System.err.println("cannot close a probe socket: " + e.getMessage());
        }
      }
    }
  }
}
