package io.kmc.ops;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;

/**
 * The management port, apart from the API: {@code /healthz} (the process and its event loops
 * answer), {@code /ready} (one check per dependency) and {@code /metrics} (Prometheus text).
 */
public final class ManagementServer extends VerticleBase {

  private final String host;
  private final int port;
  private final HealthChecks readiness;
  private final PrometheusMeterRegistry registry;
  private HttpServer server;

  public ManagementServer(String host, int port, HealthChecks readiness, PrometheusMeterRegistry registry) {
    this.host = host;
    this.port = port;
    this.readiness = readiness;
    this.registry = registry;
  }

  @Override
  public Future<?> start() {
    // HTTP/1.1 only: Prometheus and kubelet probes speak it, and Vert.x's h2c upgrade (which clients
    // such as java.net.http try first) loses answers larger than one HTTP/2 frame now and then.
    server = vertx.createHttpServer(new HttpServerOptions().setHost(host).setPort(port)
        .setHttp2ClearTextEnabled(false)).requestHandler(this::handle);
    return server.listen().recover(e -> Future.failedFuture(Listening.failure("/healthz, /ready and /metrics", host,
        port, "metrics.port (KMC_METRICS_PORT; metrics.enabled=false turns the management port off)", e)));
  }

  public int actualPort() {
    return server.actualPort();
  }

  private void handle(HttpServerRequest request) {
    switch (request.path()) {
      case "/healthz" -> json(request, 200, new JsonObject().put("status", "ok"));
      case "/ready" -> readiness.run().onComplete(ar -> {
        if (ar.succeeded()) {
          json(request, ar.result().ready() ? 200 : 503, ar.result().body());
        } else {
          json(request, 503, new JsonObject().put("status", "not ready").put("error", ar.cause().getMessage()));
        }
      });
      // Rendering and encoding thousands of series (megabytes) takes a while: not on the event loop,
      // which also carries agents' tunnels.
      case "/metrics" -> vertx.executeBlocking(() -> Buffer.buffer(registry.scrape()), false).onComplete(ar -> {
        if (ar.succeeded()) {
          request.response().putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8").end(ar.result());
        } else {
          json(request, 500, new JsonObject().put("code", 500).put("message", "cannot render the metrics: "
              + ar.cause().getMessage()));
        }
      });
      default -> json(request, 404, new JsonObject().put("code", 404).put("reason", "NotFound")
          .put("message", "the management port serves /healthz, /ready and /metrics"));
    }
  }

  private static void json(HttpServerRequest request, int status, JsonObject body) {
    request.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(body.toBuffer());
  }
}
