package io.kmc.hub.api;

import io.kmc.hub.auth.Authenticator;
import io.kmc.hub.gateway.AgentGateway;
import io.kmc.hub.tls.TlsMaterial;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.BodyHandler;

/**
 * One instance of the hub's HTTP server: the API, the Kubernetes pass-through and the agent
 * endpoint share a port. Several instances share it, one per event loop.
 */
public final class ApiVerticle extends VerticleBase {

  /** What every instance serves; built once per node. */
  public record Routes(AgentGateway gateway, Authenticator authenticator, KubePassthrough passthrough,
                       ClustersApi clusters, HealthApi health, int maxBodyBytes, int maxWebSocketMessageBytes,
                       TlsMaterial tls) {
  }

  private static final int WEBSOCKET_FRAGMENT_BYTES = 64 * 1024;

  private final Routes routes;
  private final String host;
  private final int port;
  private HttpServer server;

  public ApiVerticle(Routes routes, String host, int port) {
    this.routes = routes;
    this.host = host;
    this.port = port;
  }

  @Override
  public Future<?> start() {
    Router router = Router.router(vertx);
    router.get("/healthz").handler(routes.health()::healthz);
    router.get("/ready").handler(routes.health()::ready);
    router.get(AgentGateway.PATH).handler(routes.gateway());

    BodyHandler body = BodyHandler.create(false).setBodyLimit(routes.maxBodyBytes());
    router.route(KubePassthrough.PREFIX + ":cluster/*")
        .handler(body)
        .handler(routes.authenticator())
        .handler(routes.passthrough()::handle);
    router.route(KubePassthrough.PREFIX + ":cluster")
        .handler(routes.authenticator())
        .handler(routes.passthrough()::handle);

    router.route("/api/*").handler(body).handler(routes.authenticator());
    router.get("/api/v1/clusters").handler(routes.clusters()::list);
    router.get("/api/v1/clusters/:name").handler(routes.clusters()::get);
    router.get("/api/v1/clusters/:name/kubeconfig").handler(routes.clusters()::kubeconfig);

    router.route().last().handler(ctx -> ctx.fail(404));
    router.route().failureHandler(Errors::handle);
    router.errorHandler(405, Errors::handle);

    HttpServerOptions options = new HttpServerOptions()
        .setHost(host)
        .setPort(port)
        .setMaxWebSocketFrameSize(WEBSOCKET_FRAGMENT_BYTES)
        .setMaxWebSocketMessageSize(routes.maxWebSocketMessageBytes())
        .setDecompressionSupported(true);
    if (routes.tls() != null) {
      options.setSsl(true).setKeyCertOptions(new PemKeyCertOptions()
          .addCertValue(Buffer.buffer(routes.tls().certificatePem()))
          .addKeyValue(Buffer.buffer(routes.tls().privateKeyPem())));
    }
    server = vertx.createHttpServer(options).requestHandler(router);
    return server.listen();
  }

  public int actualPort() {
    return server.actualPort();
  }
}
