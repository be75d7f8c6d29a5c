package io.kmc.kubesim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Set;
import java.util.List;
import org.junit.jupiter.api.Test;

class PatchesTest {

  private static final JsonObject POD_SPEC = new JsonObject("""
      {"spec":{"containers":[
        {"name":"app","image":"app:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],
         "ports":[{"containerPort":80},{"containerPort":443}]},
        {"name":"sidecar","image":"side:1"}],
       "tolerations":[{"key":"x"}]},
       "metadata":{"finalizers":["a"]}}""");

  @Test
  void strategicMergeMergesListsByTheirKey() {
    JsonObject patched = StrategicMergePatch.apply(POD_SPEC, new JsonObject("""
        {"spec":{"containers":[{"name":"app","image":"app:2","env":[{"name":"B","value":"3"}],
          "ports":[{"containerPort":80,"name":"http"}]}],"tolerations":[{"key":"y"}]}}"""));
    JsonArray containers = patched.getJsonObject("spec").getJsonArray("containers");
    assertEquals(2, containers.size(), "the sidecar is kept");
    JsonObject app = containers.getJsonObject(0);
    assertEquals("app:2", app.getString("image"));
    assertEquals(new JsonArray("[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"3\"}]"),
        app.getJsonArray("env"));
    assertEquals("http", app.getJsonArray("ports").getJsonObject(0).getString("name"));
    assertEquals(2, app.getJsonArray("ports").size());
    assertEquals(new JsonArray("[{\"key\":\"y\"}]"), patched.getJsonObject("spec").getJsonArray("tolerations"),
        "lists without a merge key are replaced");
  }

  @Test
  void strategicMergeDirectives() {
    JsonObject patched = StrategicMergePatch.apply(POD_SPEC, new JsonObject("""
        {"metadata":{"finalizers":["b"],"$deleteFromPrimitiveList/finalizers":["a"]},
         "spec":{"$setElementOrder/containers":[{"name":"sidecar"},{"name":"app"}],
                 "containers":[{"name":"app","env":[{"name":"A","$patch":"delete"}]}]}}"""));
    assertEquals(new JsonArray().add("b"), patched.getJsonObject("metadata").getJsonArray("finalizers"));
    JsonArray containers = patched.getJsonObject("spec").getJsonArray("containers");
    assertEquals("sidecar", containers.getJsonObject(0).getString("name"), "$setElementOrder reorders");
    assertEquals(new JsonArray("[{\"name\":\"B\",\"value\":\"2\"}]"), containers.getJsonObject(1).getJsonArray("env"));

    JsonObject replaced = StrategicMergePatch.apply(POD_SPEC, new JsonObject("""
        {"spec":{"$patch":"replace","containers":[{"name":"only","image":"o:1"}]}}"""));
    assertEquals(Set.of("containers"), replaced.getJsonObject("spec").fieldNames());

    JsonObject retained = StrategicMergePatch.apply(POD_SPEC, new JsonObject("""
        {"spec":{"$retainKeys":["containers"]}}"""));
    assertEquals(Set.of("containers"), retained.getJsonObject("spec").fieldNames());
  }

  @Test
  void jsonMergePatchDeletesWithNull() {
    JsonObject patched = JsonPatches.mergePatch(new JsonObject("{\"a\":{\"b\":1,\"c\":2},\"d\":[1]}"),
        new JsonObject("{\"a\":{\"b\":null},\"d\":[2]}"));
    assertEquals(new JsonObject("{\"a\":{\"c\":2},\"d\":[2]}"), patched);
  }

  @Test
  void jsonPatchOperations() {
    JsonObject patched = JsonPatches.jsonPatch(new JsonObject("{\"a\":[1,2],\"b\":{\"c\":1}}"), new JsonArray("""
        [{"op":"add","path":"/a/-","value":3},{"op":"remove","path":"/b/c"},{"op":"add","path":"/b/d~1e","value":1},
         {"op":"test","path":"/a/0","value":1},{"op":"copy","from":"/a","path":"/f"},
         {"op":"replace","path":"/a/1","value":9}]"""));
    assertEquals(new JsonObject("{\"a\":[1,9,3],\"b\":{\"d/e\":1},\"f\":[1,2,3]}"), patched);
    KubeApiException failedTest = assertThrows(KubeApiException.class, () -> JsonPatches.jsonPatch(new JsonObject(),
        new JsonArray("[{\"op\":\"test\",\"path\":\"/a\",\"value\":1}]")));
    assertEquals(422, failedTest.code());
  }

  @Test
  void serverSideApplyRemovesWhatTheManagerStoppedApplying() {
    JsonObject first = new JsonObject("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"},"
        + "\"data\":{\"a\":\"1\",\"b\":\"2\"}}");
    JsonObject live = ServerSideApply.apply(null, first, "me", "v1");
    live.getJsonObject("data").put("other", "kept");
    JsonObject second = new JsonObject("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"},"
        + "\"data\":{\"a\":\"3\"}}");
    JsonObject applied = ServerSideApply.apply(live, second, "me", "v1");
    assertEquals(new JsonObject().put("a", "3").put("other", "kept"), applied.getJsonObject("data"));
    JsonObject entry = applied.getJsonObject("metadata").getJsonArray("managedFields").getJsonObject(0);
    assertEquals(new JsonObject("{\"f:data\":{\"f:a\":{}}}"), entry.getJsonObject("fieldsV1"));
  }

  @Test
  void serverSideApplyConflictsWithAnotherManagersFieldUnlessForced() {
    JsonObject config = new JsonObject("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"},"
        + "\"data\":{\"owner\":\"ops\",\"shared\":\"same\"}}");
    JsonObject live = ServerSideApply.apply(null, config, "ops", "v1");
    // Another manager: the same value is no conflict (the field becomes shared), another value is.
    JsonObject mine = new JsonObject("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"},"
        + "\"data\":{\"owner\":\"me\",\"shared\":\"same\",\"new\":\"x\"}}");
    List<ServerSideApply.Conflict> conflicts = ServerSideApply.conflicts(live, mine, "me");
    assertEquals(1, conflicts.size(), conflicts.toString());
    assertEquals(".data.owner", conflicts.get(0).field());
    assertEquals("ops", conflicts.get(0).manager());
    ResourceType configMaps = new ResourceType("", "v1", "ConfigMap", "configmaps", "configmap", List.of("cm"), true,
        ResourceType.ALL_VERBS, List.of(), Set.of(), new JsonArray(), true, null);
    KubeApiException refused = ServerSideApply.conflictError(configMaps, "c", conflicts);
    assertEquals(409, refused.code());
    assertEquals("Apply failed with 1 conflict: conflict with \"ops\" using v1: .data.owner", refused.getMessage());
    assertTrue(ServerSideApply.conflicts(live, mine, "ops").isEmpty(), "a manager never conflicts with itself");

    // Forced: the field moves to the applier; the other manager keeps what it still owns alone.
    JsonObject forced = ServerSideApply.apply(live, mine, "me", "v1", conflicts);
    assertEquals("me", forced.getJsonObject("data").getString("owner"));
    JsonObject ops = ManagedFields.fieldsOf(forced, "ops", "Apply");
    assertEquals(new JsonObject("{\"f:data\":{\"f:shared\":{}}}"), ops);
    assertTrue(ServerSideApply.conflicts(forced, mine, "me").isEmpty(), "applied again: nothing left to conflict");
  }

  @Test
  void humanDurations() {
    assertEquals("5s", Tables.humanDuration(java.time.Duration.ofSeconds(5)));
    assertEquals("3m20s", Tables.humanDuration(java.time.Duration.ofSeconds(200)));
    assertEquals("4h5m", Tables.humanDuration(java.time.Duration.ofMinutes(245)));
    assertEquals("2d3h", Tables.humanDuration(java.time.Duration.ofHours(51)));
  }
}
