package io.kmc.hub.api;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Labels taken from the route that ended a request agree with matching its path against every template. */
class RouteLabelsTest {

  private static final Map<String, String> LABELS = new ConcurrentHashMap<>();
  private static Vertx vertx;
  private static HttpServer server;
  private static HttpClient client;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    Router router = Router.router(vertx);
    RouteLabels[] labels = new RouteLabels[1];
    router.route().handler(ctx -> {
      ctx.addEndHandler(ended -> LABELS.put(ctx.request().method() + " " + ctx.normalizedPath(),
          labels[0].label(ctx) + " | " + labels[0].label(ctx.request().method(), ctx.normalizedPath())));
      ctx.next();
    });
    router.route("/api/*").handler(ctx -> ctx.next());
    router.route("/k8s/clusters/*").handler(ctx -> ctx.next());
    router.get("/api/v1/clusters/:name").handler(ctx -> ctx.end("one"));
    router.post("/api/v1/clusters").handler(ctx -> ctx.fail(400));
    router.route("/k8s/clusters/:cluster/*").handler(ctx -> ctx.end("passed through"));
    router.route("/k8s/fleet/*").handler(ctx -> ctx.end("fleet"));
    router.route().last().handler(ctx -> ctx.fail(404));
    router.route().failureHandler(ctx -> ctx.response().setStatusCode(ctx.statusCode()).end());
    labels[0] = new RouteLabels(router);
    server = vertx.createHttpServer().requestHandler(router).listen(0).await(10, TimeUnit.SECONDS);
    client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(false));
  }

  @AfterAll
  static void stop() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void theRouteThatEndedARequestNamesItsTemplate() throws Exception {
    assertEquals("/api/v1/clusters/:name | /api/v1/clusters/:name", label(HttpMethod.GET, "/api/v1/clusters/prod"));
    assertEquals("/k8s/clusters/:cluster/* | /k8s/clusters/:cluster/*",
        label(HttpMethod.GET, "/k8s/clusters/prod/api/v1/pods"));
    assertEquals("/k8s/fleet/* | /k8s/fleet/*", label(HttpMethod.GET, "/k8s/fleet/api/v1/pods"));
  }

  @Test
  void requestsEndedByASharedOrFailureHandlerAreMatchedByPath() throws Exception {
    assertEquals("/api/v1/clusters | /api/v1/clusters", label(HttpMethod.POST, "/api/v1/clusters"));
    assertEquals("/api/* | /api/*", label(HttpMethod.GET, "/api/v2/nothing"));
    assertEquals("unmatched | unmatched", label(HttpMethod.GET, "/elsewhere"));
  }

  private static String label(HttpMethod method, String path) throws Exception {
    client.request(method, server.actualPort(), "127.0.0.1", path)
        .compose(request -> request.send())
        .compose(response -> response.body())
        .await(10, TimeUnit.SECONDS);
    String key = method + " " + path;
    for (int i = 0; i < 100 && !LABELS.containsKey(key); i++) {
      Thread.sleep(10);
    }
    return LABELS.get(key);
  }
}
