package io.kmc.hub.api;

import io.kmc.common.KmcException;
import io.kmc.common.protocol.AgentEndpoint;
import io.kmc.common.protocol.UpgradedMessages;
import io.kmc.hub.audit.Audits;
import io.kmc.hub.auth.Authenticator;
import io.kmc.hub.console.ConsoleAssets;
import io.kmc.hub.gateway.AgentGateway;
import io.kmc.hub.metrics.HubMetrics;
import io.kmc.hub.rbac.Authorizer;
import io.kmc.hub.stream.StreamEndpoint;
import io.kmc.hub.tls.TlsEngine;
import io.kmc.hub.tls.TlsMaterial;
import io.kmc.hub.web.Errors;
import io.kmc.hub.web.RequestLog;
import io.kmc.ops.Listening;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One instance of the hub's HTTP server: the API, the Kubernetes pass-through and the agent
 * endpoint share a port. Several instances share it, one per event loop. Every API and
 * pass-through call goes request id → audit → authentication → authorization → handler.
 */
public final class ApiVerticle extends VerticleBase {

  /** What every instance serves; built once per node. */
  public record Routes(AgentGateway gateway, Authenticator authenticator, Authorizer authorizer,
                       Handler<RoutingContext> auditRecorder, KubePassthrough passthrough, ClustersApi clusters,
                       AuthApi auth, UsersApi users, RbacApi rbac, AuditApi audit, HealthApi health,
                       HubMetrics metrics, AtomicInteger inFlight, int maxBodyBytes, int maxWebSocketMessageBytes,
                       TlsMaterial tls, boolean accessLog, PoliciesApi policies, NotificationsApi notifications,
                       TypedApi typed, OpenApiDoc openApi, SearchApi search, FleetView fleet,
                       PropagationsApi propagations, StreamEndpoint stream, ConsoleAssets console) {
  }

  private final Routes routes;
  private final String host;
  private final int port;
  private final TlsEngine tlsEngine;
  private HttpServer server;
  private Router router;
  private RouteLabels labels;

  /** @param tlsEngine the TLS implementation, when the port serves TLS ({@code server.tls.engine}) */
  public ApiVerticle(Routes routes, String host, int port, TlsEngine tlsEngine) {
    this.routes = routes;
    this.host = host;
    this.port = port;
    this.tlsEngine = tlsEngine;
  }

  @Override
  public Future<?> start() {
    router = Router.router(vertx);
    router.route().handler(RequestGuard::check);
    router.route().handler(this::measure);
    router.get("/healthz").handler(routes.health()::healthz);
    router.get("/ready").handler(routes.health()::ready);
    router.get(AgentEndpoint.PATH).handler(routes.gateway());
    // The web console: public static files; everything it shows comes from the API with the user's token.
    router.get(ConsoleAssets.ROOT).handler(routes.console()::page);
    router.get(ConsoleAssets.ASSETS_PREFIX + ":version/:file").handler(routes.console()::asset);
    router.get(ConsoleAssets.UI_PREFIX + "*").handler(routes.console()::page);

    BodyHandler body = BodyHandler.create(false).setBodyLimit(routes.maxBodyBytes());
    for (String prefix : new String[] {"/api/*", KubePassthrough.PREFIX + "*", FleetView.PREFIX + "/*"}) {
      // Separate routes: Vert.x Web wants a body handler ahead of user handlers on one route.
      router.route(prefix).handler(Audits::assignRequestId);
      router.route(prefix).handler(routes.auditRecorder());
      router.route(prefix).handler(ctx -> {
        if (UpgradedMessages.WEBSOCKET.equalsIgnoreCase(ctx.request().getHeader("Upgrade"))) {
          // A websocket session (exec, attach, port-forward): the request must stay unread, and held
          // until the session is accepted, for Vert.x to upgrade it.
          ctx.request().pause();
          ctx.next();
        } else {
          body.handle(ctx);
        }
      });
    }

    // Reachable without a token: logging in, exchanging a refresh token, how to log in.
    router.post("/api/v1/auth/login").handler(routes.auth()::login);
    router.post("/api/v1/auth/refresh").handler(routes.auth()::refresh);
    router.get("/api/v1/auth/providers").handler(routes.auth()::providers);
    router.get(AuthApi.OIDC_AUTHORIZE).handler(routes.auth()::oidcAuthorize);
    router.get(AuthApi.OIDC_CALLBACK).handler(routes.auth()::oidcCallback);
    router.post("/api/v1/auth/oidc/token").handler(routes.auth()::oidcToken);
    router.post("/api/v1/auth/oidc/refresh").handler(routes.auth()::oidcRefresh);
    router.get(OpenApiDoc.PATH).handler(routes.openApi()::handle);
    // The live stream authenticates itself in the handshake: a bearer token, or a ticket for browsers.
    router.get(StreamEndpoint.PATH).handler(routes.stream() == null ? ApiVerticle::noIndex : routes.stream()::open);

    router.route("/api/*").handler(routes.authenticator());
    router.route(KubePassthrough.PREFIX + "*").handler(routes.authenticator());
    router.route(FleetView.PREFIX + "/*").handler(routes.authenticator());
    // RBAC is part of every fleet query: what the caller may not see is never selected.
    // Methods named, so that the OpenAPI test sees the route: reads are answered, writes refused with a Status.
    Route fleetView = router.route(FleetView.PREFIX + "/*");
    for (HttpMethod method : FleetView.METHODS) {
      fleetView.method(method);
    }
    fleetView.handler(routes.fleet() == null ? ApiVerticle::noIndex : routes.fleet()::handle);

    router.route(KubePassthrough.PREFIX + ":cluster/*").handler(routes.authorizer()::kube)
        .handler(routes.passthrough()::handle);
    router.route(KubePassthrough.PREFIX + ":cluster").handler(routes.authorizer()::kube)
        .handler(routes.passthrough()::handle);

    Authorizer authz = routes.authorizer();
    router.post("/api/v1/auth/logout").handler(routes.auth()::logout);
    router.get("/api/v1/auth/whoami").handler(routes.auth()::whoami);
    router.post("/api/v1/auth/can-i").handler(routes.auth()::canI);
    router.get("/api/v1/tokens").handler(routes.auth()::listTokens);
    router.post("/api/v1/tokens").handler(routes.auth()::createToken);
    router.delete("/api/v1/tokens/:id").handler(routes.auth()::revokeToken);

    router.get("/api/v1/clusters").handler(routes.clusters()::list);
    router.post("/api/v1/clusters").handler(authz.require("clusters", "create")).handler(routes.clusters()::create);
    router.get("/api/v1/clusters/:name").handler(authz.requireClusterAccess("name")).handler(routes.clusters()::get);
    router.patch("/api/v1/clusters/:name").handler(authz.require("clusters", "update"))
        .handler(routes.clusters()::update);
    router.delete("/api/v1/clusters/:name").handler(authz.require("clusters", "delete"))
        .handler(routes.clusters()::delete);
    router.post("/api/v1/clusters/:name/token").handler(authz.require("clusters", "update"))
        .handler(routes.clusters()::rotateToken);
    router.get("/api/v1/clusters/:name/agent.yaml").handler(authz.require("clusters", "update"))
        .handler(routes.clusters()::agentManifest);
    router.get("/api/v1/clusters/:name/kubeconfig").handler(authz.requireClusterAccess("name"))
        .handler(routes.clusters()::kubeconfig);

    if (routes.search() == null) {
      router.get("/api/v1/search").handler(ApiVerticle::noIndex);
      router.get("/api/v1/resources/*").handler(ApiVerticle::noIndex);
    } else {
      router.get("/api/v1/search").handler(routes.search()::search);
      router.get("/api/v1/resources/counts").handler(routes.search()::counts);
      router.get("/api/v1/resources/:group/:version/:plural").handler(routes.search()::resources);
    }

    router.post(StreamEndpoint.TICKETS_PATH)
        .handler(routes.stream() == null ? ApiVerticle::noIndex : routes.stream()::ticket);

    router.get("/api/v1/users").handler(authz.require("users", "list")).handler(routes.users()::list);
    router.post("/api/v1/users").handler(authz.require("users", "create")).handler(routes.users()::create);
    router.get("/api/v1/users/:name").handler(authz.require("users", "get")).handler(routes.users()::get);
    router.patch("/api/v1/users/:name").handler(authz.require("users", "update")).handler(routes.users()::update);
    router.delete("/api/v1/users/:name").handler(authz.require("users", "delete")).handler(routes.users()::delete);
    router.delete("/api/v1/users/:name/sessions").handler(authz.require("users", "update"))
        .handler(routes.users()::revokeSessions);

    router.get("/api/v1/rbac/roles").handler(authz.require("rbac", "list")).handler(routes.rbac()::listRoles);
    router.post("/api/v1/rbac/roles").handler(authz.require("rbac", "create")).handler(routes.rbac()::addRole);
    router.delete("/api/v1/rbac/roles").handler(authz.require("rbac", "delete")).handler(routes.rbac()::removeRole);
    router.get("/api/v1/rbac/bindings").handler(authz.require("rbac", "list")).handler(routes.rbac()::listBindings);
    router.post("/api/v1/rbac/bindings").handler(authz.require("rbac", "create")).handler(routes.rbac()::addBinding);
    router.delete("/api/v1/rbac/bindings").handler(authz.require("rbac", "delete"))
        .handler(routes.rbac()::removeBinding);

    router.get("/api/v1/audit").handler(authz.require("audit", "list")).handler(routes.audit()::query);
    router.get("/api/v1/audit/sessions/:id").handler(authz.require("audit", "list")).handler(routes.audit()::session);

    router.get("/api/v1/policies").handler(authz.require("policies", "list")).handler(routes.policies()::list);
    router.post("/api/v1/policies").handler(authz.require("policies", "create")).handler(routes.policies()::create);
    router.post("/api/v1/policies/evaluate").handler(authz.require("policies", "get"))
        .handler(routes.policies()::evaluate);
    router.get("/api/v1/policies/:name").handler(authz.require("policies", "get")).handler(routes.policies()::get);
    router.put("/api/v1/policies/:name").handler(authz.require("policies", "update"))
        .handler(routes.policies()::replace);
    router.delete("/api/v1/policies/:name").handler(authz.require("policies", "delete"))
        .handler(routes.policies()::delete);

    router.get("/api/v1/propagations").handler(authz.require("propagations", "list"))
        .handler(routes.propagations()::list);
    router.post("/api/v1/propagations").handler(authz.require("propagations", "create"))
        .handler(routes.propagations()::create);
    router.get("/api/v1/propagations/:name").handler(authz.require("propagations", "get"))
        .handler(routes.propagations()::get);
    router.get("/api/v1/propagations/:name/revisions").handler(authz.require("propagations", "get"))
        .handler(routes.propagations()::revisions);
    router.get("/api/v1/propagations/:name/events").handler(authz.require("propagations", "get"))
        .handler(routes.propagations()::events);
    router.put("/api/v1/propagations/:name").handler(authz.require("propagations", "update"))
        .handler(routes.propagations()::replace);
    router.patch("/api/v1/propagations/:name").handler(authz.require("propagations", "patch"))
        .handler(routes.propagations()::patch);
    router.delete("/api/v1/propagations/:name").handler(authz.require("propagations", "delete"))
        .handler(routes.propagations()::delete);

    String n = "/api/v1/notifications";
    NotificationsApi notify = routes.notifications();
    router.get(n + "/events").handler(authz.require("notifications", "list")).handler(notify::eventTypes);
    router.get(n + "/channels").handler(authz.require("notifications", "list")).handler(notify::listChannels);
    router.post(n + "/channels").handler(authz.require("notifications", "create")).handler(notify::createChannel);
    router.get(n + "/channels/:name").handler(authz.require("notifications", "get")).handler(notify::getChannel);
    router.put(n + "/channels/:name").handler(authz.require("notifications", "update")).handler(notify::putChannel);
    router.delete(n + "/channels/:name").handler(authz.require("notifications", "delete"))
        .handler(notify::deleteChannel);
    router.post(n + "/channels/:name/test").handler(authz.require("notifications", "update"))
        .handler(notify::testChannel);
    router.get(n + "/subscriptions").handler(authz.require("notifications", "list")).handler(notify::listSubscriptions);
    router.post(n + "/subscriptions").handler(authz.require("notifications", "create"))
        .handler(notify::createSubscription);
    router.get(n + "/subscriptions/:name").handler(authz.require("notifications", "get"))
        .handler(notify::getSubscription);
    router.put(n + "/subscriptions/:name").handler(authz.require("notifications", "update"))
        .handler(notify::putSubscription);
    router.delete(n + "/subscriptions/:name").handler(authz.require("notifications", "delete"))
        .handler(notify::deleteSubscription);
    router.get(n + "/deliveries").handler(authz.require("notifications", "list")).handler(notify::deliveries);
    router.post(n + "/deliveries/:id/retry").handler(authz.require("notifications", "update"))
        .handler(notify::retry);

    routes.typed().register(router);

    // Install links work without a bearer token (the secret is in the path, and works once).
    router.get(ClustersApi.INSTALL_PATH + ":secret").handler(Audits::assignRequestId)
        .handler(routes.auditRecorder()).handler(routes.clusters()::install);

    router.route().last().handler(ctx -> ctx.fail(404));
    router.route().failureHandler(Errors::handle);
    labels = new RouteLabels(router);

    HttpServerOptions options = new HttpServerOptions()
        .setHost(host)
        .setPort(port)
        // Frames as large as a message are taken (a message over the limit is answered, never a disconnect);
        // what the hub sends is cut into 64 KiB fragments by WebSocketMessages. Only a single frame of more
        // than twice the message limit, which no conforming peer sends, closes the connection (1009).
        .setMaxWebSocketFrameSize(2 * routes.maxWebSocketMessageBytes())
        .setMaxWebSocketMessageSize(routes.maxWebSocketMessageBytes())
        .setDecompressionSupported(true)
        // Sessions (exec, attach, port-forward) are accepted with the subprotocol the member's API
        // server chose, whichever it is: SessionRelay narrows the request to exactly that one first.
        .setWebSocketSubProtocols(List.of("*"))
        // Without TLS, no h2c upgrade: Vert.x loses answers larger than one HTTP/2 frame now and
        // then on an upgraded connection (java.net.http clients try the upgrade by default).
        .setHttp2ClearTextEnabled(false);
    if (routes.tls() != null && routes.tls().serves()) {
      options.setSsl(true).setKeyCertOptions(new PemKeyCertOptions()
          .addCertValue(Buffer.buffer(routes.tls().certificatePem()))
          .addKeyValue(Buffer.buffer(routes.tls().privateKeyPem())));
      if (tlsEngine != null) {
        options.setSslEngineOptions(tlsEngine.options());
      }
    }
    server = vertx.createHttpServer(options).requestHandler(router);
    return server.listen().recover(e -> Future.failedFuture(Listening.failure("the API", host, port,
        "server.port (KMC_SERVER_PORT)", e)));
  }

  /**
   * Times every request and counts it under its route template, method and status; keeps the count
   * of requests in flight, which a graceful shutdown waits for.
   */
  private void measure(RoutingContext ctx) {
    if (UpgradedMessages.WEBSOCKET.equalsIgnoreCase(ctx.request().getHeader("Upgrade"))) {
      // A websocket (the agent's connection, a stream, exec, attach, port-forward) is a session, not a
      // request: its end is never a response's, so counting it would hold a graceful shutdown for its grace.
      ctx.next();
      return;
    }
    long started = System.nanoTime();
    routes.inFlight().incrementAndGet();
    ctx.addEndHandler(ended -> {
      routes.inFlight().decrementAndGet();
      String route = labels.label(ctx);
      int status = ctx.response().getStatusCode();
      long nanos = System.nanoTime() - started;
      routes.metrics().apiRequest(route, ctx.request().method().name(), status, nanos);
      if (routes.accessLog()) {
        RequestLog.ended(ctx, route, status, nanos);
      }
    });
    ctx.next();
  }

  /** The routes this instance serves, as registered (the OpenAPI document is held to them). */
  public List<Route> routeTable() {
    return router.getRoutes();
  }

  private static void noIndex(RoutingContext ctx) {
    ctx.fail(KmcException.notFound("this hub keeps no fleet index (index.enabled is false)"));
  }

  public int actualPort() {
    return server.actualPort();
  }
}
