package io.kmc.hub.routing;

import io.kmc.common.Addresses;
import io.kmc.common.KmcException;
import io.kmc.common.protocol.ActingUser;
import io.kmc.common.protocol.BinaryFrames;
import io.kmc.common.protocol.Frame;
import io.kmc.common.protocol.Limits;
import io.kmc.common.protocol.ProtocolException;
import io.kmc.hub.store.ClusterRegistry;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Sends a Kubernetes request to whichever hub node holds the agent of a member cluster, over the
 * event bus, and hands back the answer: its head as the value of a future, and for large bodies and
 * streams the rest through a {@link StreamHandler}. Any node can route any request.
 */
public final class ClusterRouter {

  /** What a caller asks a member cluster to do. */
  public record Outgoing(String method, String path, String query, Map<String, List<String>> headers, byte[] body,
                         ActingUser user, boolean stream) {
    public Outgoing withQuery(String newQuery) {
      return new Outgoing(method, path, newQuery, headers, body, user, stream);
    }
  }

  /** Receives the rest of an answer whose head had {@code more}; called on the caller's context. */
  public interface StreamHandler {
    /** The next part of the body, as it came (a slice of the frame: not copied). */
    void data(Buffer data);

    /** The body is complete, or with an error, broken off. */
    void end(String error);

    /** In an upgraded exchange, the agent has room for this many more messages from the client. */
    default void credit(int credits) {
    }
  }

  private static final long EVENT_BUS_GRACE_MILLIS = 2_000;
  /** About three seconds in all: long enough for an agent to reconnect, short enough to fail fast when it is down. */
  private static final long[] NO_AGENT_RETRY_DELAYS_MILLIS = {100, 200, 400, 800, 1500};
  /**
   * How long an idempotent request whose node died waits for its agent to redial: every agent of
   * that node reconnects at once, with back-off, so it takes longer than an agent moving politely.
   */
  private static final long NODE_LOSS_WAIT_MILLIS = 20_000;
  private static final long RECENTLY_SERVED_MILLIS = 30_000;
  /** Requests that may be sent twice: a second copy changes nothing (watches before their first byte included). */
  static final Set<String> IDEMPOTENT_METHODS = Set.of("GET", "HEAD", "OPTIONS");
  private static final Logger LOG = LoggerFactory.getLogger(ClusterRouter.class);

  private final Vertx vertx;
  private final HubNodes nodes;
  private final NodeChannel channel;
  private final SessionRegistry sessions;
  private final Presence presence;
  private final ClusterRegistry registry;
  private final Limits limits;
  /**
   * The high half of this node's exchange ids, random: ids are unsigned 64-bit numbers (as protocol
   * v2 carries them), unique across the hub's nodes without any coordination.
   */
  private final long idBase = new SecureRandom().nextLong() & 0xFFFF_FFFF_0000_0000L;
  private final AtomicLong sequence = new AtomicLong();
  /** When each cluster was last known to have a session (an answer, an announcement, a presence entry). */
  private final Map<String, Long> lastServed = new ConcurrentHashMap<>();
  /** Where each cluster's agent session was last seen: the node of its last answer or announcement. */
  private final Map<String, String> owners = new ConcurrentHashMap<>();
  /** Requests sent whose answer has not arrived, by attempt id. */
  private final Map<String, Sending> unanswered = new ConcurrentHashMap<>();
  private MessageConsumer<JsonObject> sessionStarts;

  public ClusterRouter(Vertx vertx, HubNodes nodes, NodeChannel channel, SessionRegistry sessions, Presence presence,
                       ClusterRegistry registry, Limits limits) {
    this.vertx = vertx;
    this.nodes = nodes;
    this.channel = channel;
    this.sessions = sessions;
    this.presence = presence;
    this.registry = registry;
    this.limits = limits;
    nodes.onNodeLeft(this::nodeLeft);
  }

  /** Data frames an agent may send ahead on a stream, and the hub on an upgraded exchange. */
  public int streamCredits() {
    return limits.streamCredits();
  }

  /** Starts following where agent sessions start, to resend what a lost node will never answer. */
  public Future<Void> start() {
    sessionStarts = vertx.eventBus().consumer(Addresses.SESSION_STARTED, message -> {
      JsonObject announcement = message.body();
      String node = announcement.getString("node");
      if ("agent".equals(announcement.getString("mode")) && node != null) {
        sessionStarted(announcement.getString("cluster"), node);
      }
    });
    return sessionStarts.completion();
  }

  public Future<Void> stop() {
    return sessionStarts == null ? Future.succeededFuture() : sessionStarts.unregister();
  }

  /**
   * Opens an exchange with the cluster. Fails with a {@link KmcException}: 404 for an unknown
   * cluster, 503 when no agent is connected, 504 when the agent does not answer in time.
   */
  public Future<Exchange> open(String cluster, Outgoing outgoing, StreamHandler handler) {
    return registry.find(cluster).compose(entry -> {
      if (entry == null) {
        return Future.failedFuture(ClusterRegistry.notFound(cluster));
      }
      if (!entry.enabled()) {
        return Future.failedFuture(KmcException.unavailable("cluster '" + cluster + "' is disabled"));
      }
      return send(cluster, outgoing, entry.impersonate(), handler);
    });
  }

  private Future<Exchange> send(String cluster, Outgoing outgoing, boolean impersonate, StreamHandler handler) {
    Sending sending = new Sending(cluster, outgoing, impersonate, handler, vertx.getOrCreateContext());
    sending.attempt();
    return sending.result.future();
  }

  /**
   * A node left the hub cluster: what was sent to it will never be answered. Idempotent requests go
   * again (to the agent's new session, once it has one); the others fail now with a 503 saying so,
   * rather than at their timeout.
   */
  private void nodeLeft(String node) {
    owners.values().removeIf(node::equals);
    for (Sending sending : List.copyOf(unanswered.values())) {
      if (node.equals(sending.ownerGuess) || (sending.ownerGuess == null && sending.idempotent)) {
        sending.ownerLost("hub node " + HubNodes.shortId(node) + " holding the agent of cluster '" + sending.cluster
            + "' left the hub cluster before it answered", true);
      }
    }
  }

  /**
   * The agent of {@code cluster} started a session on {@code node}: idempotent requests still
   * waiting on another node go again to this one, without waiting to learn whether that node is
   * alive (its late answer is dropped). The others wait: a live node answers them itself.
   */
  private void sessionStarted(String cluster, String node) {
    owners.put(cluster, node);
    served(cluster);
    for (Sending sending : List.copyOf(unanswered.values())) {
      if (sending.cluster.equals(cluster) && sending.idempotent && !node.equals(sending.ownerGuess)) {
        sending.ownerLost("the agent of cluster '" + cluster + "' moved to hub node " + HubNodes.shortId(node), false);
      }
    }
  }

  /**
   * One request on its way to a cluster's agent, possibly over several attempts: each attempt has an
   * id of its own, so that a late answer to an earlier one is recognised and dropped.
   */
  private final class Sending {
    final String cluster;
    final Outgoing outgoing;
    final boolean impersonate;
    final StreamHandler handler;
    final Context context;
    final boolean idempotent;
    final long deadline = System.currentTimeMillis() + limits.requestTimeoutMillis();
    final Promise<Exchange> result = Promise.promise();
    String currentId;
    /** The node the current attempt most likely went to (the cluster's last known session), or null. */
    String ownerGuess;
    /** Until when a missing session is waited for rather than reported: set when the owner's node died. */
    long waitForSessionUntil;

    Sending(String cluster, Outgoing outgoing, boolean impersonate, StreamHandler handler, Context context) {
      this.cluster = cluster;
      this.outgoing = outgoing;
      this.impersonate = impersonate;
      this.handler = handler;
      this.context = context;
      this.idempotent = IDEMPOTENT_METHODS.contains(outgoing.method());
    }

    void attempt() {
      String id = BinaryFrames.idText(idBase | (sequence.incrementAndGet() & 0xFFFF_FFFFL));
      currentId = id;
      ownerGuess = null;
      Exchange exchange = new Exchange(id, handler);
      channel.routeToRequester(id, context, null, exchange::frame);
      unanswered.put(id, this);
      // What is left of the request's time since the hub accepted it: an attempt sent again to the agent's
      // next session keeps its deadline, and its place before requests that arrived later (AgentSession).
      Frame.Request request = new Frame.Request(id, outgoing.method(), outgoing.path(), outgoing.query(),
          outgoing.headers(), outgoing.body(), outgoing.user(), impersonate, outgoing.stream(), limits.streamCredits(),
          Math.max(1, Math.min(limits.requestTimeoutMillis(), deadline - System.currentTimeMillis())));
      deliver(FrameMessage.of(request), id, 0).onComplete(ar -> {
        if (unanswered.remove(id) != this) {
          if (ar.succeeded()) {
            dropLateAnswer(id, ar.result());
          }
          return;
        }
        if (ar.failed()) {
          channel.forgetRequester(id);
          result.tryFail(translate(cluster, ar.cause()));
          return;
        }
        try {
          result.tryComplete(exchange.started(ar.result(), context));
        } catch (KmcException e) {
          result.tryFail(e);
        }
      });
    }

    /** The current attempt will not be answered: try again if that is safe and there is time, else fail. */
    void ownerLost(String why, boolean nodeGone) {
      String id = currentId;
      if (!unanswered.remove(id, this)) {
        return;
      }
      channel.forgetRequester(id);
      if (idempotent && System.currentTimeMillis() < deadline) {
        if (nodeGone) {
          waitForSessionUntil = Math.min(deadline, System.currentTimeMillis() + NODE_LOSS_WAIT_MILLIS);
        }
        LOG.info("{} {} to cluster {} goes again: {}", outgoing.method(), outgoing.path(), cluster, why);
        context.runOnContext(v -> attempt());
      } else if (nodeGone) {
        result.tryFail(KmcException.unavailable(why + "; the request may or may not have been carried out"));
      } else {
        unanswered.put(id, this); // a live node answers it itself
      }
    }

    /**
     * Sends the request to the node serving the cluster, and while no node serves a cluster that
     * was served moments ago, tries again for a few seconds: an agent moving to another node (its
     * node is shutting down, or died) is away only briefly, and a request nobody received can
     * safely be sent again, whatever its method. A cluster that has been away longer is reported
     * at once.
     */
    private Future<Message<FrameMessage>> deliver(FrameMessage request, String id, int retry) {
      long sentAt = System.currentTimeMillis();
      long sendTimeout = limits.requestTimeoutMillis() + EVENT_BUS_GRACE_MILLIS;
      return owner(cluster).compose(owner -> {
        if (owner == null) {
          return Future.failedFuture(new ReplyException(ReplyFailure.NO_HANDLERS, "no session"));
        }
        ownerGuess = owner;
        if (owner.equals(nodes.nodeId())) {
          return channel.requestHere(cluster, request, context);
        }
        DeliveryOptions options = new DeliveryOptions().setSendTimeout(sendTimeout)
            .addHeader(Addresses.HEADER_CLUSTER, cluster)
            .addHeader(Addresses.HEADER_REQUESTER_NODE, nodes.nodeId());
        return vertx.eventBus().<FrameMessage>request(Addresses.node(owner, id), request, options)
            .onFailure(e -> owners.remove(cluster, owner));
      }).onSuccess(reply -> served(cluster)).recover(e -> {
        // A timeout before the send timeout is Vert.x discarding the request at a consumer that was
        // just unregistered (its node is stopping): nobody received it either.
        boolean discarded = e instanceof ReplyException reply && reply.failureType() == ReplyFailure.TIMEOUT
            && System.currentTimeMillis() - sentAt < sendTimeout;
        boolean nobodyServes = discarded || e instanceof ReplyException reply
            && (reply.failureType() == ReplyFailure.NO_HANDLERS || reply.failureCode() == AgentSession.AGENT_MOVING);
        Long last = lastServed.get(cluster);
        boolean recentlyServed = last != null && System.currentTimeMillis() - last < RECENTLY_SERVED_MILLIS;
        boolean superseded = !id.equals(currentId);
        boolean waiting = retry < NO_AGENT_RETRY_DELAYS_MILLIS.length || System.currentTimeMillis() < waitForSessionUntil;
        if (!nobodyServes || !recentlyServed || !waiting || superseded) {
          return Future.failedFuture(e);
        }
        long delay = NO_AGENT_RETRY_DELAYS_MILLIS[Math.min(retry, NO_AGENT_RETRY_DELAYS_MILLIS.length - 1)];
        return vertx.timer(delay).compose(v -> deliver(request, id, retry + 1));
      });
    }
  }

  /** An answer to an attempt that was given up: nobody wants it; a stream it opened is cancelled. */
  private void dropLateAnswer(String id, Message<FrameMessage> reply) {
    channel.forgetRequester(id);
    String owner = reply.headers().get(Addresses.HEADER_OWNER_NODE);
    try {
      if (reply.body().frame() instanceof Frame.Response head && head.more() && owner != null) {
        channel.send(owner, FrameMessage.of(new Frame.Cancel(id, "answered after the request had gone to another session")));
      }
    } catch (ProtocolException e) {
      // nothing to cancel
    }
  }

  /**
   * The node serving a cluster's requests: this one when it holds the session (or serves the
   * cluster directly), else where the cluster's session was last announced, else what the presence
   * map says; null when no live node serves it.
   */
  private Future<String> owner(String cluster) {
    if (sessions.serving(cluster) != null) {
      return Future.succeededFuture(nodes.nodeId());
    }
    String known = owners.get(cluster);
    // This node, remembered from its own announcement, no longer serves the cluster (checked just above):
    // e.g. it froze, its agent moved on, and it runs again. Sending to itself would find no session for ever.
    if (known != null && !known.equals(nodes.nodeId()) && nodes.alive(known)) {
      return Future.succeededFuture(known);
    }
    return presence.get(cluster).map(entry -> {
      if (entry == null || !nodes.alive(entry.node()) || entry.node().equals(nodes.nodeId())) {
        return null;
      }
      owners.put(cluster, entry.node());
      served(cluster);
      return entry.node();
    });
  }

  private void served(String cluster) {
    lastServed.put(cluster, System.currentTimeMillis());
  }

  private static Throwable translate(String cluster, Throwable failure) {
    if (failure instanceof ReplyException reply) {
      return switch (reply.failureType()) {
        case NO_HANDLERS -> KmcException.unavailable("cluster '" + cluster
            + "' is not connected: no agent connection on any hub node");
        case TIMEOUT -> KmcException.timeout("cluster '" + cluster + "' did not answer in time");
        // Still no session after the retries above (the agent moving, just gone, or a node that froze and
        // runs again serving a session it no longer holds): the cluster is not connected, not a bad gateway.
        default -> reply.failureCode() == AgentSession.AGENT_MOVING
            ? KmcException.unavailable("cluster '" + cluster + "' is not connected just now: " + reply.getMessage(), 1)
            : reply.failureCode() >= 400 && reply.failureCode() < 500
            ? new KmcException.ClientError(reply.failureCode(), "BadRequest", reply.getMessage())
            : KmcException.badGateway("routing to cluster '" + cluster + "' failed: " + reply.getMessage());
      };
    }
    return failure instanceof KmcException ? failure : KmcException.internal(failure.getMessage(), failure);
  }

  /** One request in flight, seen from the node that asked. */
  public final class Exchange {
    private final String id;
    private final StreamHandler handler;
    private Frame.Response head;
    private String ownerNode;
    private boolean ended;
    private int unacknowledged;
    private ArrayDeque<FrameMessage> early;

    private Exchange(String id, StreamHandler handler) {
      this.id = id;
      this.handler = handler;
    }

    public Frame.Response head() {
      return head;
    }

    /** Tells the agent that the caller consumed {@code count} data frames; credits are granted in batches. */
    public void consumed(int count) {
      if (ended || ownerNode == null) {
        return;
      }
      unacknowledged += count;
      int batch = Math.max(1, limits.streamCredits() / 2);
      if (unacknowledged >= batch) {
        channel.send(ownerNode, FrameMessage.of(new Frame.Credit(id, unacknowledged)));
        unacknowledged = 0;
      }
    }

    /**
     * In an upgraded exchange (the agent answered 101), sends one message from the client to the
     * agent; the caller keeps within the credits {@link StreamHandler#credit} granted.
     */
    public void sendUpstream(byte[] message) {
      if (!ended && ownerNode != null) {
        channel.send(ownerNode, FrameMessage.reversed(new Frame.Data(id, message)));
      }
    }

    /** The caller wants nothing more (its client went away). */
    public void cancel(String reason) {
      if (ended) {
        return;
      }
      ended = true;
      channel.forgetRequester(id);
      if (ownerNode != null) {
        channel.send(ownerNode, FrameMessage.of(new Frame.Cancel(id, reason)));
      }
    }

    private Exchange started(Message<FrameMessage> reply, Context context) {
      Frame frame;
      try {
        frame = reply.body().frame();
      } catch (ProtocolException e) {
        channel.forgetRequester(id);
        throw KmcException.badGateway("bad answer from the node holding the agent: " + e.getMessage());
      }
      if (!(frame instanceof Frame.Response response)) {
        channel.forgetRequester(id);
        throw KmcException.badGateway("the node holding the agent answered with " + frame.getClass().getSimpleName());
      }
      head = response;
      if (!response.more()) {
        ended = true;
        channel.forgetRequester(id);
        return this;
      }
      ownerNode = reply.headers().get(Addresses.HEADER_OWNER_NODE);
      channel.routeToRequester(id, context, ownerNode, this::frame);
      if (early != null) {
        // Stream frames can overtake the reply; they waited here and now go first, in order.
        context.runOnContext(v -> {
          while (early != null && !early.isEmpty()) {
            dispatch(early.poll());
          }
          early = null;
        });
      }
      return this;
    }

    private void frame(FrameMessage frame) {
      if (head == null || early != null) {
        if (early == null) {
          early = new ArrayDeque<>();
        }
        early.add(frame);
        return;
      }
      dispatch(frame);
    }

    private void dispatch(FrameMessage frame) {
      if (ended) {
        return;
      }
      if (frame.type() == BinaryFrames.DATA) {
        handler.data(frame.payload());
      } else if (frame.type() == BinaryFrames.END) {
        ended = true;
        channel.forgetRequester(id);
        handler.end(((Frame.End) frame.frame()).error()); // checked by the node holding the agent
      } else if (frame.type() == BinaryFrames.CREDIT && frame.reversed()) {
        handler.credit(((Frame.Credit) frame.frame()).credits());
      }
    }
  }
}
