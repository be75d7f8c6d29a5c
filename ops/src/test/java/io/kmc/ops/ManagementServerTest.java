package io.kmc.ops;

import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The management port as Prometheus, kubelet probes and an operator with curl use it. */
class ManagementServerTest {

  private final AtomicBoolean databaseUp = new AtomicBoolean(false);
  private final PrometheusMeterRegistry registry = Metrics.newRegistry();
  private Vertx vertx;
  private int port;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    HealthChecks readiness = new HealthChecks()
        .add("server", () -> Future.succeededFuture("accepting"))
        .add("database", () -> databaseUp.get() ? Future.succeededFuture("ok") : Future.failedFuture("connection refused"));
    ManagementServer server = new ManagementServer("127.0.0.1", 0, readiness, registry);
    vertx.deployVerticle(server).await(30, TimeUnit.SECONDS);
    port = server.actualPort();
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().await(30, TimeUnit.SECONDS);
  }

  @Test
  void readinessNamesTheFailingCheckAndRecovers() throws Exception {
    assertEquals(200, get("/healthz").statusCode(), "alive even when not ready");
    HttpResponse<String> notReady = get("/ready");
    assertEquals(503, notReady.statusCode());
    JsonObject checks = new JsonObject(notReady.body()).getJsonObject("checks");
    assertFalse(checks.getJsonObject("database").getBoolean("ok"));
    assertEquals("connection refused", checks.getJsonObject("database").getString("detail"));
    assertTrue(checks.getJsonObject("server").getBoolean("ok"));

    databaseUp.set(true);
    assertEquals(200, get("/ready").statusCode());
    HttpResponse<String> unknown = get("/metrics/extra");
    assertEquals(404, unknown.statusCode());
    assertTrue(unknown.body().contains("/healthz, /ready and /metrics"), unknown.body());
  }

  @Test
  void largeScrapesAnswerHttp2FirstClientsOverHttp11() throws Exception {
    for (int i = 0; i < 400; i++) {
      Counter.builder("kmc_test_events").tag("cluster", "cluster-" + i).register(registry).increment(i);
    }
    // java.net.http tries an h2c upgrade first; the answer must come back whole, as HTTP/1.1.
    for (int i = 0; i < 30; i++) {
      HttpResponse<String> scrape = get("/metrics");
      assertEquals(HttpClient.Version.HTTP_1_1, scrape.version());
      assertTrue(scrape.body().length() > 16_384, "larger than one HTTP/2 frame: " + scrape.body().length());
      assertTrue(scrape.body().contains("kmc_test_events_total{cluster=\"cluster-399\"} 399.0"));
      assertTrue(scrape.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"));
    }
  }

  @Test
  void aTakenPortIsReportedWithItsAddressAndSetting() throws Exception {
    try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      ManagementServer second = new ManagementServer("127.0.0.1", taken.getLocalPort(), new HealthChecks(), registry);
      Exception failure = org.junit.jupiter.api.Assertions.assertThrows(Exception.class,
          () -> vertx.deployVerticle(second).await(30, TimeUnit.SECONDS));
      Listening.BindFailure bind = Listening.find(failure);
      assertTrue(bind != null, "a bind failure: " + failure);
      assertTrue(bind.getMessage().startsWith("cannot listen on 127.0.0.1:" + taken.getLocalPort()), bind.getMessage());
      assertTrue(bind.getMessage().contains("metrics.port (KMC_METRICS_PORT"), bind.getMessage());
    }
  }

  private HttpResponse<String> get(String path) throws IOException, InterruptedException {
    try {
      return HttpClient.newHttpClient().sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).get(20, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new IOException("GET " + path + " got no whole answer: " + e, e);
    }
  }
}
