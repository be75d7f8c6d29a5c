package io.kmc.hub.gateway;

import io.kmc.common.protocol.BinaryFrames;
import io.kmc.common.protocol.CloseCodes;
import io.kmc.common.protocol.Frame;
import io.kmc.common.protocol.FrameCodec;
import io.kmc.common.protocol.Limits;
import io.kmc.common.protocol.ProtocolException;
import io.kmc.common.protocol.ProtocolVersions;
import io.kmc.hub.index.IndexWriter;
import io.kmc.hub.routing.AgentSession;
import io.kmc.hub.routing.HubNodes;
import io.kmc.hub.routing.FrameMessage;
import io.kmc.hub.routing.Presence;
import io.kmc.ops.PeerWarnings;
import io.kmc.ops.Texts;
import io.kmc.ops.WebSocketMessages;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ServerWebSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.OptionalInt;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One agent websocket on the hub: waits for hello, negotiates the protocol version, then feeds the
 * agent's frames to its {@link AgentSession} and enforces the ping deadline. Bad frames are answered
 * with error frames; the connection and the node carry on.
 */
final class AgentConnection implements AgentSession.Link {

  private static final Logger LOG = LoggerFactory.getLogger(AgentConnection.class);

  private final Vertx vertx;
  private final Context context;
  private final ServerWebSocket ws;
  private final String cluster;
  private final AgentGateway gateway;
  private final Limits limits;
  private AgentSession session;
  /** Writes the agent's index batches, when the agent feeds the index; null otherwise. */
  private IndexWriter indexWriter;
  private long lastReceived = System.currentTimeMillis();
  private long lastPingSent;
  /** When presence was last refreshed from this connection (by a pong, or by other traffic). */
  private long lastPresence = System.currentTimeMillis();
  private long helloTimer = -1;
  private LivenessSweep sweep;
  private boolean ended;
  /** The protocol version agreed in hello; 0 before. */
  private int version;
  /** The agent reads requests' meta in binary ({@link BinaryFrames#FLAG_BINARY_HEAD}). */
  private boolean binaryHeads;
  /** Warnings about what this agent sends: at most a few a minute are logged, the rest counted. */
  private final PeerWarnings warnings;

  AgentConnection(Vertx vertx, ServerWebSocket ws, String cluster, AgentGateway gateway) {
    this.vertx = vertx;
    this.context = vertx.getOrCreateContext();
    this.ws = ws;
    this.cluster = cluster;
    this.gateway = gateway;
    this.limits = gateway.limits();
    this.warnings = new PeerWarnings(LOG, "the agent connection of cluster " + cluster,
        gateway.metrics()::peerWarningSuppressed);
  }

  void begin() {
    ws.textMessageHandler(this::receivedText);
    ws.binaryMessageHandler(this::receivedBinary);
    ws.exceptionHandler(this::failed);
    ws.closeHandler(v -> end("connection closed" + (ws.closeReason() == null ? "" : ": " + ws.closeReason())));
    helloTimer = vertx.setTimer(gateway.helloTimeoutMillis(), t -> {
      if (session == null) {
        close(CloseCodes.PROTOCOL_ERROR, "no hello within " + gateway.helloTimeoutMillis() + " ms");
      }
    });
    sweep = gateway.sweep();
    sweep.add(this);
  }

  /** A text message: a control frame, or in protocol v1 any frame. */
  private void receivedText(String text) {
    lastReceived = System.currentTimeMillis();
    Frame frame;
    try {
      frame = FrameCodec.decode(text);
    } catch (ProtocolException e) {
      warnings.warn("bad frame from the agent of cluster {}: {}", cluster, Texts.forLog(e.getMessage()));
      String id = session == null ? null : FrameCodec.exchangeId(text.getBytes(StandardCharsets.UTF_8));
      sendError(id, e.code(), e.getMessage());
      if (id != null) {
        session.refused(id, e.getMessage());
      }
      return;
    }
    if (session == null) {
      if (frame instanceof Frame.Hello hello) {
        hello(hello);
      } else {
        sendError(null, ProtocolException.UNEXPECTED_FRAME, "the first frame must be hello");
        close(CloseCodes.PROTOCOL_ERROR, "expected hello, got " + frame.getClass().getSimpleName());
      }
    } else if (frame instanceof Frame.Ping ping) {
      gateway.metrics().ping(false);
      sendControl(new Frame.Pong(ping.sentAtMillis()));
    } else if (frame instanceof Frame.Pong pong) {
      lastPresence = System.currentTimeMillis();
      long roundTrip = Math.max(0, lastPresence - pong.sentAtMillis());
      gateway.metrics().heartbeat(roundTrip);
      session.heard(roundTrip);
    } else if (frame instanceof Frame.Error error) {
      session.reported(error);
    } else if (frame instanceof Frame.Index batch) {
      if (indexWriter == null) {
        sendControl(new Frame.IndexAck(batch.seq(), gateway.index() == null ? "this hub keeps no index"
            : "index batches need the index capability in hello", null));
      } else {
        indexWriter.receive(batch);
      }
    } else if (frame instanceof Frame.IndexSynced marker) {
      if (indexWriter != null) {
        indexWriter.caughtUp(marker);
      }
    } else if (frame instanceof Frame.Response || frame instanceof Frame.Data || frame instanceof Frame.End) {
      if (version == ProtocolVersions.V1) {
        session.fromAgent(FrameMessage.of((Frame.Exchange) frame));
      } else {
        sendError(((Frame.Exchange) frame).id(), ProtocolException.UNEXPECTED_FRAME,
            "protocol v2 sends exchange frames as binary messages");
      }
    } else {
      sendError(null, ProtocolException.UNEXPECTED_FRAME, "an agent does not send '"
          + FrameCodec.typeName(frame) + "' frames");
    }
  }

  /** A binary message: an exchange frame of protocol v2, routed by its header. */
  private void receivedBinary(Buffer message) {
    lastReceived = System.currentTimeMillis();
    if (session == null || version != ProtocolVersions.V2) {
      sendError(null, ProtocolException.MALFORMED_FRAME, "binary messages are protocol v2 exchange frames; "
          + (session == null ? "say hello first" : "this connection speaks v1, with text messages only"));
      return;
    }
    FrameMessage frame;
    try {
      frame = FrameMessage.binary(message);
    } catch (ProtocolException e) {
      warnings.warn("bad frame from the agent of cluster {}: {}", cluster, Texts.forLog(e.getMessage()));
      sendError(null, e.code(), e.getMessage());
      return;
    }
    byte type = frame.type();
    if (type == BinaryFrames.RESPONSE || type == BinaryFrames.DATA || type == BinaryFrames.END
        || type == BinaryFrames.CREDIT) {
      session.fromAgent(frame);
    } else {
      sendError(frame.id(), ProtocolException.UNEXPECTED_FRAME, "an agent does not send frames of type " + type);
    }
  }

  private void hello(Frame.Hello hello) {
    if (!cluster.equals(hello.cluster())) {
      sendError(null, ProtocolException.UNEXPECTED_FRAME, "hello names cluster '" + Texts.forLog(hello.cluster())
          + "' but the connection was authenticated for '" + cluster + "'");
      close(CloseCodes.PROTOCOL_ERROR, "cluster mismatch");
      return;
    }
    OptionalInt version = ProtocolVersions.negotiate(hello.protocolVersions());
    String agentVersion = Texts.bounded(hello.agentVersion(), 64);
    String kubernetesVersion = Texts.bounded(hello.kubernetesVersion(), 64);
    if (version.isEmpty()) {
      String message = "protocol versions " + Texts.forLog(String.valueOf(hello.protocolVersions()))
          + " are not supported; this hub speaks " + ProtocolVersions.SUPPORTED;
      LOG.warn("agent of cluster {} (version {}): {}", cluster, agentVersion, message);
      sendError(null, ProtocolException.UNSUPPORTED_VERSION, message);
      close(CloseCodes.UNSUPPORTED_VERSION, message);
      return;
    }
    vertx.cancelTimer(helloTimer);
    long now = System.currentTimeMillis();
    Presence.Entry entry = new Presence.Entry(cluster, gateway.nodes().nodeId(), UUID.randomUUID().toString(),
        "agent", now, now, agentVersion, kubernetesVersion, version.getAsInt(), -1);
    session = gateway.newSession(context, entry, this);
    this.version = version.getAsInt();
    this.binaryHeads = hello.capabilities().contains(BinaryFrames.BINARY_HEADS);
    sendControl(new Frame.Welcome(this.version, gateway.nodes().nodeId(), limits, gateway.index() == null
        ? List.of(BinaryFrames.BINARY_HEADS)
        : List.of(BinaryFrames.BINARY_HEADS, "index", Frame.IndexSynced.INDEX_SYNCED)));
    boolean indexing = gateway.index() != null && hello.capabilities().contains("index");
    // Who held the cluster before: an agent that moved from another node did not newly connect. Read
    // before the session's entry is written, and without delaying that write (heartbeats wait for it).
    Future<Presence.Entry> holder = gateway.holder(cluster);
    session.start()
        .onSuccess(v -> {
          if (indexing && !ended) {
            indexWriter = gateway.index().writer(cluster, this::sendControl,
                hello.capabilities().contains(Frame.IndexSynced.INDEX_SYNCED));
            indexWriter.open();
          }
        })
        .compose(v -> holder)
        .onSuccess(previous -> {
          gateway.metrics().agentConnected(cluster);
          gateway.connected(entry, previous);
          LOG.atInfo().addKeyValue("cluster", cluster).addKeyValue("agentVersion", agentVersion)
              .log("cluster {} connected (agent {}, Kubernetes {}) from {}", cluster, agentVersion,
                  kubernetesVersion, ws.remoteAddress());
        })
        .onFailure(e -> {
          LOG.error("cannot register the session of cluster {}: {}", cluster, e.getMessage());
          close(CloseCodes.GOING_AWAY, "the hub could not register this connection; reconnect");
        });
  }

  /**
   * Called by the event loop's {@link LivenessSweep}: drops a silent connection, pings one that has
   * been idle for a ping interval (a busy connection proves itself alive with its traffic, and an
   * agent's own pings count), and keeps presence fresh from whatever was heard.
   */
  void heartbeat(long now) {
    if (now - lastReceived > limits.pingTimeoutMillis()) {
      LOG.warn("agent of cluster {} silent for {} ms: dropping the connection", cluster, now - lastReceived);
      close(CloseCodes.SILENT, "no traffic for " + (now - lastReceived) + " ms");
      return;
    }
    if (session == null) {
      return;
    }
    long interval = limits.pingIntervalMillis();
    if (now - lastReceived >= interval && now - lastPingSent >= interval) {
      lastPingSent = now;
      gateway.metrics().ping(true);
      sendControl(new Frame.Ping(now));
    } else if (lastReceived > lastPresence && now - lastPresence >= interval) {
      // Traffic but no pong this interval: the agent is there all the same, and presence must say so.
      lastPresence = now;
      session.heard(session.entry().latencyMillis());
    }
  }

  private void failed(Throwable e) {
    String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    // Vert.x reports a message over the limit this way and drops it; the connection carries on.
    if (message.contains("max message size")) {
      warnings.warn("agent of cluster {} sent a message over {} bytes", cluster, limits.maxFrameBytes());
      sendError(null, ProtocolException.FRAME_TOO_LARGE, "message larger than " + limits.maxFrameBytes()
          + " bytes (tunnel.max_frame_bytes); it was dropped");
    } else {
      warnings.warn("websocket of cluster {}: {}", cluster, Texts.forLog(message));
    }
  }

  @Override
  public long silentMillis() {
    return System.currentTimeMillis() - lastReceived;
  }

  /** An exchange frame, in the form the connection's protocol version sends it. */
  @Override
  public void send(FrameMessage frame) {
    if (ended) {
      return;
    }
    if (version == ProtocolVersions.V2 && binaryHeads && frame.type() == BinaryFrames.REQUEST) {
      // Decoded already: the session read it to check its limits.
      WebSocketMessages.writeBinary(ws, Buffer.buffer(BinaryFrames.encode(frame.frame(), BinaryFrames.FLAG_BINARY_HEAD)));
    } else if (version == ProtocolVersions.V2) {
      WebSocketMessages.writeBinary(ws, frame.binary());
    } else {
      WebSocketMessages.writeText(ws, FrameCodec.encodeToString(frame.frame()));
    }
  }

  @Override
  public boolean carriesUpgrades() {
    return version >= ProtocolVersions.V2;
  }

  private void sendControl(Frame frame) {
    if (!ended) {
      WebSocketMessages.writeText(ws, FrameCodec.encodeToString(frame));
    }
  }

  private void sendError(String id, String code, String message) {
    sendControl(new Frame.Error(id, code, message));
  }

  /**
   * Closes and cleans up at once: a socket a load balancer dropped would not complete a close
   * handshake, and the cluster must not look connected meanwhile.
   */
  @Override
  public void close(short code, String reason) {
    if (!ended) {
      ws.close(code, reason);
    }
    end(reason);
  }

  @Override
  public void goAway(String reason) {
    // A little spread, so that a node's agents do not all redial the same instant.
    sendControl(new Frame.GoAway(reason, ThreadLocalRandom.current().nextLong(50, 500)));
  }

  private void end(String reason) {
    if (ended) {
      return;
    }
    ended = true;
    vertx.cancelTimer(helloTimer);
    if (sweep != null) {
      LivenessSweep held = sweep;
      if (Vertx.currentContext() == context) {
        held.remove(this);
      } else {
        context.runOnContext(v -> held.remove(this));
      }
    }
    if (indexWriter != null) {
      indexWriter.close();
    }
    if (session != null) {
      gateway.metrics().agentDisconnected(cluster);
      LOG.atInfo().addKeyValue("cluster", cluster).log("cluster {} disconnected: {}", cluster, Texts.forLog(reason));
      gateway.ended(session);
      String sessionId = session.sessionId();
      session.close(reason).onComplete(ar -> gateway.disconnected(cluster, sessionId, Texts.bounded(reason, 200)));
    }
  }
}
