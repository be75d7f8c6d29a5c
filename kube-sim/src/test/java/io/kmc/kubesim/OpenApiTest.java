package io.kmc.kubesim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
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
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The OpenAPI documents are complete and consistent, and writes are checked against the same schemas. */
@ExtendWith(VertxExtension.class)
class OpenApiTest {

  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private static KubeSim sim;

  @BeforeAll
  static void start(Vertx vertx) {
    sim = KubeSim.start(vertx, new KubeSimOptions()).await();
  }

  @AfterAll
  static void stop() {
    sim.close().await();
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void everyServedKindHasASchemaAndEveryReferenceResolves() throws Exception {
    JsonObject index = new JsonObject(get("/openapi/v3").body());
    assertTrue(index.getJsonObject("paths").containsKey("apis/apps/v1"));
    for (String path : index.getJsonObject("paths").fieldNames()) {
      String url = index.getJsonObject("paths").getJsonObject(path).getString("serverRelativeURL");
      JsonObject document = new JsonObject(get(url).body());
      JsonObject schemas = document.getJsonObject("components").getJsonObject("schemas");
      assertDanglingFree(schemas, "#/components/schemas/", path);
      Set<String> kinds = new HashSet<>();
      schemas.forEach(e -> ((JsonObject) e.getValue()).getJsonArray("x-kubernetes-group-version-kind", new JsonArray())
          .forEach(gvk -> kinds.add(((JsonObject) gvk).getString("kind"))));
      JsonObject resources = new JsonObject(get("/" + path).body());
      for (Object r : resources.getJsonArray("resources")) {
        JsonObject resource = (JsonObject) r;
        String kind = resource.getString("kind");
        if (!resource.getString("name").contains("/")) {
          assertTrue(kinds.contains(kind), path + " lacks a schema for " + kind);
          assertTrue(!resource.getJsonArray("verbs").contains("list") || kinds.contains(kind + "List"),
              path + " lacks a schema for " + kind + "List");
        }
      }
    }
    JsonObject v2 = new JsonObject(get("/openapi/v2").body());
    assertDanglingFree(v2.getJsonObject("definitions"), "#/definitions/", "v2");
    JsonObject deployment = v2.getJsonObject("definitions").getJsonObject("io.k8s.api.apps.v1.Deployment");
    assertEquals("apps", deployment.getJsonArray("x-kubernetes-group-version-kind").getJsonObject(0).getString("group"));
    JsonObject containers = v2.getJsonObject("definitions").getJsonObject("io.k8s.api.core.v1.PodSpec")
        .getJsonObject("properties").getJsonObject("containers");
    assertEquals("name", containers.getString("x-kubernetes-patch-merge-key"), "kubectl apply's merge keys");
    assertEquals(new JsonArray().add("selector").add("template"),
        v2.getJsonObject("definitions").getJsonObject("io.k8s.api.apps.v1.DeploymentSpec").getJsonArray("required"));
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void unknownFieldsAreRefusedWarnedAboutOrDroppedAsFieldValidationSays() throws Exception {
    String configMap = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\",\"bogus\":1},"
        + "\"data\":{\"k\":\"v\"},\"extra\":{\"deep\":true}}";
    HttpResponse<String> strict = post("/api/v1/namespaces/default/configmaps?fieldValidation=Strict",
        configMap.formatted("strict"));
    assertEquals(400, strict.statusCode(), strict.body());
    assertTrue(strict.body().contains("strict decoding error: unknown field \\\"metadata.bogus\\\", unknown field"
        + " \\\"extra\\\""), strict.body());

    HttpResponse<String> warned = post("/api/v1/namespaces/default/configmaps", configMap.formatted("warned"));
    assertEquals(201, warned.statusCode(), warned.body());
    assertEquals(List.of("299 - \"unknown field \\\"metadata.bogus\\\"\"", "299 - \"unknown field \\\"extra\\\"\""),
        warned.headers().allValues("Warning"));
    JsonObject stored = sim.get("v1", "ConfigMap", "default", "warned").await();
    assertFalse(stored.containsKey("extra") || stored.getJsonObject("metadata").containsKey("bogus"),
        "unknown fields are dropped, as decoding into the real types does: " + stored);
    assertEquals("v", stored.getJsonObject("data").getString("k"));

    HttpResponse<String> ignored = post("/api/v1/namespaces/default/configmaps?fieldValidation=Ignore",
        configMap.formatted("ignored"));
    assertEquals(201, ignored.statusCode());
    assertTrue(ignored.headers().allValues("Warning").isEmpty());
  }

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void customKindsArePublishedAndPrunedByTheirSchema() throws Exception {
    String crd = new JsonObject().put("apiVersion", "apiextensions.k8s.io/v1").put("kind", "CustomResourceDefinition")
        .put("metadata", new JsonObject().put("name", "gizmos.test.kmc.io"))
        .put("spec", new JsonObject().put("group", "test.kmc.io").put("scope", "Namespaced")
            .put("names", new JsonObject().put("plural", "gizmos").put("kind", "Gizmo"))
            .put("versions", new JsonArray().add(new JsonObject().put("name", "v1").put("served", true)
                .put("storage", true).put("schema", new JsonObject().put("openAPIV3Schema", new JsonObject()
                    .put("type", "object").put("properties", new JsonObject().put("spec", new JsonObject()
                        .put("type", "object").put("properties", new JsonObject()
                            .put("color", new JsonObject().put("type", "string"))))))))))
        .encode();
    assertEquals(201, post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd).statusCode());
    JsonObject document = new JsonObject(get("/openapi/v3/apis/test.kmc.io/v1").body());
    JsonObject gizmo = document.getJsonObject("components").getJsonObject("schemas")
        .getJsonObject("io.kmc.test.v1.Gizmo");
    assertNotNull(gizmo, document.encodePrettily());
    assertTrue(gizmo.getJsonObject("properties").containsKey("metadata"));
    assertDanglingFree(document.getJsonObject("components").getJsonObject("schemas"), "#/components/schemas/", "crd");

    HttpResponse<String> created = post("/apis/test.kmc.io/v1/namespaces/default/gizmos",
        "{\"apiVersion\":\"test.kmc.io/v1\",\"kind\":\"Gizmo\",\"metadata\":{\"name\":\"g\"},"
            + "\"spec\":{\"color\":\"red\",\"shape\":\"round\"}}");
    assertEquals(201, created.statusCode(), created.body());
    assertEquals(new JsonObject().put("color", "red"), sim.get("test.kmc.io/v1", "Gizmo", "default", "g").await()
        .getJsonObject("spec"), "pruned by the structural schema");
  }

  private static void assertDanglingFree(JsonObject definitions, String prefix, String where) {
    List<String> refs = new ArrayList<>();
    collectRefs(definitions, refs);
    for (String ref : refs) {
      assertTrue(ref.startsWith(prefix) && definitions.containsKey(ref.substring(prefix.length())),
          where + ": dangling " + ref);
    }
  }

  private static void collectRefs(Object node, List<String> into) {
    if (node instanceof JsonObject object) {
      object.forEach(e -> {
        if (e.getKey().equals("$ref") && e.getValue() instanceof String ref) {
          // (JSONSchemaProps also has a property called $ref, whose value is a schema.)
          into.add(ref);
        } else {
          collectRefs(e.getValue(), into);
        }
      });
    } else if (node instanceof JsonArray array) {
      array.forEach(item -> collectRefs(item, into));
    }
  }

  private static HttpResponse<String> get(String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(sim.url() + path)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> post(String path, String json) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create(sim.url() + path)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
  }
}
