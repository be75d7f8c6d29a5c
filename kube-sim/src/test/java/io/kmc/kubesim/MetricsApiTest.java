package io.kmc.kubesim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class MetricsApiTest {

  private static final long NOON = 1_780_000_000_000L;
  private final AtomicLong clock = new AtomicLong(NOON);

  @Test
  void quantitiesParseInBaseUnits() {
    assertEquals(0.25, MetricsApi.quantity("250m"), 1e-12);
    assertEquals(1.5, MetricsApi.quantity("1.5"), 1e-12);
    assertEquals(128 * 1024 * 1024, MetricsApi.quantity("128Mi"), 1e-6);
    assertEquals(2e9, MetricsApi.quantity("2G"), 1e-6);
    assertEquals(1000, MetricsApi.quantity("1e3"), 1e-9);
    assertEquals(0, MetricsApi.quantity("lots"));
  }

  @Test
  void usageIsSeededPerPodAndTheSameInEverySimulator() {
    Registry one = cluster();
    Registry two = cluster();
    JsonObject first = podMetrics(one, "web-1");
    assertEquals(first, podMetrics(two, "web-1"), "the same pod in another simulator uses the same");
    assertNotEquals(usage(first, "cpu"), usage(podMetrics(one, "web-2"), "cpu"), "another pod uses something else");
    clock.addAndGet(MetricsApi.WINDOW_MILLIS - 1 - Math.floorMod(NOON, MetricsApi.WINDOW_MILLIS));
    assertEquals(first, podMetrics(one, "web-1"), "one value per scrape window");
    assertEquals("15s", first.getString("window"));
    assertEquals("web", first.getJsonObject("metadata").getJsonObject("labels").getString("app"));
  }

  @Test
  void usageMovesSlowlyAndStaysWithinLimits() {
    Registry registry = cluster();
    double previous = usage(podMetrics(registry, "limited"), "cpu");
    double lowest = previous;
    double highest = previous;
    for (int window = 0; window < 240; window++) {
      clock.addAndGet(MetricsApi.WINDOW_MILLIS);
      JsonObject metrics = podMetrics(registry, "limited");
      double cpu = usage(metrics, "cpu");
      assertTrue(Math.abs(cpu - previous) <= 0.1 * previous, "from " + previous + " to " + cpu + " in one window");
      assertTrue(cpu <= 0.2 && usage(metrics, "memory") <= 64 * 1024 * 1024, "within the limits: " + metrics);
      lowest = Math.min(lowest, cpu);
      highest = Math.max(highest, cpu);
      previous = cpu;
    }
    assertTrue(highest > lowest * 1.05, "it does move over an hour: " + lowest + ".." + highest);
  }

  @Test
  void aNodeUsesWhatItsPodsUsePlusTheSystem() {
    Registry registry = cluster();
    JsonObject node = new MetricsApi(registry, clock::get).nodeMetrics().get("node-a");
    double pods = 0;
    for (JsonObject pod : new MetricsApi(registry, clock::get).podMetrics("default").values()) {
      for (Object container : pod.getJsonArray("containers")) {
        pods += MetricsApi.quantity(((JsonObject) container).getJsonObject("usage").getString("cpu"));
      }
    }
    double cpu = MetricsApi.quantity(node.getJsonObject("usage").getString("cpu"));
    assertTrue(cpu > pods && cpu < pods + 0.3, cpu + " vs pods' " + pods);
    assertEquals(List.of("limited", "web-1", "web-2"), List.copyOf(new MetricsApi(registry, clock::get)
        .podMetrics("default").values().stream().map(Json::name).toList()), "only Running pods, all of them");
  }

  private JsonObject podMetrics(Registry registry, String pod) {
    return new MetricsApi(registry, clock::get).podMetrics("default").get("default/" + pod);
  }

  private static double usage(JsonObject podMetrics, String resource) {
    return MetricsApi.quantity(podMetrics.getJsonArray("containers").getJsonObject(0).getJsonObject("usage")
        .getString(resource));
  }

  private static Registry cluster() {
    Registry registry = new Registry(new ResourceCatalog(), new ObjectStore(100));
    Seed.namespaces(registry, List.of("default"));
    ResourceType nodes = registry.catalog().findByGroupKind("", "Node").orElseThrow();
    JsonObject node = registry.create(nodes, null, new JsonObject().put("metadata", new JsonObject()
        .put("name", "node-a")), Registry.WriteOptions.internal("test"));
    registry.update(nodes, null, "node-a", node.put("status", new JsonObject().put("allocatable", new JsonObject()
        .put("cpu", "4").put("memory", "8Gi"))), "status", Registry.WriteOptions.internal("test"));
    pod(registry, "web-1", "Running", new JsonObject());
    pod(registry, "web-2", "Running", new JsonObject());
    pod(registry, "pending", "Pending", new JsonObject());
    pod(registry, "limited", "Running", new JsonObject()
        .put("requests", new JsonObject().put("cpu", "100m").put("memory", "32Mi"))
        .put("limits", new JsonObject().put("cpu", "200m").put("memory", "64Mi")));
    return registry;
  }

  private static void pod(Registry registry, String name, String phase, JsonObject resources) {
    ResourceType pods = registry.catalog().findByGroupKind("", "Pod").orElseThrow();
    JsonObject pod = registry.create(pods, "default", new JsonObject()
        .put("metadata", new JsonObject().put("name", name).put("labels", new JsonObject().put("app", "web")))
        .put("spec", new JsonObject().put("nodeName", "node-a").put("containers", new JsonArray()
            .add(new JsonObject().put("name", "app").put("image", "app:1").put("resources", resources)))),
        Registry.WriteOptions.internal("test"));
    registry.update(pods, "default", name, pod.put("status", new JsonObject().put("phase", phase)), "status",
        Registry.WriteOptions.internal("test"));
  }
}
