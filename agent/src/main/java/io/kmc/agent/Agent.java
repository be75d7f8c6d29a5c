package io.kmc.agent;

import io.kmc.ops.BlockingPool;
import io.kmc.agent.kube.KubeAccess;
import io.kmc.agent.tunnel.HubConnector;
import io.kmc.ops.Deadlines;
import io.kmc.ops.HealthChecks;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

import java.net.URI;
import java.time.Duration;

/** One agent: its worker pools and its connection to the hub, deployed into a Vert.x instance. */
public final class Agent {

  private final Vertx vertx;
  private final KubeAccess kube;
  private final HubConnector connector;
  private final BlockingPool requestPool;
  private final BlockingPool streamPool;
  private String deployment;

  private Agent(Vertx vertx, KubeAccess kube, HubConnector connector, BlockingPool requestPool,
                BlockingPool streamPool) {
    this.vertx = vertx;
    this.kube = kube;
    this.connector = connector;
    this.requestPool = requestPool;
    this.streamPool = streamPool;
  }

  /** The kube-apiserver access the configuration asks for (service account or kubeconfig). */
  public static KubeAccess kubeAccess(AgentConfig config) {
    return "kubeconfig".equals(config.kubernetesMode())
        ? KubeAccess.kubeconfig(config.kubeconfig(), config.kubeContext(), config.kubeRequestTimeout())
        : KubeAccess.inCluster(config.kubeRequestTimeout());
  }

  /** Starts an agent whose metrics go nowhere (embedded use: the demo, tests). */
  public static Future<Agent> start(Vertx vertx, AgentConfig config, KubeAccess kube) {
    return start(vertx, config, kube, new SimpleMeterRegistry());
  }

  public static Future<Agent> start(Vertx vertx, AgentConfig config, KubeAccess kube, MeterRegistry registry) {
    BlockingPool requests = BlockingPool.fixed("kmc-kube-request-" + config.cluster(), config.requestWorkers(),
        config.requestQueue());
    BlockingPool streams = BlockingPool.elastic("kmc-kube-stream-" + config.cluster(), config.streamWorkers());
    AgentMetrics metrics = new AgentMetrics(registry);
    HubConnector connector = new HubConnector(config, kube, requests, streams, metrics);
    metrics.connected(connector::connected);
    metrics.streams(connector::streamsInProgress);
    Agent agent = new Agent(vertx, kube, connector, requests, streams);
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
        .add("kubernetes", () -> requestPool.submit(vertx.getOrCreateContext(),
            kube::serverVersion));
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
    return undeployed.eventually(() -> {
      requestPool.close();
      streamPool.close();
      return Future.succeededFuture();
    });
  }

  /** Stops after the requests in flight finish, for at most {@code grace}. */
  public Future<Void> stop(Duration grace) {
    long deadline = System.currentTimeMillis() + grace.toMillis();
    return Deadlines.waitUntil(vertx, deadline, 50, () -> connector.requestsInProgress() == 0).compose(v -> stop());
  }
}
