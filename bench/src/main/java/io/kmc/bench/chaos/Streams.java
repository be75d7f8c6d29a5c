package io.kmc.bench.chaos;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Subscriptions of {@code /api/v1/stream} held open through a chaos scenario, one socket each, on the
 * node the load enters at. Each follows the ConfigMaps of the watched namespace; change {@code n}
 * creates {@code <prefix>n}, so each subscription must see every number exactly once. A socket that
 * closes is opened again at once and its subscription sent again with the last resume token it had
 * (what a client of the stream API is told to do): that is a resumption, and what it replays must
 * neither skip nor repeat a change.
 */
public final class Streams implements AutoCloseable {

  private final Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
  private final WebSocketClient client;
  private long events;
  private final int port;
  private final String token;
  private final String cluster;
  private final String namespace;
  private final String prefix;
  private final int changes;
  private final List<Subscription> subscriptions = new ArrayList<>();
  private volatile boolean closing;

  /** What one subscription saw; touched only on the client's event loop. */
  private final class Subscription {
    final String id;
    final BitSet seen;
    String resume;
    boolean initialDone;
    long duplicates;
    long reconnects;
    long resumed;
    long restarts;
    String firstError;
    WebSocket ws;

    Subscription(String id) {
      this.id = id;
      this.seen = new BitSet(changes);
    }
  }

  /** What the subscriptions saw over a scenario. */
  public record Summary(int subscriptions, long reconnects, long resumed, long restarts, long lost, long duplicates,
                 String firstError) {
  }

  /**
   * @param cluster   the one cluster followed, or null for all
   * @param namespace the namespace followed, or null for all
   * @param tls       wss with any certificate (a self-signed hub), or ws
   */
  public Streams(int port, String token, String cluster, String namespace, String prefix, int changes, boolean tls) {
    this.client = vertx.createWebSocketClient(new WebSocketClientOptions().setSsl(tls).setTrustAll(tls)
        .setVerifyHost(false).setMaxConnections(10_000).setMaxFrameSize(1 << 20).setMaxMessageSize(16 << 20));
    this.port = port;
    this.token = token;
    this.cluster = cluster;
    this.namespace = namespace;
    this.prefix = prefix;
    this.changes = changes;
  }

  /** Opens {@code count} subscriptions and waits for each one's initial state. */
  public void open(int count) throws Exception {
    open(count, true);
  }

  /** Opens {@code count} subscriptions; waits up to 60 s for each one's initial state, and fails without it if asked. */
  public void open(int count, boolean requireInitialState) throws Exception {
    for (int i = 0; i < count; i++) {
      Subscription s = new Subscription("chaos-" + i);
      subscriptions.add(s);
      vertx.runOnContext(v -> connect(s));
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      if (onLoop(() -> subscriptions.stream().allMatch(s -> s.initialDone))) {
        return;
      }
      Thread.sleep(50);
    }
    if (!requireInitialState) {
      return;
    }
    String error = onLoop(() -> subscriptions.stream().map(s -> s.firstError).filter(e -> e != null).findFirst()
        .orElse("no error message"));
    throw new IllegalStateException("stream subscriptions without an initial state after 60 s: " + error);
  }

  private void connect(Subscription s) {
    if (closing) {
      return;
    }
    client.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(port).setURI("/api/v1/stream")
        .addHeader("Authorization", "Bearer " + token)).onComplete(ar -> {
          if (ar.failed()) {
            s.firstError = s.firstError == null ? "cannot open the stream socket: " + ar.cause() : s.firstError;
            vertx.setTimer(200, t -> connect(s));
            return;
          }
          WebSocket ws = ar.result();
          s.ws = ws;
          ws.textMessageHandler(text -> received(s, text));
          ws.closeHandler(v -> {
            if (!closing) {
              s.reconnects++;
              vertx.setTimer(50, t -> connect(s));
            }
          });
          if (s.resume != null) {
            s.resumed++;
          }
          subscribe(s);
        });
  }

  private void subscribe(Subscription s) {
    JsonObject subscribe = new JsonObject().put("type", "subscribe").put("id", s.id).put("group", "")
        .put("version", "v1").put("resource", "configmaps");
    if (cluster != null) {
      subscribe.put("clusters", new JsonArray().add(cluster));
    }
    if (namespace != null) {
      subscribe.put("namespace", namespace);
    }
    if (s.resume != null) {
      subscribe.put("resume", s.resume);
    }
    s.ws.writeTextMessage(subscribe.encode());
  }

  private void received(Subscription s, String text) {
    JsonObject m = new JsonObject(text);
    String type = m.getString("type", "");
    if (m.getValue("resume") instanceof String token) {
      s.resume = token;
    }
    switch (type) {
      case "ADDED", "MODIFIED" -> {
        events++;
        JsonObject object = m.getJsonObject("object", new JsonObject());
        String name = object.getString("name", "");
        if (name.startsWith(prefix) && s.initialDone) {
          int number = Integer.parseInt(name.substring(prefix.length()));
          if (number >= 0 && number < changes) {
            if (s.seen.get(number)) {
              s.duplicates++;
            }
            s.seen.set(number);
          }
        }
      }
      case "INITIAL_STATE_DONE" -> s.initialDone = true;
      case "RESTART" -> s.restarts++;
      case "ERROR" -> {
        if (!s.initialDone && s.resume == null && m.getInteger("code", 0) == 404) {
          // The agent has not sent its first index batch of ConfigMaps yet: not indexed anywhere so far.
          WebSocket ws = s.ws;
          vertx.setTimer(300, t -> {
            if (s.ws == ws) {
              subscribe(s);
            }
          });
        } else if (s.firstError == null) {
          s.firstError = text.length() > 300 ? text.substring(0, 300) : text;
        }
      }
      case "CLOSING" -> {
        if (s.firstError == null) {
          s.firstError = text.length() > 300 ? text.substring(0, 300) : text;
        }
      }
      default -> { }
    }
  }

  /** Whether every subscription has seen every change made so far (0 … made-1). */
  boolean complete(int made) throws Exception {
    return onLoop(() -> subscriptions.stream().allMatch(s -> s.seen.nextClearBit(0) >= made));
  }

  /** Subscriptions whose initial state is complete. */
  public long initialStatesDone() throws Exception {
    return onLoop(() -> subscriptions.stream().filter(s -> s.initialDone).count());
  }

  /** Changes received by all subscriptions so far. */
  public long events() throws Exception {
    return onLoop(() -> events);
  }

  public Summary summary(int made) throws Exception {
    return onLoop(() -> {
      long lost = 0;
      long duplicates = 0;
      long reconnects = 0;
      long resumed = 0;
      long restarts = 0;
      String firstError = null;
      for (Subscription s : subscriptions) {
        lost += made - s.seen.get(0, made).cardinality();
        duplicates += s.duplicates;
        reconnects += s.reconnects;
        resumed += s.resumed;
        restarts += s.restarts;
        firstError = firstError == null ? s.firstError : firstError;
      }
      return new Summary(subscriptions.size(), reconnects, resumed, restarts, lost, duplicates, firstError);
    });
  }

  /** Reads the subscriptions on the client's one event loop, where they are written. */
  private <T> T onLoop(java.util.concurrent.Callable<T> read) throws Exception {
    java.util.concurrent.CompletableFuture<T> result = new java.util.concurrent.CompletableFuture<>();
    vertx.runOnContext(v -> {
      try {
        result.complete(read.call());
      } catch (Exception e) {
        result.completeExceptionally(e);
      }
    });
    return result.get(10, TimeUnit.SECONDS);
  }

  @Override
  public void close() {
    closing = true;
    try {
      vertx.close().await(10, TimeUnit.SECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("the stream client did not close within 10 s", e);
    }
  }
}
