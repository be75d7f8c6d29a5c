package io.kmc.hub.direct;

import io.kmc.agent.kube.KubeAccess;
import io.kmc.agent.kube.KubeHttp;
import io.kmc.agent.kube.KubeRequestExecutor;
import io.kmc.common.KmcVersion;
import io.kmc.common.protocol.Frame;
import io.kmc.common.protocol.Limits;
import io.kmc.common.protocol.ProtocolVersions;
import io.kmc.hub.config.HubConfig.ClusterEntry;
import io.kmc.hub.metrics.HubMetrics;
import io.kmc.hub.routing.AgentSession;
import io.kmc.hub.routing.FrameMessage;
import io.kmc.hub.routing.HubNodes;
import io.kmc.hub.routing.NodeChannel;
import io.kmc.hub.routing.Presence;
import io.kmc.hub.routing.SessionRegistry;
import io.kmc.ops.BlockingPool;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Clusters the hub reaches itself, from a kubeconfig, without an agent: each gets an
 * {@link AgentSession} whose link is the agent's own {@link KubeRequestExecutor}, in-process. Every
 * hub node configured with the cluster serves it, so requests go to whichever node the event bus
 * picks.
 */
public final class DirectClusters extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(DirectClusters.class);

  private final List<ClusterEntry> clusters;
  private final HubNodes nodes;
  private final NodeChannel channel;
  private final SessionRegistry registry;
  private final Presence presence;
  private final Limits limits;
  private final HubMetrics metrics;
  private final List<AgentSession> sessions = new ArrayList<>();
  private final List<KubeHttp> clients = new ArrayList<>();
  private BlockingPool clientJava;

  public DirectClusters(List<ClusterEntry> clusters, HubNodes nodes, NodeChannel channel, SessionRegistry registry,
                        Presence presence, Limits limits, HubMetrics metrics) {
    this.clusters = clusters;
    this.nodes = nodes;
    this.channel = channel;
    this.registry = registry;
    this.presence = presence;
    this.limits = limits;
    this.metrics = metrics;
  }

  @Override
  public Future<?> start() {
    // Only client-java's blocking calls (the /version probe, an exec plugin) need threads; pass-through uses none.
    clientJava = BlockingPool.fixed("kmc-direct-client", 2, 64);
    List<Future<?>> started = new ArrayList<>();
    for (ClusterEntry cluster : clusters) {
      started.add(serve(cluster));
    }
    return Future.all(started);
  }

  private Future<Void> serve(ClusterEntry cluster) {
    Duration timeout = Duration.ofMillis(limits.requestTimeoutMillis());
    return vertx.executeBlocking(() -> KubeAccess.kubeconfig(cluster.kubeconfig(), cluster.kubeContext(), timeout), false)
        .compose(kube -> clientJava.submit(context, kube::serverVersion)
            .recover(e -> {
              LOG.warn("cluster {} does not answer yet: {}", cluster.name(), e.getMessage());
              return Future.succeededFuture("unknown");
            })
            .map(version -> {
          long now = System.currentTimeMillis();
          Presence.Entry entry = new Presence.Entry(cluster.name(), nodes.nodeId(), UUID.randomUUID().toString(),
              "direct", now, now, KmcVersion.current(), version, ProtocolVersions.V1, -1);
          DirectLink link = new DirectLink();
          AgentSession session = new AgentSession(vertx, context, nodes, channel, presence, limits, metrics, entry,
              link);
          // The hub's own limits bound what reaches the executor; its limits only need to be no smaller.
          KubeHttp http = KubeHttp.create(vertx, kube, KubeHttp.Settings.defaults(timeout)
              .withLimits(Math.max(limits.maxInFlightRequests(), KubeHttp.Settings.DEFAULT_MAX_REQUESTS),
                  Math.max(limits.maxOpenStreams(), KubeHttp.Settings.DEFAULT_MAX_STREAMS)), clientJava);
          clients.add(http);
          link.executor = new KubeRequestExecutor(context, http, limits, frame -> {
                if (frame instanceof Frame.Exchange exchange) {
                  session.fromAgent(FrameMessage.of(exchange));
                } else if (frame instanceof Frame.Error error) {
                  session.reported(error);
                }
              },
              KubeRequestExecutor.Observer.NONE);
          sessions.add(session);
          registry.add(session, link);
          vertx.setPeriodic(limits.pingIntervalMillis(), t -> probe(kube, session));
          return session;
        }))
        .compose(AgentSession::start)
        .onSuccess(v -> LOG.info("serving cluster {} directly from {}", cluster.name(), cluster.kubeconfig()))
        .onFailure(e -> LOG.error("cannot serve cluster {} directly from {}: {}", cluster.name(),
            cluster.kubeconfig(), e.getMessage()));
  }

  /** Heartbeat of a direct cluster: its API server answers. */
  private void probe(KubeAccess kube, AgentSession session) {
    long started = System.currentTimeMillis();
    clientJava.submit(context, kube::serverVersion)
        .onSuccess(version -> session.heard(System.currentTimeMillis() - started))
        .onFailure(e -> LOG.warn("cluster {} does not answer: {}", session.cluster(), e.getMessage()));
  }

  @Override
  public Future<?> stop() {
    sessions.forEach(registry::remove);
    List<Future<Void>> closed = sessions.stream().map(s -> s.close("hub node stopping")).toList();
    return Future.join(closed)
        .eventually(() -> Future.join(clients.stream().map(KubeHttp::close).toList()))
        .eventually(() -> {
          clientJava.close();
          return Future.succeededFuture();
        });
  }

  /** Frames to the "agent" go straight into the executor. */
  private static final class DirectLink implements AgentSession.Link {
    KubeRequestExecutor executor;

    @Override
    public void send(FrameMessage frame) {
      executor.handle(frame.frame());
    }

    @Override
    public void close(short code, String reason) {
      executor.cancelAll();
    }

    @Override
    public void goAway(String reason) {
      // Nothing to move: every node serves a direct cluster itself.
    }
  }
}
