package io.kmc.kubesim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParser;
import com.google.gson.reflect.TypeToken;
import io.kubernetes.client.PodLogs;
import io.kubernetes.client.custom.V1Patch;
import io.kubernetes.client.informer.ResourceEventHandler;
import io.kubernetes.client.informer.SharedIndexInformer;
import io.kubernetes.client.informer.SharedInformerFactory;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.AppsV1Api;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.custom.IntOrString;
import io.kubernetes.client.openapi.models.CoreV1Event;
import io.kubernetes.client.openapi.models.CoreV1EventList;
import io.kubernetes.client.openapi.models.EventsV1Event;
import io.kubernetes.client.openapi.models.EventsV1EventList;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1ConfigMapList;
import io.kubernetes.client.openapi.models.V1Container;
import io.kubernetes.client.openapi.models.V1Deployment;
import io.kubernetes.client.openapi.models.V1DeploymentSpec;
import io.kubernetes.client.openapi.models.V1DeploymentStatus;
import io.kubernetes.client.openapi.models.V1DeploymentStrategy;
import io.kubernetes.client.openapi.models.V1EnvVar;
import io.kubernetes.client.openapi.models.V1LabelSelector;
import io.kubernetes.client.openapi.models.V1Namespace;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import io.kubernetes.client.openapi.models.V1OwnerReference;
import io.kubernetes.client.openapi.models.V1Pod;
import io.kubernetes.client.openapi.models.V1PodList;
import io.kubernetes.client.openapi.models.V1PodSpec;
import io.kubernetes.client.openapi.models.V1PodTemplateSpec;
import io.kubernetes.client.openapi.models.V1ReplicaSet;
import io.kubernetes.client.openapi.models.V1ReplicaSetList;
import io.kubernetes.client.openapi.models.V1RollingUpdateDeployment;
import io.kubernetes.client.openapi.models.V1Scale;
import io.kubernetes.client.openapi.models.V1ScaleSpec;
import io.kubernetes.client.openapi.models.V1Status;
import io.kubernetes.client.util.ClientBuilder;
import io.kubernetes.client.util.PatchUtils;
import io.kubernetes.client.util.Watch;
import io.kubernetes.client.util.generic.GenericKubernetesApi;
import io.kubernetes.client.util.generic.KubernetesApiResponse;
import io.kubernetes.client.util.generic.dynamic.DynamicKubernetesApi;
import io.kubernetes.client.util.generic.dynamic.DynamicKubernetesObject;
import io.vertx.core.Vertx;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.lang.reflect.Type;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** client-java, typed and generic, including watches and an informer, against one simulator. */
@ExtendWith(VertxExtension.class)
class ClientJavaIT {

  private static final Type CONFIG_MAP_EVENT = new TypeToken<Watch.Response<V1ConfigMap>>() { }.getType();

  private static KubeSim sim;
  private static ApiClient client;
  private static CoreV1Api core;
  private static AppsV1Api apps;

  @BeforeAll
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  static void start(Vertx vertx, VertxTestContext context) {
    KubeSim.start(vertx, new KubeSimOptions().controllerDelayMillis(20).logLineIntervalMillis(20))
        .onComplete(context.succeeding(started -> {
          sim = started;
          client = SimClients.forRequests(sim);
          core = new CoreV1Api(client);
          apps = new AppsV1Api(client);
          context.completeNow();
        }));
  }

  @AfterAll
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  static void stop(VertxTestContext context) {
    sim.close().onComplete(context.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 20, timeUnit = TimeUnit.SECONDS)
  void typedCrudWithSelectorsPagingAndConflicts() throws Exception {
    namespace("crud");
    for (int i = 0; i < 5; i++) {
      core.createNamespacedConfigMap("crud", configMap("cm-" + i, Map.of("tier", i % 2 == 0 ? "even" : "odd")))
          .execute();
    }
    V1ConfigMap read = core.readNamespacedConfigMap("cm-1", "crud").execute();
    assertNotNull(read.getMetadata().getUid());
    assertNotNull(read.getMetadata().getCreationTimestamp());
    assertEquals(3, core.listNamespacedConfigMap("crud").labelSelector("tier=even").execute().getItems().size());
    assertEquals(2, core.listNamespacedConfigMap("crud").labelSelector("tier!=even,tier").execute().getItems().size());
    assertEquals(5, core.listNamespacedConfigMap("crud").labelSelector("tier in (even,odd),!missing").execute()
        .getItems().size());
    assertEquals(1, core.listNamespacedConfigMap("crud").fieldSelector("metadata.name=cm-3").execute()
        .getItems().size());

    List<String> paged = new ArrayList<>();
    String continueToken = null;
    int pages = 0;
    do {
      V1ConfigMapList page = core.listNamespacedConfigMap("crud").limit(2)._continue(continueToken).execute();
      page.getItems().forEach(cm -> paged.add(cm.getMetadata().getName()));
      assertNotNull(page.getMetadata().getResourceVersion());
      continueToken = page.getMetadata().getContinue();
      pages++;
    } while (continueToken != null && !continueToken.isEmpty());
    assertEquals(List.of("cm-0", "cm-1", "cm-2", "cm-3", "cm-4"), paged);
    assertEquals(3, pages);
    assertTrue(core.listConfigMapForAllNamespaces().execute().getItems().stream()
        .anyMatch(cm -> "crud".equals(cm.getMetadata().getNamespace())));

    ApiException exists = assertThrows(ApiException.class,
        () -> core.createNamespacedConfigMap("crud", configMap("cm-0", Map.of())).execute());
    assertEquals(409, exists.getCode());
    assertTrue(exists.getResponseBody().contains("AlreadyExists"), exists.getResponseBody());

    read.putDataItem("k", "v1");
    V1ConfigMap replaced = core.replaceNamespacedConfigMap("cm-1", "crud", read).execute();
    assertTrue(Long.parseLong(replaced.getMetadata().getResourceVersion())
        > Long.parseLong(read.getMetadata().getResourceVersion()));
    read.putDataItem("k", "stale");
    ApiException stale = assertThrows(ApiException.class,
        () -> core.replaceNamespacedConfigMap("cm-1", "crud", read).execute());
    assertEquals(409, stale.getCode());
    assertTrue(stale.getResponseBody().contains("\"reason\":\"Conflict\""), stale.getResponseBody());

    ApiException invalid = assertThrows(ApiException.class,
        () -> core.createNamespacedConfigMap("crud", configMap("Not_Valid", Map.of())).execute());
    assertEquals(422, invalid.getCode());

    V1Status deleted = core.deleteNamespacedConfigMap("cm-1", "crud").execute();
    assertEquals("Success", deleted.getStatus());
    ApiException gone = assertThrows(ApiException.class, () -> core.readNamespacedConfigMap("cm-1", "crud").execute());
    assertEquals(404, gone.getCode());

    core.deleteCollectionNamespacedConfigMap("crud").labelSelector("tier=even").execute();
    assertEquals(List.of("cm-3"), core.listNamespacedConfigMap("crud").execute().getItems().stream()
        .map(cm -> cm.getMetadata().getName()).filter(name -> name.startsWith("cm-")).toList());
  }

  @Test
  @Timeout(value = 20, timeUnit = TimeUnit.SECONDS)
  void patchesOfEveryKind() throws Exception {
    namespace("patches");
    V1Deployment created = apps.createNamespacedDeployment("patches", deployment("web", 1)).execute();
    assertEquals(1L, created.getMetadata().getGeneration());

    V1Deployment strategic = PatchUtils.patch(V1Deployment.class, () -> apps.patchNamespacedDeployment("web",
        "patches", new V1Patch("{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"app\","
            + "\"env\":[{\"name\":\"MODE\",\"value\":\"fast\"}]}]}}}}")).buildCall(null),
        V1Patch.PATCH_FORMAT_STRATEGIC_MERGE_PATCH, client);
    V1Container container = strategic.getSpec().getTemplate().getSpec().getContainers().get(0);
    assertEquals("nginx:1.25", container.getImage(), "strategic merge keeps the rest of the container");
    assertEquals(List.of(new V1EnvVar().name("MODE").value("fast")), container.getEnv());
    assertEquals(2L, strategic.getMetadata().getGeneration());

    V1Deployment merged = PatchUtils.patch(V1Deployment.class, () -> apps.patchNamespacedDeployment("web",
        "patches", new V1Patch("{\"metadata\":{\"labels\":{\"team\":\"blue\"}}}")).buildCall(null),
        V1Patch.PATCH_FORMAT_JSON_MERGE_PATCH, client);
    assertEquals("blue", merged.getMetadata().getLabels().get("team"));
    assertEquals(2L, merged.getMetadata().getGeneration(), "a metadata change does not bump generation");

    V1Deployment jsonPatched = PatchUtils.patch(V1Deployment.class, () -> apps.patchNamespacedDeployment("web",
        "patches", new V1Patch("[{\"op\":\"replace\",\"path\":\"/spec/replicas\",\"value\":2}]")).buildCall(null),
        V1Patch.PATCH_FORMAT_JSON_PATCH, client);
    assertEquals(2, jsonPatched.getSpec().getReplicas());
    assertEquals(3L, jsonPatched.getMetadata().getGeneration());

    String applied = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: patches\n"
        + "spec:\n  replicas: 1\n  selector:\n    matchLabels: {app: api}\n  template:\n    metadata:\n"
        + "      labels: {app: api}\n    spec:\n      containers:\n      - name: app\n        image: api:1\n";
    V1Deployment applyCreated = PatchUtils.patch(V1Deployment.class, () -> apps.patchNamespacedDeployment("api",
        "patches", new V1Patch(applied)).fieldManager("tester").buildCall(null),
        V1Patch.PATCH_FORMAT_APPLY_YAML, client);
    assertEquals(1, applyCreated.getSpec().getReplicas());
    // client-java 27 does not deserialize metadata.managedFields, so read them raw.
    io.vertx.core.json.JsonObject entry = sim.get("apps/v1", "Deployment", "patches", "api").await()
        .getJsonObject("metadata").getJsonArray("managedFields").getJsonObject(0);
    assertEquals("tester", entry.getString("manager"));
    assertEquals("Apply", entry.getString("operation"));
    V1Deployment applyUpdated = PatchUtils.patch(V1Deployment.class, () -> apps.patchNamespacedDeployment("api",
        "patches", new V1Patch(applied.replace("api:1", "api:2"))).fieldManager("tester").force(true)
        .buildCall(null), V1Patch.PATCH_FORMAT_APPLY_YAML, client);
    assertEquals("api:2", applyUpdated.getSpec().getTemplate().getSpec().getContainers().get(0).getImage());
    assertEquals(2L, applyUpdated.getMetadata().getGeneration());

    ApiException noManager = assertThrows(ApiException.class, () -> PatchUtils.patch(V1Deployment.class,
        () -> apps.patchNamespacedDeployment("api", "patches", new V1Patch(applied)).buildCall(null),
        V1Patch.PATCH_FORMAT_APPLY_YAML, client));
    assertEquals(422, noManager.getCode());
  }

  @Test
  @Timeout(value = 20, timeUnit = TimeUnit.SECONDS)
  void customResourcesThroughTheGenericApi() throws Exception {
    // DynamicKubernetesApi is client-java's GenericKubernetesApi for untyped objects (it brings the gson adapter).
    DynamicKubernetesApi crds = new DynamicKubernetesApi("apiextensions.k8s.io", "v1", "customresourcedefinitions",
        client);
    KubernetesApiResponse<DynamicKubernetesObject> crd = crds.create(dynamic("{\"apiVersion\":"
        + "\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\",\"metadata\":{\"name\":"
        + "\"gadgets.test.kmc.io\"},\"spec\":{\"group\":\"test.kmc.io\",\"scope\":\"Namespaced\",\"names\":"
        + "{\"plural\":\"gadgets\",\"singular\":\"gadget\",\"kind\":\"Gadget\"},\"versions\":[{\"name\":\"v1\","
        + "\"served\":true,\"storage\":true,\"subresources\":{\"status\":{}},\"schema\":{\"openAPIV3Schema\":"
        + "{\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":true}}}]}}"));
    assertTrue(crd.isSuccess(), () -> String.valueOf(crd.getStatus()));
    assertTrue(crd.getObject().getRaw().toString().contains("Established"));

    DynamicKubernetesApi gadgets = new DynamicKubernetesApi("test.kmc.io", "v1", "gadgets", client);
    KubernetesApiResponse<DynamicKubernetesObject> created = gadgets.create(dynamic("{\"apiVersion\":"
        + "\"test.kmc.io/v1\",\"kind\":\"Gadget\",\"metadata\":{\"name\":\"g1\",\"namespace\":\"default\"},"
        + "\"spec\":{\"size\":1},\"status\":{\"ignored\":true}}"));
    assertTrue(created.isSuccess(), () -> String.valueOf(created.getStatus()));
    assertFalse(created.getObject().getRaw().has("status"), "status is a subresource, dropped on create");
    assertEquals(1, gadgets.list("default").getObject().getItems().size());

    KubernetesApiResponse<DynamicKubernetesObject> patched = gadgets.patch("default", "g1",
        V1Patch.PATCH_FORMAT_JSON_MERGE_PATCH, new V1Patch("{\"spec\":{\"size\":5}}"));
    assertEquals(5, patched.getObject().getRaw().getAsJsonObject("spec").get("size").getAsInt());
    KubernetesApiResponse<DynamicKubernetesObject> strategic = gadgets.patch("default", "g1",
        V1Patch.PATCH_FORMAT_STRATEGIC_MERGE_PATCH, new V1Patch("{\"spec\":{\"size\":6}}"));
    assertEquals(415, strategic.getHttpStatusCode(), "custom resources refuse strategic merge patch");

    assertTrue(gadgets.delete("default", "g1").isSuccess());
    assertTrue(crds.delete("gadgets.test.kmc.io").isSuccess());
    assertEquals(404, gadgets.list("default").getHttpStatusCode(), "the kind is no longer served");
  }

  @Test
  @Timeout(value = 20, timeUnit = TimeUnit.SECONDS)
  void watchDeliversChangesInOrder() throws Exception {
    namespace("watched");
    String listVersion = core.listNamespacedConfigMap("watched").execute().getMetadata().getResourceVersion();
    ApiClient watchClient = SimClients.forWatches(sim);
    try (Watch<V1ConfigMap> watch = Watch.createWatch(watchClient, new CoreV1Api(watchClient)
        .listNamespacedConfigMap("watched").watch(true).resourceVersion(listVersion).buildCall(null),
        CONFIG_MAP_EVENT)) {
      core.createNamespacedConfigMap("watched", configMap("w", Map.of())).execute();
      PatchUtils.patch(V1ConfigMap.class, () -> core.patchNamespacedConfigMap("w", "watched",
          new V1Patch("{\"data\":{\"a\":\"b\"}}")).buildCall(null), V1Patch.PATCH_FORMAT_JSON_MERGE_PATCH, client);
      core.deleteNamespacedConfigMap("w", "watched").execute();

      List<String> types = new ArrayList<>();
      long lastVersion = Long.parseLong(listVersion);
      for (int i = 0; i < 3; i++) {
        Watch.Response<V1ConfigMap> event = watch.next();
        types.add(event.type);
        long version = Long.parseLong(event.object.getMetadata().getResourceVersion());
        assertTrue(version > lastVersion, "events come in resourceVersion order");
        lastVersion = version;
      }
      assertEquals(List.of("ADDED", "MODIFIED", "DELETED"), types);
    }
  }

  @Test
  @Timeout(value = 20, timeUnit = TimeUnit.SECONDS)
  void watchFromAnExpiredVersionGets410(Vertx vertx) throws Exception {
    KubeSim small = KubeSim.start(vertx, new KubeSimOptions().watchHistory(3)).await();
    try {
      CoreV1Api api = new CoreV1Api(SimClients.forRequests(small));
      String oldVersion = api.listNamespacedConfigMap("default").execute().getMetadata().getResourceVersion();
      for (int i = 0; i < 5; i++) {
        api.createNamespacedConfigMap("default", configMap("c" + i, Map.of())).execute();
      }
      ApiClient watchClient = SimClients.forWatches(small);
      try (Watch<V1ConfigMap> watch = Watch.createWatch(watchClient, new CoreV1Api(watchClient)
          .listNamespacedConfigMap("default").watch(true).resourceVersion(oldVersion).buildCall(null),
          CONFIG_MAP_EVENT)) {
        Watch.Response<V1ConfigMap> event = watch.next();
        assertEquals("ERROR", event.type);
        assertEquals(410, event.status.getCode());
        assertEquals("Expired", event.status.getReason());
        assertFalse(watch.hasNext(), "the stream ends after the error");
      }
    } finally {
      small.close().await();
    }
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void informerSeesAddUpdateDeleteWithoutRelisting() throws Exception {
    namespace("informed");
    ApiClient informerClient = SimClients.forWatches(sim);
    SharedInformerFactory factory = new SharedInformerFactory(informerClient);
    SharedIndexInformer<V1ConfigMap> informer = factory.sharedIndexInformerFor(new GenericKubernetesApi<>(
        V1ConfigMap.class, V1ConfigMapList.class, "", "v1", "configmaps", informerClient), V1ConfigMap.class, 0,
        "informed");
    BlockingQueue<String> events = new LinkedBlockingQueue<>();
    informer.addEventHandler(new ResourceEventHandler<>() {
      @Override
      public void onAdd(V1ConfigMap obj) {
        events.add("add " + obj.getMetadata().getName());
      }

      @Override
      public void onUpdate(V1ConfigMap oldObj, V1ConfigMap newObj) {
        events.add("update " + newObj.getMetadata().getName() + " " + newObj.getData());
      }

      @Override
      public void onDelete(V1ConfigMap obj, boolean deletedFinalStateUnknown) {
        events.add("delete " + obj.getMetadata().getName());
      }
    });
    factory.startAllRegisteredInformers();
    try {
      waitFor(informer::hasSynced);
      core.createNamespacedConfigMap("informed", configMap("seen", Map.of())).execute();
      assertEquals("add seen", events.poll(1, TimeUnit.SECONDS));
      PatchUtils.patch(V1ConfigMap.class, () -> core.patchNamespacedConfigMap("seen", "informed",
          new V1Patch("{\"data\":{\"k\":\"v\"}}")).buildCall(null), V1Patch.PATCH_FORMAT_JSON_MERGE_PATCH, client);
      assertEquals("update seen {seed=seen, k=v}", events.poll(1, TimeUnit.SECONDS));
      core.deleteNamespacedConfigMap("seen", "informed").execute();
      assertEquals("delete seen", events.poll(1, TimeUnit.SECONDS));
      assertEquals(1, sim.requestCount("list", "/api/v1/namespaces/informed/configmaps"), "listed once");
      assertEquals(1, sim.requestCount("watch", "/api/v1/namespaces/informed/configmaps"), "one watch, kept open");
    } finally {
      factory.stopAllRegisteredInformers();
    }
  }

  @Test
  @Timeout(value = 20, timeUnit = TimeUnit.SECONDS)
  void scaleAndStatusSubresources() throws Exception {
    namespace("scaled");
    apps.createNamespacedDeployment("scaled", deployment("web", 1)).execute();
    V1Scale scale = apps.readNamespacedDeploymentScale("web", "scaled").execute();
    assertEquals(1, scale.getSpec().getReplicas());
    scale.setSpec(new V1ScaleSpec().replicas(4));
    // The controller may have written status since the read; an unconditional update must not conflict.
    scale.getMetadata().setResourceVersion(null);
    assertEquals(4, apps.replaceNamespacedDeploymentScale("web", "scaled", scale).execute().getSpec().getReplicas());
    waitFor(() -> Integer.valueOf(4).equals(readyReplicas("scaled", "web")));
    assertEquals(4, core.listNamespacedPod("scaled").labelSelector("app=web").execute().getItems().size());
    assertEquals("app=web", apps.readNamespacedDeploymentScale("web", "scaled").execute().getStatus().getSelector());

    V1Deployment current = apps.readNamespacedDeployment("web", "scaled").execute();
    long generation = current.getMetadata().getGeneration();
    current.setStatus(new V1DeploymentStatus().replicas(99));
    V1Deployment statusUpdated = apps.replaceNamespacedDeploymentStatus("web", "scaled", current).execute();
    assertEquals(99, statusUpdated.getStatus().getReplicas());
    assertEquals(generation, statusUpdated.getMetadata().getGeneration());

    // The controller keeps rewriting the status meanwhile, so only the status sent here is known not to stick.
    V1Deployment mainUpdate = apps.readNamespacedDeployment("web", "scaled").execute();
    mainUpdate.setStatus(new V1DeploymentStatus().replicas(7));
    mainUpdate.getMetadata().setResourceVersion(null);
    assertNotEquals(7, apps.replaceNamespacedDeployment("web", "scaled", mainUpdate).execute().getStatus()
        .getReplicas(), "the main resource ignores status");
  }

  @Test
  @Timeout(value = 20, timeUnit = TimeUnit.SECONDS)
  void podLogsFollow() throws Exception {
    namespace("logs");
    apps.createNamespacedDeployment("logs", deployment("talker", 1)).execute();
    waitFor(() -> !listPods("logs").isEmpty());
    V1Pod pod = listPods("logs").get(0);
    // A pod that has just started may not have written three lines yet.
    waitFor(() -> logLines(pod.getMetadata().getName()) >= 3);
    String text = core.readNamespacedPodLog(pod.getMetadata().getName(), "logs").tailLines(3).execute();
    assertEquals(3, text.lines().count());
    try (InputStream stream = new PodLogs(SimClients.forWatches(sim)).streamNamespacedPodLog("logs",
        pod.getMetadata().getName(), "app");
        BufferedReader lines = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
      Set<String> seen = new HashSet<>();
      for (int i = 0; i < 15; i++) {
        String line = lines.readLine();
        assertNotNull(line, "follow keeps the stream open");
        seen.add(line);
      }
      assertEquals(15, seen.size());
      core.deleteNamespacedPod(pod.getMetadata().getName(), "logs").execute();
      while (lines.readLine() != null) {
        // Lines written before the deletion; the stream then ends like the kubelet's.
      }
    }
  }

  @Test
  @Timeout(value = 20, timeUnit = TimeUnit.SECONDS)
  void namespaceDeletionRemovesItsContents() throws Exception {
    namespace("doomed");
    core.createNamespacedConfigMap("doomed", configMap("inside", Map.of())).execute();
    apps.createNamespacedDeployment("doomed", deployment("app", 2)).execute();
    waitFor(() -> listPods("doomed").size() == 2);
    core.deleteNamespace("doomed").execute();
    assertEquals(404, assertThrows(ApiException.class, () -> core.readNamespace("doomed").execute()).getCode());
    assertTrue(core.listConfigMapForAllNamespaces().execute().getItems().stream()
        .noneMatch(cm -> "doomed".equals(cm.getMetadata().getNamespace())));
    assertTrue(core.listPodForAllNamespaces().execute().getItems().stream()
        .noneMatch(p -> "doomed".equals(p.getMetadata().getNamespace())));
  }

  @Test
  @Timeout(value = 20, timeUnit = TimeUnit.SECONDS)
  void deletingADeploymentRemovesItsPods() throws Exception {
    namespace("owned");
    apps.createNamespacedDeployment("owned", deployment("app", 3)).execute();
    waitFor(() -> listPods("owned").size() == 3);
    apps.deleteNamespacedDeployment("app", "owned").propagationPolicy("Foreground").execute();
    assertTrue(listPods("owned").isEmpty());
  }

  @Test
  @Timeout(value = 20, timeUnit = TimeUnit.SECONDS)
  void dryRunValidatesButStoresNothing() throws Exception {
    namespace("dry");
    String before = core.listNamespacedConfigMap("dry").execute().getMetadata().getResourceVersion();
    V1ConfigMap answered = core.createNamespacedConfigMap("dry", configMap("ghost", Map.of())).dryRun("All")
        .execute();
    assertEquals("ghost", answered.getMetadata().getName());
    assertNull(answered.getMetadata().getResourceVersion());
    assertEquals(404, assertThrows(ApiException.class,
        () -> core.readNamespacedConfigMap("ghost", "dry").execute()).getCode());
    assertEquals(422, assertThrows(ApiException.class,
        () -> core.createNamespacedConfigMap("dry", configMap("BAD", Map.of())).dryRun("All").execute()).getCode());
    core.createNamespacedConfigMap("dry", configMap("real", Map.of())).execute();
    String afterCreate = core.listNamespacedConfigMap("dry").execute().getMetadata().getResourceVersion();
    core.deleteNamespacedConfigMap("real", "dry").dryRun("All").execute();
    assertNotNull(core.readNamespacedConfigMap("real", "dry").execute());
    assertEquals(afterCreate, core.listNamespacedConfigMap("dry").execute().getMetadata().getResourceVersion());
    assertTrue(Long.parseLong(afterCreate) == Long.parseLong(before) + 1, "only the real create bumped the version");
  }

  @Test
  @Timeout(value = 20, timeUnit = TimeUnit.SECONDS)
  void finalizersHoldDeletionAndGenerateNameMakesNames() throws Exception {
    namespace("finalizing");
    V1ConfigMap held = configMap("held", Map.of());
    held.getMetadata().setFinalizers(List.of("kmc.io/cleanup"));
    core.createNamespacedConfigMap("finalizing", held).execute();
    core.deleteNamespacedConfigMap("held", "finalizing").execute();
    V1ConfigMap terminating = core.readNamespacedConfigMap("held", "finalizing").execute();
    assertNotNull(terminating.getMetadata().getDeletionTimestamp());
    PatchUtils.patch(V1ConfigMap.class, () -> core.patchNamespacedConfigMap("held", "finalizing",
        new V1Patch("{\"metadata\":{\"finalizers\":null}}")).buildCall(null),
        V1Patch.PATCH_FORMAT_JSON_MERGE_PATCH, client);
    assertEquals(404, assertThrows(ApiException.class,
        () -> core.readNamespacedConfigMap("held", "finalizing").execute()).getCode());

    V1ConfigMap generated = core.createNamespacedConfigMap("finalizing", new V1ConfigMap()
        .metadata(new V1ObjectMeta().generateName("gen-"))).execute();
    assertTrue(generated.getMetadata().getName().matches("gen-[a-z0-9]{5}"), generated.getMetadata().getName());
  }

  @Test
  @Timeout(value = 20, timeUnit = TimeUnit.SECONDS)
  void bearerTokenIsRequiredWhenConfigured(Vertx vertx) throws Exception {
    KubeSim guarded = KubeSim.start(vertx, new KubeSimOptions().token("s3cret")).await();
    try {
      assertNotNull(new CoreV1Api(SimClients.forRequests(guarded)).listNamespacedConfigMap("default").execute());
      ApiClient withoutToken = new ClientBuilder().setBasePath(guarded.url()).build();
      ApiException denied = assertThrows(ApiException.class,
          () -> new CoreV1Api(withoutToken).listNamespacedConfigMap("default").execute());
      assertEquals(401, denied.getCode());
    } finally {
      guarded.close().await();
    }
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void rollingUpdateMovesPodsToANewReplicaSetWithinSurgeAndUnavailability() throws Exception {
    namespace("rolling");
    V1Deployment web = deployment("web", 4);
    web.getSpec().strategy(new V1DeploymentStrategy().type("RollingUpdate").rollingUpdate(
        new V1RollingUpdateDeployment().maxSurge(new IntOrString(1)).maxUnavailable(new IntOrString(0))));
    apps.createNamespacedDeployment("rolling", web).execute();
    waitFor(() -> rolledOut("rolling", "web", 4));
    try (PodTimeline timeline = PodTimeline.start("rolling")) {
      setImage("rolling", "web", "nginx:1.26");
      waitFor(() -> rolledOut("rolling", "web", 4) && listPods("rolling").size() == 4);
      timeline.awaitQuiet();
      assertTrue(timeline.maxLive <= 5, "at most replicas + maxSurge pods at once, saw " + timeline.maxLive);
      assertTrue(timeline.minReady >= 4, "never fewer than replicas - maxUnavailable ready, saw " + timeline.minReady);
    }
    List<V1ReplicaSet> replicaSets = replicaSets("rolling");
    assertEquals(2, replicaSets.size());
    V1ReplicaSet newer = replicaSets.stream().filter(rs -> rs.getSpec().getReplicas() == 4).findFirst().orElseThrow();
    V1ReplicaSet older = replicaSets.stream().filter(rs -> rs.getSpec().getReplicas() == 0).findFirst().orElseThrow();
    assertEquals("2", newer.getMetadata().getAnnotations().get("deployment.kubernetes.io/revision"));
    assertEquals("1", older.getMetadata().getAnnotations().get("deployment.kubernetes.io/revision"));
    String hash = newer.getMetadata().getLabels().get("pod-template-hash");
    assertEquals("web-" + hash, newer.getMetadata().getName());
    V1Deployment rolled = apps.readNamespacedDeployment("web", "rolling").execute();
    assertEquals("2", rolled.getMetadata().getAnnotations().get("deployment.kubernetes.io/revision"));
    assertEquals(rolled.getMetadata().getUid(), newer.getMetadata().getOwnerReferences().get(0).getUid());
    for (V1Pod pod : listPods("rolling")) {
      V1OwnerReference owner = pod.getMetadata().getOwnerReferences().get(0);
      assertEquals("ReplicaSet", owner.getKind());
      assertEquals(newer.getMetadata().getUid(), owner.getUid());
      assertTrue(owner.getController());
      assertTrue(pod.getMetadata().getName().startsWith("web-" + hash + "-"), pod.getMetadata().getName());
    }
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void recreateStopsEveryOldPodBeforeStartingNewOnes() throws Exception {
    namespace("recreate");
    V1Deployment web = deployment("web", 2);
    web.getSpec().strategy(new V1DeploymentStrategy().type("Recreate"));
    apps.createNamespacedDeployment("recreate", web).execute();
    waitFor(() -> rolledOut("recreate", "web", 2));
    try (PodTimeline timeline = PodTimeline.start("recreate")) {
      setImage("recreate", "web", "nginx:1.26");
      waitFor(() -> rolledOut("recreate", "web", 2) && listPods("recreate").size() == 2);
      timeline.awaitQuiet();
      int lastOldDeleted = timeline.lastIndexOf("DELETED", "nginx:1.25");
      int firstNewAdded = timeline.firstIndexOf("ADDED", "nginx:1.26");
      assertTrue(lastOldDeleted >= 0 && lastOldDeleted < firstNewAdded, timeline.events.toString());
    }
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void oldRevisionsBeyondTheHistoryLimitAreDeletedWithTheirPods() throws Exception {
    namespace("history");
    V1Deployment web = deployment("web", 1);
    web.getSpec().revisionHistoryLimit(1);
    apps.createNamespacedDeployment("history", web).execute();
    for (String image : List.of("nginx:1.26", "nginx:1.27", "nginx:1.28")) {
      waitFor(() -> rolledOut("history", "web", 1));
      setImage("history", "web", image);
    }
    waitFor(() -> rolledOut("history", "web", 1) && replicaSets("history").size() == 2);
    List<String> revisions = replicaSets("history").stream()
        .map(rs -> rs.getMetadata().getAnnotations().get("deployment.kubernetes.io/revision")).sorted().toList();
    assertEquals(List.of("3", "4"), revisions);
    waitFor(() -> listPods("history").size() == 1);
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void orphanedReplicaSetsKeepTheirPodsAndBackgroundDeletionCollectsThem() throws Exception {
    namespace("orphans");
    apps.createNamespacedDeployment("orphans", deployment("web", 2)).execute();
    waitFor(() -> rolledOut("orphans", "web", 2));
    apps.deleteNamespacedDeployment("web", "orphans").propagationPolicy("Orphan").execute();
    V1ReplicaSet orphan = replicaSets("orphans").get(0);
    assertTrue(orphan.getMetadata().getOwnerReferences() == null || orphan.getMetadata().getOwnerReferences().isEmpty());
    assertEquals(2, listPods("orphans").size(), "the pods still belong to the ReplicaSet");
    apps.deleteNamespacedReplicaSet(orphan.getMetadata().getName(), "orphans").propagationPolicy("Background").execute();
    assertTrue(core.listNamespacedPod("orphans").execute().getItems().isEmpty());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void informersFollowReplicaSetsAndEventsOfBothApis() throws Exception {
    namespace("watching");
    ApiClient informerClient = SimClients.forWatches(sim);
    SharedInformerFactory factory = new SharedInformerFactory(informerClient);
    SharedIndexInformer<V1ReplicaSet> replicaSets = factory.sharedIndexInformerFor(new GenericKubernetesApi<>(
        V1ReplicaSet.class, V1ReplicaSetList.class, "apps", "v1", "replicasets", informerClient), V1ReplicaSet.class,
        0, "watching");
    SharedIndexInformer<CoreV1Event> events = factory.sharedIndexInformerFor(new GenericKubernetesApi<>(
        CoreV1Event.class, CoreV1EventList.class, "", "v1", "events", informerClient), CoreV1Event.class, 0,
        "watching");
    SharedIndexInformer<EventsV1Event> newerEvents = factory.sharedIndexInformerFor(new GenericKubernetesApi<>(
        EventsV1Event.class, EventsV1EventList.class, "events.k8s.io", "v1", "events", informerClient),
        EventsV1Event.class, 0, "watching");
    factory.startAllRegisteredInformers();
    try {
      waitFor(() -> replicaSets.hasSynced() && events.hasSynced() && newerEvents.hasSynced());
      apps.createNamespacedDeployment("watching", deployment("web", 2)).execute();
      waitFor(() -> replicaSets.getIndexer().list().stream().anyMatch(rs -> rs.getStatus() != null
          && Integer.valueOf(2).equals(rs.getStatus().getReadyReplicas())));
      V1ReplicaSet seen = replicaSets.getIndexer().list().get(0);
      assertEquals("Deployment", seen.getMetadata().getOwnerReferences().get(0).getKind());
      waitFor(() -> events.getIndexer().list().stream().anyMatch(e -> "ScalingReplicaSet".equals(e.getReason())
          && "Deployment".equals(e.getInvolvedObject().getKind())
          && ("Scaled up replica set " + seen.getMetadata().getName() + " from 0 to 2").equals(e.getMessage())));
      waitFor(() -> newerEvents.getIndexer().list().stream().filter(e -> "Started".equals(e.getReason())
          && "Pod".equals(e.getRegarding().getKind()) && "kubelet".equals(e.getReportingController())).count() == 2);
      CoreV1Event scheduled = events.getIndexer().list().stream().filter(e -> "Scheduled".equals(e.getReason()))
          .findFirst().orElseThrow();
      assertEquals("default-scheduler", scheduled.getSource().getComponent());
      assertEquals(1, scheduled.getCount());
      assertNotNull(scheduled.getFirstTimestamp());
      assertEquals(scheduled.getFirstTimestamp(), scheduled.getLastTimestamp());
      for (String path : List.of("/apis/apps/v1/namespaces/watching/replicasets",
          "/api/v1/namespaces/watching/events", "/apis/events.k8s.io/v1/namespaces/watching/events")) {
        assertEquals(1, sim.requestCount("list", path), "listed once: " + path);
        assertEquals(1, sim.requestCount("watch", path), "one watch, kept open: " + path);
      }
    } finally {
      factory.stopAllRegisteredInformers();
    }
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void repeatedEventsAreCountedAndAllEventsAgeOut(Vertx vertx) throws Exception {
    KubeSim shortLived = KubeSim.start(vertx, new KubeSimOptions().controllerDelayMillis(10).eventTtlMillis(1500))
        .await();
    try {
      ApiClient shortClient = SimClients.forRequests(shortLived);
      AppsV1Api shortApps = new AppsV1Api(shortClient);
      CoreV1Api shortCore = new CoreV1Api(shortClient);
      shortApps.createNamespacedDeployment("default", deployment("web", 1)).execute();
      int previous = 1;
      for (int replicas : new int[] {2, 1, 2}) {
        int expected = previous;
        waitFor(() -> readyReplicas(shortApps, "web") == expected);
        previous = replicas;
        PatchUtils.patch(V1Deployment.class, () -> shortApps.patchNamespacedDeployment("web", "default",
            new V1Patch("{\"spec\":{\"replicas\":" + replicas + "}}")).buildCall(null),
            V1Patch.PATCH_FORMAT_JSON_MERGE_PATCH, shortClient);
      }
      waitFor(() -> readyReplicas(shortApps, "web") == 2);
      CoreV1Event scaledUp = shortCore.listNamespacedEvent("default").execute().getItems().stream()
          .filter(e -> e.getMessage().endsWith(" from 1 to 2")).findFirst().orElseThrow();
      assertEquals(2, scaledUp.getCount(), "the same event twice is one event counted twice");
      waitFor(() -> {
        try {
          return shortCore.listNamespacedEvent("default").execute().getItems().isEmpty();
        } catch (ApiException e) {
          throw new IllegalStateException(e);
        }
      });
    } finally {
      shortLived.close().await();
    }
  }

  /** Pod changes of one namespace in the order the API server made them, with the live and ready counts they imply. */
  private static final class PodTimeline implements AutoCloseable {
    private static final Type POD_EVENT = new TypeToken<Watch.Response<V1Pod>>() { }.getType();
    final List<String> events = java.util.Collections.synchronizedList(new ArrayList<>());
    private final Map<String, V1Pod> live = new java.util.HashMap<>();
    private final Watch<V1Pod> watch;
    private final Thread reader;
    volatile int maxLive;
    volatile int minReady = Integer.MAX_VALUE;
    private volatile long lastEventNanos = System.nanoTime();

    private PodTimeline(String namespace) throws ApiException {
      ApiClient watchClient = SimClients.forWatches(sim);
      V1PodList current = new CoreV1Api(watchClient).listNamespacedPod(namespace).execute();
      current.getItems().forEach(pod -> live.put(pod.getMetadata().getName(), pod));
      watch = Watch.createWatch(watchClient, new CoreV1Api(watchClient).listNamespacedPod(namespace).watch(true)
          .resourceVersion(current.getMetadata().getResourceVersion()).buildCall(null), POD_EVENT);
      reader = new Thread(this::read, "pod-timeline");
      reader.start();
    }

    static PodTimeline start(String namespace) throws ApiException {
      return new PodTimeline(namespace);
    }

    private void read() {
      try {
        for (Watch.Response<V1Pod> event : watch) {
          String name = event.object.getMetadata().getName();
          if (event.type.equals("DELETED")) {
            live.remove(name);
          } else {
            live.put(name, event.object);
          }
          events.add(event.type + " " + name + " " + event.object.getSpec().getContainers().get(0).getImage());
          maxLive = Math.max(maxLive, live.size());
          minReady = Math.min(minReady, (int) live.values().stream().filter(ClientJavaIT::ready).count());
          lastEventNanos = System.nanoTime();
        }
      } catch (RuntimeException closed) {
        // The watch was closed by close().
      }
    }

    /** Waits until no pod has changed for a while, so the counts are final. */
    void awaitQuiet() throws InterruptedException {
      while (System.nanoTime() - lastEventNanos < TimeUnit.MILLISECONDS.toNanos(300)) {
        Thread.sleep(50);
      }
    }

    int firstIndexOf(String type, String image) {
      for (int i = 0; i < events.size(); i++) {
        if (events.get(i).startsWith(type + " ") && events.get(i).endsWith(" " + image)) {
          return i;
        }
      }
      return -1;
    }

    int lastIndexOf(String type, String image) {
      int last = -1;
      for (int i = 0; i < events.size(); i++) {
        if (events.get(i).startsWith(type + " ") && events.get(i).endsWith(" " + image)) {
          last = i;
        }
      }
      return last;
    }

    @Override
    public void close() throws java.io.IOException {
      watch.close();
      try {
        reader.join(2000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static boolean ready(V1Pod pod) {
    return pod.getStatus() != null && pod.getStatus().getConditions() != null && pod.getStatus().getConditions()
        .stream().anyMatch(c -> "Ready".equals(c.getType()) && "True".equals(c.getStatus()));
  }

  private static boolean rolledOut(String namespace, String name, int replicas) {
    try {
      V1Deployment deployment = apps.readNamespacedDeployment(name, namespace).execute();
      V1DeploymentStatus status = deployment.getStatus();
      return status != null && status.getObservedGeneration() != null
          && status.getObservedGeneration() >= deployment.getMetadata().getGeneration()
          && Integer.valueOf(replicas).equals(status.getUpdatedReplicas())
          && Integer.valueOf(replicas).equals(status.getReplicas())
          && Integer.valueOf(replicas).equals(status.getAvailableReplicas());
    } catch (ApiException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void setImage(String namespace, String name, String image) throws ApiException {
    PatchUtils.patch(V1Deployment.class, () -> apps.patchNamespacedDeployment(name, namespace, new V1Patch(
        "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"" + image + "\"}]}}}}"))
        .buildCall(null), V1Patch.PATCH_FORMAT_STRATEGIC_MERGE_PATCH, client);
  }

  private static List<V1ReplicaSet> replicaSets(String namespace) {
    try {
      return apps.listNamespacedReplicaSet(namespace).execute().getItems();
    } catch (ApiException e) {
      throw new IllegalStateException(e);
    }
  }

  private static int readyReplicas(AppsV1Api api, String name) {
    try {
      V1DeploymentStatus status = api.readNamespacedDeployment(name, "default").execute().getStatus();
      return status == null || status.getReadyReplicas() == null ? 0 : status.getReadyReplicas();
    } catch (ApiException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void namespace(String name) throws ApiException {
    core.createNamespace(new V1Namespace().metadata(new V1ObjectMeta().name(name))).execute();
  }

  private static V1ConfigMap configMap(String name, Map<String, String> labels) {
    return new V1ConfigMap().metadata(new V1ObjectMeta().name(name).labels(labels)).data(Map.of("seed", name));
  }

  private static V1Deployment deployment(String name, int replicas) {
    Map<String, String> labels = Map.of("app", name);
    return new V1Deployment()
        .metadata(new V1ObjectMeta().name(name).labels(labels))
        .spec(new V1DeploymentSpec().replicas(replicas)
            .selector(new V1LabelSelector().matchLabels(labels))
            .template(new V1PodTemplateSpec().metadata(new V1ObjectMeta().labels(labels))
                .spec(new V1PodSpec().containers(List.of(new V1Container().name("app").image("nginx:1.25"))))));
  }

  private static DynamicKubernetesObject dynamic(String json) {
    return new DynamicKubernetesObject(JsonParser.parseString(json).getAsJsonObject());
  }

  private static Integer readyReplicas(String namespace, String name) {
    try {
      V1DeploymentStatus status = apps.readNamespacedDeployment(name, namespace).execute().getStatus();
      return status == null ? null : status.getReadyReplicas();
    } catch (ApiException e) {
      throw new IllegalStateException(e);
    }
  }

  private static List<V1Pod> listPods(String namespace) {
    try {
      return core.listNamespacedPod(namespace).execute().getItems().stream()
          .filter(pod -> "Running".equals(pod.getStatus().getPhase())).toList();
    } catch (ApiException e) {
      throw new IllegalStateException(e);
    }
  }

  private static long logLines(String pod) {
    try {
      return core.readNamespacedPodLog(pod, "logs").execute().lines().count();
    } catch (ApiException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void waitFor(BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not met within 5 s");
      }
      Thread.sleep(10);
    }
  }

}
