package io.kmc.hub.propagation;

import io.kmc.common.KmcException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Overrides in their documented order, dependency order, drift and diff comparisons, manifest checks. */
class RendererTest {

  private static JsonObject deployment() {
    return new JsonObject("""
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
         "spec": {"replicas": 1, "template": {"spec": {"containers": [
           {"name": "web", "image": "r/web:1"}, {"name": "side", "image": "r/side:1"}]}}}}""");
  }

  private static JsonObject manifest(JsonArray overrides, JsonObject... resources) {
    return new JsonObject().put("apiVersion", "kmc.io/v1alpha1").put("kind", "Propagation")
        .put("metadata", new JsonObject().put("name", "p"))
        .put("spec", new JsonObject().put("resources", new JsonArray(List.of(resources)))
            .put("placement", new JsonObject().put("clusters", new JsonArray().add("a").add("b")))
            .put("overrides", overrides));
  }

  @Test
  void overridesApplyInListOrderAndInTheirFixedOrderWithinOne() {
    JsonArray overrides = new JsonArray()
        .add(new JsonObject().put("clusters", new JsonArray().add("a")).put("image", "r/web:2").put("replicas", 3)
            // the JSON patch comes last: it sees the image set above and may undo it
            .put("jsonPatch", new JsonArray().add(new JsonObject().put("op", "replace")
                .put("path", "/spec/template/spec/containers/1/image").put("value", "r/side:pinned")))
            .put("labels", new JsonObject().put("region", "eu")))
        .add(new JsonObject().put("clusterSelector", new JsonObject().put("matchLabels",
                new JsonObject().put("tier", "web")))
            .put("images", new JsonArray().add(new JsonObject().put("container", "web").put("image", "r/web:3"))));
    Propagation p = Propagation.fromManifest(manifest(overrides, deployment()));
    JsonObject a = Renderer.render(p, "a", Map.of("tier", "web")).get(0);
    JsonArray containers = a.getJsonObject("spec").getJsonObject("template").getJsonObject("spec")
        .getJsonArray("containers");
    assertEquals("r/web:3", containers.getJsonObject(0).getString("image"), "the later override wins");
    assertEquals("r/side:pinned", containers.getJsonObject(1).getString("image"));
    assertEquals(3, a.getJsonObject("spec").getInteger("replicas"));
    assertEquals("eu", a.getJsonObject("metadata").getJsonObject("labels").getString("region"));
    JsonObject b = Renderer.render(p, "b", Map.of()).get(0);
    assertEquals(deployment(), b, "no override selects b");
    assertEquals("r/web:1", p.resources().get(0).getJsonObject("spec").getJsonObject("template")
        .getJsonObject("spec").getJsonArray("containers").getJsonObject(0).getString("image"), "not changed in place");
  }

  @Test
  void namespacesThenDefinitionsThenTheRest() {
    JsonObject ns = new JsonObject("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"shop\"}}");
    JsonObject crd = new JsonObject("{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
        + "\"metadata\":{\"name\":\"w.example.com\"},\"spec\":{\"group\":\"example.com\"}}");
    Propagation p = Propagation.fromManifest(manifest(new JsonArray(), deployment(), crd, ns));
    assertEquals(List.of("Namespace", "CustomResourceDefinition", "Deployment"),
        Renderer.render(p, "a", Map.of()).stream().map(Manifests::kind).toList());
  }

  @Test
  void driftIsWhatKmcAppliedAndNoLongerHolds() {
    JsonObject applied = deployment();
    JsonObject live = deployment();
    live.getJsonObject("metadata").put("resourceVersion", "7").put("labels", new JsonObject().put("other", "x"));
    live.getJsonObject("spec").getJsonObject("template").getJsonObject("spec").getJsonArray("containers")
        .getJsonObject(0).put("imagePullPolicy", "IfNotPresent");
    live.put("status", new JsonObject().put("replicas", 1));
    assertEquals(List.of(), ObjectDiff.drift(applied, live), "defaults, others' fields and status are not drift");
    live.getJsonObject("spec").put("replicas", 5);
    live.getJsonObject("spec").getJsonObject("template").getJsonObject("spec").getJsonArray("containers").remove(1);
    assertEquals(List.of("/spec/replicas", "/spec/template/spec/containers[name=side]"),
        ObjectDiff.drift(applied, live));
  }

  @Test
  void theDiffNamesEachChangedPath() {
    JsonObject before = new JsonObject("{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\",\"resourceVersion\":\"1\"},"
        + "\"data\":{\"a\":\"1\",\"b\":\"2\"}}");
    JsonObject after = new JsonObject("{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\",\"resourceVersion\":\"2\"},"
        + "\"data\":{\"a\":\"1\",\"b\":\"3\",\"c\":\"4\"}}");
    JsonArray diff = ObjectDiff.diff(before, after);
    assertEquals(2, diff.size(), diff.encode());
    assertEquals(new JsonObject().put("path", "/data/b").put("from", "2").put("to", "3"), diff.getJsonObject(0));
    assertEquals(new JsonObject().put("path", "/data/c").put("to", "4"), diff.getJsonObject(1));
    assertNull(diff.getJsonObject(1).getValue("from"));
  }

  @Test
  void aWorkloadIsHealthyWhenItsRolloutIsComplete() {
    JsonObject live = deployment();
    live.getJsonObject("metadata").put("generation", 2);
    live.put("status", new JsonObject().put("observedGeneration", 1).put("updatedReplicas", 1)
        .put("availableReplicas", 1));
    assertEquals(false, ObjectDiff.health(live).getBoolean("rolloutComplete"), "the new spec is not observed yet");
    live.getJsonObject("status").put("observedGeneration", 2);
    assertEquals(true, ObjectDiff.health(live).getBoolean("rolloutComplete"));
  }

  @Test
  void mistakesAreNamedByTheirField() {
    JsonObject bad = manifest(new JsonArray().add(new JsonObject().put("image", "x")), deployment());
    KmcException e = assertThrows(KmcException.class, () -> Propagation.fromManifest(bad));
    assertEquals("spec.overrides[0] must name clusters or have a clusterSelector", e.getMessage());
    JsonObject twice = manifest(new JsonArray(), deployment(), deployment());
    assertTrue(assertThrows(KmcException.class, () -> Propagation.fromManifest(twice)).getMessage()
        .contains("appears twice"));
    JsonObject unknownField = manifest(new JsonArray(), deployment());
    unknownField.getJsonObject("spec").put("placment", new JsonObject());
    assertTrue(assertThrows(KmcException.class, () -> Propagation.fromManifest(unknownField)).getMessage()
        .contains("spec.placment is not a field of a Propagation"));
    JsonObject percent = manifest(new JsonArray(), deployment());
    percent.getJsonObject("spec").put("rollout", new JsonObject().put("strategy", "Batch").put("batchSize", "25%"));
    assertEquals(2, Propagation.fromManifest(percent).rollout().batchSize(5), "25% of 5, rounded up");
  }
}
