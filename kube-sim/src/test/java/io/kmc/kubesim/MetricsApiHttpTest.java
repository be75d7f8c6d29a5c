package io.kmc.kubesim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** metrics.k8s.io over HTTP, as `kubectl top` and the kmc console read it, and a cluster without it. */
@ExtendWith(VertxExtension.class)
class MetricsApiHttpTest {

  private final HttpClient http = HttpClient.newHttpClient();

  @Test
  @Timeout(value = 20, timeUnit = TimeUnit.SECONDS)
  void servesNodeAndPodMetricsListedInDiscovery(Vertx vertx) throws Exception {
    KubeSim sim = KubeSim.start(vertx, new KubeSimOptions().seed(true)).await();
    try {
      assertTrue(groups(sim).contains("metrics.k8s.io"), "discovery lists the metrics group");
      JsonObject resources = new JsonObject(get(sim, "/apis/metrics.k8s.io/v1beta1").body());
      assertEquals("nodes,pods", resources.getJsonArray("resources").stream()
          .map(r -> ((JsonObject) r).getString("name")).sorted().reduce((a, b) -> a + "," + b).orElse(""));

      HttpResponse<String> nodes = get(sim, "/apis/metrics.k8s.io/v1beta1/nodes");
      assertEquals(200, nodes.statusCode(), nodes.body());
      JsonArray items = new JsonObject(nodes.body()).getJsonArray("items");
      assertFalse(items.isEmpty(), nodes.body());
      JsonObject usage = items.getJsonObject(0).getJsonObject("usage");
      assertTrue(MetricsApi.quantity(usage.getString("cpu")) > 0, usage.encode());
      assertTrue(MetricsApi.quantity(usage.getString("memory")) > 0, usage.encode());

      HttpResponse<String> pods = get(sim, "/apis/metrics.k8s.io/v1beta1/namespaces/kube-system/pods");
      assertEquals(200, pods.statusCode(), pods.body());
      assertEquals("PodMetricsList", new JsonObject(pods.body()).getString("kind"));
    } finally {
      sim.close().await();
    }
  }

  @Test
  @Timeout(value = 20, timeUnit = TimeUnit.SECONDS)
  void withoutTheMetricsApiTheGroupIsNotFound(Vertx vertx) throws Exception {
    KubeSim sim = KubeSim.start(vertx, new KubeSimOptions().seed(true).metricsApi(false)).await();
    try {
      assertFalse(groups(sim).contains("metrics.k8s.io"), "no metrics group in discovery");
      assertEquals(404, get(sim, "/apis/metrics.k8s.io/v1beta1/nodes").statusCode());
      assertEquals(404, get(sim, "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods").statusCode());
      assertEquals(200, get(sim, "/api/v1/nodes").statusCode(), "the rest is served as before");
    } finally {
      sim.close().await();
    }
  }

  private JsonArray groups(KubeSim sim) throws Exception {
    JsonArray names = new JsonArray();
    new JsonObject(get(sim, "/apis").body()).getJsonArray("groups")
        .forEach(group -> names.add(((JsonObject) group).getString("name")));
    return names;
  }

  private HttpResponse<String> get(KubeSim sim, String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(sim.url() + path)).header("Accept", "application/json").build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
