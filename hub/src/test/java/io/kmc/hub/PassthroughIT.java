package io.kmc.hub;

import com.google.gson.reflect.TypeToken;
import io.kmc.hub.support.Fleet;
import io.kubernetes.client.custom.V1Patch;
import io.kubernetes.client.informer.ResourceEventHandler;
import io.kubernetes.client.informer.SharedIndexInformer;
import io.kubernetes.client.informer.SharedInformerFactory;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.AppsV1Api;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1ConfigMapList;
import io.kubernetes.client.openapi.models.V1Container;
import io.kubernetes.client.openapi.models.V1Deployment;
import io.kubernetes.client.openapi.models.V1DeploymentSpec;
import io.kubernetes.client.openapi.models.V1LabelSelector;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1PodSpec;
import io.kubernetes.client.openapi.models.V1PodTemplateSpec;
import io.kubernetes.client.util.PatchUtils;
import io.kubernetes.client.util.Watch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * client-java against node A of a two-node hub, reaching cluster "west" whose agent is connected to
 * node B (and "east", whose agent is on A): the Kubernetes API must behave exactly as the member
 * cluster's own.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PassthroughIT {

  private static Fleet fleet;
  private static Hub nodeA;
  private static Hub nodeB;
  private static io.kmc.agent.Agent westAgent;

  @BeforeAll
  static void startFleet() {
    fleet = new Fleet();
    fleet.cluster("east");
    fleet.cluster("west");
    List<Hub> hubs = fleet.hubs(2);
    nodeA = hubs.get(0);
    nodeB = hubs.get(1);
    fleet.agent("east", nodeA);
    westAgent = fleet.agent("west", nodeB);
    fleet.awaitConnected(nodeA, "east");
    fleet.awaitConnected(nodeA, "west");
  }

  @AfterAll
  static void stopFleet() {
    fleet.close();
  }

  @Test
  void clusterListShowsWhereEachAgentIsConnected() {
    assertEquals(nodeB.nodeId(), fleet.connection(nodeA, "west").getString("node"));
    assertEquals(nodeA.nodeId(), fleet.connection(nodeB, "east").getString("node"));
    assertTrue(fleet.connection(nodeB, "east").getString("kubernetesVersion").startsWith("v1."));
  }

  @Test
  void deploymentsCreateGetListPatchReplaceDeleteAcrossNodes() throws Exception {
    ApiClient client = fleet.kubeClient(nodeA, "west", Duration.ofSeconds(30));
    AppsV1Api apps = new AppsV1Api(client);
    new CoreV1Api(client).createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name("shop"))).execute();

    V1Deployment created = apps.createNamespacedDeployment("shop", deployment("web", "nginx:1.25", Map.of("app", "web")))
        .execute();
    assertNotNull(created.getMetadata().getUid());
    apps.createNamespacedDeployment("shop", deployment("db", "postgres:16", Map.of("app", "db"))).execute();

    assertEquals("nginx:1.25", apps.readNamespacedDeployment("web", "shop").execute()
        .getSpec().getTemplate().getSpec().getContainers().get(0).getImage());
    List<String> selected = apps.listNamespacedDeployment("shop").labelSelector("app=web").execute().getItems()
        .stream().map(d -> d.getMetadata().getName()).toList();
    assertEquals(List.of("web"), selected);

    V1Deployment patched = PatchUtils.patch(V1Deployment.class,
        () -> apps.patchNamespacedDeployment("web", "shop", new V1Patch(
            "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"main\",\"image\":\"nginx:1.27\"}]}}}}"))
            .buildCall(null),
        V1Patch.PATCH_FORMAT_STRATEGIC_MERGE_PATCH, client);
    assertEquals("nginx:1.27", patched.getSpec().getTemplate().getSpec().getContainers().get(0).getImage());

    V1Deployment merged = PatchUtils.patch(V1Deployment.class,
        () -> apps.patchNamespacedDeployment("web", "shop", new V1Patch("{\"spec\":{\"replicas\":3}}")).buildCall(null),
        V1Patch.PATCH_FORMAT_JSON_MERGE_PATCH, client);
    assertEquals(3, merged.getSpec().getReplicas());

    // The cluster's controller updates the status meanwhile: read, change, replace, and retry on a conflict.
    V1Deployment replaced = null;
    for (int attempt = 0; replaced == null; attempt++) {
      V1Deployment current = apps.readNamespacedDeployment("web", "shop").execute();
      current.getMetadata().putLabelsItem("tier", "front");
      try {
        replaced = apps.replaceNamespacedDeployment("web", "shop", current).execute();
      } catch (ApiException e) {
        if (e.getCode() != 409 || attempt == 5) {
          throw e;
        }
      }
    }
    assertEquals("front", replaced.getMetadata().getLabels().get("tier"));

    apps.deleteNamespacedDeployment("web", "shop").execute();
    ApiException gone = assertThrows(ApiException.class, () -> apps.readNamespacedDeployment("web", "shop").execute());
    assertEquals(404, gone.getCode());
    assertTrue(gone.getResponseBody().contains("\"reason\":\"NotFound\""), gone.getResponseBody());
  }

  @Test
  void configMapsThroughTheLocalAgentAndTheRemoteOneAgree() throws Exception {
    for (Hub via : List.of(nodeA, nodeB)) {
      for (String cluster : List.of("east", "west")) {
        CoreV1Api core = new CoreV1Api(fleet.kubeClient(via, cluster, Duration.ofSeconds(30)));
        String name = "cm-" + via.port() + "-" + cluster;
        core.createNamespacedConfigMap("default", new V1ConfigMap()
            .metadata(new V1ObjectMeta().name(name).putLabelsItem("via", String.valueOf(via.port())))
            .putDataItem("cluster", cluster)).execute();
        V1ConfigMap read = core.readNamespacedConfigMap(name, "default").execute();
        assertEquals(cluster, read.getData().get("cluster"));
        V1ConfigMap patched = PatchUtils.patch(V1ConfigMap.class,
            () -> core.patchNamespacedConfigMap(name, "default",
                new V1Patch("[{\"op\":\"add\",\"path\":\"/data/patched\",\"value\":\"yes\"}]")).buildCall(null),
            V1Patch.PATCH_FORMAT_JSON_PATCH, core.getApiClient());
        assertEquals("yes", patched.getData().get("patched"));
        core.deleteNamespacedConfigMap(name, "default").execute();
      }
    }
  }

  @Test
  void conflictsAndMissingObjectsKeepTheirKubernetesMeaning() throws Exception {
    CoreV1Api core = new CoreV1Api(fleet.kubeClient(nodeA, "west", Duration.ofSeconds(30)));
    V1ConfigMap first = core.createNamespacedConfigMap("default", new V1ConfigMap()
        .metadata(new V1ObjectMeta().name("conflicted")).putDataItem("v", "1")).execute();

    ApiException exists = assertThrows(ApiException.class, () -> core.createNamespacedConfigMap("default",
        new V1ConfigMap().metadata(new V1ObjectMeta().name("conflicted"))).execute());
    assertEquals(409, exists.getCode());
    assertTrue(exists.getResponseBody().contains("AlreadyExists"), exists.getResponseBody());

    core.replaceNamespacedConfigMap("conflicted", "default", first.putDataItem("v", "2")).execute();
    ApiException stale = assertThrows(ApiException.class,
        () -> core.replaceNamespacedConfigMap("conflicted", "default", first.putDataItem("v", "3")).execute());
    assertEquals(409, stale.getCode());
    assertTrue(stale.getResponseBody().contains("\"reason\":\"Conflict\""), stale.getResponseBody());

    ApiException missing = assertThrows(ApiException.class,
        () -> core.readNamespacedConfigMap("no-such-map", "default").execute());
    assertEquals(404, missing.getCode());
  }

  @Test
  void watchDeliversAddedModifiedDeletedInOrder() throws Exception {
    ApiClient client = fleet.kubeClient(nodeA, "west", Duration.ZERO);
    CoreV1Api core = new CoreV1Api(client);
    core.createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name("watched"))).execute();
    String rv = core.listNamespacedConfigMap("watched").execute().getMetadata().getResourceVersion();

    BlockingQueue<String> events = new LinkedBlockingQueue<>();
    Thread reader;
    try (Watch<V1ConfigMap> watch = Watch.createWatch(client,
        core.listNamespacedConfigMap("watched").watch(true).resourceVersion(rv).timeoutSeconds(30).buildCall(null),
        new TypeToken<Watch.Response<V1ConfigMap>>() { }.getType())) {
      reader = new Thread(() -> {
        try {
          for (Watch.Response<V1ConfigMap> event : watch) {
            events.add(event.type + " " + event.object.getMetadata().getName() + " "
                + (event.object.getData() == null ? "" : event.object.getData().get("v")));
          }
        } catch (RuntimeException e) {
          // closed by the test
        }
      });
      reader.start();
      core.createNamespacedConfigMap("watched", new V1ConfigMap().metadata(new V1ObjectMeta().name("w"))
          .putDataItem("v", "1")).execute();
      PatchUtils.patch(V1ConfigMap.class, () -> core.patchNamespacedConfigMap("w", "watched",
          new V1Patch("{\"data\":{\"v\":\"2\"}}")).buildCall(null), V1Patch.PATCH_FORMAT_JSON_MERGE_PATCH, client);
      core.deleteNamespacedConfigMap("w", "watched").execute();

      List<String> seen = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        String event = events.poll(10, TimeUnit.SECONDS);
        assertNotNull(event, "event " + i + " after " + seen);
        seen.add(event);
      }
      assertEquals(List.of("ADDED w 1", "MODIFIED w 2", "DELETED w 2"), seen);
    }
    reader.join(5000);
  }

  @Test
  void expiredResourceVersionGets410() throws Exception {
    ApiClient client = fleet.kubeClient(nodeA, "west", Duration.ZERO);
    CoreV1Api core = new CoreV1Api(client);
    // The member cluster keeps a bounded history; more writes than it keeps make the first version too old.
    String oldVersion = core.listNamespacedConfigMap("default").execute().getMetadata().getResourceVersion();
    core.createNamespacedConfigMap("default", new V1ConfigMap().metadata(new V1ObjectMeta().name("churn"))).execute();
    for (int i = 0; i < Fleet.WATCH_HISTORY + 10; i++) {
      PatchUtils.patch(V1ConfigMap.class, () -> core.patchNamespacedConfigMap("churn", "default",
          new V1Patch("{\"data\":{\"i\":\"" + System.nanoTime() + "\"}}")).buildCall(null),
          V1Patch.PATCH_FORMAT_JSON_MERGE_PATCH, client);
    }
    try (Watch<V1ConfigMap> watch = Watch.createWatch(client,
        core.listNamespacedConfigMap("default").watch(true).resourceVersion(oldVersion).timeoutSeconds(5)
            .buildCall(null),
        new TypeToken<Watch.Response<V1ConfigMap>>() { }.getType())) {
      Watch.Response<V1ConfigMap> first = watch.next();
      assertEquals("ERROR", first.type, "first event");
      assertNotNull(first.status);
      assertEquals(410, first.status.getCode());
    }
  }

  @Test
  void informerSeesAddUpdateDeleteThroughTheHub() throws Exception {
    ApiClient client = fleet.kubeClient(nodeA, "west", Duration.ZERO);
    CoreV1Api core = new CoreV1Api(client);
    core.createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name("informed"))).execute();
    SharedInformerFactory factory = new SharedInformerFactory(client);
    SharedIndexInformer<V1ConfigMap> informer = factory.sharedIndexInformerFor(params ->
            core.listNamespacedConfigMap("informed").resourceVersion(params.resourceVersion)
                .timeoutSeconds(params.timeoutSeconds).watch(params.watch).buildCall(null),
        V1ConfigMap.class, V1ConfigMapList.class);
    BlockingQueue<String> events = new LinkedBlockingQueue<>();
    informer.addEventHandler(new ResourceEventHandler<>() {
      @Override
      public void onAdd(V1ConfigMap obj) {
        events.add("add " + obj.getMetadata().getName());
      }

      @Override
      public void onUpdate(V1ConfigMap oldObj, V1ConfigMap newObj) {
        events.add("update " + newObj.getData().get("v"));
      }

      @Override
      public void onDelete(V1ConfigMap obj, boolean deletedFinalStateUnknown) {
        events.add("delete " + obj.getMetadata().getName());
      }
    });
    factory.startAllRegisteredInformers();
    try {
      Fleet.eventually(Duration.ofSeconds(10), informer::hasSynced, "informer synced");
      CoreV1Api writer = new CoreV1Api(fleet.kubeClient(nodeB, "west", Duration.ofSeconds(30)));
      writer.createNamespacedConfigMap("informed", new V1ConfigMap().metadata(new V1ObjectMeta().name("i"))
          .putDataItem("v", "1")).execute();
      assertEquals("add i", events.poll(5, TimeUnit.SECONDS));
      PatchUtils.patch(V1ConfigMap.class, () -> writer.patchNamespacedConfigMap("i", "informed",
          new V1Patch("{\"data\":{\"v\":\"2\"}}")).buildCall(null), V1Patch.PATCH_FORMAT_JSON_MERGE_PATCH,
          writer.getApiClient());
      assertEquals("update 2", events.poll(5, TimeUnit.SECONDS));
      writer.deleteNamespacedConfigMap("i", "informed").execute();
      assertEquals("delete i", events.poll(5, TimeUnit.SECONDS));
    } finally {
      factory.stopAllRegisteredInformers();
    }
  }

  @Test
  void largeListsArriveWholeInChunks() throws Exception {
    CoreV1Api core = new CoreV1Api(fleet.kubeClient(nodeA, "west", Duration.ofSeconds(30)));
    core.createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name("bulk"))).execute();
    String filler = "x".repeat(8 * 1024);
    for (int i = 0; i < 40; i++) {
      core.createNamespacedConfigMap("bulk", new V1ConfigMap().metadata(new V1ObjectMeta().name("cm-" + i))
          .putDataItem("filler", filler)).execute();
    }
    // 40 × 8 KiB is several 64 KiB chunks on the tunnel.
    V1ConfigMapList list = core.listNamespacedConfigMap("bulk").execute();
    assertEquals(40, list.getItems().size());
    assertTrue(list.getItems().stream().allMatch(cm -> filler.equals(cm.getData().get("filler"))));
  }

  @Test
  void closingAWatchReleasesItAllTheWayToTheAgent() throws Exception {
    java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    java.net.http.HttpRequest request = java.net.http.HttpRequest.newBuilder(java.net.URI.create(
            "http://127.0.0.1:" + nodeA.port() + "/k8s/clusters/west/api/v1/namespaces/default/configmaps?watch=true"))
        .header("Authorization", "Bearer " + fleet.adminToken()).build();
    java.net.http.HttpResponse<java.io.InputStream> response =
        http.send(request, java.net.http.HttpResponse.BodyHandlers.ofInputStream());
    assertEquals(200, response.statusCode());
    Fleet.eventually(Duration.ofSeconds(5), () -> westAgent.inProgress() >= 1, "the agent holds the watch");

    response.body().close();
    Fleet.eventually(Duration.ofSeconds(10), () -> westAgent.inProgress() == 0, "the agent let the watch go");
  }

  static V1Deployment deployment(String name, String image, Map<String, String> labels) {
    return new V1Deployment()
        .metadata(new V1ObjectMeta().name(name).labels(labels))
        .spec(new V1DeploymentSpec()
            .replicas(1)
            .selector(new V1LabelSelector().matchLabels(labels))
            .template(new V1PodTemplateSpec()
                .metadata(new V1ObjectMeta().labels(labels))
                .spec(new V1PodSpec().addContainersItem(new V1Container().name("main").image(image)))));
  }
}
