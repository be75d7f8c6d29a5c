package io.kmc.agent.tunnel;

import io.kmc.common.protocol.AgentEndpoint;
import io.kmc.agent.AgentClock;
import io.kmc.agent.AgentConfig;
import io.kmc.agent.AgentMetrics;
import io.kmc.agent.index.IndexFeed;
import io.kmc.ops.BlockingPool;
import io.kmc.agent.kube.KubeAccess;
import io.kmc.agent.kube.KubeHttp;
import io.kmc.agent.kube.KubeRequestExecutor;
import io.kmc.common.KmcException;
import io.kmc.common.KmcVersion;
import io.kmc.common.protocol.BinaryFrames;
import io.kmc.common.protocol.CloseCodes;
import io.kmc.common.protocol.Frame;
import io.kmc.common.protocol.FrameCodec;
import io.kmc.common.protocol.Limits;
import io.kmc.common.protocol.ProtocolException;
import io.kmc.common.protocol.ProtocolVersions;
import io.kmc.ops.Texts;
import io.kmc.ops.WebSocketMessages;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.net.TrustOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.nio.file.Files;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Keeps one websocket open to the hub: dials out (trying the hub URLs in turn), authenticates with
 * the join token in the handshake, says hello, answers the hub's requests with a
 * {@link KubeRequestExecutor}, and watches the connection with a ping deadline. Whatever ends a
 * connection (close, error, silence, a goaway), it redials with capped, jittered exponential
 * backoff.
 */
public final class HubConnector extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(HubConnector.class);
  private static final long HELLO_TIMEOUT_MILLIS = 10_000;
  /** After a goaway, how long requests in flight may take before the agent leaves anyway. */
  private static final long DRAIN_MILLIS = 10_000;

  private final AgentConfig config;
  private final KubeAccess kube;
  private final BlockingPool clientJava;
  private final KubeHttp http;
  private final AgentMetrics metrics;
  /** Feeds the hub's fleet index when the hub keeps one; null when indexing is off. */
  private final IndexFeed index;

  private WebSocketClient client;
  private HubTrust trust;
  private Session session;
  private int urlIndex;
  private int failedAttempts;
  private long redialTimer = -1;
  private boolean stopping;
  private String kubernetesVersion = "unknown";

  public HubConnector(AgentConfig config, KubeAccess kube, BlockingPool clientJava, KubeHttp http,
                      AgentMetrics metrics, IndexFeed index) {
    this.index = index;
    this.config = config;
    this.kube = kube;
    this.clientJava = clientJava;
    this.http = http;
    this.metrics = metrics;
  }

  @Override
  public Future<?> start() {
    // Reading hub.ca_file is file I/O: not on the event loop.
    return vertx.executeBlocking(() -> HubTrust.create(config), false).map(hubTrust -> {
      trust = hubTrust;
      WebSocketClientOptions options = new WebSocketClientOptions()
          // As the hub: frames up to a message are taken; what the agent sends is cut into 64 KiB fragments.
          .setMaxFrameSize(2 * config.maxMessageBytes())
          .setMaxMessageSize(config.maxMessageBytes())
          .setConnectTimeout((int) config.connectTimeout().toMillis())
          .setTrustAll(config.insecureSkipTlsVerify())
          .setVerifyHost(!config.insecureSkipTlsVerify());
      if (!config.insecureSkipTlsVerify()) {
        options.setTrustOptions(TrustOptions.wrap(trust.manager()));
      }
      client = vertx.createWebSocketClient(options);
      dial();
      return null;
    });
  }

  @Override
  public Future<?> stop() {
    stopping = true;
    vertx.cancelTimer(redialTimer);
    Session current = session;
    session = null;
    Future<Void> closed = current == null ? Future.succeededFuture() : current.close(CloseCodes.GOING_AWAY, "agent shutting down");
    return closed.eventually(() -> client.close());
  }

  /** True once the hub has welcomed the current connection. */
  public boolean connected() {
    Session current = session;
    return current != null && current.welcomed;
  }

  /** Requests and streams the agent is working on. */
  public int inProgress() {
    Session current = session;
    return current == null || current.executor == null ? 0 : current.executor.inProgress();
  }

  /** Streams the agent is serving. */
  public long streamsInProgress() {
    Session current = session;
    return current == null || current.executor == null ? 0 : current.executor.streamsInProgress();
  }

  /** Requests (not streams) in progress on the current connection. */
  public long requestsInProgress() {
    Session current = session;
    return current == null || current.executor == null ? 0 : current.executor.requestsInProgress();
  }

  /** The hub URL of the current connection, or null. */
  public URI connectedTo() {
    Session current = session;
    return current == null ? null : current.url;
  }

  // ---- dialling ---------------------------------------------------------------------------------

  private void dial() {
    if (stopping) {
      return;
    }
    URI url = config.hubUrls().get(Math.floorMod(urlIndex, config.hubUrls().size()));
    token().onComplete(read -> {
      if (read.failed()) {
        LOG.error("cannot read the join token from {}: {}", config.tokenFile(), read.cause().getMessage());
        scheduleRedial();
      } else {
        connect(url, read.result());
      }
    });
  }

  private void connect(URI url, String token) {
    refreshKubernetesVersion()
        .compose(v -> {
          trust.reset();
          return client.connect(connectOptions(url, token));
        })
        .onSuccess(ws -> {
          metrics.dialed("ok");
          opened(url, ws);
        })
        .onFailure(e -> {
          metrics.dialed(e instanceof UpgradeRejectedException ? "refused" : "error");
          long retryAfter = e instanceof UpgradeRejectedException rejected ? retryAfterMillis(rejected) : -1;
          if (retryAfter >= 0) {
            // The hub is absorbing a crowd of reconnecting agents and said when to come back: not a failure.
            LOG.info("hub {} is busy with new connections and asked for a retry in {} ms", url, retryAfter);
            redialTimer = vertx.setTimer(Math.max(1, retryAfter + ThreadLocalRandom.current().nextLong(1000)),
                t -> dial());
            return;
          }
          if (e instanceof UpgradeRejectedException rejected) {
            String body = rejected.getBody() == null ? "" : rejected.getBody().toString();
            LOG.error("hub {} refused the connection for cluster {}: HTTP {} {}", url, config.cluster(),
                rejected.getStatus(), Texts.bounded(body, 300));
          } else if (url.getScheme().equals("wss") && trust.explain(url) != null) {
            LOG.error("cannot connect to hub {}: {}", url, trust.explain(url));
          } else {
            LOG.warn("cannot connect to hub {}: {}", url, e.getMessage());
          }
          scheduleRedial();
        });
  }

  private WebSocketConnectOptions connectOptions(URI url, String token) {
    return new WebSocketConnectOptions()
        .setAbsoluteURI(url.toString())
        .addHeader("Authorization", "Bearer " + token)
        .addHeader(AgentEndpoint.CLUSTER_HEADER, config.cluster())
        .addHeader("User-Agent", "kmc-agent/" + KmcVersion.current())
        .setTimeout(config.connectTimeout().toMillis());
  }

  /** The join token, from the file at every dial (a rotated Secret is picked up) or the configuration. */
  private Future<String> token() {
    if (config.tokenFile() == null) {
      return Future.succeededFuture(config.token());
    }
    return vertx.fileSystem().readFile(config.tokenFile().toString()).map(bytes -> bytes.toString().trim());
  }

  /** The kube-apiserver's version goes into hello; a failure is not fatal, it is reported as unknown. */
  private Future<Void> refreshKubernetesVersion() {
    return clientJava.submit(context, kube::serverVersion)
        .map(version -> {
          kubernetesVersion = version;
          return (Void) null;
        })
        .recover(e -> {
          LOG.warn("cannot read the Kubernetes version: {}", e.getMessage());
          kubernetesVersion = "unknown";
          return Future.succeededFuture();
        });
  }

  private void scheduleRedial() {
    if (stopping) {
      return;
    }
    urlIndex++;
    long delay = backoffMillis(failedAttempts++);
    LOG.info("redialling the hub in {} ms", delay);
    redialTimer = vertx.setTimer(delay, t -> dial());
  }

  /**
   * The delay a hub that turned the dial away asked for: a 503 with {@code Retry-After} in seconds
   * (capped at an hour); -1 for any other refusal.
   */
  static long retryAfterMillis(UpgradeRejectedException rejected) {
    if (rejected.getStatus() != 503 || rejected.getHeaders() == null) {
      return -1;
    }
    String value = rejected.getHeaders().get("Retry-After");
    if (value == null) {
      return -1;
    }
    try {
      return Math.min(3_600_000, Math.max(0, Long.parseLong(value.trim()) * 1000));
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** Exponential in the number of failures, capped, with the upper half jittered. */
  long backoffMillis(int attempt) {
    long initial = config.initialBackoff().toMillis();
    long cap = config.maxBackoff().toMillis();
    long exponential = attempt >= 30 ? cap : Math.min(cap, initial << attempt);
    long half = Math.max(1, exponential / 2);
    return half + ThreadLocalRandom.current().nextLong(half + 1);
  }

  private void opened(URI url, WebSocket ws) {
    if (stopping) {
      ws.close(CloseCodes.GOING_AWAY, "agent shutting down");
      return;
    }
    Session current = new Session(url, ws);
    session = current;
    current.begin();
  }

  private void ended(Session ended, String why) {
    if (session != ended) {
      return;
    }
    session = null;
    LOG.warn("connection to hub {} ended: {}", ended.url, Texts.forLog(why));
    if (ended.redialAfterMillis >= 0) {
      redialTimer = vertx.setTimer(Math.max(1, ended.redialAfterMillis), t -> dial());
      urlIndex++;
    } else {
      scheduleRedial();
    }
  }

  /** One websocket connection, from open to close. */
  private final class Session {
    final URI url;
    final WebSocket ws;
    boolean welcomed;
    boolean ended;
    long redialAfterMillis = -1;
    long lastReceived = monotonicMillis();
    long lastPingSent;
    long helloTimer = -1;
    long heartbeatTimer = -1;
    Limits limits;
    /** The protocol version the hub chose; 0 until welcomed. */
    int version;
    KubeRequestExecutor executor;
    /** The hub keeps an index and this connection feeds it. */
    boolean indexing;
    /** The hub reads requests' and responses' meta in binary ({@link BinaryFrames#FLAG_BINARY_HEAD}). */
    byte headFlag;

    Session(URI url, WebSocket ws) {
      this.url = url;
      this.ws = ws;
    }

    void begin() {
      ws.textMessageHandler(this::received);
      ws.binaryMessageHandler(this::receivedBinary);
      ws.exceptionHandler(e -> LOG.warn("websocket to {}: {}", url, e.getMessage()));
      ws.closeHandler(v -> {
        if (Short.valueOf(CloseCodes.REPLACED).equals(ws.closeStatusCode())) {
          // Another agent of this cluster connected; redialling at once would make the two fight.
          LOG.warn("the hub closed this connection because another agent of cluster {} connected; "
              + "is a second agent running? Redialling in {}", config.cluster(), config.maxBackoff());
          redialAfterMillis = config.maxBackoff().toMillis();
        }
        end("closed by the hub" + (ws.closeReason() == null ? "" : ": " + ws.closeReason()));
      });
      List<String> capabilities = index == null
          ? List.of("stream", "chunked-body", "impersonate", BinaryFrames.BINARY_HEADS)
          : List.of("stream", "chunked-body", "impersonate", BinaryFrames.BINARY_HEADS, "index",
              Frame.IndexSynced.INDEX_SYNCED);
      send(new Frame.Hello(config.protocolVersions(), config.cluster(), KmcVersion.current(), kubernetesVersion,
          capabilities));
      helloTimer = vertx.setTimer(HELLO_TIMEOUT_MILLIS, t -> {
        if (!welcomed) {
          close(CloseCodes.PROTOCOL_ERROR, "no welcome from the hub within " + HELLO_TIMEOUT_MILLIS + " ms");
        }
      });
    }

    void received(String text) {
      lastReceived = monotonicMillis();
      Frame frame;
      try {
        frame = FrameCodec.decode(text);
      } catch (ProtocolException e) {
        LOG.warn("bad frame from hub {}: {}", url, Texts.forLog(e.getMessage()));
        send(e.toFrame(null));
        return;
      }
      if (frame instanceof Frame.Welcome welcome) {
        welcomed(welcome);
      } else if (!welcomed) {
        close(CloseCodes.PROTOCOL_ERROR, "expected welcome, got " + frame.getClass().getSimpleName());
      } else if (frame instanceof Frame.Ping ping) {
        send(new Frame.Pong(ping.sentAtMillis()));
      } else if (frame instanceof Frame.Pong) {
        // lastReceived is all a pong is for
      } else if (frame instanceof Frame.GoAway goAway) {
        LOG.info("hub {} asked to reconnect elsewhere: {}", url, Texts.forLog(goAway.reason()));
        redialAfterMillis = goAway.reconnectAfterMillis();
        failedAttempts = 0;
        leaveWhenIdle(monotonicMillis() + DRAIN_MILLIS);
      } else if (frame instanceof Frame.IndexAck ack) {
        if (index != null && indexing) {
          if (ack.seq() == 0) {
            index.resume(ack.watermarks());
          } else {
            index.acked(ack.seq(), ack.error());
          }
        }
      } else if (frame instanceof Frame.Error error) {
        LOG.warn("hub {} reported {} for {}: {}", url, Texts.forLog(error.code()),
            error.id() == null ? "the connection" : Texts.forLog(error.id()), Texts.forLog(error.message()));
      } else {
        dispatch(frame);
      }
    }

    /** Requests for a cached object are answered from the index's informers; everything else by the executor. */
    void dispatch(Frame frame) {
      if (indexing && frame instanceof Frame.Request request && request.path().startsWith(Frame.Index.CACHE_PATH)) {
        fromCache(request);
      } else {
        executor.handle(frame);
      }
    }

    /** One whole object from the informers' cache, read on the client-java pool; the answer hops back here. */
    void fromCache(Frame.Request request) {
      String[] parts = request.path().substring(Frame.Index.CACHE_PATH.length()).split("/");
      if (parts.length != 5) {
        send(Frame.Response.failure(request.id(), KmcException.badRequest("a cache path is "
            + Frame.Index.CACHE_PATH + "<group>/<version>/<resource>/<namespace or _>/<name>")));
        return;
      }
      String group = "core".equals(parts[0]) ? "" : parts[0];
      String namespace = "_".equals(parts[3]) ? null : parts[3];
      clientJava.submit(context, () -> index.cachedObject(group, parts[2], namespace, parts[4])).onComplete(read -> {
        KmcException failure = null;
        if (read.failed()) {
          failure = read.cause() instanceof SecurityException ? KmcException.forbidden(read.cause().getMessage())
              : KmcException.internal("cannot read the cache: " + read.cause().getMessage(), read.cause());
        } else if (read.result() == null) {
          failure = KmcException.notFound(parts[2] + " \"" + parts[4] + "\" is not in the agent's index cache");
        } else if (read.result().length > limits.chunkBytes()) {
          failure = KmcException.tooLarge("the object is larger than one chunk; read it through the cluster's context");
        }
        send(failure != null ? Frame.Response.failure(request.id(), failure)
            : new Frame.Response(request.id(), 200, java.util.Map.of("Content-Type", List.of("application/json")),
                read.result(), false));
      });
    }

    void welcomed(Frame.Welcome welcome) {
      if (welcomed || !config.protocolVersions().contains(welcome.protocolVersion())) {
        close(CloseCodes.PROTOCOL_ERROR, welcomed ? "second welcome" : "hub chose unsupported protocol version " + welcome.protocolVersion());
        return;
      }
      welcomed = true;
      failedAttempts = 0;
      vertx.cancelTimer(helloTimer);
      limits = welcome.limits();
      version = welcome.protocolVersion();
      headFlag = welcome.capabilities().contains(BinaryFrames.BINARY_HEADS) ? BinaryFrames.FLAG_BINARY_HEAD : 0;
      executor = new KubeRequestExecutor(context, http, limits, this::send, metrics);
      long tick = Math.max(50, Math.min(1000, limits.pingIntervalMillis() / 2));
      heartbeatTimer = vertx.setPeriodic(tick, t -> heartbeat());
      LOG.info("connected to hub {} (node {}) as cluster {}", url, welcome.hubNode(), config.cluster());
      if (index != null && welcome.capabilities().contains("index")) {
        indexing = true;
        // Called on the feed's threads: the frame is written on this connection's context, if it is still open.
        index.attach(frame -> context.runOnContext(v -> send(frame)),
            welcome.capabilities().contains(Frame.IndexSynced.INDEX_SYNCED));
      }
    }

    /**
     * Leaves after a goaway: streams end at once (their clients resume through another node);
     * requests in flight are answered first, for up to the deadline.
     */
    void leaveWhenIdle(long deadline) {
      executor.cancelStreams();
      if (ended) {
        return;
      }
      if (executor.requestsInProgress() == 0 || monotonicMillis() >= deadline) {
        close(CloseCodes.NORMAL, "going away as asked");
      } else {
        vertx.setTimer(20, t -> leaveWhenIdle(deadline));
      }
    }

    /** Pings when the connection has been idle for the ping interval; gives up on a hub silent past the deadline. */
    void heartbeat() {
      long now = monotonicMillis();
      if (now - lastReceived > limits.pingTimeoutMillis()) {
        close(CloseCodes.GOING_AWAY, "no traffic from the hub for " + (now - lastReceived) + " ms");
        return;
      }
      // Only when idle, like the hub: traffic either way (the hub's own ping included) proves the
      // connection, so an idle link carries one ping and one pong per interval, not one from each side.
      long interval = limits.pingIntervalMillis();
      if (now - lastReceived >= interval && now - lastPingSent >= interval) {
        lastPingSent = now;
        // The hub only echoes it: the agent's wall clock, right or not, is never compared with the hub's.
        send(new Frame.Ping(AgentClock.currentTimeMillis()));
      }
    }

    /** Sends a frame: in protocol v2 exchange frames as binary messages, everything else as JSON text. */
    void send(Frame frame) {
      if (ended) {
        return;
      }
      if (version == ProtocolVersions.V2 && frame instanceof Frame.Exchange exchange) {
        WebSocketMessages.writeBinary(ws, Buffer.buffer(BinaryFrames.encode(exchange, headFlag)));
      } else {
        WebSocketMessages.writeText(ws, FrameCodec.encodeToString(frame));
      }
    }

    /** A binary message: in protocol v2, a request, credit or cancel for the executor. */
    void receivedBinary(Buffer message) {
      lastReceived = monotonicMillis();
      if (version != ProtocolVersions.V2) {
        send(new Frame.Error(null, ProtocolException.MALFORMED_FRAME, "protocol v1 uses text messages only"));
        return;
      }
      Frame.Exchange frame;
      try {
        frame = BinaryFrames.decode(message.getBytes());
      } catch (ProtocolException e) {
        LOG.warn("bad frame from hub {}: {}", url, Texts.forLog(e.getMessage()));
        send(e.toFrame(null));
        return;
      }
      dispatch(frame);
    }

    /**
     * Closes and redials at once: a socket that a load balancer dropped will not finish a close
     * handshake, so nothing waits for one.
     */
    Future<Void> close(short code, String reason) {
      Promise<Void> closed = Promise.promise();
      ws.close(code, reason).onComplete(closed);
      end(reason);
      return closed.future();
    }

    void end(String why) {
      if (ended) {
        return;
      }
      ended = true;
      vertx.cancelTimer(helloTimer);
      vertx.cancelTimer(heartbeatTimer);
      if (executor != null) {
        executor.cancelAll();
      }
      if (indexing) {
        index.detach();
      }
      ended(this, why);
    }
  }

  /**
   * Milliseconds on a clock that only moves forward: silences and deadlines are measured on it, so that
   * the wall clock being set back (NTP correcting a skewed clock) cannot hide a dead hub for as long,
   * nor set forward make a live one look silent.
   */
  static long monotonicMillis() {
    return System.nanoTime() / 1_000_000;
  }
}
