package io.kmc.hub.gateway;

import io.kmc.common.KmcException;
import io.kmc.common.KmcVersion;
import io.kmc.common.protocol.AgentEndpoint;
import io.kmc.common.protocol.Limits;
import io.kmc.hub.auth.Authenticator;
import io.kmc.hub.index.FleetIndex;
import io.kmc.hub.metrics.HubMetrics;
import io.kmc.hub.notify.Event;
import io.kmc.hub.notify.EventType;
import io.kmc.hub.notify.Notifier;
import io.kmc.hub.notify.Versions;
import io.kmc.hub.routing.AgentSession;
import io.kmc.hub.routing.HubNodes;
import io.kmc.hub.routing.NodeChannel;
import io.kmc.hub.routing.Presence;
import io.kmc.hub.routing.SessionRegistry;
import io.kmc.hub.store.ClusterRegistry;
import io.kmc.hub.web.Errors;
import io.vertx.core.Context;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@code GET /agent/v1/connect}: where agents dial in. The join token is checked before the
 * websocket upgrade, so a wrong token costs the hub one HTTP answer and no connection state.
 */
public final class AgentGateway implements Handler<RoutingContext> {


  private static final Logger LOG = LoggerFactory.getLogger(AgentGateway.class);

  private final Vertx vertx;
  private final HubNodes nodes;
  private final NodeChannel channel;
  private final Presence presence;
  private final SessionRegistry sessions;
  private final ClusterRegistry registry;
  private final Limits limits;
  private final int maxQueuedRequests;
  private final HubMetrics metrics;
  private final long helloTimeoutMillis;
  private final Notifier notifier;
  private final long disconnectGraceMillis;
  private final FleetIndex index;
  private final Admission admission;
  /**
   * One liveness sweep per event loop, holding the connections of that loop. Keyed by the loop's thread,
   * not by context: every websocket upgrade runs on a context of its own (Vert.x duplicates the loop's
   * context per request), so a map by context held one sweep, and one 1 s timer, per connection. On
   * NIO each timer also made its loop poll the selector without waiting for the last millisecond
   * before it: 1,000 idle agents cost ~45,000 selector calls a second (docs/scale.md).
   */
  private final Map<Thread, LivenessSweep> sweeps = new ConcurrentHashMap<>();

  /**
   * @param index     the fleet index agents feed, or null when the hub keeps none
   * @param admission how fast new agent connections are taken
   * @param maxQueuedRequests how many requests may queue for an in-flight slot on one agent (tunnel.max_queued_requests)
   */
  public AgentGateway(Vertx vertx, HubNodes nodes, NodeChannel channel, Presence presence, SessionRegistry sessions,
                      ClusterRegistry registry, Limits limits, HubMetrics metrics, long helloTimeoutMillis,
                      Notifier notifier, long disconnectGraceMillis, FleetIndex index, Admission admission,
                      int maxQueuedRequests) {
    this.index = index;
    this.maxQueuedRequests = maxQueuedRequests;
    this.admission = admission;
    this.vertx = vertx;
    this.nodes = nodes;
    this.channel = channel;
    this.presence = presence;
    this.sessions = sessions;
    this.registry = registry;
    this.limits = limits;
    this.metrics = metrics;
    this.helloTimeoutMillis = helloTimeoutMillis;
    this.notifier = notifier;
    this.disconnectGraceMillis = disconnectGraceMillis;
    metrics.livenessSweeps(sweeps::size);
  }

  @Override
  public void handle(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    String cluster = request.getHeader(AgentEndpoint.CLUSTER_HEADER);
    String token = Authenticator.bearerToken(request);
    if (!"websocket".equalsIgnoreCase(request.getHeader(HttpHeaders.UPGRADE))) {
      Errors.respond(ctx, KmcException.badRequest("this endpoint only accepts websocket upgrades from kmc agents"));
      return;
    }
    if (cluster == null || cluster.isBlank()) {
      Errors.respond(ctx, KmcException.badRequest("the " + AgentEndpoint.CLUSTER_HEADER + " header must name the cluster"));
      return;
    }
    if (token == null) {
      Errors.respond(ctx, KmcException.unauthorized("a join token is required (Authorization: Bearer <token>)"));
      return;
    }
    long delay = admission.admit();
    if (delay >= 0) {
      // Before the token check and the upgrade: a turned-away dial costs one HTTP answer, no database read.
      metrics.agentDeferred();
      String seconds = Admission.retryAfterSeconds(delay);
      ctx.response().putHeader("Retry-After", seconds);
      Errors.respond(ctx, KmcException.unavailable("this hub node is taking too many new agent connections "
          + "(tunnel.admission_rate); retry after " + seconds + " s"));
      return;
    }
    request.pause();
    registry.checkJoinToken(cluster, token).onComplete(ar -> {
      request.resume();
      if (ar.failed()) {
        LOG.error("cannot check the join token of cluster {}: {}", cluster, ar.cause().getMessage());
        Errors.respond(ctx, KmcException.unavailable("cannot check join tokens right now; retry"));
        return;
      }
      switch (ar.result()) {
        case VALID -> request.toWebSocket()
            .onSuccess(ws -> new AgentConnection(vertx, ws, cluster, this).begin())
            .onFailure(e -> LOG.warn("websocket upgrade for cluster {} failed: {}", cluster, e.getMessage()));
        case UNKNOWN_CLUSTER -> refuse(ctx, cluster, ClusterRegistry.notFound(cluster));
        case DISABLED -> refuse(ctx, cluster, KmcException.forbidden("cluster '" + cluster + "' is disabled"));
        case DIRECT_ONLY -> refuse(ctx, cluster, new KmcException.ClientError(409, "Conflict",
            "cluster '" + cluster + "' is served directly by the hub and takes no agent"));
        case INVALID_TOKEN -> refuse(ctx, cluster, KmcException.unauthorized("invalid join token for cluster '" + cluster + "'"));
      }
    });
  }

  private void refuse(RoutingContext ctx, String cluster, KmcException e) {
    LOG.warn("refused an agent connection for cluster {} from {}: {}", cluster, ctx.request().remoteAddress(),
        e.getMessage());
    Errors.respond(ctx, e);
  }

  AgentSession newSession(Context context, Presence.Entry entry, AgentConnection connection) {
    AgentSession session = new AgentSession(vertx, context, nodes, channel, presence, limits, maxQueuedRequests, metrics, entry,
        connection);
    sessions.add(session, connection);
    return session;
  }

  void ended(AgentSession session) {
    sessions.remove(session);
  }

  /** The live session holding the cluster now, or null (also when it cannot be read). */
  io.vertx.core.Future<Presence.Entry> holder(String cluster) {
    return presence.get(cluster).map(entry -> presence.live(entry, limits.pingTimeoutMillis(),
        System.currentTimeMillis()) ? entry : null).otherwise((Presence.Entry) null);
  }

  /**
   * An agent's session started: notified unless the cluster was live already (the agent moved from
   * another node), and a version other than the hub's.
   */
  void connected(Presence.Entry entry, Presence.Entry previous) {
    JsonObject details = new JsonObject().put("agentVersion", entry.agentVersion())
        .put("kubernetesVersion", entry.kubernetesVersion()).put("protocolVersion", entry.protocolVersion())
        .put("hubNode", entry.node());
    if (previous == null || previous.session().equals(entry.session())) {
      notifier.emit(Event.of(EventType.CLUSTER_CONNECTED, entry.cluster(), null, "cluster " + entry.cluster()
          + " connected (agent " + entry.agentVersion() + ", Kubernetes " + entry.kubernetesVersion() + ")", details));
    }
    String hubVersion = KmcVersion.current();
    if (Versions.skewed(hubVersion, entry.agentVersion())) {
      notifier.emit(Event.of(EventType.AGENT_VERSION_SKEW, entry.cluster(), entry.agentVersion(), "the agent of "
          + "cluster " + entry.cluster() + " runs version " + entry.agentVersion() + ", the hub " + hubVersion,
          details.copy().put("hubVersion", hubVersion)));
    }
  }

  /**
   * An agent's session ended. After the grace, if no session holds the cluster (the agent did not
   * come back, here or on another node), the cluster is reported disconnected.
   */
  void disconnected(String cluster, String session, String reason) {
    vertx.setTimer(Math.max(1, disconnectGraceMillis), t -> presence.get(cluster).onSuccess(entry -> {
      long now = System.currentTimeMillis();
      if (entry != null && !entry.session().equals(session) && presence.live(entry, limits.pingTimeoutMillis(), now)) {
        return; // it came back, or moved to another node
      }
      notifier.emit(Event.of(EventType.CLUSTER_DISCONNECTED, cluster, null, "cluster " + cluster
          + " disconnected: " + reason, new JsonObject().put("reason", reason)));
    }));
  }

  /** The sweep of the calling event loop, created with its first connection; called on that loop. */
  LivenessSweep sweep() {
    Thread loop = Thread.currentThread();
    return sweeps.computeIfAbsent(loop, t -> new LivenessSweep(vertx, limits, () -> sweeps.remove(t)));
  }

  HubNodes nodes() {
    return nodes;
  }

  HubMetrics metrics() {
    return metrics;
  }

  Limits limits() {
    return limits;
  }

  FleetIndex index() {
    return index;
  }

  long helloTimeoutMillis() {
    return helloTimeoutMillis;
  }
}
