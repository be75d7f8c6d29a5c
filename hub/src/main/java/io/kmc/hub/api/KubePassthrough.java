package io.kmc.hub.api;

import io.kmc.common.KmcException;
import io.kmc.common.KubeQuery;
import io.kmc.common.KubeStatus;
import io.kmc.common.protocol.Frame;
import io.kmc.hub.audit.SessionRecorder;
import io.kmc.hub.auth.Authenticator;
import io.kmc.hub.rbac.KubeRequestAttributes;
import io.kmc.hub.routing.ClusterRouter;
import io.kmc.ops.Texts;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code /k8s/clusters/{name}/**}: forwards any Kubernetes REST call to the member cluster and
 * returns its answer unchanged, so that kubectl and client-java work through the hub. Watches and
 * followed logs stream back as chunked responses, paced by credits so that a slow reader holds the
 * agent back instead of filling the hub's memory.
 */
public final class KubePassthrough {

  public static final String PREFIX = KubeRequestAttributes.PASSTHROUGH_PREFIX;

  /** What the member cluster needs to understand the request; nothing that identifies the caller to the hub. */
  private static final Set<String> FORWARDED_HEADERS = Set.of("content-type", "accept");

  private static final Logger LOG = LoggerFactory.getLogger(KubePassthrough.class);

  private final ClusterRouter router;
  private final AtomicInteger streaming;
  private final SessionRecorder recorder;
  private final PolicyAdmission admission;

  /**
   * @param streaming counts the streams this node is relaying (a graceful shutdown does not wait for them)
   * @param admission checks writes against the policies before they are forwarded
   */
  public KubePassthrough(ClusterRouter router, AtomicInteger streaming, SessionRecorder recorder,
                         PolicyAdmission admission) {
    this.router = router;
    this.streaming = streaming;
    this.recorder = recorder;
    this.admission = admission;
  }

  public void handle(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    String cluster = ctx.pathParam("cluster");
    String path = KubeRequestAttributes.kubePath(ctx);
    String query = request.query();
    if (SessionRelay.wanted(request, path)) {
      SessionRelay.open(ctx, router, cluster, path, Authenticator.principal(ctx).actingUser(), recorder);
      return;
    }
    Buffer body = ctx.body() == null ? null : ctx.body().buffer();
    KubeCall call = new KubeCall(request.method().name(), path, query, forwardedHeaders(request.headers()), body);
    if (admission != null && admission.applies(ctx, call)) {
      admission.review(ctx, cluster, call)
          .onSuccess(v -> forward(ctx, cluster, call, false))
          .onFailure(e -> PolicyAdmission.fail(ctx, e));
      return;
    }
    forward(ctx, cluster, call, false);
  }

  /**
   * Sends a call the hub composed for its caller (the typed API) as the pass-through sends the
   * caller's own: authorized already (by {@code Authorizer.kube} with the call's method, path and
   * query), checked by the policies if it is a write, relayed with credits. Answers in the hub's own
   * error shape instead of a Kubernetes {@code Status}: a member cluster's refusal keeps its status
   * and message.
   */
  public void send(RoutingContext ctx, String cluster, KubeCall call) {
    if (admission != null && admission.applies(ctx, call)) {
      admission.review(ctx, cluster, call)
          .onSuccess(v -> forward(ctx, cluster, call, true))
          .onFailure(e -> ctx.fail(PolicyAdmission.asApiError(e)));
      return;
    }
    forward(ctx, cluster, call, true);
  }

  /** Reads a member cluster's whole answer to a small call the hub makes itself (discovery), as the caller. */
  Future<WholeAnswer> read(RoutingContext ctx, String cluster, KubeCall call) {
    return WholeAnswer.read(router, cluster, new ClusterRouter.Outgoing(call.method(), call.path(), call.query(),
        call.headers(), call.body() == null ? null : call.body().getBytes(), Authenticator.principal(ctx).actingUser(),
        false));
  }

  /** @param hubErrors answer a refusal of the member cluster in the hub's error shape (the typed API) */
  private void forward(RoutingContext ctx, String cluster, KubeCall call, boolean hubErrors) {
    String path = call.path();
    String query = call.query();
    Buffer body = call.body();
    Map<String, List<String>> headers = call.headers();
    boolean stream = isStream(path, query);
    StreamResume resume = stream && "GET".equals(call.method()) ? StreamResume.of(path, query, headers) : null;
    ClusterRouter.Outgoing outgoing = new ClusterRouter.Outgoing(call.method(), path,
        resume == null ? query : resume.firstQuery(), headers,
        body == null || body.length() == 0 ? null : body.getBytes(), Authenticator.principal(ctx).actingUser(), stream);
    Relay relay = new Relay(ctx, cluster, outgoing, resume, hubErrors);
    router.open(cluster, outgoing, relay)
        .onSuccess(exchange -> {
          try {
            relay.start(exchange);
          } catch (RuntimeException e) {
            // The head was checked where it entered the hub; this is the last line, so that no client waits.
            exchange.cancel("the answer could not be written");
            ctx.fail(KmcException.badGateway("cluster '" + cluster + "' answered with a head the hub cannot write: "
                + Texts.forLog(e.getMessage())));
          }
        })
        .onFailure(ctx::fail);
  }

  static boolean isStream(String path, String query) {
    if (path.contains("/watch/")) {
      return true;
    }
    return KubeQuery.flag(query, "watch") || (path.endsWith("/log") && KubeQuery.flag(query, "follow"));
  }

  private static Map<String, List<String>> forwardedHeaders(MultiMap headers) {
    Map<String, List<String>> result = new LinkedHashMap<>();
    for (String name : headers.names()) {
      if (FORWARDED_HEADERS.contains(name.toLowerCase(Locale.ROOT))) {
        result.put(name, new ArrayList<>(headers.getAll(name)));
      }
    }
    return result;
  }

  /**
   * Copies one answer to the HTTP response, granting credits as the client takes the data. A JSON
   * watch that breaks off (the node holding the agent died or drained, the agent reconnected) is
   * opened again on the agent's next session from the last resourceVersion the client was given:
   * the client sees one unbroken stream.
   */
  private final class Relay implements ClusterRouter.StreamHandler {
    /** Attempts to carry a broken watch on before its client is told it ended; about 6 s in all. */
    private static final long[] RESUME_DELAYS_MILLIS = {0, 200, 400, 800, 1600, 3200};
    /** Most of a refusal's body read to answer it in the hub's error shape; a Status is far smaller. */
    private static final int MAX_REFUSAL_BYTES = 64 * 1024;

    private final RoutingContext ctx;
    private final HttpServerResponse response;
    private final String cluster;
    private final ClusterRouter.Outgoing outgoing;
    private final StreamResume resume;
    private final boolean hubErrors;
    /** A refusal being read whole, to answer it in the hub's error shape; null while relaying. */
    private Buffer refusal;
    private int refusalStatus;
    private ClusterRouter.Exchange exchange;
    private int waitingForDrain;
    private boolean counted;

    Relay(RoutingContext ctx, String cluster, ClusterRouter.Outgoing outgoing, StreamResume resume,
          boolean hubErrors) {
      this.hubErrors = hubErrors;
      this.ctx = ctx;
      this.response = ctx.response();
      this.cluster = cluster;
      this.outgoing = outgoing;
      this.resume = resume;
    }

    void start(ClusterRouter.Exchange exchange) {
      this.exchange = exchange;
      Frame.Response head = exchange.head();
      if (hubErrors && head.status() >= 400) {
        refusalStatus = head.status();
        refusal = head.body() == null ? Buffer.buffer() : Buffer.buffer(head.body());
        if (!head.more()) {
          ctx.fail(KubeCall.memberFailure(refusalStatus, refusal));
        }
        return;
      }
      response.setStatusCode(head.status());
      head.headers().forEach((name, values) -> response.headers().add(name, values));
      Buffer first = head.body() == null ? Buffer.buffer() : Buffer.buffer(head.body());
      if (!head.more()) {
        response.end(first);
        return;
      }
      response.setChunked(true);
      if (outgoing.stream()) {
        streaming.incrementAndGet();
        counted = true;
      }
      // Through the routing context, not the response's own end and close handlers, which would replace
      // those Vert.x Web keeps for the request's end handlers (metrics, audit, the node's in-flight count).
      ctx.addEndHandler(ended -> {
        if (ended.failed()) {
          this.exchange.cancel("the client went away");
        }
        uncount();
      });
      response.drainHandler(v -> {
        int drained = waitingForDrain;
        waitingForDrain = 0;
        this.exchange.consumed(drained);
      });
      if (first.length() > 0) {
        write(first);
      } else {
        // Send the head now: a watch client waits for it before the first event.
        response.writeHead();
      }
    }

    private void uncount() {
      if (counted) {
        counted = false;
        streaming.decrementAndGet();
      }
    }

    @Override
    public void data(Buffer data) {
      if (refusal != null) {
        if (refusal.length() < MAX_REFUSAL_BYTES) {
          refusal.appendBuffer(data);
        }
        exchange.consumed(1);
        return;
      }
      if (response.closed()) {
        return;
      }
      write(data);
      if (response.writeQueueFull()) {
        waitingForDrain++;
      } else {
        exchange.consumed(1);
      }
    }

    private void write(Buffer data) {
      if (resume == null) {
        response.write(data);
      } else {
        resume.accept(data).forEach(response::write);
      }
    }

    @Override
    public void end(String error) {
      if (refusal != null) {
        if (!response.closed() && !response.ended()) {
          ctx.fail(KubeCall.memberFailure(refusalStatus, refusal));
        }
        return;
      }
      if (response.closed() || response.ended()) {
        return;
      }
      if (error != null && resume != null) {
        String query = resume.resumeQuery();
        if (query != null) {
          reopen(outgoing.withQuery(query), error, 0);
          return;
        }
      }
      if (error == null || outgoing.stream()) {
        // A watch or log stream that ends is resumed by its client, as after a server-side timeout.
        response.end();
      } else {
        // Part of a body is out: the only honest signal left is a broken response.
        response.reset();
      }
    }

    /** Opens the watch again where the client is; its client keeps the same response throughout. */
    private void reopen(ClusterRouter.Outgoing next, String why, int attempt) {
      if (attempt >= RESUME_DELAYS_MILLIS.length || response.closed()) {
        LOG.warn("a watch of cluster {} could not be carried on ({}); its client will watch again", cluster,
            Texts.forLog(why));
        if (!response.closed()) {
          response.end();
        }
        return;
      }
      ctx.vertx().setTimer(Math.max(1, RESUME_DELAYS_MILLIS[attempt]), t -> router.open(cluster, next, this)
          .onSuccess(resumed -> {
            if (response.closed()) {
              resumed.cancel("the client went away");
              return;
            }
            Frame.Response head = resumed.head();
            exchange = resumed;
            waitingForDrain = 0;
            if (head.status() == 200 && head.more()) {
              LOG.info("a watch of cluster {} carried on after: {}", cluster, Texts.forLog(why));
              if (head.body() != null && head.body().length > 0) {
                data(Buffer.buffer(head.body()));
              }
            } else {
              // Refused this time (the user's rights changed, the cluster went): tell the client as a watch would.
              if (head.more()) {
                resumed.cancel("the watch could not be carried on");
              }
              Buffer status = head.body() == null ? Buffer.buffer(KubeStatus.failure(head.status(), "Unknown",
                  "the watch could not be carried on")) : Buffer.buffer(head.body());
              response.end(Buffer.buffer("{\"type\":\"ERROR\",\"object\":").appendBuffer(status).appendString("}\n"));
            }
          })
          .onFailure(e -> reopen(next, Texts.forLog(e.getMessage()), attempt + 1)));
    }
  }
}
