package io.kmc.hub.support;

import io.kmc.agent.Agent;
import io.kmc.agent.AgentConfig;
import io.kmc.agent.kube.KubeAccess;
import io.kmc.common.config.ConfigReader;
import io.kmc.hub.Hub;
import io.kmc.hub.config.HubConfig;
import io.kmc.hub.store.TokenHashes;
import io.kmc.kubesim.KubeSim;
import io.kmc.kubesim.KubeSimOptions;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.util.ClientBuilder;
import io.kubernetes.client.util.credentials.AccessTokenAuthentication;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;

/**
 * A hub cluster, simulated member clusters and real agents, all in this JVM, for end-to-end tests.
 * Hub nodes each get their own Vert.x (as separate processes would); the simulated clusters and
 * the agents share another one, standing for the member side of the network.
 */
public final class Fleet implements AutoCloseable {

  public static final String ADMIN_PASSWORD = "kmc-test-admin-password";
  /** Watch events each simulated cluster keeps; older resource versions get 410 Gone. */
  public static final int WATCH_HISTORY = 100;
  /** Ports {@link #freePort()} gave out. */
  private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

  private final Vertx memberVertx = Vertx.vertx();
  private final String hazelcastCluster = "kmc-test-" + UUID.randomUUID();
  private final String database = TestInfra.newDatabase();
  private String adminToken;
  private final Map<String, KubeSim> sims = new LinkedHashMap<>();
  private final Map<String, String> joinTokens = new LinkedHashMap<>();
  private final Map<String, Path> directClusters = new LinkedHashMap<>();
  /** Join tokens of clusters registered through the API (not in the configuration). */
  private final Map<String, String> registeredTokens = new LinkedHashMap<>();
  private final Map<String, Agent> agents = new LinkedHashMap<>();
  private final List<Hub> hubs = new ArrayList<>();
  private final List<Integer> hazelcastPorts = new ArrayList<>();
  private final List<HubNodeProcess> processes = new ArrayList<>();
  private final Path workDir;
  private HttpClient http;
  private Map<String, String> hubSettings = Map.of();
  private boolean tls;

  public Fleet() {
    try {
      workDir = Files.createTempDirectory("kmc-fleet");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Hub nodes serve HTTPS with a self-signed certificate (shared through the work directory). */
  public Fleet tls() {
    this.tls = true;
    return this;
  }

  /** The hub's certificate, which agents and clients pin when {@link #tls()} is on. */
  public Path hubCertificate() {
    return workDir.resolve("tls").resolve("hub.crt");
  }

  public String scheme() {
    return tls ? "https" : "http";
  }

  /** Settings for every hub node, as environment overrides ({@code KMC_TUNNEL_REQUEST_TIMEOUT=2s}). */
  public Fleet hubSettings(Map<String, String> settings) {
    this.hubSettings = Map.copyOf(settings);
    return this;
  }

  /** Starts a simulated member cluster and registers it for agents (the hub nodes started after see it). */
  public KubeSim cluster(String name) {
    return cluster(name, options -> options);
  }

  /** As {@link #cluster(String)}, with the simulator's options changed (e.g. the Kubernetes version it claims). */
  public KubeSim cluster(String name, java.util.function.UnaryOperator<KubeSimOptions> options) {
    KubeSim sim = await(KubeSim.start(memberVertx, options.apply(new KubeSimOptions().seed(true)
        .controllerDelayMillis(10).logLineIntervalMillis(50).watchHistory(WATCH_HISTORY))));
    sims.put(name, sim);
    joinTokens.put(name, "join-" + name + "-" + UUID.randomUUID());
    return sim;
  }

  /** Starts a simulated member cluster that hub nodes serve directly from its kubeconfig. */
  public KubeSim directCluster(String name) {
    KubeSim sim = await(KubeSim.start(memberVertx, new KubeSimOptions().seed(true).controllerDelayMillis(10)
        .logLineIntervalMillis(50).watchHistory(WATCH_HISTORY)));
    sims.put(name, sim);
    Path kubeconfig = workDir.resolve(name + "-direct.kubeconfig");
    try {
      Files.writeString(kubeconfig, sim.kubeconfig(name));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    directClusters.put(name, kubeconfig);
    return sim;
  }

  /** Starts a simulated cluster for a cluster registered through the API with the given join token. */
  public KubeSim simulatedCluster(String name, String joinToken) {
    KubeSim sim = await(KubeSim.start(memberVertx, new KubeSimOptions().seed(true).controllerDelayMillis(10)
        .logLineIntervalMillis(50).watchHistory(WATCH_HISTORY)));
    sims.put(name, sim);
    registeredTokens.put(name, joinToken);
    return sim;
  }

  /** Replaces the join token the next agent of {@code cluster} uses. */
  public void joinToken(String cluster, String token) {
    registeredTokens.put(cluster, token);
  }

  public KubeSim sim(String name) {
    return sims.get(name);
  }

  public String joinToken(String cluster) {
    return registeredTokens.getOrDefault(cluster, joinTokens.get(cluster));
  }

  /** Starts {@code count} clustered hub nodes that know each other. */
  public List<Hub> hubs(int count) {
    for (int i = 0; i < count; i++) {
      hazelcastPorts.add(freePort());
    }
    List<Hub> started = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      started.add(startHub(hazelcastPorts.get(i)));
    }
    return started;
  }

  /** Starts one more hub node (clustered with the others) on the given Hazelcast port. */
  public Hub startHub(int hazelcastPort) {
    Hub hub = await(Hub.start(hubConfig(hubYaml(hazelcastPort, 0), hubSettings)));
    hubs.add(hub);
    if (adminToken == null) {
      adminToken = apiToken(hub, login(hub, "admin", ADMIN_PASSWORD), "fleet-admin");
    }
    return hub;
  }

  /**
   * Starts one more hub node as a process of its own ({@code HubMain} on this JVM's class path, the
   * configuration the in-JVM nodes have, the fleet's hub settings as its environment), clustered with
   * the nodes started before; returns once it answers the API. Start the in-JVM nodes first.
   */
  public HubNodeProcess hubProcess() {
    int hazelcastPort = freePort();
    hazelcastPorts.add(hazelcastPort);
    int apiPort = freePort();
    Path config = workDir.resolve("hub-process-" + hazelcastPort + ".yaml");
    try {
      Files.writeString(config, hubYaml(hazelcastPort, apiPort));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    HubNodeProcess process = HubNodeProcess.start(config, apiPort, hubSettings,
        workDir.resolve("hub-process-" + hazelcastPort + ".log"));
    processes.add(process);
    eventually(Duration.ofSeconds(120), () -> {
      if (!process.alive()) {
        throw new AssertionError("the hub process ended at start; see " + process.log());
      }
      try {
        return send(HttpRequest.newBuilder(URI.create(scheme() + "://127.0.0.1:" + apiPort + "/api/v1/clusters"))
            .header("Authorization", "Bearer " + adminToken).timeout(Duration.ofSeconds(5)).build())
            .statusCode() == 200;
      } catch (UncheckedIOException e) {
        return false; // not listening yet
      }
    }, "the hub process answering on port " + apiPort);
    return process;
  }

  private String hubYaml(int hazelcastPort, int apiPort) {
    String members = hazelcastPorts.stream().map(p -> "\"127.0.0.1:" + p + "\"").collect(Collectors.joining(", "));
    StringBuilder yaml = new StringBuilder("""
        data:
          dir: %s
        server:
          host: 127.0.0.1
          port: %d
          tls:
            mode: %s
        metrics:
          host: 127.0.0.1
          port: 0
        cluster:
          enabled: true
          name: %s
          host: 127.0.0.1
          port: %d
          members: [%s]
        tunnel:
          ping_interval: 500ms
          ping_timeout: 2s
          request_timeout: 10s
        database:
          host: 127.0.0.1
          port: %d
          name: %s
          user: postgres
          pool_size: 4
        redis:
          url: redis://127.0.0.1:%d
          key_prefix: "%s:"
        auth:
          admin_password: %s
        audit:
          flush_interval: 100ms
        clusters:
        """.formatted(workDir, apiPort, tls ? "self-signed" : "off", hazelcastCluster, hazelcastPort, members,
        TestInfra.postgres().getPort(), database, TestInfra.redisPort(), database, ADMIN_PASSWORD));
    joinTokens.forEach((name, token) -> yaml.append("""
          - name: %s
            token_sha256: %s
            labels: {env: test}
        """.formatted(name, TokenHashes.sha256Hex(token))));
    directClusters.forEach((name, kubeconfig) -> yaml.append("""
          - name: %s
            kubeconfig: %s
        """.formatted(name, kubeconfig)));
    return yaml.toString();
  }

  /** The name of this fleet's database on the shared test PostgreSQL. */
  public String database() {
    return database;
  }

  /** An API token of the built-in admin, for the tests' calls. */
  public String adminToken() {
    return adminToken;
  }

  /** Logs in and returns the access token; fails the test on anything but 200. */
  public String login(Hub via, String user, String password) {
    HttpResponse<String> response = send(HttpRequest.newBuilder(uri(via, "/api/v1/auth/login"))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(new JsonObject().put("username", user).put("password", password)
            .encode())).build());
    if (response.statusCode() != 200) {
      throw new AssertionError("login of " + user + ": " + response.statusCode() + " " + response.body());
    }
    return new JsonObject(response.body()).getString("accessToken");
  }

  /** Creates an API token with the given bearer token and returns its secret. */
  public String apiToken(Hub via, String bearer, String name) {
    HttpResponse<String> response = call(via, "POST", "/api/v1/tokens", bearer,
        new JsonObject().put("name", name).put("expiresIn", "1d"));
    if (response.statusCode() != 201) {
      throw new AssertionError("creating an API token: " + response.statusCode() + " " + response.body());
    }
    return new JsonObject(response.body()).getString("token");
  }

  /** Any call on the hub's API with a bearer token (null for none) and a JSON body (null for none). */
  public HttpResponse<String> call(Hub via, String method, String path, String bearer, JsonObject body) {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri(via, path))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body.encode()));
    if (body != null) {
      request.header("Content-Type", "application/json");
    }
    if (bearer != null) {
      request.header("Authorization", "Bearer " + bearer);
    }
    return send(request.build());
  }

  public URI uri(Hub via, String path) {
    return URI.create(scheme() + "://127.0.0.1:" + via.port() + path);
  }

  /**
   * The hub's database layer alone, on a fresh database of the shared test PostgreSQL, with the given
   * further {@code database:} settings (e.g. {@code pool_size: 2}), as a hub node would start it.
   */
  public static io.kmc.hub.store.Database database(io.vertx.core.Vertx vertx, String... settings) throws IOException {
    StringBuilder yaml = new StringBuilder("""
        data:
          dir: %s
        database:
          host: 127.0.0.1
          port: %d
          name: %s
          user: postgres
        """.formatted(Files.createTempDirectory("kmc-db"), TestInfra.postgres().getPort(), TestInfra.newDatabase()));
    for (String setting : settings) {
      yaml.append("  ").append(setting).append('\n');
    }
    HubConfig config = hubConfig(yaml.toString(), Map.of());
    return await(io.kmc.hub.store.Database.start(vertx, config.database(), config.dataDir()));
  }

  public static HubConfig hubConfig(String yaml, Map<String, String> env) {
    ConfigReader reader = ConfigReader.fromYaml(yaml, env);
    HubConfig config = HubConfig.read(reader);
    reader.finish();
    return config;
  }

  public int hazelcastPort(Hub hub) {
    return hazelcastPorts.get(hubs.indexOf(hub));
  }

  /** Starts the agent of {@code cluster}, dialling the given hub nodes in that order. */
  public Agent agent(String cluster, Hub... dial) {
    String scheme = tls ? "wss" : "ws";
    return agent(cluster, java.util.Arrays.stream(dial).map(h -> scheme + "://127.0.0.1:" + h.port()).toList());
  }

  /** Starts the agent of {@code cluster}, dialling the given URLs in that order. */
  public Agent agent(String cluster, List<String> hubUrls) {
    return agent(cluster, hubUrls, Map.of());
  }

  /** Starts the agent of {@code cluster} with settings of its own, as environment overrides ({@code KMC_HUB_PROTOCOL_VERSIONS=1}). */
  public Agent agent(String cluster, List<String> hubUrls, Map<String, String> settings) {
    KubeSim sim = sims.get(cluster);
    Path kubeconfig = workDir.resolve(cluster + ".kubeconfig");
    try {
      Files.writeString(kubeconfig, sim.kubeconfig(cluster));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    String urls = hubUrls.stream().map(url -> "\"" + url + "\"").collect(Collectors.joining(", "));
    ConfigReader reader = ConfigReader.fromYaml("""
        hub:
          urls: [%s]
          cluster: %s
          token: %s
          reconnect:
            initial_backoff: 50ms
            max_backoff: 500ms
          %s
        kubernetes:
          mode: kubeconfig
          kubeconfig: %s
        """.formatted(urls, cluster, joinToken(cluster), tls ? "ca_file: " + hubCertificate() : "",
        kubeconfig), settings);
    AgentConfig config = AgentConfig.read(reader);
    reader.finish();
    Agent agent = await(Agent.start(memberVertx, config, KubeAccess.kubeconfig(kubeconfig, null, Duration.ofSeconds(10))));
    agents.put(cluster, agent);
    return agent;
  }

  public void stopAgent(String cluster) {
    Agent agent = agents.remove(cluster);
    if (agent != null) {
      await(agent.stop());
    }
  }

  /** Leaves a hub node that the test stopped some other way (killed) out of the fleet's closing. */
  public void forget(Hub hub) {
    hubs.remove(hub);
  }

  public void stopHub(Hub hub) {
    hubs.remove(hub);
    await(hub.close());
  }

  /** A client-java client that reaches {@code cluster} through hub node {@code via} as the admin (plain HTTP fleets). */
  public ApiClient kubeClient(Hub via, String cluster, Duration readTimeout) {
    return kubeClient(via, cluster, readTimeout, adminToken);
  }

  /** A client-java client that reaches {@code cluster} through hub node {@code via} with the given token. */
  public ApiClient kubeClient(Hub via, String cluster, Duration readTimeout, String token) {
    return new ClientBuilder()
        .setBasePath("http://127.0.0.1:" + via.port() + "/k8s/clusters/" + cluster)
        .setAuthentication(new AccessTokenAuthentication(token))
        .setReadTimeout(readTimeout)
        .build();
  }

  /** The kubeconfig the hub hands out for a cluster (admin's), written to the work directory. */
  public Path kubeconfig(Hub via, String cluster) {
    HttpResponse<String> response = api(via, "/api/v1/clusters/" + cluster + "/kubeconfig");
    if (response.statusCode() != 200) {
      throw new IllegalStateException("kubeconfig of " + cluster + ": " + response.statusCode() + " " + response.body());
    }
    Path file = workDir().resolve(cluster + "-via-hub.kubeconfig");
    try {
      Files.writeString(file, response.body());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return file;
  }

  /** GET on the hub's API with the admin token; returns status and body. */
  public HttpResponse<String> api(Hub via, String path) {
    return call(via, "GET", path, adminToken, null);
  }

  public HttpResponse<String> send(HttpRequest request) {
    if (http == null) {
      http = tls ? HttpClient.newBuilder().sslContext(trusting(hubCertificate())).build() : HttpClient.newHttpClient();
    }
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** The connection object of a cluster as the hub's API reports it. */
  public JsonObject connection(Hub via, String cluster) {
    HttpResponse<String> response = api(via, "/api/v1/clusters/" + cluster);
    if (response.statusCode() != 200) {
      throw new AssertionError("GET cluster " + cluster + ": " + response.statusCode() + " " + response.body());
    }
    return new JsonObject(response.body()).getJsonObject("connection");
  }

  public void awaitConnected(Hub via, String cluster) {
    eventually(Duration.ofSeconds(20), () -> connection(via, cluster).getBoolean("connected"),
        "cluster " + cluster + " connected as seen from node " + via.nodeId());
  }

  public void awaitDisconnected(Hub via, String cluster) {
    eventually(Duration.ofSeconds(20), () -> !connection(via, cluster).getBoolean("connected"),
        "cluster " + cluster + " disconnected as seen from node " + via.nodeId());
  }

  public Vertx memberVertx() {
    return memberVertx;
  }

  public Path workDir() {
    return workDir;
  }

  /** An SSL context trusting exactly the given PEM certificate. */
  public static javax.net.ssl.SSLContext trusting(Path certificate) {
    try (var in = Files.newInputStream(certificate)) {
      var cert = java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in);
      var store = java.security.KeyStore.getInstance(java.security.KeyStore.getDefaultType());
      store.load(null, null);
      store.setCertificateEntry("hub", cert);
      var trust = javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
      trust.init(store);
      var context = javax.net.ssl.SSLContext.getInstance("TLS");
      context.init(null, trust.getTrustManagers(), null);
      return context;
    } catch (IOException | java.security.GeneralSecurityException e) {
      throw new IllegalStateException("cannot trust " + certificate + ": " + e.getMessage(), e);
    }
  }

  public static void eventually(Duration timeout, BooleanSupplier condition, String what) {
    long deadline = System.nanoTime() + timeout.toNanos();
    AssertionError last = null;
    while (System.nanoTime() < deadline) {
      try {
        if (condition.getAsBoolean()) {
          return;
        }
      } catch (AssertionError | RuntimeException e) {
        last = e instanceof AssertionError a ? a : new AssertionError(e.getMessage(), e);
      }
      try {
        Thread.sleep(25);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting for " + what);
      }
    }
    throw new AssertionError("timed out waiting for " + what + (last == null ? "" : ": " + last.getMessage()), last);
  }

  /** The first non-null value the supplier gives within the timeout; fails the test otherwise. */
  public static <T> T awaitValue(Duration timeout, java.util.function.Supplier<T> value, String what) {
    Object[] found = new Object[1];
    eventually(timeout, () -> (found[0] = value.get()) != null, what);
    @SuppressWarnings("unchecked")
    T result = (T) found[0];
    return result;
  }

  public static <T> T await(io.vertx.core.Future<T> future) {
    try {
      return future.await(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e.getMessage(), e);
    }
  }

  /**
   * A port that is free now, for a server started a while later (the second hub node binds its
   * Hazelcast port only once the first has started). Never the same twice: a port checked and
   * released is free again for the next call, as port 0 showed when it gave both nodes of a fleet
   * the same one. Taken below the range the system hands out for port 0 and outgoing connections
   * (32768 and up on Linux, 49152 and up elsewhere), so that the connections opened meanwhile
   * cannot take it either.
   */
  public static int freePort() {
    IOException last = null;
    for (int attempt = 0; attempt < 100; attempt++) {
      int port = 20_000 + ThreadLocalRandom.current().nextInt(12_000);
      if (!HANDED_OUT.add(port)) {
        continue;
      }
      try (ServerSocket socket = new ServerSocket()) {
        socket.setReuseAddress(false); // a port still in TIME_WAIT is not free for every server
        socket.bind(new InetSocketAddress(port));
        return port;
      } catch (IOException e) {
        last = e;
      }
    }
    throw new IllegalStateException("no free port between 20000 and 32000", last);
  }

  @Override
  public void close() {
    new ArrayList<>(agents.keySet()).forEach(this::stopAgent);
    for (Hub hub : new ArrayList<>(hubs)) {
      try {
        await(hub.close());
      } catch (RuntimeException e) {
        // keep closing the rest
      }
    }
    processes.forEach(HubNodeProcess::close);
    sims.values().forEach(sim -> await(sim.close()));
    await(memberVertx.close());
  }
}
