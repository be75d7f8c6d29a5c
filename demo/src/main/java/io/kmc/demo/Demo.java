package io.kmc.demo;

import io.kmc.agent.Agent;
import io.kmc.agent.AgentConfig;
import io.kmc.common.config.ConfigReader;
import io.kmc.hub.Hub;
import io.kmc.hub.api.Kubeconfigs;
import io.kmc.hub.config.HubConfig;
import io.kmc.hub.store.TokenHashes;
import io.kmc.kubesim.KubeSim;
import io.kmc.kubesim.KubeSimOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * One hub, two simulated member clusters and a real agent for each, in this JVM: everything a
 * newcomer needs to point kubectl at kmc. The agents dial the hub over TLS websockets exactly as
 * they would from a remote cluster.
 */
public final class Demo {

  public static final List<String> CLUSTERS = List.of("demo-a", "demo-b");

  /** Where the demo listens and writes its files. */
  public record Options(String host, int port, Path dataDir, Path kubeconfigFile) {
  }

  private final Vertx members;
  private final Hub hub;
  private final List<KubeSim> sims;
  private final List<Agent> agents;
  private final String adminPassword;
  private final String adminToken;
  private final Path kubeconfigFile;
  private final Path certificate;

  private Demo(Vertx members, Hub hub, List<KubeSim> sims, List<Agent> agents, String adminPassword,
               String adminToken, Path kubeconfigFile, Path certificate) {
    this.adminPassword = adminPassword;
    this.members = members;
    this.hub = hub;
    this.sims = sims;
    this.agents = agents;
    this.adminToken = adminToken;
    this.kubeconfigFile = kubeconfigFile;
    this.certificate = certificate;
  }

  /** Starts everything and waits until both agents are connected. Blocking: call it from main. */
  public static Demo start(Options options) throws Exception {
    Files.createDirectories(options.dataDir());
    String adminPassword = rememberedSecret(options.dataDir().resolve("admin-password"));
    Map<String, String> joinTokens = new LinkedHashMap<>();
    for (String cluster : CLUSTERS) {
      joinTokens.put(cluster, rememberedSecret(options.dataDir().resolve(cluster + "-join-token")));
    }

    Vertx members = Vertx.vertx();
    List<KubeSim> sims = new ArrayList<>();
    for (String cluster : CLUSTERS) {
      sims.add(await(KubeSim.start(members, new KubeSimOptions().seed(true).gitVersion("v1.32.0"))));
    }
    Hub hub = await(Hub.start(hubConfig(options, adminPassword, joinTokens)));
    Path certificate = options.dataDir().resolve("tls").resolve("hub.crt");
    String base = "https://" + displayHost(options.host()) + ":" + hub.port();
    String adminToken = adminApiToken(base, certificate, adminPassword);
    List<Agent> agents = new ArrayList<>();
    for (int i = 0; i < CLUSTERS.size(); i++) {
      String cluster = CLUSTERS.get(i);
      Path simKubeconfig = options.dataDir().resolve(cluster + "-sim.kubeconfig");
      Files.writeString(simKubeconfig, sims.get(i).kubeconfig(cluster));
      AgentConfig agentConfig = agentConfig(options, hub.port(), cluster, joinTokens.get(cluster), certificate,
          simKubeconfig);
      agents.add(await(Agent.start(members, agentConfig, Agent.kubeAccess(agentConfig))));
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!agents.stream().allMatch(Agent::connected)) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the demo agents did not connect within 30 s");
      }
      Thread.sleep(20);
    }

    Map<String, String> servers = new LinkedHashMap<>();
    CLUSTERS.forEach(cluster -> servers.put(cluster, base + "/k8s/clusters/" + cluster));
    servers.put("fleet", base + "/k8s/fleet"); // both clusters at once, read-only, from the hub's index
    String caData = Base64.getEncoder().encodeToString(Files.readAllBytes(certificate));
    Files.writeString(options.kubeconfigFile(),
        Kubeconfigs.render(servers, "kmc-admin", adminToken, CLUSTERS.get(0), caData));
    return new Demo(members, hub, sims, agents, adminPassword, adminToken, options.kubeconfigFile(), certificate);
  }

  private static HubConfig hubConfig(Options options, String adminPassword, Map<String, String> joinTokens) {
    StringBuilder yaml = new StringBuilder("""
        data:
          dir: "%s"
        server:
          host: "%s"
          port: %d
          tls:
            mode: self-signed
        # Not the hub's default 9090: the demo must start whatever else holds that port.
        metrics:
          host: 127.0.0.1
          port: 0
        auth:
          admin_password: "%s"
        clusters:
        """.formatted(options.dataDir(), options.host(), options.port(), adminPassword));
    joinTokens.forEach((cluster, token) -> yaml.append("""
          - name: %s
            display_name: "Demo cluster %s"
            token_sha256: %s
            labels: {env: demo}
        """.formatted(cluster, cluster.substring(cluster.length() - 1).toUpperCase(), TokenHashes.sha256Hex(token))));
    ConfigReader reader = ConfigReader.fromYaml(yaml.toString(), Map.of());
    HubConfig config = HubConfig.read(reader);
    reader.finish();
    return config;
  }

  private static AgentConfig agentConfig(Options options, int hubPort, String cluster, String token, Path certificate,
                                         Path kubeconfig) {
    ConfigReader reader = ConfigReader.fromYaml("""
        hub:
          urls: ["wss://%s:%d"]
          cluster: %s
          token: %s
          ca_file: "%s"
        kubernetes:
          mode: kubeconfig
          kubeconfig: "%s"
        """.formatted(displayHost(options.host()), hubPort, cluster, token, certificate, kubeconfig), Map.of());
    AgentConfig config = AgentConfig.read(reader);
    reader.finish();
    return config;
  }

  /** A wildcard bind address is not something a client can dial. */
  private static String displayHost(String host) {
    return "0.0.0.0".equals(host) || "::".equals(host) ? "127.0.0.1" : host;
  }

  /**
   * A secret generated at the first start and kept in the demo's data directory: the hub's
   * database remembers the admin and the join tokens across restarts, so the demo must too.
   */
  private static String rememberedSecret(Path file) throws IOException {
    if (Files.exists(file)) {
      return Files.readString(file).trim();
    }
    byte[] bytes = new byte[18];
    new SecureRandom().nextBytes(bytes);
    String secret = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    Files.writeString(file, secret + "\n");
    return secret;
  }

  /** Logs in as admin through the hub's API and creates the API token the kubeconfig carries. */
  private static String adminApiToken(String base, Path certificate, String password) throws Exception {
    HttpClient http = HttpClient.newBuilder().sslContext(trusting(certificate)).build();
    HttpResponse<String> login = http.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/auth/login"))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(new JsonObject().put("username", "admin").put("password", password)
            .encode())).build(), HttpResponse.BodyHandlers.ofString());
    if (login.statusCode() != 200) {
      throw new IllegalStateException("the demo cannot log in as admin (HTTP " + login.statusCode() + "); "
          + "if kmc-demo-data was made by another version, delete it and start again");
    }
    String access = new JsonObject(login.body()).getString("accessToken");
    HttpResponse<String> token = http.send(HttpRequest.newBuilder(URI.create(base + "/api/v1/tokens"))
        .header("Content-Type", "application/json").header("Authorization", "Bearer " + access)
        .POST(HttpRequest.BodyPublishers.ofString(new JsonObject().put("name", "kmc-demo kubeconfig")
            .put("expiresIn", "30d").encode())).build(), HttpResponse.BodyHandlers.ofString());
    if (token.statusCode() != 201) {
      throw new IllegalStateException("the demo cannot create an API token: HTTP " + token.statusCode());
    }
    return new JsonObject(token.body()).getString("token");
  }

  private static SSLContext trusting(Path certificate) throws Exception {
    try (var in = Files.newInputStream(certificate)) {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      store.setCertificateEntry("hub", CertificateFactory.getInstance("X.509").generateCertificate(in));
      TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      trust.init(store);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, trust.getTrustManagers(), null);
      return context;
    }
  }

  public int port() {
    return hub.port();
  }

  public String adminToken() {
    return adminToken;
  }

  public String adminPassword() {
    return adminPassword;
  }

  public Path kubeconfigFile() {
    return kubeconfigFile;
  }

  public void stop() throws Exception {
    for (Agent agent : agents) {
      agent.stop().await(10, TimeUnit.SECONDS);
    }
    hub.close().await(30, TimeUnit.SECONDS);
    for (KubeSim sim : sims) {
      sim.close().await(10, TimeUnit.SECONDS);
    }
    members.close().await(10, TimeUnit.SECONDS);
  }

  private static <T> T await(Future<T> future) throws Exception {
    return future.await(60, TimeUnit.SECONDS);
  }

  static String readme(Demo demo) {
    return """

        kmc demo is running: one hub on https://127.0.0.1:%1$d, two simulated clusters (demo-a, demo-b),
        each with a real agent connected over a websocket.

          kubeconfig:   %2$s  (contexts demo-a and demo-b through the hub, and fleet: both at once)
          admin token:  %3$s  (an API token, also in the kubeconfig)
          login:        admin / %5$s
          console:      https://127.0.0.1:%1$d/  (in a browser; accept the self-signed certificate, sign in as above)
          metrics:      http://127.0.0.1:%6$d/metrics

        Try (a second terminal for the watch):
          kubectl --kubeconfig %2$s --context demo-a get ns
          kubectl --kubeconfig %2$s --context demo-a get deployments -w
          kubectl --kubeconfig %2$s --context demo-a create deployment web --image=nginx
          kubectl --kubeconfig %2$s --context fleet get deployments -A
          curl --cacert %4$s -H "Authorization: Bearer %3$s" https://127.0.0.1:%1$d/api/v1/clusters

        Ctrl-C stops everything.
        """.formatted(demo.port(), demo.kubeconfigFile(), demo.adminToken(), demo.certificate, demo.adminPassword,
        demo.hub.managementPort());
  }
}
