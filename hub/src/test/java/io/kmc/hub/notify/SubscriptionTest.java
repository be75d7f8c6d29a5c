package io.kmc.hub.notify;

import io.kmc.common.KmcException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which events a subscription takes, and the version skew rule. */
class SubscriptionTest {

  private static Event event(EventType type, String cluster) {
    return Event.of(type, cluster, null, "x", null);
  }

  @Test
  void filtersByTypeSeverityAndClusterNameOrSelector() {
    Subscription s = Subscription.read(new JsonObject().put("name", "s").put("channels", new JsonArray().add("c"))
        .put("eventTypes", new JsonArray().add("cluster.disconnected").add("cluster.connected"))
        .put("clusters", new JsonArray().add("edge-1")).put("minSeverity", "warning")
        .put("clusterSelector", new JsonObject().put("matchExpressions", new JsonArray().add(new JsonObject()
            .put("key", "env").put("operator", "In").put("values", new JsonArray().add("prod"))))), null);
    assertTrue(s.matches(event(EventType.CLUSTER_DISCONNECTED, "edge-1"), Map.of()), "by name");
    assertTrue(s.matches(event(EventType.CLUSTER_DISCONNECTED, "eu-1"), Map.of("env", "prod")), "by selector");
    assertFalse(s.matches(event(EventType.CLUSTER_DISCONNECTED, "eu-1"), Map.of("env", "test")), "neither");
    assertFalse(s.matches(event(EventType.CLUSTER_CONNECTED, "edge-1"), Map.of()), "info is below warning");
    assertFalse(s.matches(event(EventType.TOKEN_ROTATED, "edge-1"), Map.of()), "another type");
    assertFalse(s.matches(Event.of(EventType.LOGIN_FAILURES, null, "user:x", "x", null), Map.of()),
        "an event about no cluster does not match a cluster filter");
  }

  @Test
  void withoutFiltersEverythingButTestEventsMatches() {
    Subscription all = Subscription.read(new JsonObject().put("name", "all")
        .put("channels", new JsonArray().add("c")), null);
    assertTrue(all.matches(Event.of(EventType.LOGIN_FAILURES, null, "user:x", "x", null), Map.of()));
    assertTrue(all.matches(event(EventType.POLICY_VIOLATION, "a"), Map.of()));
    assertFalse(all.matches(event(EventType.TEST, null), Map.of()), "test events go to their channel only");
    Subscription off = Subscription.read(new JsonObject().put("name", "off").put("enabled", false)
        .put("channels", new JsonArray().add("c")), null);
    assertFalse(off.matches(event(EventType.POLICY_VIOLATION, "a"), Map.of()));
  }

  @Test
  void badSubscriptionsAreRefused() {
    assertThrows(KmcException.class, () -> Subscription.read(new JsonObject().put("name", "s"), null), "no channels");
    assertThrows(KmcException.class, () -> Subscription.read(new JsonObject().put("name", "s")
        .put("channels", new JsonArray().add("c")).put("clusterSelector", new JsonObject().put("matchExpressions",
            new JsonArray().add(new JsonObject().put("key", "env").put("operator", "In")))), null), "In without values");
    assertThrows(KmcException.class, () -> Subscription.read(new JsonObject().put("name", "s")
        .put("channels", new JsonArray().add("c")).put("colour", "red"), null), "unknown field");
  }

  @Test
  void summariesAreOneBoundedLine() {
    Event e = Event.of(EventType.POLICY_VIOLATION, "a", null, "first\r\nBcc: someone@example.com " + "x".repeat(2000),
        null);
    assertFalse(e.summary().contains("\n") || e.summary().contains("\r"), e.summary());
    assertEquals(Event.MAX_SUMMARY_CHARS, e.summary().length());
  }

  @Test
  void versionSkewIsAnotherMajorOrMinor() {
    assertFalse(Versions.skewed("1.4.2", "1.4.0"));
    assertFalse(Versions.skewed("v1.4.2", "1.4.9-rc.1"));
    assertTrue(Versions.skewed("1.4.2", "1.3.9"));
    assertTrue(Versions.skewed("2.0.0", "1.9.0"));
    assertFalse(Versions.skewed("dev", "dev"));
    assertTrue(Versions.skewed("dev", "0.0.9"));
  }

  @Test
  void signaturesBindTheTimestampAndTheBody() {
    byte[] body = "{\"a\":1}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    long now = System.currentTimeMillis() / 1000;
    String signature = Signatures.sign("k".repeat(16), now, body);
    assertTrue(Signatures.verify("k".repeat(16), String.valueOf(now), signature, body, 300));
    assertFalse(Signatures.verify("k".repeat(16), String.valueOf(now + 1), signature, body, 300), "another timestamp");
    String old = Signatures.sign("k".repeat(16), now - 3600, body);
    assertFalse(Signatures.verify("k".repeat(16), String.valueOf(now - 3600), old, body, 300), "a replay an hour later");
    assertEquals(7 + 64, signature.length());
  }
}
