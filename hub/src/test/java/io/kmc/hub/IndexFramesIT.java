package io.kmc.hub;

import io.kmc.common.protocol.Frame;
import io.kmc.hub.support.Fleet;
import io.kmc.hub.support.RawAgent;
import io.kmc.hub.support.StreamClient;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The hub trusts no agent: index batches are checked like client input, on a hand-driven agent connection. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class IndexFramesIT {

  private static Fleet fleet;
  private static Hub hub;

  @BeforeAll
  static void start() {
    fleet = new Fleet();
    fleet.cluster("rogue");
    hub = fleet.hubs(1).get(0);
  }

  @AfterAll
  static void stop() {
    fleet.close();
  }

  /** Malformed index batches are refused with an error; nothing of them is written and the connection lives. */
  @Test
  void malformedIndexBatchesAreRefusedWithoutHarm() throws Exception {
    try (RawAgent raw = Fleet.await(RawAgent.connect(fleet.memberVertx(), hub, "rogue", fleet.joinToken("rogue")))) {
      raw.send(new Frame.Hello(List.of(1), "rogue", "raw-test", "v1.30.0", List.of("index")));
      Frame.Welcome welcome = (Frame.Welcome) raw.next(5);
      assertTrue(welcome.capabilities().contains("index"));
      Frame.IndexAck state = (Frame.IndexAck) raw.next(5);
      assertEquals(0, state.seq());
      assertEquals(Map.of(), state.watermarks());

      Frame.IndexedObject good = new Frame.IndexedObject("uid-1", "default", "raw-ok", "1", Map.of("raw", "ok"), null,
          "2026-01-01T00:00:00Z", Map.of("readyReplicas", 1));
      List<Frame.Index> bad = List.of(
          batch(1, "configmaps", "ConfigMap", true, new Frame.IndexedObject("u", "default", "a/b", "1",
              Map.of(), null, null, Map.of())),
          batch(2, "Config Maps", "ConfigMap", true, good),
          batch(3, "configmaps", "ConfigMap", false, good),
          batch(4, "configmaps", "ConfigMap", true, new Frame.IndexedObject("u", "default", "x", "1",
              Map.of("k", "v".repeat(100)), null, null, Map.of())),
          batch(5, "configmaps", "ConfigMap", true, new Frame.IndexedObject("u", "default", "x", "1",
              Map.of(), null, "yesterday", Map.of())),
          batch(6, "configmaps", "ConfigMap", true, new Frame.IndexedObject("u", "default", "x", "1",
              Map.of(), null, null, Map.of("nested", Map.of("a", 1)))),
          batch(7, "configmaps", "ConfigMap", true, new Frame.IndexedObject(null, "default", "x", "1",
              Map.of(), null, null, Map.of())));
      for (Frame.Index frame : bad) {
        raw.send(frame);
        Frame answer = raw.next(5);
        assertTrue(answer instanceof Frame.IndexAck ack && ack.seq() == frame.seq() && ack.error() != null,
            "refused: " + answer);
      }
      raw.sendText("{\"type\":\"index\",\"seq\":0,\"group\":\"\"}");
      assertTrue(raw.next(5) instanceof Frame.Error, "a frame that is not an index batch at all is an error");
      raw.sendText("{\"type\":\"index\",\"seq\":9,\"group\":\"\",\"version\":\"v1\",\"resource\":\"configmaps\","
          + "\"kind\":\"ConfigMap\",\"upserts\":\"many\"}");
      assertTrue(raw.next(5) instanceof Frame.Error, "a batch of the wrong shape is an error");

      raw.send(batch(10, "configmaps", "ConfigMap", true, good));
      Frame answer = raw.next(5);
      assertTrue(answer instanceof Frame.IndexAck ack && ack.seq() == 10 && ack.error() == null, "accepted: " + answer);
      raw.send(batch(10, "configmaps", "ConfigMap", true, good));
      answer = raw.next(5);
      assertTrue(answer instanceof Frame.IndexAck ack && ack.error() != null, "a replayed number is refused: " + answer);
      assertFalse(raw.isClosed());

      HttpResponse<String> found = fleet.call(hub, "GET", "/api/v1/search?labelSelector=raw", fleet.adminToken(), null);
      assertEquals(200, found.statusCode(), found.body());
      JsonObject page = new JsonObject(found.body());
      assertEquals(1, page.getLong("total"), "only the valid batch was written: " + found.body());
      assertEquals(1, page.getJsonArray("items").getJsonObject(0).getJsonObject("summary").getInteger("readyReplicas"));
      assertEquals(200, fleet.call(hub, "GET", "/healthz", null, null).statusCode(), "the node is fine");
    }
  }

  /**
   * "resynced" comes after the batches an agent sent before its caught-up marker, and only then (not after
   * a quiet second); an agent that does not say it sends the marker gets the quiet second.
   */
  @Test
  void resyncedFollowsTheCaughtUpMarkerAndOlderAgentsStillGetIt() throws Exception {
    Frame.IndexedObject stays = new Frame.IndexedObject("uid-s", "marker", "stays", "1", Map.of(), null, null, Map.of());
    Frame.IndexedObject goes = new Frame.IndexedObject("uid-g", "marker", "goes", "1", Map.of(), null, null, Map.of());
    try (RawAgent seed = Fleet.await(RawAgent.connect(fleet.memberVertx(), hub, "rogue", fleet.joinToken("rogue")))) {
      seed.send(new Frame.Hello(List.of(1), "rogue", "raw-test", "v1.30.0", List.of("index")));
      seed.next(5);
      seed.next(5);
      seed.send(new Frame.Index(1, "", "v1", "configmaps", "ConfigMap", true, "m:1", false, false,
          List.of(stays, goes), List.of()));
      assertEquals(null, ((Frame.IndexAck) seed.next(5)).error());
    }
    JsonObject spec = new JsonObject().put("type", "subscribe").put("id", "m").put("version", "v1")
        .put("resource", "configmaps").put("namespace", "marker").put("clusters", new JsonArray().add("rogue"));
    try (StreamClient client = StreamClient.connect(fleet.memberVertx(), hub.port(), fleet.adminToken())) {
      client.send(spec);
      client.until(Duration.ofSeconds(10), m -> "INITIAL_STATE_DONE".equals(m.getString("type")));
      try (RawAgent raw = Fleet.await(RawAgent.connect(fleet.memberVertx(), hub, "rogue", fleet.joinToken("rogue")))) {
        raw.send(new Frame.Hello(List.of(1), "rogue", "raw-test", "v1.30.0",
            List.of("index", Frame.IndexSynced.INDEX_SYNCED)));
        Frame.Welcome welcome = (Frame.Welcome) raw.next(5);
        assertTrue(welcome.capabilities().contains(Frame.IndexSynced.INDEX_SYNCED), welcome.toString());
        raw.next(5);
        client.until(Duration.ofSeconds(10), m -> "connected".equals(m.getString("state")));
        // Well past the quiet second: nothing says the cluster is resynced before the agent does.
        List<JsonObject> meanwhile = client.drain(Duration.ofMillis(2_500));
        assertTrue(meanwhile.stream().noneMatch(m -> "resynced".equals(m.getString("state"))), meanwhile.toString());
        raw.send(new Frame.Index(1, "", "v1", "configmaps", "ConfigMap", true, "m:2", false, false, List.of(),
            List.of(new Frame.IndexedKey("marker", "goes"))));
        raw.send(new Frame.IndexSynced(1));
        List<JsonObject> back = client.until(Duration.ofSeconds(10), m -> "resynced".equals(m.getString("state")));
        assertTrue(back.stream().anyMatch(m -> "DELETED".equals(m.getString("type"))
            && "goes".equals(m.getJsonObject("object").getString("name"))), "the delete before resynced: " + back);
      }
      // An agent without the marker: the quiet second still tells.
      client.until(Duration.ofSeconds(10), m -> "disconnected".equals(m.getString("state")));
      try (RawAgent old = Fleet.await(RawAgent.connect(fleet.memberVertx(), hub, "rogue", fleet.joinToken("rogue")))) {
        old.send(new Frame.Hello(List.of(1), "rogue", "raw-test", "v1.30.0", List.of("index")));
        old.next(5);
        old.next(5);
        client.until(Duration.ofSeconds(10), m -> "resynced".equals(m.getString("state")));
      }
    }
  }

  private static Frame.Index batch(long seq, String resource, String kind, boolean namespaced,
                                   Frame.IndexedObject upsert) {
    return new Frame.Index(seq, "", "v1", resource, kind, namespaced, "raw:" + seq, false, false, List.of(upsert),
        List.of());
  }
}
