package io.kmc.hub;

import com.google.gson.reflect.TypeToken;
import io.kmc.hub.support.Fleet;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.util.Watch;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A cluster listed with a kubeconfig is served by the hub itself, through the same request path. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DirectModeIT {

  private static Fleet fleet;
  private static List<Hub> hubs;

  @BeforeAll
  static void start() {
    fleet = new Fleet();
    fleet.directCluster("lab");
    hubs = fleet.hubs(2);
    fleet.awaitConnected(hubs.get(0), "lab");
  }

  @AfterAll
  static void stop() {
    fleet.close();
  }

  @Test
  void directClusterIsListedAsDirectAndConnected() {
    JsonObject cluster = new JsonObject(fleet.api(hubs.get(1), "/api/v1/clusters/lab").body());
    assertEquals("direct", cluster.getString("mode"));
    assertTrue(cluster.getJsonObject("connection").getBoolean("connected"));
    assertTrue(cluster.getJsonObject("connection").getString("kubernetesVersion").startsWith("v1."));
  }

  @Test
  void requestsAndWatchesWorkFromEitherNode() throws Exception {
    for (Hub via : hubs) {
      ApiClient client = fleet.kubeClient(via, "lab", Duration.ZERO);
      CoreV1Api core = new CoreV1Api(client);
      String name = "direct-" + via.port();
      String rv = core.listNamespacedConfigMap("default").execute().getMetadata().getResourceVersion();
      try (Watch<V1ConfigMap> watch = Watch.createWatch(client,
          core.listNamespacedConfigMap("default").watch(true).resourceVersion(rv).timeoutSeconds(10).buildCall(null),
          new TypeToken<Watch.Response<V1ConfigMap>>() { }.getType())) {
        core.createNamespacedConfigMap("default", new V1ConfigMap().metadata(new V1ObjectMeta().name(name))).execute();
        Watch.Response<V1ConfigMap> event = watch.next();
        assertEquals("ADDED", event.type);
        assertEquals(name, event.object.getMetadata().getName());
      }
      assertEquals(name, core.readNamespacedConfigMap(name, "default").execute().getMetadata().getName());
    }
  }
}
