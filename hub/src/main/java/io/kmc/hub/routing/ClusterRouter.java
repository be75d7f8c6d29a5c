package io.kmc.hub.routing;

import io.kmc.common.Addresses;
import io.kmc.common.KmcException;
import io.kmc.common.protocol.ActingUser;
import io.kmc.common.protocol.Frame;
import io.kmc.common.protocol.Limits;
import io.kmc.common.protocol.ProtocolException;
import io.kmc.hub.store.ClusterRegistry;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;

import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
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
  }

  /** Receives the rest of an answer whose head had {@code more}; called on the caller's context. */
  public interface StreamHandler {
    void data(byte[] data);

    /** The body is complete, or with an error, broken off. */
    void end(String error);
  }

  private static final long EVENT_BUS_GRACE_MILLIS = 2_000;
  /** About three seconds in all: long enough for an agent to reconnect, short enough to fail fast when it is down. */
  private static final long[] NO_AGENT_RETRY_DELAYS_MILLIS = {100, 200, 400, 800, 1500};
  private static final long RECENTLY_SERVED_MILLIS = 30_000;

  private final Vertx vertx;
  private final HubNodes nodes;
  private final NodeChannel channel;
  private final ClusterRegistry registry;
  private final Limits limits;
  private final String idPrefix;
  private final AtomicLong sequence = new AtomicLong();
  private final Map<String, Long> lastDelivered = new ConcurrentHashMap<>();

  public ClusterRouter(Vertx vertx, HubNodes nodes, NodeChannel channel, ClusterRegistry registry, Limits limits) {
    this.vertx = vertx;
    this.nodes = nodes;
    this.channel = channel;
    this.registry = registry;
    this.limits = limits;
    this.idPrefix = HubNodes.shortId(nodes.nodeId()) + "-";
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
    Context context = vertx.getOrCreateContext();
    String id = idPrefix + sequence.incrementAndGet();
    Frame.Request request = new Frame.Request(id, outgoing.method(), outgoing.path(), outgoing.query(),
        outgoing.headers(), outgoing.body(), outgoing.user(), impersonate, outgoing.stream(), limits.streamCredits(),
        limits.requestTimeoutMillis());
    Exchange exchange = new Exchange(id, handler);
    channel.routeToRequester(id, context, null, exchange::frame);
    DeliveryOptions options = new DeliveryOptions()
        .setSendTimeout(limits.requestTimeoutMillis() + EVENT_BUS_GRACE_MILLIS)
        .addHeader(Addresses.HEADER_REQUESTER_NODE, nodes.nodeId());
    return deliver(cluster, FrameMessage.of(request), options, 0).transform(ar -> {
      if (ar.failed()) {
        channel.forgetRequester(id);
        return Future.failedFuture(translate(cluster, ar.cause()));
      }
      return Future.succeededFuture(exchange.started(ar.result(), context));
    });
  }

  /**
   * Sends the request, and while no node serves a cluster that was served moments ago, tries again
   * for a few seconds: an agent moving to another node (its node is shutting down) is away only
   * briefly, and a request nobody received can safely be sent again, whatever its method. A cluster
   * that has been away longer is reported at once.
   */
  private Future<Message<FrameMessage>> deliver(String cluster, FrameMessage request, DeliveryOptions options,
                                               int attempt) {
    return vertx.eventBus().<FrameMessage>request(Addresses.agent(cluster), request, options).onSuccess(reply ->
        lastDelivered.put(cluster, System.currentTimeMillis())).recover(e -> {
      boolean nobodyServes = e instanceof ReplyException reply && (reply.failureType() == ReplyFailure.NO_HANDLERS
          || reply.failureCode() == AgentSession.AGENT_MOVING);
      Long last = lastDelivered.get(cluster);
      boolean recentlyServed = last != null && System.currentTimeMillis() - last < RECENTLY_SERVED_MILLIS;
      if (!nobodyServes || !recentlyServed || attempt >= NO_AGENT_RETRY_DELAYS_MILLIS.length) {
        return Future.failedFuture(e);
      }
      return vertx.timer(NO_AGENT_RETRY_DELAYS_MILLIS[attempt])
          .compose(v -> deliver(cluster, request, options, attempt + 1));
    });
  }

  private static Throwable translate(String cluster, Throwable failure) {
    if (failure instanceof ReplyException reply) {
      return switch (reply.failureType()) {
        case NO_HANDLERS -> KmcException.unavailable("cluster '" + cluster
            + "' is not connected: no agent connection on any hub node");
        case TIMEOUT -> KmcException.timeout("cluster '" + cluster + "' did not answer in time");
        default -> reply.failureCode() >= 400 && reply.failureCode() < 500
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
    private ArrayDeque<Frame> early;

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
        channel.send(ownerNode, new Frame.Credit(id, unacknowledged), null);
        unacknowledged = 0;
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
        channel.send(ownerNode, new Frame.Cancel(id, reason), null);
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

    private void frame(Frame frame) {
      if (head == null || early != null) {
        if (early == null) {
          early = new ArrayDeque<>();
        }
        early.add(frame);
        return;
      }
      dispatch(frame);
    }

    private void dispatch(Frame frame) {
      if (ended) {
        return;
      }
      if (frame instanceof Frame.Data data) {
        handler.data(data.data());
      } else if (frame instanceof Frame.End end) {
        ended = true;
        channel.forgetRequester(id);
        handler.end(end.error());
      }
    }
  }
}
