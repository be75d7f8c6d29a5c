package io.kmc.kubesim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Benchmarks run a hundred simulators in one JVM: they must share the Vertx and start and stop fast. */
@ExtendWith(VertxExtension.class)
class ManyInstancesTest {

  @Test
  @Timeout(value = 30, timeUnit = TimeUnit.SECONDS)
  void aHundredSimulatorsShareOneVertx(Vertx vertx) throws Exception {
    int count = 100;
    long started = System.nanoTime();
    List<Future<KubeSim>> starting = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      starting.add(KubeSim.start(vertx, new KubeSimOptions().seed(true)));
    }
    List<KubeSim> sims = new ArrayList<>();
    for (Future<KubeSim> future : starting) {
      sims.add(future.await());
    }
    long startMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);

    Set<Integer> ports = new HashSet<>();
    HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    for (KubeSim sim : sims) {
      ports.add(sim.port());
      assertTrue(sim.url().startsWith("http://127.0.0.1:"));
    }
    assertEquals(count, ports.size(), "each simulator has its own port");
    HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(sims.get(count - 1).url()
        + "/api/v1/namespaces/kube-system/configmaps/coredns")).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode());

    long closing = System.nanoTime();
    for (KubeSim sim : sims) {
      sim.close().await();
    }
    long closeMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - closing);
    assertTrue(startMillis < 10_000, "starting " + count + " took " + startMillis + " ms");
    assertTrue(closeMillis < 10_000, "closing " + count + " took " + closeMillis + " ms");
    System.out.printf("%d simulators: started in %d ms, closed in %d ms%n", count, startMillis, closeMillis);
  }
}
