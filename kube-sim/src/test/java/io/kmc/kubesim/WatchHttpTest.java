package io.kmc.kubesim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Watch details that client-java and kubectl rely on, read straight off the chunked HTTP stream. */
@ExtendWith(VertxExtension.class)
class WatchHttpTest {

  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void watchWithoutVersionStartsWithTheCurrentObjectsAndFollowsSelectorTransitions(Vertx vertx) throws Exception {
    KubeSim sim = KubeSim.start(vertx, new KubeSimOptions()).await();
    try {
      create(sim, "{\"metadata\":{\"name\":\"a\",\"labels\":{\"pick\":\"yes\"}}}");
      create(sim, "{\"metadata\":{\"name\":\"b\"}}");
      try (BufferedReader events = watch(sim, "/api/v1/namespaces/default/configmaps?watch=1&labelSelector=pick%3Dyes",
          "application/json")) {
        assertEvent(events.readLine(), "ADDED", "a");
        patch(sim, "b", "{\"metadata\":{\"labels\":{\"pick\":\"yes\"}}}");
        assertEvent(events.readLine(), "ADDED", "b");
        patch(sim, "b", "{\"data\":{\"x\":\"y\"}}");
        assertEvent(events.readLine(), "MODIFIED", "b");
        patch(sim, "a", "{\"metadata\":{\"labels\":{\"pick\":null}}}");
        assertEvent(events.readLine(), "DELETED", "a");
      }
    } finally {
      sim.close().await();
    }
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void timeoutSecondsEndsTheStreamAndInitialEventsEndWithABookmark(Vertx vertx) throws Exception {
    KubeSim sim = KubeSim.start(vertx, new KubeSimOptions()).await();
    try {
      create(sim, "{\"metadata\":{\"name\":\"only\"}}");
      try (BufferedReader events = watch(sim, "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1"
          + "&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true", "application/json")) {
        assertEvent(events.readLine(), "ADDED", "only");
        JsonObject bookmark = new JsonObject(events.readLine());
        assertEquals("BOOKMARK", bookmark.getString("type"));
        assertEquals("true", bookmark.getJsonObject("object").getJsonObject("metadata").getJsonObject("annotations")
            .getString("k8s.io/initial-events-end"));
        assertNull(events.readLine(), "the stream ends after timeoutSeconds");
      }
    } finally {
      sim.close().await();
    }
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void tableWatchesCarryTablesAndClosingTheSimulatorEndsWatches(Vertx vertx) throws Exception {
    KubeSim sim = KubeSim.start(vertx, new KubeSimOptions()).await();
    try (BufferedReader events = watch(sim, "/api/v1/watch/namespaces/default/configmaps",
        "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")) {
      create(sim, "{\"metadata\":{\"name\":\"tabled\"}}");
      JsonObject event = new JsonObject(events.readLine());
      assertEquals("ADDED", event.getString("type"));
      JsonObject table = event.getJsonObject("object");
      assertEquals("Table", table.getString("kind"));
      assertEquals("tabled", table.getJsonArray("rows").getJsonObject(0).getJsonArray("cells").getString(0));
      sim.close().await();
      assertNull(events.readLine(), "closing the simulator ends its watches");
    }
  }

  private static BufferedReader watch(KubeSim sim, String path, String accept) throws Exception {
    HttpResponse<InputStream> response = HTTP.send(HttpRequest.newBuilder(URI.create(sim.url() + path))
        .header("Accept", accept).build(), HttpResponse.BodyHandlers.ofInputStream());
    assertEquals(200, response.statusCode());
    return new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8));
  }

  private static void create(KubeSim sim, String body) throws Exception {
    HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create(sim.url()
        + "/api/v1/namespaces/default/configmaps")).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(201, response.statusCode(), response.body());
  }

  private static void patch(KubeSim sim, String name, String body) throws Exception {
    HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create(sim.url()
        + "/api/v1/namespaces/default/configmaps/" + name)).header("Content-Type", "application/merge-patch+json")
        .method("PATCH", HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode(), response.body());
  }

  private static void assertEvent(String line, String type, String name) {
    assertTrue(line != null, "expected a " + type + " event");
    JsonObject event = new JsonObject(line);
    assertEquals(type, event.getString("type"), line);
    assertEquals(name, event.getJsonObject("object").getJsonObject("metadata").getString("name"), line);
  }
}
