package io.kmc.hub.direct;

import io.kmc.agent.index.IndexFeed;
import io.kmc.agent.index.IndexSettings;
import io.kmc.agent.kube.KubeAccess;
import io.kmc.agent.kube.KubeHttp;
import io.kmc.agent.kube.KubeRequestExecutor;
import io.kmc.common.KmcException;
import io.kmc.common.KmcVersion;
import io.kmc.common.config.ConfigReader;
import io.kmc.common.protocol.Frame;
import io.kmc.common.protocol.Limits;
import io.kmc.common.protocol.ProtocolVersions;
import io.kmc.hub.config.HubConfig.ClusterEntry;
import io.kmc.hub.index.FleetIndex;
import io.kmc.hub.index.IndexWriter;
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
import java.util.Map;
import java.util.UUID;

/**
 * Clusters the hub reaches itself, from a kubeconfig, without an agent: each gets an
 * {@link AgentSession} whose link is the agent's own {@link KubeRequestExecutor}, in-process. Every
 * hub node configured with the cluster serves it, so requests go to whichever node the event bus
 * picks.
 *
 * <p>The fleet index of a direct cluster is fed as an agent feeds it, with the agent's own
 * {@link IndexFeed} (informers on this node's client-java clients) and the hub's {@link IndexWriter}
 * joined in-process. One node feeds it at a time: the one holding the cluster's index lease
 * ({@link FleetIndex#claimFeed}); another takes over when it stops renewing. Whole objects asked of
 * the cluster's "informer cache" come from that node's informers, or from the API server itself on a
 * node that does not feed the cluster.
 */
public final class DirectClusters extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(DirectClusters.class);

  private final List<ClusterEntry> clusters;
  private final HubNodes nodes;
  private final NodeChannel channel;
  private final SessionRegistry registry;
  private final Presence presence;
  private final Limits limits;
  private final int maxQueuedRequests;
  private final HubMetrics metrics;
  private final List<AgentSession> sessions = new ArrayList<>();
  private final List<KubeHttp> clients = new ArrayList<>();
  private final List<DirectFeed> feeds = new ArrayList<>();
  private final FleetIndex index;
  private final String feedHolder;
  private BlockingPool clientJava;

  /** How long a node's claim to feed a direct cluster's index lasts; it renews it a third of that. */
  static final long FEED_LEASE_MILLIS = 15_000;

  /**
   * @param index the fleet index, or null when the hub keeps none (then direct clusters are not indexed)
   */
  public DirectClusters(List<ClusterEntry> clusters, HubNodes nodes, NodeChannel channel, SessionRegistry registry,
                        Presence presence, Limits limits, int maxQueuedRequests, HubMetrics metrics, FleetIndex index) {
    this.index = index;
    this.maxQueuedRequests = maxQueuedRequests;
    this.feedHolder = nodes.nodeId() + "/" + UUID.randomUUID();
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
          AgentSession session = new AgentSession(vertx, context, nodes, channel, presence, limits, maxQueuedRequests, metrics, entry,
              link);
          link.session = session;
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
          if (index != null) {
            link.feed = new DirectFeed(cluster.name(), kube);
            feeds.add(link.feed);
            link.feed.tick();
            vertx.setPeriodic(FEED_LEASE_MILLIS / 3, t -> link.feed.tick());
          }
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
    List<Future<Void>> released = new ArrayList<>();
    feeds.forEach(feed -> released.add(feed.close()));
    sessions.forEach(registry::remove);
    List<Future<Void>> closed = sessions.stream().map(s -> s.close("hub node stopping")).toList();
    return Future.join(closed)
        .eventually(() -> Future.join(released))
        .eventually(() -> Future.join(clients.stream().map(KubeHttp::close).toList()))
        .eventually(() -> {
          clientJava.close();
          return Future.succeededFuture();
        });
  }

  /**
   * One direct cluster's index feed on this node: the agent's informers and the hub's writer, running
   * while this node holds the cluster's index lease. Its methods run on the verticle's context.
   */
  private final class DirectFeed {
    private final String cluster;
    private final KubeAccess kube;
    private IndexFeed feed;
    private IndexWriter writer;
    private boolean claiming;
    private boolean closed;

    DirectFeed(String cluster, KubeAccess kube) {
      this.cluster = cluster;
      this.kube = kube;
    }

    /** Takes or renews the lease; starts feeding when it is taken, stops when it is lost. */
    void tick() {
      if (claiming || closed) {
        return;
      }
      claiming = true;
      index.claimFeed(cluster, feedHolder, FEED_LEASE_MILLIS).onComplete(claimed -> {
        claiming = false;
        if (closed) {
          return;
        }
        if (claimed.failed()) {
          // Unsure whether it was renewed: stop, rather than feed alongside a node that may have taken it.
          LOG.warn("cannot renew the index lease of cluster {}: {}", cluster, claimed.cause().getMessage());
          stopFeeding();
        } else if (claimed.result() && feed == null) {
          startFeeding();
        } else if (!claimed.result() && feed != null) {
          LOG.info("another hub node feeds the index of cluster {} now", cluster);
          stopFeeding();
        }
      });
    }

    private void startFeeding() {
      IndexSettings settings = IndexSettings.read(ConfigReader.of(Map.of(), Map.of()));
      IndexFeed started = new IndexFeed(cluster, settings, kube.requests(), kube.streams());
      IndexWriter opened = index.writer(cluster, ack -> {
        if (ack.seq() == 0) {
          started.resume(ack.watermarks());
        } else {
          started.acked(ack.seq(), ack.error());
        }
      }, true);
      feed = started;
      writer = opened;
      // Called on the feed's threads: the batch is written on this context, while this writer is current.
      started.attach(frame -> context.runOnContext(v -> {
        if (writer != opened) {
          return;
        }
        if (frame instanceof Frame.Index batch) {
          opened.receive(batch);
        } else if (frame instanceof Frame.IndexSynced marker) {
          opened.caughtUp(marker);
        }
      }), true);
      started.start();
      opened.open();
      LOG.info("this hub node feeds the index of cluster {}", cluster);
    }

    private Future<Void> stopFeeding() {
      IndexFeed stopping = feed;
      if (stopping == null) {
        return Future.succeededFuture();
      }
      feed = null;
      writer.close();
      writer = null;
      stopping.detach();
      return vertx.executeBlocking(() -> {
        stopping.stop();
        return null;
      }, false).mapEmpty();
    }

    /** The feeding node's informers, or null when another node feeds the cluster. */
    IndexFeed informers() {
      return feed;
    }

    Future<Void> close() {
      closed = true;
      boolean held = feed != null;
      return stopFeeding().compose(v -> held ? index.releaseFeed(cluster, feedHolder) : Future.succeededFuture())
          .recover(e -> Future.succeededFuture());
    }
  }

  /** Frames to the "agent" go straight into the executor; requests for a cached object to the index's informers. */
  private final class DirectLink implements AgentSession.Link {
    KubeRequestExecutor executor;
    DirectFeed feed;
    AgentSession session;

    @Override
    public void send(FrameMessage frame) {
      if (frame.frame() instanceof Frame.Request request && request.path().startsWith(Frame.Index.CACHE_PATH)) {
        fromCache(request);
      } else {
        executor.handle(frame.frame());
      }
    }

    /**
     * One whole object, as an agent answers it from its informers. On a node that does not feed the
     * cluster, the API server is asked for it instead (a direct cluster's API server is the hub's own
     * client's, not behind a tunnel).
     */
    private void fromCache(Frame.Request request) {
      String[] parts = request.path().substring(Frame.Index.CACHE_PATH.length()).split("/");
      if (parts.length != 5) {
        answer(Frame.Response.failure(request.id(), KmcException.badRequest("a cache path is "
            + Frame.Index.CACHE_PATH + "<group>/<version>/<resource>/<namespace or _>/<name>")));
        return;
      }
      String group = "core".equals(parts[0]) ? "" : parts[0];
      String namespace = "_".equals(parts[3]) ? null : parts[3];
      if (group.isEmpty() && parts[2].equals("secrets")) {
        answer(Frame.Response.failure(request.id(), KmcException.forbidden("secrets are never served from the index cache")));
        return;
      }
      IndexFeed informers = feed == null ? null : feed.informers();
      if (informers == null) {
        String path = (group.isEmpty() ? "/api/" : "/apis/" + group + "/") + parts[1]
            + (namespace == null ? "" : "/namespaces/" + namespace) + "/" + parts[2] + "/" + parts[4];
        executor.handle(new Frame.Request(request.id(), "GET", path, null, request.headers(), null, request.user(),
            false, false, request.credits(), request.timeoutMillis()));
        return;
      }
      clientJava.submit(context, () -> informers.cachedObject(group, parts[2], namespace, parts[4])).onComplete(read -> {
        KmcException failure = null;
        if (read.failed()) {
          failure = KmcException.internal("cannot read the cache: " + read.cause().getMessage(), read.cause());
        } else if (read.result() == null) {
          failure = KmcException.notFound(parts[2] + " \"" + parts[4] + "\" is not in the index's informer cache");
        } else if (read.result().length > limits.chunkBytes()) {
          failure = KmcException.tooLarge("the object is larger than one chunk; read it through the cluster's context");
        }
        answer(failure != null ? Frame.Response.failure(request.id(), failure)
            : new Frame.Response(request.id(), 200, Map.of("Content-Type", List.of("application/json")),
                read.result(), false));
      });
    }

    private void answer(Frame.Response response) {
      session.fromAgent(FrameMessage.of(response));
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
