package io.kmc.hub.routing;

import io.kmc.common.Addresses;
import io.kmc.common.protocol.BinaryFrames;
import io.kmc.common.protocol.Frame;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * What hub nodes send each other about exchanges with member clusters: requests, to the node
 * holding the cluster's session (named in the {@link Addresses#HEADER_CLUSTER} header), and after a
 * request's head the stream frames: data and end from the node holding the agent to the node that
 * asked, credit and cancel the other way. Each node has a consumer per lane at
 * {@link Addresses#node(String, int)}, registered once at start on several event loops, and
 * dispatches by cluster and exchange id; the frames of one exchange all take the same lane. Registering a consumer per
 * agent or per stream would cost a cluster-wide registry write for every connection and every
 * watch, a sender could race the registration it depends on, and a node that died would leave its
 * registrations behind for a while, swallowing what was sent to them.
 */
public final class NodeChannel {

  private static final Logger LOG = LoggerFactory.getLogger(NodeChannel.class);

  /** Where frames for one exchange go, and which node is on the other side of it. */
  private record Route(Context context, Consumer<FrameMessage> handler, String peerNode) {
  }

  private final Vertx vertx;
  private final HubNodes nodes;
  private final SessionRegistry sessions;
  private final Map<String, Route> requesterSide = new ConcurrentHashMap<>();
  private final Map<String, Route> ownerSide = new ConcurrentHashMap<>();

  public NodeChannel(Vertx vertx, HubNodes nodes, SessionRegistry sessions) {
    this.vertx = vertx;
    this.nodes = nodes;
    this.sessions = sessions;
    nodes.onNodeLeft(this::nodeLeft);
  }

  /**
   * Starts taking what other nodes send on one lane; called by each of {@link Addresses#NODE_LANES}
   * verticles, so that the lanes are spread over the event loops. The consumer belongs to the caller's
   * context and goes with it.
   */
  public Future<Void> listen(int lane) {
    return vertx.eventBus().<FrameMessage>consumer(Addresses.node(nodes.nodeId(), lane), this::received).completion();
  }

  /** The asking side of an exchange: data and end frames for {@code id} go to {@code handler}. */
  public void routeToRequester(String id, Context context, String ownerNode, Consumer<FrameMessage> handler) {
    requesterSide.put(id, new Route(context, handler, ownerNode));
  }

  /** The agent side of an exchange: credit and cancel frames for {@code id} go to {@code handler}. */
  public void routeToOwner(String id, Context context, String requesterNode, Consumer<FrameMessage> handler) {
    ownerSide.put(id, new Route(context, handler, requesterNode));
  }

  public void forgetRequester(String id) {
    requesterSide.remove(id);
  }

  public void forgetOwner(String id) {
    ownerSide.remove(id);
  }

  /** Sends a stream frame to another node (or this one), in the form it already has. */
  public void send(String node, FrameMessage frame) {
    vertx.eventBus().send(Addresses.node(node, frame.id()), frame);
  }

  /** Dispatches by the type and id in the frame's header; only requests are decoded here (by their session). */
  private void received(Message<FrameMessage> message) {
    FrameMessage frame = message.body();
    switch (frame.type()) {
      case BinaryFrames.REQUEST -> requested(message);
      // Reversed frames (upgraded exchanges) go the other way than their type usually does.
      case BinaryFrames.DATA, BinaryFrames.END -> deliver(frame.reversed() ? ownerSide : requesterSide, frame.id(), frame);
      case BinaryFrames.CREDIT, BinaryFrames.CANCEL -> deliver(frame.reversed() ? requesterSide : ownerSide, frame.id(),
          frame);
      default -> {
        LOG.warn("dropping a frame of type {} sent to the node channel", frame.type());
        if (message.replyAddress() != null) {
          message.fail(400, "a node channel takes requests and stream frames only");
        }
      }
    }
  }

  /**
   * A request from this node for a cluster whose session is here: handed to the session as another
   * node's would be, without the event bus. The reply comes back on {@code askerContext}.
   */
  public Future<Message<FrameMessage>> requestHere(String cluster, FrameMessage request, Context askerContext) {
    LocalMessage message = LocalMessage.request(request, cluster, nodes.nodeId(), askerContext);
    handOver(cluster, message);
    return message.replied();
  }

  /** A request for a cluster whose session should be here; if it is not (any more), the sender tries elsewhere. */
  private void requested(Message<FrameMessage> message) {
    handOver(message.headers().get(Addresses.HEADER_CLUSTER), message);
  }

  private void handOver(String cluster, Message<FrameMessage> message) {
    AgentSession session = sessions.serving(cluster);
    if (session == null) {
      message.fail(AgentSession.AGENT_MOVING, "cluster '" + cluster + "' has no session on hub node "
          + HubNodes.shortId(nodes.nodeId()));
    } else if (Vertx.currentContext() == session.context()) {
      session.requested(message);
    } else {
      session.context().runOnContext(v -> session.requested(message));
    }
  }

  private static void deliver(Map<String, Route> routes, String id, FrameMessage frame) {
    Route route = routes.get(id);
    if (route == null) {
      return; // the exchange ended meanwhile (cancelled, timed out): nothing wants this frame
    }
    if (Vertx.currentContext() == route.context()) {
      route.handler().accept(frame);
    } else {
      route.context().runOnContext(v -> route.handler().accept(frame));
    }
  }

  /** Ends every exchange whose other side was on a node that is gone. */
  private void nodeLeft(String node) {
    requesterSide.forEach((id, route) -> {
      if (node.equals(route.peerNode())) {
        deliver(requesterSide, id, FrameMessage.of(new Frame.End(id, "hub node " + HubNodes.shortId(node)
            + " holding the agent connection left the cluster")));
      }
    });
    ownerSide.forEach((id, route) -> {
      if (node.equals(route.peerNode())) {
        deliver(ownerSide, id, FrameMessage.of(new Frame.Cancel(id, "the requesting hub node left the cluster")));
      }
    });
  }
}
