package io.kmc.agent;

import io.kmc.agent.index.IndexFeed;
import io.kmc.agent.kube.KubeAccess;
import io.kmc.agent.kube.KubeHttp;
import io.kmc.agent.tunnel.HubConnector;
import io.kmc.ops.BlockingPool;
import io.kmc.ops.Deadlines;
import io.kmc.ops.HealthChecks;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

import java.net.URI;
import java.time.Duration;

/**
 * One agent: its HTTP client to the kube-apiserver, a small pool for what client-java does blocking,
 * and its connection to the hub, deployed into a Vert.x instance.
 */
public final class Agent {

  /** Threads for client-java's blocking calls (the /version probe, an exec plugin); pass-through uses none. */
  private static final int CLIENT_JAVA_THREADS = 2;
  private static final int CLIENT_JAVA_QUEUE = 32;

  private final Vertx vertx;
  private final KubeAccess kube;
  private final HubConnector connector;
  private final BlockingPool clientJava;
  private final KubeHttp http;
  private final IndexFeed index;
  private String deployment;

  private Agent(Vertx vertx, KubeAccess kube, HubConnector connector, BlockingPool clientJava, KubeHttp http,
                IndexFeed index) {
    this.vertx = vertx;
    this.index = index;
    this.kube = kube;
    this.connector = connector;
    this.clientJava = clientJava;
    this.http = http;
  }

  /** The kube-apiserver access the configuration asks for (service account, kubeconfig or token file). */
  public static KubeAccess kubeAccess(AgentConfig config) {
    return switch (config.kubernetesMode()) {
      case "kubeconfig" -> KubeAccess.kubeconfig(config.kubeconfig(), config.kubeContext(),
          config.kubeRequestTimeout());
      case "token-file" -> KubeAccess.tokenFile(config.kubeApiUrl(), config.kubeTokenFile(), config.kubeCaFile(),
          config.kubeRequestTimeout());
      default -> KubeAccess.inCluster(config.kubeRequestTimeout());
    };
  }

  /** Starts an agent whose metrics go nowhere (embedded use: the demo, tests). */
  public static Future<Agent> start(Vertx vertx, AgentConfig config, KubeAccess kube) {
    return start(vertx, config, kube, new SimpleMeterRegistry());
  }

  public static Future<Agent> start(Vertx vertx, AgentConfig config, KubeAccess kube, MeterRegistry registry) {
    if (!AgentClock.offset().isZero()) {
      org.slf4j.LoggerFactory.getLogger(Agent.class).warn("this agent's clock is set {} off the host's ({}, for tests)",
          AgentClock.offset(), AgentClock.OFFSET_PROPERTY);
    }
    BlockingPool clientJava = BlockingPool.fixed("kmc-kube-client-" + config.cluster(), CLIENT_JAVA_THREADS,
        CLIENT_JAVA_QUEUE);
    KubeHttp http = KubeHttp.create(vertx, kube, config.kubeHttpSettings(), clientJava);
    AgentMetrics metrics = new AgentMetrics(registry);
    // The informers run on the feed's own threads, with client-java's clients: never on an event loop.
    IndexFeed index = config.index().enabled()
        ? new IndexFeed(config.cluster(), config.index(), kube.requests(), kube.streams()) : null;
    HubConnector connector = new HubConnector(config, kube, clientJava, http, metrics, index);
    metrics.connected(connector::connected);
    metrics.streams(connector::streamsInProgress);
    Agent agent = new Agent(vertx, kube, connector, clientJava, http, index);
    if (index != null) {
      index.start();
    }
    return vertx.deployVerticle(connector).map(id -> {
      agent.deployment = id;
      return agent;
    });
  }

  /** Ready: connected to the hub, and the kube-apiserver answers. */
  public HealthChecks readiness() {
    return new HealthChecks()
        .add("hub", () -> connector.connected() ? Future.succeededFuture("connected to " + connector.connectedTo())
            : Future.failedFuture("not connected to the hub"))
        .add("kubernetes", () -> clientJava.submit(vertx.getOrCreateContext(), kube::serverVersion));
  }

  /** Objects indexed per kind ({@code deployments.apps}), or empty when indexing is off. */
  public java.util.Map<String, Integer> indexed() {
    return index == null ? java.util.Map.of() : index.sizes();
  }

  public boolean connected() {
    return connector.connected();
  }

  /** Requests and streams in progress on the current connection. */
  public int inProgress() {
    return connector.inProgress();
  }

  public URI connectedTo() {
    return connector.connectedTo();
  }

  /** Stops at once: the connection closes, whatever is in flight fails on the hub's side. */
  public Future<Void> stop() {
    String id = deployment;
    deployment = null;
    Future<Void> undeployed = id == null ? Future.succeededFuture() : vertx.undeploy(id);
    return undeployed.eventually(() -> http.close().eventually(() -> {
      if (index != null) {
        index.stop();
      }
      clientJava.close();
      return Future.succeededFuture();
    }));
  }

  /** Stops after the requests in flight finish, for at most {@code grace}. */
  public Future<Void> stop(Duration grace) {
    long deadline = AgentClock.currentTimeMillis() + grace.toMillis();
    return Deadlines.waitUntil(vertx, deadline, 50, () -> connector.requestsInProgress() == 0).compose(v -> stop());
  }
}
