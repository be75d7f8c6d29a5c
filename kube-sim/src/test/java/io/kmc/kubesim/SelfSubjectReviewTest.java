package io.kmc.kubesim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** kubectl auth whoami: the simulator tells who a request acts as, impersonated or not. */
@ExtendWith(VertxExtension.class)
class SelfSubjectReviewTest {

  private static final String BODY = "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"SelfSubjectReview\"}";

  @Test
  @Timeout(value = 20, timeUnit = TimeUnit.SECONDS)
  void answersWithTheImpersonatedUserAndGroups(Vertx vertx) throws Exception {
    KubeSim sim = KubeSim.start(vertx, new KubeSimOptions()).await();
    try {
      HttpClient http = HttpClient.newHttpClient();
      HttpRequest.Builder request = HttpRequest.newBuilder(
              URI.create(sim.url() + "/apis/authentication.k8s.io/v1/selfsubjectreviews"))
          .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(BODY));

      JsonObject own = new JsonObject(http.send(request.build(), HttpResponse.BodyHandlers.ofString()).body());
      assertEquals("kube-sim-admin", own.getJsonObject("status").getJsonObject("userInfo").getString("username"));

      HttpResponse<String> impersonated = http.send(request.header("Impersonate-User", "alice")
          .header("Impersonate-Group", "dev").header("Impersonate-Group", "ops").build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(201, impersonated.statusCode(), impersonated.body());
      JsonObject info = new JsonObject(impersonated.body()).getJsonObject("status").getJsonObject("userInfo");
      assertEquals("alice", info.getString("username"));
      assertTrue(info.getJsonArray("groups").contains("dev") && info.getJsonArray("groups").contains("ops"));
    } finally {
      sim.close().await();
    }
  }
}
