package io.kmc.hub.support;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A small client of the hub's live stream ({@code GET /api/v1/stream}, docs/streams.md) for tests and
 * benchmarks: connects with a bearer token or a ticket, sends subscriptions, and hands out the
 * messages in the order they came.
 */
public final class StreamClient implements AutoCloseable {

  private final WebSocketClient client;
  private final WebSocket socket;
  private final LinkedBlockingQueue<JsonObject> messages = new LinkedBlockingQueue<>();
  private volatile Short closeCode;
  private volatile String closeReason;

  private StreamClient(WebSocketClient client, WebSocket socket) {
    this.client = client;
    this.socket = socket;
    socket.textMessageHandler(text -> messages.add(new JsonObject(text)));
    socket.closeHandler(v -> {
      closeCode = socket.closeStatusCode();
      closeReason = socket.closeReason();
    });
  }

  /**
   * Connects to a plain-HTTP hub on {@code port}; {@code bearer} or {@code ticket} (one may be null).
   * With {@code receiveBuffer} above 0, the socket's receive buffer is that small (to make a slow reader).
   */
  public static Future<StreamClient> connect(Vertx vertx, int port, String bearer, String ticket, int receiveBuffer) {
    WebSocketClientOptions options = new WebSocketClientOptions().setMaxMessageSize(16 * 1024 * 1024);
    if (receiveBuffer > 0) {
      options.setReceiveBufferSize(receiveBuffer);
    }
    WebSocketClient client = vertx.createWebSocketClient(options);
    WebSocketConnectOptions connect = new WebSocketConnectOptions().setHost("127.0.0.1").setPort(port)
        .setURI("/api/v1/stream" + (ticket == null ? "" : "?ticket=" + ticket));
    if (bearer != null) {
      connect.addHeader("Authorization", "Bearer " + bearer);
    }
    return client.connect(connect).map(socket -> new StreamClient(client, socket))
        .onFailure(e -> client.close());
  }

  public static StreamClient connect(Vertx vertx, int port, String bearer) {
    return Fleet.await(connect(vertx, port, bearer, null, 0));
  }

  public void send(JsonObject message) {
    Fleet.await(socket.writeTextMessage(message.encode()));
  }

  public void sendText(String text) {
    Fleet.await(socket.writeTextMessage(text));
  }

  /** Subscribes; {@code fields} are the subscription's (resource, version, clusters...). */
  public void subscribe(String id, JsonObject fields) {
    send(fields.copy().put("type", "subscribe").put("id", id));
  }

  /** The next message, or an AssertionError after {@code timeout}. */
  public JsonObject next(Duration timeout) {
    try {
      JsonObject message = messages.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (message == null) {
        throw new AssertionError("no stream message within " + timeout + (closeCode == null ? ""
            : " (closed " + closeCode + " " + closeReason + ")"));
      }
      return message;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Messages up to and including the first that {@code last} accepts. */
  public List<JsonObject> until(Duration timeout, Predicate<JsonObject> last) {
    long deadline = System.nanoTime() + timeout.toNanos();
    List<JsonObject> seen = new ArrayList<>();
    while (true) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new AssertionError("no matching stream message within " + timeout + "; saw " + seen);
      }
      JsonObject message = next(Duration.ofNanos(left));
      seen.add(message);
      if (last.test(message)) {
        return seen;
      }
    }
  }

  /** Whatever arrives within {@code period}. */
  public List<JsonObject> drain(Duration period) {
    List<JsonObject> seen = new ArrayList<>();
    long deadline = System.nanoTime() + period.toNanos();
    try {
      long left;
      while ((left = deadline - System.nanoTime()) > 0) {
        JsonObject message = messages.poll(left, TimeUnit.NANOSECONDS);
        if (message != null) {
          seen.add(message);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return seen;
  }

  public void pause() {
    socket.pause();
  }

  public void resume() {
    socket.resume();
  }

  public Short closeCode() {
    return closeCode;
  }

  public String closeReason() {
    return closeReason;
  }

  @Override
  public void close() {
    socket.close();
    client.close();
  }
}
