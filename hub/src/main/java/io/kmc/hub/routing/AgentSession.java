package io.kmc.hub.routing;

import io.kmc.common.Addresses;
import io.kmc.common.KmcException;
import io.kmc.common.protocol.BinaryFrames;
import io.kmc.common.protocol.CloseCodes;
import io.kmc.common.protocol.Frame;
import io.kmc.common.protocol.Limits;
import io.kmc.common.protocol.ProtocolException;
import io.kmc.common.protocol.UpgradedMessages;
import io.kmc.hub.metrics.HubMetrics;
import io.kmc.ops.Deadlines;
import io.kmc.ops.PeerWarnings;
import io.kmc.ops.Texts;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The hub's side of one agent connection, on the node that holds it: the requests and streams in
 * flight with their limits and timeouts, and the presence entry. Requests reach it through this
 * node's {@link NodeChannel}, which finds it in the {@link SessionRegistry}. It does not care how frames reach the agent: a websocket, or in-process
 * for a directly served cluster ({@link Link}). Everything runs on the session's context.
 */
public final class AgentSession {

  private static final Logger LOG = LoggerFactory.getLogger(AgentSession.class);
  /**
   * The failure code a leaving node answers new requests with, while the agent moves: the sender
   * tries again (the request was never seen by the agent), and soon reaches the agent's new node.
   */
  public static final int AGENT_MOVING = 4503;
  /** Longest a leaving node waits for its agent's requests before it tells the agent to go anyway. */
  private static final long DRAIN_MILLIS = 10_000;

  /** How frames reach the agent. */
  public interface Link {
    /** Sends an exchange frame (request, credit, cancel) in whatever form the agent speaks. */
    void send(FrameMessage frame);

    void close(short code, String reason);

    /** Asks the agent to finish what it is doing and reconnect elsewhere (this node is leaving). */
    void goAway(String reason);

    /** Whether the agent can open upgraded exchanges (exec, attach, port-forward): protocol v2 and later. */
    default boolean carriesUpgrades() {
      return true;
    }

    /** How long the agent has sent nothing at all (no answer, no ping), in milliseconds. */
    default long silentMillis() {
      return 0;
    }
  }

  /** An agent this silent while its requests pile up is probably behind a half-open connection. */
  private static final long SILENT_WHILE_BUSY_MILLIS = 2_000;

  /** A request the agent has not finished answering. */
  private static final class Pending {
    final Frame.Request request;
    final Message<FrameMessage> message;
    final String requesterNode;
    final long startedNanos = System.nanoTime();
    long timer = -1;
    /** The answer has started; an answer that goes on (more) keeps the entry and counts as a stream. */
    boolean headSent;
    /** Data frames the agent may send (the request's credits and every credit since), and has sent. */
    long granted;
    long received;
    /** When the body of an answer last moved (data from the agent, or credit from the client). */
    long lastProgress;
    /** An upgrade request (exec, attach, port-forward), and once the agent answered 101, an open session. */
    final boolean upgrade;
    boolean upgraded;

    Pending(Frame.Request request, Message<FrameMessage> message, String requesterNode) {
      this.request = request;
      this.message = message;
      this.requesterNode = requesterNode;
      this.granted = request.credits();
      this.upgrade = UpgradedMessages.isUpgrade(request);
    }

    boolean countsAsStream() {
      return request.stream() || headSent;
    }
  }

  /**
   * A request queued for an in-flight slot. It keeps the deadline it came with (what is left of
   * tunnel.request_timeout since the hub accepted it, on whichever session it was first sent to):
   * the queue is ordered by it, so that requests sent again from an agent's earlier session go
   * before those that arrived later, and each is answered 504 when its own time is up.
   */
  private static final class Waiting {
    final Frame.Request request;
    final Message<FrameMessage> message;
    final long deadlineMillis;
    final long sequence;
    final long sinceNanos = System.nanoTime();
    long timer = -1;

    Waiting(Frame.Request request, Message<FrameMessage> message, long deadlineMillis, long sequence) {
      this.request = request;
      this.message = message;
      this.deadlineMillis = deadlineMillis;
      this.sequence = sequence;
    }
  }

  private static final Comparator<Waiting> BY_DEADLINE =
      Comparator.comparingLong((Waiting w) -> w.deadlineMillis).thenComparingLong(w -> w.sequence);

  private final Vertx vertx;
  private final Context context;
  private final HubNodes nodes;
  private final NodeChannel channel;
  private final Presence presence;
  private final Limits limits;
  private final HubMetrics metrics;
  private final Link link;
  private final Map<String, Pending> pending = new HashMap<>();
  /**
   * Requests that found every in-flight slot taken, by id and in the order they get a slot (earliest
   * deadline first): a burst, or the requests sent again after the agent came back, pass late rather
   * than being refused. At most {@link #maxQueued}; each waits until its own deadline, then gets 504.
   */
  private final Map<String, Waiting> waiting = new HashMap<>();
  private final TreeSet<Waiting> queue = new TreeSet<>(BY_DEADLINE);
  private final int maxQueued;
  private long queued;
  private boolean admitting;
  /** Warnings about what the agent sent: a flood of bad frames is counted, not logged line by line. */
  private final PeerWarnings warnings;
  private Presence.Entry entry;
  private boolean started;
  private boolean closed;
  private boolean draining;
  /**
   * The presence write under way (the first put, or a heartbeat's replace), or null: the next
   * heartbeat skips while one is, and closing waits for it, or the write could land after the
   * removal and leave the cluster looking connected until its entry ages out.
   */
  private Future<?> presenceWrite;

  public AgentSession(Vertx vertx, Context context, HubNodes nodes, NodeChannel channel, Presence presence,
                      Limits limits, int maxQueued, HubMetrics metrics, Presence.Entry entry, Link link) {
    this.vertx = vertx;
    this.maxQueued = maxQueued;
    this.context = context;
    this.nodes = nodes;
    this.channel = channel;
    this.presence = presence;
    this.limits = limits;
    this.metrics = metrics;
    this.entry = entry;
    this.link = link;
    this.warnings = new PeerWarnings(LOG, "the agent of cluster " + entry.cluster(), metrics::peerWarningSuppressed);
  }

  public String cluster() {
    return entry.cluster();
  }

  public String sessionId() {
    return entry.session();
  }

  public Presence.Entry entry() {
    return entry;
  }

  /**
   * Starts serving: records presence, and announces the session so that a node holding an older one
   * for the same cluster closes it, and every node learns where to send the cluster's requests.
   */
  public Future<Void> start() {
    // Until the entry is first written, a heartbeat must not look for it: it would find none and
    // take this session for one that another connection replaced.
    Future<Void> put = presence.put(entry);
    presenceWrite = put;
    return put
        .onComplete(ar -> writeDone(put))
        .onSuccess(v -> {
          started = true;
          vertx.eventBus().publish(Addresses.SESSION_STARTED, new JsonObject()
              .put("cluster", cluster()).put("session", sessionId()).put("mode", entry.mode())
              .put("node", nodes.nodeId()).put("connectedAt", entry.connectedAt()));
        });
  }

  public Context context() {
    return context;
  }

  /** Started, not leaving and not closed: requests sent here are forwarded to the agent. */
  boolean takesRequests() {
    return started && !draining && !closed;
  }

  /** A request from any hub node, to be forwarded to the agent; called on the session's context. */
  void requested(Message<FrameMessage> message) {
    Frame.Request request;
    try {
      if (!(message.body().frame() instanceof Frame.Request r)) {
        message.fail(400, "only request frames are sent to an agent address");
        return;
      }
      request = r;
    } catch (ProtocolException e) {
      message.fail(400, e.getMessage());
      return;
    }
    if (draining || !started) {
      message.fail(AGENT_MOVING, "the agent of cluster '" + cluster() + "' is moving to another hub node");
      return;
    }
    if (closed) {
      // Never sent to the agent: the sender may send it again, whatever its method, to the next session.
      message.fail(AGENT_MOVING, "the agent of cluster '" + cluster() + "' just disconnected");
      return;
    }
    if (pending.containsKey(request.id()) || waiting.containsKey(request.id())) {
      message.fail(400, "request id " + request.id() + " is already in flight");
      return;
    }
    long streams = streamsOpen();
    if (request.stream() && streams >= limits.maxOpenStreams()) {
      replyStatus(message, request.id(), KmcException.tooManyRequests("cluster '" + cluster() + "' has " + streams
          + " streams open, the most allowed per agent (tunnel.max_open_streams)"));
      return;
    }
    if (UpgradedMessages.isUpgrade(request) && !link.carriesUpgrades()) {
      replyStatus(message, request.id(), KmcException.badGateway("the agent of cluster '" + cluster()
          + "' speaks protocol v1, which cannot carry exec, attach or port-forward: upgrade the agent"));
      return;
    }
    if (!request.stream() && (!waiting.isEmpty() || requestsInFlight(streams) >= limits.maxInFlightRequests())) {
      enqueue(request, message);
      return;
    }
    forward(request, message, 0);
  }

  /**
   * Every slot is taken: the request queues for one, in the order of its deadline, unless the agent
   * looks unreachable or the queue is full; then it is refused at once with 503, a reason and
   * Retry-After (never 429: the client did nothing wrong, and Kubernetes clients retry either).
   */
  private void enqueue(Frame.Request request, Message<FrameMessage> message) {
    long silent = link.silentMillis();
    if (silent > SILENT_WHILE_BUSY_MILLIS) {
      replyStatus(message, request.id(), silentReason(silent));
      return;
    }
    if (waiting.size() >= maxQueued) {
      replyStatus(message, request.id(), KmcException.unavailable("cluster '" + cluster() + "' has "
          + limits.maxInFlightRequests() + " requests in flight (tunnel.max_in_flight_requests) and " + waiting.size()
          + " more queued for a slot, the most allowed (tunnel.max_queued_requests): its agent answers more slowly "
          + "than requests arrive", 1));
      return;
    }
    long now = System.currentTimeMillis();
    long timeout = timeoutOf(request);
    Waiting w = new Waiting(request, message, now + timeout, queued++);
    waiting.put(request.id(), w);
    queue.add(w);
    w.timer = vertx.setTimer(Math.max(1, timeout), t -> waitedTooLong(w));
  }

  private KmcException silentReason(long silent) {
    return KmcException.unavailable("the agent of cluster '" + cluster() + "' has sent nothing for "
        + silent / 1000 + " s while " + limits.maxInFlightRequests() + " requests wait for it: its connection may be "
        + "half-open (dropped after " + limits.pingTimeoutMillis() / 1000 + " s of silence, tunnel.ping_timeout)", 1);
  }

  /** The time a request has: what it brought (the rest of its deadline), at most tunnel.request_timeout. */
  private long timeoutOf(Frame.Request request) {
    return Math.min(limits.requestTimeoutMillis(),
        request.timeoutMillis() > 0 ? request.timeoutMillis() : Long.MAX_VALUE);
  }

  /** Requests in flight that count against tunnel.max_in_flight_requests: all but streams. */
  private long requestsInFlight(long streams) {
    return pending.size() - streams;
  }

  /** Sends a request to the agent; one that waited for its slot has that much less time to be answered. */
  private void forward(Frame.Request request, Message<FrameMessage> message, long waitedMillis) {
    Pending p = new Pending(request, message, message.headers().get(Addresses.HEADER_REQUESTER_NODE));
    pending.put(request.id(), p);
    long timeout = Math.max(1, timeoutOf(request) - waitedMillis);
    p.timer = vertx.setTimer(timeout, t -> timedOut(p, timeout));
    link.send(message.body());
  }

  /** A queued request's own deadline passed before a slot freed. */
  private void waitedTooLong(Waiting w) {
    if (waiting.remove(w.request.id()) != w) {
      return;
    }
    queue.remove(w);
    long waited = (System.nanoTime() - w.sinceNanos) / 1_000_000;
    long silent = link.silentMillis();
    if (silent > SILENT_WHILE_BUSY_MILLIS) {
      replyStatus(w.message, w.request.id(), silentReason(silent));
      return;
    }
    replyStatus(w.message, w.request.id(), KmcException.timeout("the agent of cluster '" + cluster() + "' did not "
        + "answer " + w.request.method() + " " + Texts.forLog(w.request.path()) + " in time: it waited " + waited
        + " ms for one of the " + limits.maxInFlightRequests() + " in-flight slots (tunnel.max_in_flight_requests), "
        + "behind " + queue.size() + " others, until its deadline (tunnel.request_timeout)"));
  }

  /** A slot may have freed: the oldest waiting requests go to the agent. */
  private void admitWaiting() {
    if (admitting || waiting.isEmpty() || closed || draining) {
      return;
    }
    admitting = true;
    try {
      while (!queue.isEmpty() && requestsInFlight(streamsOpen()) < limits.maxInFlightRequests()) {
        Waiting w = queue.pollFirst();
        waiting.remove(w.request.id());
        vertx.cancelTimer(w.timer);
        forward(w.request, w.message, (System.nanoTime() - w.sinceNanos) / 1_000_000);
      }
    } finally {
      admitting = false;
    }
  }

  /** Waiting requests were never sent to the agent: their senders may send them again, whatever the method. */
  private void releaseWaiting(String why) {
    List<Waiting> all = new ArrayList<>(queue);
    waiting.clear();
    queue.clear();
    for (Waiting w : all) {
      vertx.cancelTimer(w.timer);
      w.message.fail(AGENT_MOVING, why);
    }
  }

  private void timedOut(Pending p, long timeout) {
    if (pending.remove(p.request.id()) != p || p.headSent) {
      return;
    }
    cancelOnAgent(p.request.id(), "timed out");
    replyStatus(p.message, p.request.id(), KmcException.timeout("the agent of cluster '" + cluster() + "' did not answer "
        + p.request.method() + " " + p.request.path() + " within " + timeout + " ms"));
    admitWaiting();
  }

  /**
   * An exchange frame from the agent (response, data, end), to route back to the node that asked.
   * Nothing the agent sends is passed on unchecked: the head of an answer is validated
   * ({@link AgentAnswers}), data beyond the credits granted ends the exchange, and a body that stops
   * moving ends it too. Data and end are routed by the id in their header, never decoded here.
   */
  public void fromAgent(FrameMessage message) {
    fromAgentHere(message);
    // An answer ends a request or turns it into a stream: either frees an in-flight slot.
    admitWaiting();
  }

  private void fromAgentHere(FrameMessage message) {
    byte type = message.type();
    String id = message.id();
    Pending p = pending.get(id);
    if (type == BinaryFrames.RESPONSE) {
      if (p == null || p.headSent) {
        return; // timed out or cancelled meanwhile
      }
      Frame.Response response;
      Frame.Response head;
      try {
        response = (Frame.Response) message.frame();
        head = AgentAnswers.checked(response, p.upgrade);
      } catch (ProtocolException | AgentAnswers.Refused e) {
        cancelOnAgent(id, "the hub refused the answer");
        fail(p, "the agent of cluster '" + cluster() + "' sent an answer the hub refuses: "
            + Texts.forLog(e.getMessage()));
        return;
      }
      vertx.cancelTimer(p.timer);
      p.headSent = true;
      p.upgraded = head.status() == 101;
      metrics.tunnelRequest(cluster(), System.nanoTime() - p.startedNanos);
      if (head.more()) {
        channel.routeToOwner(id, context, p.requesterNode, this::fromRequester);
        metrics.streams(cluster(), 1);
        if (!p.request.stream()) {
          watchBody(p);
        }
      } else {
        pending.remove(id);
      }
      p.message.reply(head == response ? message : FrameMessage.of(head),
          new DeliveryOptions().addHeader(Addresses.HEADER_OWNER_NODE, nodes.nodeId()));
    } else if (type == BinaryFrames.DATA || type == BinaryFrames.END) {
      if (p == null || !p.headSent) {
        return;
      }
      if (type == BinaryFrames.DATA) {
        p.lastProgress = System.currentTimeMillis();
        if (++p.received > p.granted) {
          cancelOnAgent(id, "more data than the credits allowed");
          fail(p, "the agent of cluster '" + cluster() + "' sent more data than its credits allowed");
          return;
        }
      } else {
        finish(id);
        try {
          message.frame(); // an end is small: decoded here, so that the node that asked can trust it
        } catch (ProtocolException e) {
          message = FrameMessage.of(new Frame.End(id, "the agent of cluster '" + cluster() + "' ended the answer "
              + "with a frame the hub cannot read"));
        }
      }
      channel.send(p.requesterNode, message);
    } else if (type == BinaryFrames.CREDIT && p != null && p.upgraded) {
      // The agent has room for more of what the client sends into the session.
      try {
        channel.send(p.requesterNode, FrameMessage.reversed(message.frame()));
      } catch (ProtocolException e) {
        warnings.warn("agent of cluster {} sent a bad credit: {}", cluster(), Texts.forLog(e.getMessage()));
      }
    } else {
      warnings.warn("agent of cluster {} sent a {} frame, which only the hub sends", cluster(), type);
    }
  }

  /** An {@code error} frame from the agent: about one exchange, which then ends, or about the connection. */
  public void reported(Frame.Error error) {
    Pending p = error.id() == null ? null : pending.get(error.id());
    if (p != null) {
      fail(p, "the agent reported " + Texts.forLog(error.code()) + ": " + Texts.forLog(error.message()));
    } else {
      warnings.warn("agent of cluster {} reported {}: {}", cluster(), Texts.forLog(error.code()),
          Texts.forLog(error.message()));
    }
  }

  /** A frame of exchange {@code id} could not be read: the exchange ends now rather than at its timeout. */
  public void refused(String id, String why) {
    Pending p = pending.get(id);
    if (p != null) {
      cancelOnAgent(id, "unreadable frame");
      fail(p, "the agent of cluster '" + cluster() + "' sent a frame the hub cannot read: " + Texts.forLog(why));
    }
  }

  /**
   * Ends a body that stops moving: an answer that is not a stream must keep coming while its client
   * has room for it (a client that reads slowly holds it back, and that is not the agent's fault).
   */
  private void watchBody(Pending p) {
    p.lastProgress = System.currentTimeMillis();
    p.timer = vertx.setTimer(limits.requestTimeoutMillis(), t -> checkBody(p));
  }

  private void checkBody(Pending p) {
    if (pending.get(p.request.id()) != p) {
      return;
    }
    long timeout = limits.requestTimeoutMillis();
    long idle = System.currentTimeMillis() - p.lastProgress;
    boolean agentMayWrite = p.received < p.granted;
    if (agentMayWrite && idle >= timeout) {
      cancelOnAgent(p.request.id(), "the body stopped");
      fail(p, "the agent of cluster '" + cluster() + "' sent no more of the answer to " + p.request.method()
          + " " + Texts.forLog(p.request.path()) + " for " + idle + " ms");
      return;
    }
    long next = agentMayWrite ? timeout - idle : timeout;
    p.timer = vertx.setTimer(Math.max(10, next), t -> checkBody(p));
  }

  /** Credit or cancel from the node that asked, for a stream in progress; or what its client sends into a session. */
  private void fromRequester(FrameMessage message) {
    Pending p = pending.get(message.id());
    if (p == null) {
      return;
    }
    if (message.type() == BinaryFrames.DATA) {
      if (p.upgraded && message.reversed()) {
        link.send(message);
      }
      return;
    }
    Frame frame;
    try {
      frame = message.frame();
    } catch (ProtocolException e) {
      return;
    }
    if (frame instanceof Frame.Cancel) {
      finish(p.request.id());
      vertx.cancelTimer(p.timer);
    } else if (frame instanceof Frame.Credit credit) {
      p.granted += credit.credits();
      p.lastProgress = System.currentTimeMillis();
    } else {
      return;
    }
    link.send(message);
  }

  private void cancelOnAgent(String id, String reason) {
    link.send(FrameMessage.of(new Frame.Cancel(id, reason)));
  }

  /** The agent sent a heartbeat answer: refresh presence, and stop if another session took over. */
  public void heard(long latencyMillis) {
    if (closed || presenceWrite != null) {
      return; // the previous heartbeat's write is still under way; this one is not needed
    }
    Presence.Entry previous = entry;
    Presence.Entry next = previous.seen(System.currentTimeMillis(), latencyMillis);
    entry = next;
    if (!"agent".equals(next.mode())) {
      // Every node serving a direct cluster writes its presence; the freshest wins.
      presence.put(next);
      return;
    }
    Future<Boolean> replace = presence.replace(previous, next);
    presenceWrite = replace;
    replace.onComplete(ar -> writeDone(replace)).onSuccess(replaced -> {
      if (!replaced && !closed) {
        link.close(CloseCodes.REPLACED,
            "another connection for cluster '" + cluster() + "' took over");
      }
    });
  }

  /**
   * This node is leaving: new requests are turned away with {@link #AGENT_MOVING} (their senders
   * retry until the agent is connected elsewhere), the requests already here are answered, and then
   * the agent is told to go (its streams end; their clients resume through another node).
   */
  public Future<Void> drain(String reason) {
    // On the session's context, like everything that reads its pending requests (a timer started
    // from the shutdown's context would read them from another thread).
    Promise<Void> drained = Promise.promise();
    context.runOnContext(v -> drainHere(reason).onComplete(drained));
    return drained.future();
  }

  private Future<Void> drainHere(String reason) {
    if (closed || !started) {
      return Future.succeededFuture();
    }
    draining = true;
    releaseWaiting("the agent of cluster '" + cluster() + "' is moving to another hub node");
    long deadline = System.currentTimeMillis() + DRAIN_MILLIS;
    return Deadlines.waitUntil(vertx, deadline, 20,
        () -> closed || pending.values().stream().allMatch(p -> p.request.stream()))
        .onComplete(ar -> link.goAway(reason));
  }

  /** The connection is gone: answer everything in flight, withdraw the presence entry. */
  public Future<Void> close(String reason) {
    if (closed) {
      return Future.succeededFuture();
    }
    closed = true;
    releaseWaiting("the agent of cluster '" + cluster() + "' disconnected (" + Texts.forLog(reason) + ")");
    List<Pending> open = new ArrayList<>(pending.values());
    pending.clear();
    for (Pending p : open) {
      vertx.cancelTimer(p.timer);
      uncount(p);
      channel.forgetOwner(p.request.id());
      String why = "the agent of cluster '" + cluster() + "' disconnected (" + Texts.forLog(reason) + ")";
      if (p.headSent) {
        channel.send(p.requesterNode, FrameMessage.of(new Frame.End(p.request.id(), why)));
      } else if (ClusterRouter.IDEMPOTENT_METHODS.contains(p.request.method())) {
        // Safe to ask again: the sender resends it to the agent's next session, wherever that is.
        p.message.fail(AGENT_MOVING, why);
      } else {
        replyStatus(p.message, p.request.id(), KmcException.unavailable(why));
      }
    }
    Future<?> writing = presenceWrite == null ? Future.succeededFuture() : presenceWrite;
    return writing.transform(ar -> presence.remove(entry)).mapEmpty();
  }

  private void writeDone(Future<?> write) {
    if (presenceWrite == write) {
      presenceWrite = null;
    }
  }

  private void finish(String id) {
    Pending p = pending.remove(id);
    if (p != null) {
      uncount(p);
    }
    channel.forgetOwner(id);
    admitWaiting();
  }

  /** Streams open through this session: requests asked as streams, and answers still flowing. */
  private long streamsOpen() {
    long streams = 0;
    for (Pending p : pending.values()) {
      if (p.countsAsStream()) {
        streams++;
      }
    }
    return streams;
  }

  /** For an entry just taken out of {@code pending}: one whose answer had started was a counted stream. */
  private void uncount(Pending p) {
    if (p.headSent) {
      metrics.streams(cluster(), -1);
    }
  }

  private void fail(Pending p, String why) {
    finish(p.request.id());
    vertx.cancelTimer(p.timer);
    warnings.warn("request {} {} to cluster {} failed: {}", p.request.method(), Texts.forLog(p.request.path()),
        cluster(), why);
    if (p.headSent) {
      channel.send(p.requesterNode, FrameMessage.of(new Frame.End(p.request.id(), why)));
    } else {
      replyStatus(p.message, p.request.id(), KmcException.badGateway(why));
    }
  }

  private void replyStatus(Message<FrameMessage> message, String id, KmcException e) {
    message.reply(FrameMessage.of(Frame.Response.failure(id, e)),
        new DeliveryOptions().addHeader(Addresses.HEADER_OWNER_NODE, nodes.nodeId()));
  }
}
