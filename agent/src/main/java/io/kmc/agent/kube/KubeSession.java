package io.kmc.agent.kube;

import io.kmc.common.KmcException;
import io.kmc.common.protocol.ActingUser;
import io.kmc.common.protocol.Frame;
import io.kmc.common.protocol.UpgradedMessages;
import io.kmc.ops.Texts;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketConnectOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One exec, attach or port-forward session: a websocket the agent opens to its API server, with its
 * own credentials and the subprotocols the hub's client offered, relayed as one data frame per
 * message both ways ({@link UpgradedMessages}). What the API server sends travels on the hub's
 * credits (the socket is paused without them); what the client sends is written as it comes and
 * acknowledged with credits as the socket takes it. Runs on the executor's context.
 */
final class KubeSession {

  private static final Logger LOG = LoggerFactory.getLogger(KubeSession.class);

  private final KubeHttp http;
  private final Frame.Request request;
  private final KubeRequestExecutor.FrameSink sink;
  private final Runnable onEnd;
  private final int creditBatch;
  private WebSocket ws;
  private int credits;
  private int unacknowledged;
  private boolean paused;
  private boolean done;
  /** The API server's close, held until the hub has room for it: it travels as the session's last data frame. */
  private byte[] closing;

  KubeSession(KubeHttp http, Frame.Request request, KubeRequestExecutor.FrameSink sink, Runnable onEnd) {
    this.http = http;
    this.request = request;
    this.sink = sink;
    this.onEnd = onEnd;
    this.credits = request.credits();
    this.creditBatch = Math.max(1, request.credits() / 2);
  }

  void open(String uri, ActingUser impersonated, String userAgent) {
    URI base = http.baseUri();
    boolean tls = "https".equalsIgnoreCase(base.getScheme());
    WebSocketConnectOptions options = new WebSocketConnectOptions()
        .setHost(base.getHost())
        .setPort(base.getPort() > 0 ? base.getPort() : tls ? 443 : 80)
        .setSsl(tls)
        .setURI(uri)
        .setTimeout(http.settings().requestTimeout().toMillis())
        .addHeader("User-Agent", userAgent);
    List<String> subprotocols = new ArrayList<>();
    request.headers().forEach((name, values) -> {
      if (name.equalsIgnoreCase(UpgradedMessages.SUBPROTOCOL_HEADER)) {
        for (String value : values) {
          for (String protocol : value.split(",")) {
            if (!protocol.isBlank()) {
              subprotocols.add(protocol.trim());
            }
          }
        }
      }
    });
    options.setSubProtocols(subprotocols);
    String authorization = http.authorization();
    if (authorization != null) {
      options.addHeader("Authorization", authorization);
    }
    if (impersonated != null) {
      options.addHeader("Impersonate-User", impersonated.name());
      for (String group : impersonated.groups()) {
        options.addHeader("Impersonate-Group", group);
      }
    }
    http.webSockets().connect(options).onComplete(ar -> {
      if (done) {
        if (ar.succeeded()) {
          ar.result().close();
        }
        return;
      }
      if (ar.succeeded()) {
        opened(ar.result());
      } else {
        refused(ar.cause());
      }
    });
  }

  private void opened(WebSocket socket) {
    ws = socket;
    Map<String, List<String>> headers = socket.subProtocol() == null ? Map.of()
        : Map.of(UpgradedMessages.SUBPROTOCOL_HEADER, List.of(socket.subProtocol()));
    sink.send(new Frame.Response(request.id(), 101, headers, null, true));
    ws.binaryMessageHandler(message -> toHub(false, message));
    ws.textMessageHandler(text -> toHub(true, Buffer.buffer(text)));
    ws.exceptionHandler(e -> LOG.debug("session {}: {}", request.id(), e.getMessage()));
    ws.drainHandler(v -> acknowledge(0));
    // The API server's close frame ends the session once every message before it went out: the
    // end handler runs in order with the messages, held back as they are while the socket is paused.
    // The close handler runs at once when the connection goes, so it acts only on an abrupt end.
    ws.endHandler(v -> closed());
    ws.closeHandler(v -> {
      if (ws.closeStatusCode() == null) {
        closed();
      }
    });
  }

  private void closed() {
    if (done || closing != null) {
      return;
    }
    Short code = ws.closeStatusCode();
    closing = code == null
        ? UpgradedMessages.close(1011, "the agent lost its connection to the API server")
        : UpgradedMessages.close(code, ws.closeReason());
    if (credits > 0) {
      sendClose();
    }
  }

  /** The API server did not take the upgrade: its answer goes to the client as it is. */
  private void refused(Throwable cause) {
    finish();
    if (cause instanceof UpgradeRejectedException rejected) {
      Buffer body = rejected.getBody();
      Map<String, List<String>> headers = Map.of("Content-Type", List.of("application/json"));
      sink.send(new Frame.Response(request.id(), rejected.getStatus(), headers,
          body == null || body.length() == 0 ? null : body.getBytes(), false));
    } else {
      LOG.warn("session {} {} could not be opened: {}", request.method(), Texts.forLog(request.path()),
          Texts.forLog(cause.getMessage()));
      sink.send(Frame.Response.failure(request.id(), KmcException.badGateway(
          "the agent could not open the session with its Kubernetes API server: " + Texts.forLog(cause.getMessage()))));
    }
  }

  private void toHub(boolean text, Buffer message) {
    if (done) {
      return;
    }
    sink.send(new Frame.Data(request.id(), UpgradedMessages.message(text, message.getBytes())));
    if (--credits <= 0 && !paused) {
      paused = true;
      ws.pause();
    }
  }

  private void sendClose() {
    sink.send(new Frame.Data(request.id(), closing));
    sink.send(new Frame.End(request.id(), null));
    finish();
  }

  /** The hub has room for more of what the API server sends. */
  void credit(int granted) {
    credits += granted;
    if (closing != null && credits > 0 && !done) {
      sendClose();
    } else if (paused && credits > 0 && !done) {
      paused = false;
      ws.resume();
    }
  }

  /** A message from the client, to the API server; acknowledged as the socket takes it. */
  void fromHub(byte[] payload) {
    if (done || ws == null || payload.length == 0) {
      return;
    }
    Buffer message = Buffer.buffer(payload).slice(1, payload.length);
    if (payload[0] == UpgradedMessages.TEXT) {
      ws.writeTextMessage(message.toString(StandardCharsets.UTF_8));
    } else if (payload[0] == UpgradedMessages.BINARY) {
      ws.writeBinaryMessage(message);
    } else if (payload[0] == UpgradedMessages.CLOSE) {
      ws.close((short) UpgradedMessages.closeCode(payload), UpgradedMessages.closeReason(payload));
      return;
    }
    acknowledge(1);
  }

  private void acknowledge(int written) {
    unacknowledged += written;
    if (ws != null && !ws.writeQueueFull() && unacknowledged >= creditBatch && !done) {
      sink.send(new Frame.Credit(request.id(), unacknowledged));
      unacknowledged = 0;
    }
  }

  /** The hub's client went away: the session with the API server closes. */
  void cancel() {
    if (done) {
      return;
    }
    finish();
    if (ws != null) {
      ws.close((short) 1000, "the client went away");
    }
  }

  private void finish() {
    done = true;
    onEnd.run();
  }
}
