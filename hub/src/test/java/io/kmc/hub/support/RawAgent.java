package io.kmc.hub.support;

import io.kmc.common.protocol.AgentEndpoint;
import io.kmc.common.protocol.Frame;
import io.kmc.common.protocol.FrameCodec;
import io.kmc.hub.Hub;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.http.WebSocketFrame;

import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A hand-driven agent for protocol tests: it sends exactly the frames (or bytes) a test gives it
 * and records everything the hub sends back.
 */
public final class RawAgent implements AutoCloseable {

  private final WebSocketClient client;
  private final WebSocket ws;
  private final BlockingQueue<String> received = new LinkedBlockingQueue<>();
  private final CompletableFuture<String> closed = new CompletableFuture<>();

  private RawAgent(WebSocketClient client, WebSocket ws) {
    this.client = client;
    this.ws = ws;
    // Pings are answered as they arrive, as a live agent would, whether or not the test is reading.
    ws.textMessageHandler(text -> {
      if (text.contains("\"ping\"") && FrameCodec.decode(text) instanceof Frame.Ping ping) {
        send(new Frame.Pong(ping.sentAtMillis()));
      } else {
        received.add(text);
      }
    });
    ws.closeHandler(v -> closed.complete(ws.closeStatusCode() + " " + ws.closeReason()));
  }

  public static Future<RawAgent> connect(Vertx vertx, Hub hub, String cluster, String token) {
    WebSocketClient client = vertx.createWebSocketClient(new WebSocketClientOptions()
        .setMaxFrameSize(64 * 1024).setMaxMessageSize(64 * 1024 * 1024));
    WebSocketConnectOptions options = new WebSocketConnectOptions()
        .setAbsoluteURI("ws://127.0.0.1:" + hub.port() + "/agent/v1/connect")
        .addHeader(AgentEndpoint.CLUSTER_HEADER, cluster);
    if (token != null) {
      options.addHeader("Authorization", "Bearer " + token);
    }
    return client.connect(options).map(ws -> new RawAgent(client, ws));
  }

  /** Sends hello for protocol v1 and returns the welcome. */
  public Frame.Welcome hello(String cluster) throws InterruptedException {
    send(new Frame.Hello(List.of(1), cluster, "raw-test", "v1.30.0", List.of()));
    Frame frame = next(5);
    if (!(frame instanceof Frame.Welcome welcome)) {
      throw new AssertionError("expected welcome, got " + frame);
    }
    return welcome;
  }

  public void send(Frame frame) {
    ws.writeTextMessage(FrameCodec.encodeToString(frame));
  }

  /** A text message, cut into 64 KiB fragments. */
  public void sendText(String text) {
    ws.writeTextMessage(text);
  }

  /** A text message as one unfragmented websocket frame, however large. */
  public void sendSingleFrame(String text) {
    ws.writeFrame(WebSocketFrame.textFrame(text, true));
  }

  /** The next frame the hub sent, pings aside (they are answered as they come); null after the timeout. */
  public Frame next(int seconds) throws InterruptedException {
    String text = received.poll(seconds, TimeUnit.SECONDS);
    return text == null ? null : FrameCodec.decode(text);
  }

  /** Waits for the hub to close the connection; returns "code reason". */
  public String closedWith(int seconds) throws Exception {
    return closed.get(seconds, TimeUnit.SECONDS);
  }

  public boolean isClosed() {
    return closed.isDone();
  }

  @Override
  public void close() {
    ws.close();
    client.close();
  }
}
