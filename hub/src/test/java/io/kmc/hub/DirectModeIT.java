package io.kmc.hub;

import com.google.gson.reflect.TypeToken;
import io.kmc.hub.support.Fleet;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.apis.AppsV1Api;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1Container;
import io.kubernetes.client.openapi.models.V1Deployment;
import io.kubernetes.client.openapi.models.V1DeploymentSpec;
import io.kubernetes.client.openapi.models.V1LabelSelector;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1PodSpec;
import io.kubernetes.client.openapi.models.V1PodTemplateSpec;
import io.kubernetes.client.util.Watch;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
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

  /**
   * A direct cluster is indexed as an agent's is (the agent's informers, in the hub): its deployments
   * are searchable from either node, and a get by name in the fleet view is the whole object.
   */
  @Test
  void aDirectClustersDeploymentsAreSearchable() throws Exception {
    ApiClient client = fleet.kubeClient(hubs.get(0), "lab", Duration.ofSeconds(10));
    Map<String, String> labels = Map.of("app", "direct-web");
    new AppsV1Api(client).createNamespacedDeployment("default", new V1Deployment()
        .metadata(new V1ObjectMeta().name("direct-web").labels(labels))
        .spec(new V1DeploymentSpec().replicas(1).selector(new V1LabelSelector().matchLabels(labels))
            .template(new V1PodTemplateSpec().metadata(new V1ObjectMeta().labels(labels))
                .spec(new V1PodSpec().addContainersItem(new V1Container().name("c").image("nginx"))))))
        .execute();
    for (Hub via : hubs) {
      Fleet.eventually(Duration.ofSeconds(30), () -> {
        HttpResponse<String> found = fleet.call(via, "GET", "/api/v1/search?kind=deployments&labelSelector=app%3Ddirect-web",
            fleet.adminToken(), null);
        if (found.statusCode() != 200 || new JsonObject(found.body()).getLong("total") != 1) {
          return false;
        }
        JsonObject item = new JsonObject(found.body()).getJsonArray("items").getJsonObject(0);
        return item.getString("cluster").equals("lab") && item.getString("name").equals("direct-web")
            && !item.getBoolean("stale");
      }, "the direct cluster's deployment searchable through node " + via.port());
      HttpResponse<String> whole = fleet.call(via, "GET",
          "/k8s/fleet/apis/apps/v1/namespaces/default/deployments/direct-web", fleet.adminToken(), null);
      assertEquals(200, whole.statusCode(), whole.body());
      JsonObject object = new JsonObject(whole.body());
      assertEquals("lab", object.getJsonObject("metadata").getJsonObject("annotations").getString("kmc.io/cluster"));
      assertEquals("nginx", object.getJsonObject("spec").getJsonObject("template").getJsonObject("spec")
          .getJsonArray("containers").getJsonObject(0).getString("image"), whole.body());
    }
  }
}
