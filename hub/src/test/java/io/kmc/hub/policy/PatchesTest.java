package io.kmc.hub.policy;

import io.kmc.common.KmcException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** What a patch makes of an object, which is what the policies check. */
class PatchesTest {

  private static final JsonObject CURRENT = new JsonObject("""
      {"apiVersion": "apps/v1", "kind": "Deployment",
       "metadata": {"name": "web", "labels": {"team": "shop", "tier": "front"}},
       "spec": {"replicas": 2, "template": {"spec": {"containers": [
         {"name": "web", "image": "r/web:1"}, {"name": "side", "image": "r/side:1"}]}}}}
      """);

  @Test
  void aMergePatchMergesMapsReplacesListsAndRemovesNulls() {
    JsonObject patched = Patches.apply(Patches.MERGE_PATCH, CURRENT, new JsonObject("""
        {"metadata": {"labels": {"tier": null, "env": "prod"}}, "spec": {"replicas": 50}}
        """));
    assertEquals(new JsonObject("{\"team\": \"shop\", \"env\": \"prod\"}"),
        patched.getJsonObject("metadata").getJsonObject("labels"));
    assertEquals(50, patched.getJsonObject("spec").getInteger("replicas"));
    assertEquals(2, CURRENT.getJsonObject("spec").getInteger("replicas"), "the current object is left as it was");
  }

  @Test
  void aStrategicMergePatchIsAMergePatchWithoutItsDirectives() {
    JsonObject patched = Patches.apply(Patches.STRATEGIC_MERGE_PATCH + "; charset=utf-8", CURRENT, new JsonObject("""
        {"$retainKeys": ["spec"], "spec": {"template": {"spec": {
          "$setElementOrder/containers": [{"name": "web"}],
          "containers": [{"name": "web", "image": "r/web:latest"}]}}}}
        """));
    assertEquals(new JsonArray("[{\"name\": \"web\", \"image\": \"r/web:latest\"}]"),
        patched.getJsonObject("spec").getJsonObject("template").getJsonObject("spec").getJsonArray("containers"));
    assertEquals(null, patched.getValue("$retainKeys"));
  }

  @Test
  void aJsonPatchAppliesEachOperation() {
    JsonObject patched = Patches.apply(Patches.JSON_PATCH, CURRENT, new JsonArray("""
        [{"op": "replace", "path": "/spec/replicas", "value": 7},
         {"op": "add", "path": "/spec/template/spec/containers/-", "value": {"name": "third", "image": "x"}},
         {"op": "remove", "path": "/metadata/labels/tier"},
         {"op": "copy", "from": "/metadata/labels/team", "path": "/metadata/labels/owner"},
         {"op": "test", "path": "/kind", "value": "Deployment"}]
        """));
    assertEquals(7, patched.getJsonObject("spec").getInteger("replicas"));
    assertEquals(3, patched.getJsonObject("spec").getJsonObject("template").getJsonObject("spec")
        .getJsonArray("containers").size());
    assertEquals(new JsonObject("{\"team\": \"shop\", \"owner\": \"shop\"}"),
        patched.getJsonObject("metadata").getJsonObject("labels"));
  }

  @Test
  void aPatchThatCannotApplyIsA400() {
    assertEquals(400, assertThrows(KmcException.class, () -> Patches.apply(Patches.JSON_PATCH, CURRENT,
        new JsonArray("[{\"op\": \"remove\", \"path\": \"/spec/nothing\"}]"))).status());
    assertEquals(400, assertThrows(KmcException.class, () -> Patches.apply(Patches.JSON_PATCH, CURRENT,
        new JsonArray("[{\"op\": \"test\", \"path\": \"/kind\", \"value\": \"Pod\"}]"))).status());
    assertEquals(400, assertThrows(KmcException.class, () -> Patches.apply("application/xml", CURRENT,
        new JsonObject())).status());
  }
}
