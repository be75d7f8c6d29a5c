package io.kmc.bench.fleet;

import io.kmc.agent.Agent;
import io.kmc.agent.AgentClock;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * What the benchmarks run against: a simulated member cluster, two clustered hub nodes (Hazelcast
 * TCP-IP on loopback, plain HTTP) sharing a PostgreSQL and a Redis, and real agents, each for a
 * cluster of its own name in front of the same simulator (so that v1 and v2 agents can be compared
 * side by side). All in this JVM except PostgreSQL and Redis, which are started from Maven artifacts
 * as processes of their own, and the agents a {@link Spec} asks to run in a JVM of their own
 * ({@code io.kmc.agent.AgentMain} from this jar, as in production), whose threads, heap and CPU can
 * then be read apart. Each hub node has its own Vert.x instance, as separate processes would; the
 * simulator and the in-JVM agents share another one, standing for the member cluster's side. A bare
 * reverse proxy in front of the simulator, on a Vert.x of its own, shows what merely adding a hop
 * costs on this machine.
 */
public final class Fleet implements AutoCloseable {

  static final String NAMESPACE = "default";
  static final String CONFIG_MAP = "bench";
  /** The one ConfigMap every fleet starts with, an 802-byte JSON answer. */
  public static final String CONFIG_MAP_PATH = "/api/v1/namespaces/" + NAMESPACE + "/configmaps/" + CONFIG_MAP;

  /** Hub node A (index 0) or B (index 1). */
  public static final int NODE_A = 0;
  public static final int NODE_B = 1;
  /** A third hub node, run as a process of its own ({@link Spec#processNode}) so that it can be frozen (SIGSTOP). */
  public static final int NODE_C = 2;

  /**
   * One agent of the fleet.
   *
   * @param cluster          its cluster's name in the hub (each agent has its own)
   * @param protocolVersions what it offers in hello, e.g. [1] for a v1 agent
   * @param dials            the hub nodes it dials, in turn ({@link #NODE_A}, {@link #NODE_B})
   * @param ownProcess       run it as {@code AgentMain} in a JVM of its own rather than in this one
   * @param maxHeapMb        that JVM's -Xmx (0: the default)
   * @param clockOffset      how far its wall clock is set from the host's (only for an agent of its own process;
   *                         {@code io.kmc.agent.AgentClock})
   */
  public record AgentSpec(String cluster, List<Integer> protocolVersions, List<Integer> dials, boolean ownProcess,
                          int maxHeapMb, java.time.Duration clockOffset) {

    public AgentSpec {
      if (!clockOffset.isZero() && !ownProcess) {
        throw new IllegalArgumentException("only an agent of its own process can have a clock of its own");
      }
    }

    public AgentSpec(String cluster, List<Integer> protocolVersions, List<Integer> dials, boolean ownProcess,
                     int maxHeapMb) {
      this(cluster, protocolVersions, dials, ownProcess, maxHeapMb, java.time.Duration.ZERO);
    }

    /** A v2 agent in this JVM, connected to node A: the pass-through benchmark's. */
    public static AgentSpec inJvm(String cluster) {
      return new AgentSpec(cluster, List.of(), List.of(NODE_A), false, 0);
    }
  }

  /**
   * @param agents         the agents; the fleet waits until each is connected to the first node it dials
   * @param maxOpenStreams the hub's {@code tunnel.max_open_streams} (open streams per agent)
   */
  public record Spec(List<AgentSpec> agents, int maxOpenStreams, boolean processNode) {

    public Spec {
      agents = List.copyOf(agents);
    }

    public Spec(List<AgentSpec> agents, int maxOpenStreams) {
      this(agents, maxOpenStreams, false);
    }

    public Spec(List<AgentSpec> agents) {
      this(agents, 512);
    }
  }

  /** An agent running in a process of its own. */
  public record AgentProcess(String cluster, Process process) {

    public long pid() {
      return process.pid();
    }
  }

  private static final long START_TIMEOUT_SECONDS = 120;
  /** Environment overrides for every node and the agent: on one machine, any management port must be a free one. */
  private static final Map<String, String> SETTINGS = Map.of("KMC_METRICS_PORT", "0");

  private final String adminPassword = "kmc-bench-admin-" + UUID.randomUUID();
  private final String simToken = "kmc-bench-sim-" + UUID.randomUUID();
  private final String hazelcastCluster = "kmc-bench-" + UUID.randomUUID();
  private final Path workDir;
  private final Vertx memberVertx = Vertx.vertx();
  private final Vertx proxyVertx = Vertx.vertx();
  private final List<AutoCloseable> toClose = new ArrayList<>();
  private final HttpClient http = HttpClient.newHttpClient();
  private EmbeddedPostgres postgres;
  private RedisServer redis;
  private int redisPort;
  /** Agents dial the hub nodes through a {@link FaultyLink} each, for benchmarks that break the network. */
  private boolean throughLinks;
  private final Map<Integer, FaultyLink> links = new LinkedHashMap<>();
  private String adminToken;
  private KubeSim sim;
  private Hub nodeA;
  private Hub nodeB;
  private final Spec spec;
  private final Map<String, String> joinTokens = new LinkedHashMap<>();
  private final Map<String, Agent> agents = new LinkedHashMap<>();
  private final Map<String, AgentProcess> agentProcesses = new LinkedHashMap<>();
  private final java.util.Set<Hub> halted = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private int bareProxyPort;
  /** Node C's process, its API port, and whether it is frozen now. */
  private Process nodeC;
  private int nodeCPort;
  private volatile boolean nodeCStopped;

  /** Environment-style settings (KMC_...) for both hub nodes on top of {@link #SETTINGS}, e.g. short intervals. */
  private final Map<String, String> hubSettings;

  private Fleet(Spec spec, Map<String, String> hubSettings) throws IOException {
    this.spec = spec;
    Map<String, String> merged = new java.util.HashMap<>(SETTINGS);
    merged.putAll(hubSettings);
    this.hubSettings = Map.copyOf(merged);
    workDir = Files.createTempDirectory("kmc-bench");
    for (AgentSpec agent : spec.agents()) {
      if (joinTokens.put(agent.cluster(), "kmc-bench-join-" + UUID.randomUUID()) != null) {
        throw new IllegalArgumentException("two agents for cluster " + agent.cluster());
      }
    }
  }

  /**
   * Starts PostgreSQL, Redis, the simulator, both hub nodes and the agents; returns once each agent
   * is connected to the first node it dials.
   */
  public static Fleet start(Spec spec) throws IOException {
    return start(spec, Map.of());
  }

  /** As {@link #start(Spec)}, with environment-style settings ({@code KMC_...}) for both hub nodes. */
  public static Fleet start(Spec spec, Map<String, String> hubSettings) throws IOException {
    return start(spec, hubSettings, false);
  }

  /**
   * As {@link #start(Spec, Map)}, with every agent dialling the hub nodes through a {@link FaultyLink}
   * of the node's ({@link #link(int)}), which a benchmark can then make misbehave.
   */
  public static Fleet startThroughLinks(Spec spec, Map<String, String> hubSettings) throws IOException {
    return start(spec, hubSettings, true);
  }

  private static Fleet start(Spec spec, Map<String, String> hubSettings, boolean throughLinks) throws IOException {
    Fleet fleet = new Fleet(spec, hubSettings);
    fleet.throughLinks = throughLinks;
    try {
      fleet.startAll();
      return fleet;
    } catch (RuntimeException | IOException e) {
      fleet.close();
      throw e;
    }
  }

  private void startAll() throws IOException {
    // Kept on close (the work directory is deleted at the end), so that a restart finds its data.
    postgres = EmbeddedPostgres.builder().setDataDirectory(postgresDirectory()).setCleanDataDirectory(false).start();
    toClose.add(() -> {
      if (postgres != null) {
        postgres.close();
      }
    });
    List<Integer> ports = freePorts(4);
    redisPort = ports.get(0);
    redis = new RedisServer(redisPort);
    redis.start();
    toClose.add(() -> {
      if (redis.isActive()) {
        redis.stop();
      }
    });

    sim = await(KubeSim.start(memberVertx, new KubeSimOptions().seed(true).token(simToken)));
    toClose.add(() -> await(sim.close()));
    await(sim.create(configMap()));
    bareProxyPort = startBareProxy(ports.get(1));

    int hazelcastA = ports.get(2);
    int hazelcastB = ports.get(3);
    List<Integer> members = List.of(hazelcastA, hazelcastB);
    nodeA = await(Hub.start(hubConfig(hazelcastA, members)));
    toClose.add(() -> closeUnlessHalted(nodeA));
    nodeB = await(Hub.start(hubConfig(hazelcastB, members)));
    toClose.add(() -> closeUnlessHalted(nodeB));
    adminToken = createApiToken(login());
    if (spec.processNode()) {
      List<Integer> cPorts = freePorts(2);
      startNodeC(cPorts.get(0), cPorts.get(1), List.of(hazelcastA, hazelcastB, cPorts.get(1)));
    }
    if (throughLinks) {
      for (int index : spec.processNode() ? List.of(NODE_A, NODE_B, NODE_C) : List.of(NODE_A, NODE_B)) {
        FaultyLink link = FaultyLink.start(memberVertx, port(index));
        links.put(index, link);
        toClose.add(link);
      }
    }

    for (AgentSpec agent : spec.agents()) {
      startAgent(agent);
    }
    for (AgentSpec agent : spec.agents()) {
      awaitConnected(agent.cluster(), agent.dials().get(0));
    }
  }

  /**
   * Node C: {@code HubMain} in a JVM of its own, with the configuration nodes A and B have, joining
   * their Hazelcast cluster; returns once it answers the API.
   */
  private void startNodeC(int apiPort, int hazelcastPort, List<Integer> members) throws IOException {
    Path config = workDir.resolve("node-c.yaml");
    Files.writeString(config, hubYaml(hazelcastPort, members, apiPort));
    List<String> command = new ArrayList<>(List.of(javaBinary(), "-Xmx512m", "-cp", ownJar(), "io.kmc.hub.HubMain",
        config.toString()));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(workDir.resolve("node-c.log").toFile());
    builder.environment().putAll(hubSettings);
    nodeC = builder.start();
    nodeCPort = apiPort;
    toClose.add(() -> {
      if (nodeCStopped) {
        continueNodeC();
      }
      nodeC.destroy();
      if (!nodeC.waitFor(30, TimeUnit.SECONDS)) {
        nodeC.destroyForcibly();
      }
    });
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(START_TIMEOUT_SECONDS);
    while (System.nanoTime() < deadline) {
      if (!nodeC.isAlive()) {
        throw new IllegalStateException("hub node C ended at start; see " + workDir.resolve("node-c.log"));
      }
      try {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPort
            + "/api/v1/clusters")).header("Authorization", "Bearer " + adminToken).GET().build(),
            HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() == 200) {
          return;
        }
      } catch (IOException e) {
        // not listening yet
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      }
      sleep(250);
    }
    throw new IllegalStateException("hub node C did not answer within " + START_TIMEOUT_SECONDS + " s");
  }

  /** Freezes node C (SIGSTOP): its sockets stay open, nothing on them is read or answered, as in a long GC pause. */
  public void stopNodeC() throws IOException {
    signal("STOP");
    nodeCStopped = true;
  }

  /** Lets node C run again (SIGCONT), with whatever it held when it froze. */
  public void continueNodeC() throws IOException {
    signal("CONT");
    nodeCStopped = false;
  }

  private void signal(String name) throws IOException {
    if (nodeC == null) {
      throw new IllegalStateException("the fleet has no node C");
    }
    try {
      int status = new ProcessBuilder("bash", "-c", "kill -" + name + " " + nodeC.pid()).inheritIO().start().waitFor();
      if (status != 0) {
        throw new IOException("kill -" + name + " " + nodeC.pid() + " exited with " + status);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  /** The API port of hub node A, B or C. */
  public int port(int index) {
    return index == NODE_C ? nodeCPort : node(index).port();
  }

  /** Waits until {@code cluster}'s agent is connected to node A, B or C (C: to a node that is neither A nor B). */
  public void awaitConnected(String cluster, int index) {
    if (index != NODE_C) {
      awaitConnected(cluster, node(index));
      return;
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    String last = "never asked";
    while (System.nanoTime() < deadline) {
      JsonObject connection = connection(cluster);
      String on = connection == null ? null : connection.getString("node");
      if (connection != null && Boolean.TRUE.equals(connection.getBoolean("connected")) && on != null
          && !on.equals(nodeA.nodeId()) && !on.equals(nodeB.nodeId())) {
        return;
      }
      last = String.valueOf(connection);
      sleep(50);
    }
    throw new IllegalStateException("the agent of " + cluster + " did not connect to hub node C within 60 s; last "
        + "seen: " + last);
  }

  private void startAgent(AgentSpec spec) throws IOException {
    Path kubeconfig = workDir.resolve(spec.cluster() + ".kubeconfig");
    Files.writeString(kubeconfig, sim.kubeconfig(spec.cluster()));
    String urls = String.join(", ", spec.dials().stream()
        .map(n -> "\"ws://127.0.0.1:" + (throughLinks ? links.get(n).port() : port(n)) + "\"").toList());
    String versions = spec.protocolVersions().isEmpty() ? ""
        : "  protocol_versions: [" + String.join(", ", spec.protocolVersions().stream().map(String::valueOf).toList())
        + "]\n";
    String yaml = """
        hub:
          urls: [%s]
          cluster: %s
          token: %s
          reconnect:
            initial_backoff: 50ms
            max_backoff: 500ms
        %skubernetes:
          mode: kubeconfig
          kubeconfig: %s
        """.formatted(urls, spec.cluster(), joinTokens.get(spec.cluster()), versions, kubeconfig);
    if (!spec.ownProcess()) {
      AgentConfig agentConfig = read(AgentConfig::read, yaml);
      Agent agent = await(Agent.start(memberVertx, agentConfig, Agent.kubeAccess(agentConfig)));
      agents.put(spec.cluster(), agent);
      toClose.add(() -> await(agent.stop()));
      return;
    }
    Path config = workDir.resolve(spec.cluster() + "-agent.yaml");
    Files.writeString(config, yaml + """
        metrics:
          enabled: false
        log:
          level: warn
          format: text
        """);
    List<String> command = new ArrayList<>(List.of(javaBinary()));
    if (spec.maxHeapMb() > 0) {
      command.add("-Xmx" + spec.maxHeapMb() + "m");
    }
    // e.g. -Dkmc.bench.agent-jvm-args="-XX:StartFlightRecording=filename=agent.jfr,settings=profile" to profile it
    String extra = System.getProperty("kmc.bench.agent-jvm-args", "").trim();
    if (!extra.isEmpty()) {
      command.addAll(List.of(extra.split("\\s+")));
    }
    if (!spec.clockOffset().isZero()) {
      command.add("-D" + AgentClock.OFFSET_PROPERTY + "=" + spec.clockOffset());
    }
    command.addAll(List.of("-cp", ownJar(), "io.kmc.agent.AgentMain", config.toString()));
    Process process = new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(workDir.resolve(spec.cluster() + "-agent.log").toFile())
        .start();
    agentProcesses.put(spec.cluster(), new AgentProcess(spec.cluster(), process));
    toClose.add(() -> {
      process.destroy();
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    });
  }

  private static String javaBinary() {
    return ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java")
        .toString());
  }

  /** The jar (or classes directory) this class came from, which holds the agent and its dependencies. */
  private static String ownJar() {
    try {
      return Path.of(Fleet.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    } catch (java.net.URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Hub node A or B. */
  public Hub node(int index) {
    return switch (index) {
      case NODE_A -> nodeA;
      case NODE_B -> nodeB;
      default -> throw new IllegalArgumentException("no hub node " + index);
    };
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
    ConfigReader config = ConfigReader.fromYaml(hubYaml(hazelcastPort, members, 0), hubSettings);
    HubConfig hub = HubConfig.read(config);
    config.finish();
    return hub;
  }

  /** A node's configuration file; {@code apiPort} 0 picks a free port. */
  private String hubYaml(int hazelcastPort, List<Integer> members, int apiPort) {
    String memberList = String.join(", ", members.stream().map(p -> "\"127.0.0.1:" + p + "\"").toList());
    return """
        data:
          dir: %s
        server:
          host: 127.0.0.1
          port: %d
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
        tunnel:
          max_open_streams: %d
        clusters:
        %s""".formatted(apiPort == 0 ? workDir : workDir.resolve("node-c"), apiPort, hazelcastCluster, hazelcastPort,
        memberList, postgres.getPort(), redisPort, adminPassword, spec.maxOpenStreams(), clustersYaml());
  }

  private String clustersYaml() {
    StringBuilder yaml = new StringBuilder();
    joinTokens.forEach((cluster, token) -> yaml.append("  - name: ").append(cluster).append('\n')
        .append("    token_sha256: ").append(TokenHashes.sha256Hex(token)).append('\n'));
    return yaml.toString();
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

  /** Waits (up to 60 s) until {@code cluster}'s agent is connected to {@code node}, as the hub sees it. */
  public void awaitConnected(String cluster, Hub node) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    String last = "never asked";
    while (System.nanoTime() < deadline) {
      try {
        JsonObject connection = connection(cluster);
        if (connection != null && Boolean.TRUE.equals(connection.getBoolean("connected"))
            && node.nodeId().equals(connection.getString("node"))) {
          return;
        }
        last = String.valueOf(connection);
      } catch (RuntimeException e) {
        last = e.getMessage();
      }
      sleep(20);
    }
    throw new IllegalStateException("the agent of " + cluster + " did not connect to hub node " + node.nodeId()
        + " within 60 s; last seen: " + last);
  }

  /** A call to the hub's API on node B with the admin token and a JSON body (or none); the body of a 2xx answer. */
  public String api(String method, String path, JsonObject body) throws IOException, InterruptedException {
    return api(method, path, body, "application/json");
  }

  /** As {@link #api(String, String, JsonObject)}, with the body sent as {@code contentType}; anything but 2xx throws. */
  public String api(String method, String path, JsonObject body, String contentType)
      throws IOException, InterruptedException {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + nodeB.port() + path))
        .header("Authorization", "Bearer " + adminToken)
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body.encode()));
    if (body != null) {
      request.header("Content-Type", contentType);
    }
    HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() / 100 != 2) {
      throw new IllegalStateException(method + " " + path + ": " + response.statusCode() + " " + response.body());
    }
    return response.body();
  }

  /** The hub's view of a cluster's agent connection ({@code connected}, {@code node}, …), asked of a live node. */
  public JsonObject connection(String cluster) {
    Hub via = nodeA;
    HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + via.port() + "/api/v1/clusters/"
        + cluster)).header("Authorization", "Bearer " + adminToken).GET().build();
    try {
      HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        throw new IllegalStateException("GET cluster " + cluster + ": " + response.statusCode() + " " + response.body());
      }
      return new JsonObject(response.body()).getJsonObject("connection");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /**
   * Stops {@code node} as {@code kill -9} would (no drain, no goodbye to the hub cluster; its sockets
   * just close), with the hub's {@code halt()}, which is package-private because only tests and
   * benchmarks have a reason to call it.
   */
  public void halt(int index) {
    Hub node = node(index);
    try {
      java.lang.reflect.Method halt = Hub.class.getDeclaredMethod("halt");
      halt.setAccessible(true);
      @SuppressWarnings("unchecked")
      Future<Void> halted = (Future<Void>) halt.invoke(node);
      this.halted.add(node);
      await(halted);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot halt hub node " + node.nodeId() + ": " + e, e);
    }
  }

  private void closeUnlessHalted(Hub node) {
    if (!halted.contains(node)) {
      await(node.close());
    }
  }

  /** The link the agents dial hub node {@code index} through ({@link #startThroughLinks}). */
  public FaultyLink link(int index) {
    FaultyLink link = links.get(index);
    if (link == null) {
      throw new IllegalStateException("the fleet was not started through links");
    }
    return link;
  }

  /** Stops PostgreSQL as a crash or a failover would take it away: the hub nodes lose their connections. */
  public void stopPostgres() throws IOException {
    postgres.close();
  }

  /** Starts PostgreSQL again on the same port and data directory, everything kept. */
  public void startPostgres() throws IOException {
    postgres = EmbeddedPostgres.builder().setDataDirectory(postgresDirectory()).setCleanDataDirectory(false)
        .setPort(postgres.getPort()).start();
  }

  public void stopRedis() throws IOException {
    redis.stop();
  }

  /** Starts Redis again on the same port, empty: what it held (rate-limit counters, presence) is gone. */
  public void startRedis() throws IOException {
    redis.start();
  }

  /** A JDBC connection to the hubs' database, for benchmarks that measure what is stored. */
  public java.sql.Connection database() throws java.sql.SQLException {
    return postgres.getPostgresDatabase().getConnection();
  }

  public KubeSim sim() {
    return sim;
  }

  /** Hub node A, which the agents dial first unless their spec says otherwise. */
  public Hub nodeA() {
    return nodeA;
  }

  /** Hub node B: requests sent here cross the clustered event bus to the node holding the agent. */
  public Hub nodeB() {
    return nodeB;
  }

  /** An API token of the hub's admin. */
  public String adminToken() {
    return adminToken;
  }

  /** What identifies the processes besides this JVM that serve the hub (PostgreSQL's server and backends). */
  public List<String> processMarkers() {
    return List.of(postgresDirectory().toString());
  }

  /** The bare reverse proxy in front of the simulator. */
  public int bareProxyPort() {
    return bareProxyPort;
  }

  public String simToken() {
    return simToken;
  }

  /** The agent of {@code cluster} if it runs in a process of its own, else null. */
  public AgentProcess agentProcess(String cluster) {
    return agentProcesses.get(cluster);
  }

  /** The agent of {@code cluster} if it runs in this JVM, else null. */
  public Agent agent(String cluster) {
    return agents.get(cluster);
  }

  /** Stops the agents, the hub nodes, the simulator, Redis and PostgreSQL, in that order, and deletes the work files. */
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

  public static void sleep(long millis) {
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
