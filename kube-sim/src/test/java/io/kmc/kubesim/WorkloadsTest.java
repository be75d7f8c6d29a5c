package io.kmc.kubesim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

class WorkloadsTest {

  private static final JsonObject TEMPLATE = new JsonObject("""
      {"metadata": {"labels": {"app": "web"}},
       "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}]}}""");

  @Test
  void templateHashLooksLikeTheRealOneAndChangesWithTheTemplate() {
    String hash = Workloads.templateHash(TEMPLATE);
    assertTrue(hash.matches("[4-9bcdf]{1,10}"), hash);
    JsonObject newImage = TEMPLATE.copy();
    newImage.getJsonObject("spec").getJsonArray("containers").getJsonObject(0).put("image", "nginx:1.26");
    assertNotEquals(hash, Workloads.templateHash(newImage));
  }

  @Test
  void templateHashIgnoresKeyOrderGoEmptyValuesAndTheHashLabel() {
    // What `kubectl rollout undo` sends back: Go's field order, a null creationTimestamp, empty resources.
    JsonObject roundTripped = new JsonObject("""
        {"spec": {"containers": [{"resources": {}, "ports": [{"containerPort": 80}], "image": "nginx:1.25",
                                  "name": "nginx"}]},
         "metadata": {"creationTimestamp": null, "labels": {"pod-template-hash": "5d4f7c6b8", "app": "web"}}}""");
    assertEquals(Workloads.templateHash(TEMPLATE), Workloads.templateHash(roundTripped));
    assertTrue(Workloads.sameTemplate(TEMPLATE, roundTripped));
  }

  @Test
  void fencepostsResolvePercentagesAsTheRealControllerDoes() {
    assertEquals(new DeploymentController.Fenceposts(1, 1), DeploymentController.fenceposts(deployment(4, null)));
    assertEquals(new DeploymentController.Fenceposts(1, 0), DeploymentController.fenceposts(deployment(3, null)));
    assertEquals(new DeploymentController.Fenceposts(2, 0), DeploymentController.fenceposts(deployment(10,
        new JsonObject().put("maxSurge", 2).put("maxUnavailable", "0%"))));
    assertEquals(new DeploymentController.Fenceposts(0, 1), DeploymentController.fenceposts(deployment(1,
        new JsonObject().put("maxSurge", 0).put("maxUnavailable", "10%"))),
        "both rounding to zero would never progress, so one may be unavailable");
    JsonObject recreate = deployment(3, null);
    recreate.getJsonObject("spec").put("strategy", new JsonObject().put("type", "Recreate"));
    assertEquals(new DeploymentController.Fenceposts(0, 0), DeploymentController.fenceposts(recreate));
  }

  private static JsonObject deployment(int replicas, JsonObject rollingUpdate) {
    JsonObject strategy = new JsonObject().put("type", "RollingUpdate");
    if (rollingUpdate != null) {
      strategy.put("rollingUpdate", rollingUpdate);
    }
    return new JsonObject().put("spec", new JsonObject().put("replicas", replicas).put("strategy", strategy));
  }
}
