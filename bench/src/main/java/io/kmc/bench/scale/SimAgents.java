package io.kmc.bench.scale;

import io.kmc.common.protocol.AgentEndpoint;
import io.kmc.common.protocol.BinaryFrames;
import io.kmc.common.protocol.Frame;
import io.kmc.common.protocol.FrameCodec;
import io.kmc.common.protocol.ProtocolVersions;
import io.vertx.core.AbstractVerticle;
import io.vertx.core.Context;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.OpenSSLEngineOptions;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Light agents for scale runs: each is one websocket (TLS when the URL says wss) to a hub, speaking
 * the real protocol (hello, protocol v2 binary exchange frames, ping/pong, index batches, goaway) with
 * the codec from {@code common}, and answering every request with the same canned object. No
 * Kubernetes client, no informers, no thread of its own: thousands fit in one small JVM, so that the
 * hub process's numbers are its own. A refused dial is redialled after the delay the hub asked for
 * ({@code Retry-After}) or a jittered back-off, as the real agent does.
 *
 * <p>Agents are spread round-robin over every event loop of the given Vert.x (each agent stays on
 * its loop: dials, timers and frames), and at most {@code maxDialing} dials are in flight at once;
 * the others wait in a queue. Without that bound, dialling faster than the two sides can finish TLS
 * handshakes piles up half-done handshakes until each takes longer than the hub's 10 s handshake
 * timeout, and most of the work is thrown away (the first passes of docs/scale.md: 15 of 200
 * asked a second completed, 791 of 1,831 dials timed out).
 */
public final class SimAgents implements AutoCloseable {

  /** What every simulated cluster answers to any request: a ConfigMap of a typical size. */
  static final byte[] CANNED = ("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"bench\","
      + "\"namespace\":\"default\",\"resourceVersion\":\"1\",\"labels\":{\"app\":\"kmc-bench\"}},"
      + "\"data\":{\"mode\":\"benchmark\",\"replicas\":\"3\",\"application.properties\":\""
      + "setting.0=value-0\\nsetting.1=value-1\\nsetting.2=value-2\\nsetting.3=value-3\\n\"}}")
      .getBytes(StandardCharsets.UTF_8);
  private static final Map<String, List<String>> JSON = Map.of("Content-Type", List.of("application/json"));

  private final Vertx vertx;
  private final WebSocketClient client;
  /** Hub nodes' agent URLs: an agent dials one, and the next when a dial fails or its connection ends. */
  private final List<String> urls;
  private final AtomicInteger added = new AtomicInteger();
  private final String token;
  private final boolean indexing;
  private final List<Agent> agents = new ArrayList<>();
  private final List<Context> loops;
  private final int maxDialing;
  private final AtomicInteger dialing = new AtomicInteger();
  private final Queue<Agent> waitingToDial = new ConcurrentLinkedQueue<>();
  final AtomicLong welcomed = new AtomicLong();
  final AtomicLong dials = new AtomicLong();
  final AtomicLong refusals = new AtomicLong();
  final AtomicLong retryAfterHonoured = new AtomicLong();
  final AtomicLong errors = new AtomicLong();
  final AtomicLong requestsAnswered = new AtomicLong();
  final AtomicLong indexBatches = new AtomicLong();
  final AtomicLong indexAcked = new AtomicLong();
  final AtomicLong indexRefused = new AtomicLong();
  private volatile boolean closing;
  /** The last dial failure other than a refusal, for the report. */
  volatile String lastError = "none";

  /**
   * @param url      the hub's agent endpoint, {@code wss://host:port/agent/v1/connect}
   * @param token    the join token every simulated cluster uses
   * @param indexing announce the index capability and send index batches when asked
   * @param eventLoops  event loops to spread the agents over (at most the Vert.x instance's pool)
   * @param maxDialing  dials (TCP, TLS and websocket upgrade) in flight at once
   * @param openSsl     TLS by OpenSSL (BoringSSL) where it loads, else the JDK's
   */
  public SimAgents(Vertx vertx, String url, String token, boolean indexing, int eventLoops, int maxDialing,
                   boolean openSsl) {
    this(vertx, List.of(url), token, indexing, eventLoops, maxDialing, openSsl);
  }

  /** Agents spread round-robin over several nodes' URLs ({@code wss://host:port/agent/v1/connect}). */
  public SimAgents(Vertx vertx, List<String> urls, String token, boolean indexing, int eventLoops, int maxDialing,
                   boolean openSsl) {
    if (eventLoops < 1 || maxDialing < 1) {
      throw new IllegalArgumentException("eventLoops and maxDialing must be at least 1");
    }
    if (urls.isEmpty()) {
      throw new IllegalArgumentException("no hub URL to dial");
    }
    this.vertx = vertx;
    this.urls = List.copyOf(urls);
    this.maxDialing = maxDialing;
    this.loops = loops(vertx, eventLoops);
    this.token = token;
    this.indexing = indexing;
    // One client for all: its pool must not cap the connections to one host (default 50).
    this.client = vertx.createWebSocketClient(new WebSocketClientOptions()
        .setMaxConnections(1_000_000)
        .setTrustAll(true).setVerifyHost(false)
        .setConnectTimeout(60_000)
        // The hub ends a handshake it cannot finish within its own 10 s; waiting longer here costs nothing.
        .setSslHandshakeTimeout(30).setSslHandshakeTimeoutUnit(java.util.concurrent.TimeUnit.SECONDS)
        .setMaxFrameSize(128 * 1024).setMaxMessageSize(64 * 1024 * 1024)
        .setSslEngineOptions(openSsl && OpenSSLEngineOptions.isAvailable() ? new OpenSSLEngineOptions()
            : new JdkSSLEngineOptions()));
  }

  /** As the simulator was before dials were bounded: one event loop, every dial at once (the soak's). */
  public SimAgents(Vertx vertx, String url, String token, boolean indexing) {
    this(vertx, url, token, indexing, 1, Integer.MAX_VALUE, false);
  }

  /** Adds (and dials) the agent of {@code cluster}; completes when the hub has welcomed it. */
  public Future<Void> add(String cluster) {
    Agent agent = new Agent(cluster);
    synchronized (agents) {
      agents.add(agent);
    }
    agent.dial();
    return agent.firstWelcome.future();
  }

  public int size() {
    synchronized (agents) {
      return agents.size();
    }
  }

  /** Connected and welcomed now. */
  public long connected() {
    synchronized (agents) {
      return agents.stream().filter(a -> a.welcomedNow).count();
    }
  }

  /** Connected and welcomed now by the node at {@code urls.get(node)}. */
  public long connectedTo(int node) {
    synchronized (agents) {
      return agents.stream().filter(a -> a.welcomedNow && a.node == node).count();
    }
  }

  /** Closes the connections of the given share of the agents at once; they redial. */
  public void drop(double share) {
    List<Agent> all;
    synchronized (agents) {
      all = List.copyOf(agents);
    }
    for (Agent agent : all) {
      if (ThreadLocalRandom.current().nextDouble() < share) {
        agent.context.runOnContext(v -> agent.flap(0));
      }
    }
  }

  /** Flaps one random agent: closes its socket, and it redials after {@code downMillis}. */
  public void flapOne(long downMillis) {
    Agent agent;
    synchronized (agents) {
      if (agents.isEmpty()) {
        return;
      }
      agent = agents.get(ThreadLocalRandom.current().nextInt(agents.size()));
    }
    agent.context.runOnContext(v -> agent.flap(downMillis));
  }

  /** One index batch (one changed ConfigMap) from one random connected agent. */
  public void indexDelta() {
    Agent agent;
    synchronized (agents) {
      if (agents.isEmpty()) {
        return;
      }
      agent = agents.get(ThreadLocalRandom.current().nextInt(agents.size()));
    }
    agent.context.runOnContext(v -> agent.sendIndexDelta());
  }

  @Override
  public void close() {
    closing = true;
    List<Agent> all;
    synchronized (agents) {
      all = List.copyOf(agents);
    }
    all.forEach(agent -> agent.context.runOnContext(v -> {
      if (agent.ws != null) {
        agent.ws.close();
      }
    }));
  }

  /** One context per event loop: a verticle instance each, so that Vert.x gives each its own loop. */
  private static List<Context> loops(Vertx vertx, int count) {
    List<Context> contexts = new java.util.concurrent.CopyOnWriteArrayList<>();
    try {
      vertx.deployVerticle(() -> new AbstractVerticle() {
        @Override
        public void start() {
          contexts.add(context);
        }
      }, new DeploymentOptions().setInstances(count)).await(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("cannot start the simulator's event loops: " + e.getMessage(), e);
    }
    return List.copyOf(contexts);
  }

  /** Dials queued agents while fewer than {@code maxDialing} dials are in flight. */
  private void pump() {
    while (true) {
      int now = dialing.get();
      if (now >= maxDialing) {
        return;
      }
      if (waitingToDial.isEmpty()) {
        return;
      }
      if (!dialing.compareAndSet(now, now + 1)) {
        continue;
      }
      Agent next = waitingToDial.poll();
      if (next == null) {
        dialing.decrementAndGet();
        if (waitingToDial.isEmpty()) {
          return;
        }
        continue;
      }
      next.context.runOnContext(v -> next.dialNow());
    }
  }

  private void dialEnded() {
    dialing.decrementAndGet();
    pump();
  }

  private final class Agent {
    final String cluster;
    final Context context;
    /** Which of {@code urls} it dials now. */
    volatile int node;
    final Promise<Void> firstWelcome = Promise.promise();
    WebSocket ws;
    volatile boolean welcomedNow;
    int failures;
    long seq;
    long version;
    long redialAfterMillis = -1;

    Agent(String cluster) {
      this.cluster = cluster;
      int n = added.getAndIncrement();
      this.context = loops.get(n % loops.size());
      this.node = n % urls.size();
    }

    /** Queues this agent's dial; it starts when fewer than {@code maxDialing} are in flight. */
    void dial() {
      if (closing) {
        return;
      }
      waitingToDial.add(this);
      pump();
    }

    private void dialNow() {
      if (closing) {
        dialEnded();
        return;
      }
      dials.incrementAndGet();
      client.connect(new WebSocketConnectOptions().setAbsoluteURI(urls.get(node))
              .addHeader("Authorization", "Bearer " + token)
              .addHeader(AgentEndpoint.CLUSTER_HEADER, cluster)
              .addHeader("User-Agent", "kmc-fleet-sim"))
          .onComplete(r -> dialEnded())
          .onSuccess(this::opened)
          .onFailure(e -> {
            long delay;
            if (e instanceof UpgradeRejectedException rejected) {
              refusals.incrementAndGet();
              String retryAfter = rejected.getHeaders() == null ? null : rejected.getHeaders().get("Retry-After");
              delay = retryAfterMillis(retryAfter);
              if (delay >= 0) {
                retryAfterHonoured.incrementAndGet();
              }
            } else {
              errors.incrementAndGet();
              lastError = String.valueOf(e.getMessage());
              delay = -1;
              node = (node + 1) % urls.size(); // that node may be gone: the next one
            }
            redial(delay);
          });
    }

    private void redial(long delayMillis) {
      long delay = delayMillis >= 0 ? delayMillis + ThreadLocalRandom.current().nextLong(1 + delayMillis / 2)
          : Math.min(5_000, 100L << Math.min(6, failures++)) / 2
            + ThreadLocalRandom.current().nextLong(1 + Math.min(5_000, 100L << Math.min(6, failures)) / 2);
      context.owner().setTimer(Math.max(1, delay), t -> dial());
    }

    void opened(WebSocket socket) {
      ws = socket;
      seq = 0;
      socket.textMessageHandler(this::text);
      socket.binaryMessageHandler(this::binary);
      socket.exceptionHandler(e -> { });
      socket.closeHandler(v -> {
        welcomedNow = false;
        if (ws == socket) {
          ws = null;
          node = (node + 1) % urls.size(); // its node went away or sent it elsewhere: the next one
          long after = redialAfterMillis;
          redialAfterMillis = -1;
          redial(after);
        }
      });
      send(new Frame.Hello(List.of(ProtocolVersions.V2), cluster, "fleet-sim", "v1.30.0",
          indexing ? List.of("index") : List.of()));
    }

    void flap(long downMillis) {
      WebSocket socket = ws;
      if (socket == null) {
        return;
      }
      ws = null;
      welcomedNow = false;
      socket.closeHandler(null);
      socket.close((short) 1001, "fleet-sim flap");
      context.owner().setTimer(Math.max(1, downMillis), t -> dial());
    }

    void text(String text) {
      Frame frame;
      try {
        frame = FrameCodec.decode(text);
      } catch (RuntimeException e) {
        errors.incrementAndGet();
        return;
      }
      if (frame instanceof Frame.Ping ping) {
        send(new Frame.Pong(ping.sentAtMillis()));
      } else if (frame instanceof Frame.Welcome) {
        failures = 0;
        welcomedNow = true;
        welcomed.incrementAndGet();
        firstWelcome.tryComplete();
      } else if (frame instanceof Frame.IndexAck ack && ack.seq() > 0) {
        (ack.error() == null ? indexAcked : indexRefused).incrementAndGet();
      } else if (frame instanceof Frame.GoAway goAway) {
        redialAfterMillis = goAway.reconnectAfterMillis();
      } else if (frame instanceof Frame.Request request) {
        answer(request);
      }
    }

    void binary(Buffer message) {
      Frame.Exchange frame;
      try {
        frame = BinaryFrames.decode(message.getBytes());
      } catch (RuntimeException e) {
        errors.incrementAndGet();
        return;
      }
      if (frame instanceof Frame.Request request) {
        answer(request);
      }
    }

    void answer(Frame.Request request) {
      requestsAnswered.incrementAndGet();
      WebSocket socket = ws;
      if (socket != null) {
        socket.writeBinaryMessage(Buffer.buffer(BinaryFrames.encode(
            new Frame.Response(request.id(), 200, JSON, CANNED, false))));
      }
    }

    void sendIndexDelta() {
      if (!welcomedNow || !indexing) {
        return;
      }
      version++;
      indexBatches.incrementAndGet();
      send(new Frame.Index(++seq, "", "v1", "configmaps", "ConfigMap", true, "sim:" + version, false, false,
          List.of(new Frame.IndexedObject(cluster + "-cm", "default", "bench", String.valueOf(version),
              Map.of("app", "kmc-bench"), null, null, Map.of())), List.of()));
    }

    void send(Frame frame) {
      WebSocket socket = ws;
      if (socket != null) {
        socket.writeTextMessage(FrameCodec.encodeToString(frame));
      }
    }
  }

  /** {@code Retry-After} in seconds (as HTTP has it) in milliseconds; -1 when absent or unreadable. */
  static long retryAfterMillis(String header) {
    if (header == null) {
      return -1;
    }
    try {
      return Math.max(0, (long) (Double.parseDouble(header.trim()) * 1000));
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
