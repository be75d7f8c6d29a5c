package io.kmc.hub.api;

import io.kmc.common.KmcException;
import io.kmc.common.protocol.ActingUser;
import io.kmc.common.protocol.Frame;
import io.kmc.common.protocol.UpgradedMessages;
import io.kmc.hub.audit.Audits;
import io.kmc.hub.audit.SessionRecorder;
import io.kmc.hub.routing.ClusterRouter;
import io.kmc.ops.Texts;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * {@code kubectl exec}, {@code attach}, {@code cp} and {@code port-forward} through the hub: the
 * client's websocket upgrade (authenticated and authorized like any pass-through call) becomes an
 * upgraded exchange with the cluster's agent, which opens the same websocket to its API server with
 * its own credentials and the client's subprotocols. The client's websocket is accepted only once
 * the API server accepted the agent's, with the subprotocol it chose. Then messages flow both ways
 * as they came, each direction paced by credits: what the client sends waits for the agent's room,
 * what the agent sends for the client's. Closing either end closes the other; a dropped agent ends
 * the session with its reason on the client's error channel.
 */
final class SessionRelay implements ClusterRouter.StreamHandler {

  private static final Logger LOG = LoggerFactory.getLogger(SessionRelay.class);
  private static final Pattern INTERACTIVE = Pattern.compile("/api/v1/namespaces/[^/]+/pods/[^/]+/(exec|attach|portforward)");
  /** Channel protocols whose stream 3 carries a Status when the session ends (client-go remotecommand). */
  private static final Pattern CHANNEL_PROTOCOL = Pattern.compile("(v[0-9]+\\.)?(base64\\.)?channel\\.k8s\\.io");

  private final RoutingContext ctx;
  private final String cluster;
  private final SessionRecorder.Recording recording;
  private final ArrayDeque<Buffer> early = new ArrayDeque<>();
  private ClusterRouter.Exchange exchange;
  private ServerWebSocket ws;
  private String subprotocol;
  private int upstreamCredits;
  private int waitingForDrain;
  private boolean ended;
  private String endReason;

  private SessionRelay(RoutingContext ctx, String cluster, int credits, SessionRecorder.Recording recording) {
    this.ctx = ctx;
    this.cluster = cluster;
    this.upstreamCredits = credits;
    this.recording = recording;
  }

  /** Whether the request asks for a session: a websocket upgrade of a pod's exec, attach or portforward. */
  static boolean wanted(HttpServerRequest request, String path) {
    String upgrade = request.getHeader("Upgrade");
    return upgrade != null && INTERACTIVE.matcher(path).matches();
  }

  /** Opens the session with the agent, then accepts the client's websocket as the API server accepted the agent's. */
  static void open(RoutingContext ctx, ClusterRouter router, String cluster, String path, ActingUser user,
                   SessionRecorder recorder) {
    HttpServerRequest request = ctx.request();
    if (!UpgradedMessages.WEBSOCKET.equalsIgnoreCase(request.getHeader("Upgrade"))) {
      // kubectl before 1.30 upgrades exec to SPDY/3.1, which the hub does not carry.
      ctx.fail(KmcException.badRequest("the hub relays exec, attach and port-forward over websockets only: use kubectl "
          + "1.30 or later (and 1.31 or later for port-forward); this client asked for '"
          + Texts.forLog(request.getHeader("Upgrade")) + "'"));
      return;
    }
    Map<String, List<String>> headers = new LinkedHashMap<>();
    headers.put(UpgradedMessages.UPGRADE_HEADER, List.of(UpgradedMessages.WEBSOCKET));
    List<String> offered = request.headers().getAll(UpgradedMessages.SUBPROTOCOL_HEADER);
    if (!offered.isEmpty()) {
      headers.put(UpgradedMessages.SUBPROTOCOL_HEADER, new ArrayList<>(offered));
    }
    String query = withoutTicket(request.query());
    ClusterRouter.Outgoing outgoing = new ClusterRouter.Outgoing("GET", path, query, headers, null, user, true);
    SessionRelay relay = new SessionRelay(ctx, cluster, router.streamCredits(),
        recorder.start(ctx, cluster, path, query));
    router.open(cluster, outgoing, relay).onSuccess(relay::answered).onFailure(ctx::fail);
  }

  /** The query without a browser's one-use ticket (the hub's credential, used up, not the cluster's business). */
  static String withoutTicket(String query) {
    if (query == null || !query.contains("ticket=")) {
      return query;
    }
    String kept = Arrays.stream(query.split("&")).filter(part -> !part.startsWith("ticket="))
        .collect(Collectors.joining("&"));
    return kept.isEmpty() ? null : kept;
  }

  private void answered(ClusterRouter.Exchange opened) {
    exchange = opened;
    Frame.Response head = opened.head();
    if (head.status() != 101) {
      // Refused by the API server (no such pod, container, command...): the client gets its answer as it is.
      ctx.response().setStatusCode(head.status());
      head.headers().forEach((name, values) -> ctx.response().headers().add(name, values));
      ended = true;
      recording.discard(ctx);
      ctx.response().end(head.body() == null ? Buffer.buffer() : Buffer.buffer(head.body()));
      return;
    }
    head.headers().forEach((name, values) -> {
      if (name.equalsIgnoreCase(UpgradedMessages.SUBPROTOCOL_HEADER) && !values.isEmpty()) {
        subprotocol = values.get(0);
      }
    });
    // Accept with exactly the subprotocol the API server chose, whatever else the client offered.
    if (subprotocol == null) {
      ctx.request().headers().remove(UpgradedMessages.SUBPROTOCOL_HEADER);
    } else {
      ctx.request().headers().set(UpgradedMessages.SUBPROTOCOL_HEADER, subprotocol);
    }
    ctx.request().toWebSocket().onSuccess(this::accepted).onFailure(e -> {
      LOG.warn("cluster {}: the client's websocket could not be accepted: {}", cluster, Texts.forLog(e.getMessage()));
      opened.cancel("the client's websocket could not be accepted");
      ended = true;
      recording.discard(ctx);
      Audits.sessionEnded(ctx, 500, "the client's websocket could not be accepted: " + e.getMessage());
    });
  }

  private void accepted(ServerWebSocket socket) {
    ws = socket;
    ws.binaryMessageHandler(message -> fromClient(false, message));
    ws.textMessageHandler(text -> fromClient(true, Buffer.buffer(text)));
    ws.exceptionHandler(e -> LOG.debug("cluster {}: session websocket: {}", cluster, e.getMessage()));
    // The client's close frame ends the session after every message it sent before it (the end
    // handler keeps their order, even while the socket is paused); a connection that just goes,
    // at once.
    ws.endHandler(v -> clientClosed());
    ws.closeHandler(v -> {
      if (ws.closeStatusCode() == null) {
        clientClosed();
      }
    });
    ws.drainHandler(v -> {
      int drained = waitingForDrain;
      waitingForDrain = 0;
      exchange.consumed(drained);
    });
    if (upstreamCredits <= 0) {
      ws.pause();
    }
    while (!early.isEmpty()) {
      data(early.poll());
    }
    if (endReason != null) {
      closeWith(endReason);
    }
  }

  private void clientClosed() {
    if (!ended) {
      Short code = ws.closeStatusCode();
      exchange.sendUpstream(UpgradedMessages.close(code == null ? 1000 : code, ws.closeReason()));
      exchange.cancel("the client closed the session");
      finished(null);
    }
  }

  /** The session is over: its recording is stored and its audit record written, once. */
  private void finished(String problem) {
    ended = true;
    recording.close();
    Audits.sessionEnded(ctx, 101, problem);
  }

  /** A message from the client, into the session. */
  private void fromClient(boolean text, Buffer message) {
    if (ended) {
      return;
    }
    byte[] bytes = message.getBytes();
    recording.input(bytes);
    exchange.sendUpstream(UpgradedMessages.message(text, bytes));
    if (--upstreamCredits <= 0) {
      ws.pause();
    }
  }

  @Override
  public void credit(int credits) {
    boolean wasOut = upstreamCredits <= 0;
    upstreamCredits += credits;
    if (wasOut && upstreamCredits > 0 && ws != null && !ended) {
      ws.resume();
    }
  }

  /** A message from the API server (or its close), to the client. */
  @Override
  public void data(Buffer payload) {
    if (ws == null) {
      early.add(payload);
      return;
    }
    if (ended || payload.length() == 0) {
      return;
    }
    byte kind = payload.getByte(0);
    Buffer message = payload.slice(1, payload.length());
    if (kind == UpgradedMessages.CLOSE) {
      byte[] close = payload.getBytes();
      finished(null);
      ws.close((short) UpgradedMessages.closeCode(close), UpgradedMessages.closeReason(close));
      return;
    }
    recording.output(message.getBytes());
    if (kind == UpgradedMessages.TEXT) {
      ws.writeTextMessage(message.toString(StandardCharsets.UTF_8));
    } else {
      ws.writeBinaryMessage(message);
    }
    if (ws.writeQueueFull()) {
      waitingForDrain++;
    } else {
      exchange.consumed(1);
    }
  }

  @Override
  public void end(String error) {
    if (ended) {
      return;
    }
    if (ws == null) {
      endReason = error == null ? "" : error;
      return;
    }
    closeWith(error);
  }

  /** Ends the session from the hub's side: with an error, said on the client's error channel first. */
  private void closeWith(String error) {
    finished(error);
    if (error == null || error.isEmpty()) {
      ws.close((short) 1000);
      return;
    }
    String message = "the session through the hub ended: " + error;
    if (subprotocol != null && CHANNEL_PROTOCOL.matcher(subprotocol).matches()) {
      byte[] status = new JsonObject().put("metadata", new JsonObject()).put("status", "Failure")
          .put("message", message).put("reason", "InternalError").put("code", 500).toBuffer().getBytes();
      if (subprotocol.contains("base64.")) {
        ws.writeTextMessage("3" + Base64.getEncoder().encodeToString(status));
      } else {
        ws.writeBinaryMessage(Buffer.buffer(new byte[] {3}).appendBytes(status));
      }
    }
    ws.close((short) 1011, Texts.bounded(message, 120));
  }
}
