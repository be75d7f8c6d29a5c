package io.kmc.kubesim;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.Base64;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * As the apiserver does, a Secret's stringData ends up in data (base64): what the kmc agent's install
 * manifest writes is read back as {@code kubectl get secret -o jsonpath='{.data.token}'}.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class SecretStringDataTest {

  @Test
  void stringDataIsStoredAsData() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      KubeSim sim = KubeSim.start(vertx, new KubeSimOptions()).await(10, TimeUnit.SECONDS);
      sim.create(new JsonObject().put("apiVersion", "v1").put("kind", "Secret")
          .put("metadata", new JsonObject().put("name", "s").put("namespace", "default"))
          .put("data", new JsonObject().put("kept", Base64.getEncoder().encodeToString("a".getBytes())))
          .put("stringData", new JsonObject().put("token", "t0ken"))).await(10, TimeUnit.SECONDS);
      JsonObject secret = sim.get("v1", "Secret", "default", "s").await(10, TimeUnit.SECONDS);
      assertNull(secret.getValue("stringData"));
      assertEquals("t0ken", new String(Base64.getDecoder().decode(secret.getJsonObject("data").getString("token"))));
      assertEquals("a", new String(Base64.getDecoder().decode(secret.getJsonObject("data").getString("kept"))));
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }
}
