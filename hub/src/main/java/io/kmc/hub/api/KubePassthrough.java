package io.kmc.hub.api;

import io.kmc.common.KmcException;
import io.kmc.common.KubeQuery;
import io.kmc.common.protocol.Frame;
import io.kmc.hub.auth.Authenticator;
import io.kmc.hub.routing.ClusterRouter;
import io.kmc.ops.Texts;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;

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

  public static final String PREFIX = "/k8s/clusters/";

  /** What the member cluster needs to understand the request; nothing that identifies the caller to the hub. */
  private static final Set<String> FORWARDED_HEADERS = Set.of("content-type", "accept");

  private final ClusterRouter router;
  private final AtomicInteger streaming;

  /** @param streaming counts the streams this node is relaying (a graceful shutdown does not wait for them) */
  public KubePassthrough(ClusterRouter router, AtomicInteger streaming) {
    this.router = router;
    this.streaming = streaming;
  }

  public void handle(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    String cluster = ctx.pathParam("cluster");
    String path = kubePath(ctx);
    String query = request.query();
    Buffer body = ctx.body() == null ? null : ctx.body().buffer();
    ClusterRouter.Outgoing outgoing = new ClusterRouter.Outgoing(request.method().name(), path, query,
        forwardedHeaders(request.headers()), body == null || body.length() == 0 ? null : body.getBytes(),
        Authenticator.principal(ctx).actingUser(), isStream(path, query));
    Relay relay = new Relay(ctx.response(), outgoing.stream(), streaming);
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

  /** The Kubernetes path of a pass-through call: what follows {@code /k8s/clusters/{name}}, normalized. */
  public static String kubePath(RoutingContext ctx) {
    String path = ctx.normalizedPath().substring(PREFIX.length() + ctx.pathParam("cluster").length());
    return path.isEmpty() ? "/" : path;
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

  /** Copies one answer to the HTTP response, granting credits as the client takes the data. */
  private static final class Relay implements ClusterRouter.StreamHandler {
    private final HttpServerResponse response;
    private final boolean stream;
    private final AtomicInteger streaming;
    private ClusterRouter.Exchange exchange;
    private int waitingForDrain;
    private boolean counted;

    Relay(HttpServerResponse response, boolean stream, AtomicInteger streaming) {
      this.response = response;
      this.stream = stream;
      this.streaming = streaming;
    }

    void start(ClusterRouter.Exchange exchange) {
      this.exchange = exchange;
      Frame.Response head = exchange.head();
      response.setStatusCode(head.status());
      head.headers().forEach((name, values) -> response.headers().add(name, values));
      byte[] first = head.body() == null ? new byte[0] : head.body();
      if (!head.more()) {
        response.end(Buffer.buffer(first));
        return;
      }
      response.setChunked(true);
      if (stream) {
        streaming.incrementAndGet();
        counted = true;
        response.endHandler(v -> uncount());
      }
      response.closeHandler(v -> {
        exchange.cancel("the client went away");
        uncount();
      });
      response.drainHandler(v -> {
        int drained = waitingForDrain;
        waitingForDrain = 0;
        exchange.consumed(drained);
      });
      if (first.length > 0) {
        response.write(Buffer.buffer(first));
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
      if (response.closed()) {
        return;
      }
      response.write(data);
      if (response.writeQueueFull()) {
        waitingForDrain++;
      } else {
        exchange.consumed(1);
      }
    }

    @Override
    public void end(String error) {
      if (response.closed() || response.ended()) {
        return;
      }
      if (error == null || stream) {
        // A watch or log stream that ends is resumed by its client, as after a server-side timeout.
        response.end();
      } else {
        // Part of a body is out: the only honest signal left is a broken response.
        response.reset();
      }
    }
  }
}
