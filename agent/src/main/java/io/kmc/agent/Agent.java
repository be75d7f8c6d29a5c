package io.kmc.agent;

import io.kmc.agent.kube.BlockingPool;
import io.kmc.agent.kube.KubeAccess;
import io.kmc.agent.tunnel.HubConnector;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

import java.net.URI;

/** One agent: its worker pools and its connection to the hub, deployed into a Vert.x instance. */
public final class Agent {

  private final Vertx vertx;
  private final HubConnector connector;
  private final BlockingPool requestPool;
  private final BlockingPool streamPool;
  private String deployment;

  private Agent(Vertx vertx, HubConnector connector, BlockingPool requestPool, BlockingPool streamPool) {
    this.vertx = vertx;
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

  public static Future<Agent> start(Vertx vertx, AgentConfig config, KubeAccess kube) {
    BlockingPool requests = BlockingPool.fixed("kmc-kube-request-" + config.cluster(), config.requestWorkers(),
        config.requestQueue());
    BlockingPool streams = BlockingPool.elastic("kmc-kube-stream-" + config.cluster(), config.streamWorkers());
    Agent agent = new Agent(vertx, new HubConnector(config, kube, requests, streams), requests, streams);
    return vertx.deployVerticle(agent.connector).map(id -> {
      agent.deployment = id;
      return agent;
    });
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
}
