package io.kmc.common.protocol;

import io.kmc.common.KmcException;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FrameCodecTest {

  @Test
  void requestRoundTripsWithBinaryBody() {
    byte[] body = {0, 1, 2, (byte) 0xff, '{', '}'};
    Frame.Request request = new Frame.Request("r-1", "PATCH", "/apis/apps/v1/namespaces/a/deployments/web",
        "fieldManager=kubectl", Map.of("Content-Type", List.of("application/strategic-merge-patch+json")),
        body, new ActingUser("alice", List.of("dev")), true, false, 8, 30_000);

    Frame decoded = FrameCodec.decode(FrameCodec.encode(request));

    Frame.Request copy = assertInstanceOf(Frame.Request.class, decoded);
    assertEquals("r-1", copy.id());
    assertEquals("PATCH", copy.method());
    assertEquals("fieldManager=kubectl", copy.query());
    assertEquals(List.of("application/strategic-merge-patch+json"), copy.headers().get("Content-Type"));
    assertArrayEquals(body, copy.body());
    assertEquals("alice", copy.user().name());
    assertEquals(8, copy.credits());
    assertTrue(copy.impersonate());
  }

  @Test
  void aFailureThatSaysWhenToRetryCarriesRetryAfterWhateverItsStatus() {
    for (KmcException e : List.of(KmcException.unavailable("the agent is busy", 1),
        KmcException.tooManyRequests("slow down", 7), KmcException.timeout("late"), KmcException.unavailable("gone"))) {
      Frame.Response response = assertInstanceOf(Frame.Response.class,
          FrameCodec.decode(FrameCodec.encode(Frame.Response.failure("r", e))));
      assertEquals(e.status(), response.status());
      assertEquals(List.of("application/json"), response.headers().get("Content-Type"));
      assertEquals(e.retryAfterSeconds() > 0 ? List.of(Long.toString(e.retryAfterSeconds())) : null,
          response.headers().get("Retry-After"), e.getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> KmcException.unavailable("never", -1));
  }

  @Test
  void everyFrameTypeRoundTrips() {
    List<Frame> frames = List.of(
        new Frame.Hello(List.of(1), "prod", "0.1.0", "v1.30.0", List.of("stream")),
        new Frame.Welcome(1, "node-a", Limits.DEFAULTS),
        new Frame.Response("r", 200, Map.of("Content-Type", List.of("application/json")), new byte[] {'x'}, true),
        new Frame.Data("r", new byte[] {1, 2}),
        new Frame.End("r", "broken pipe"),
        new Frame.Credit("r", 4),
        new Frame.Cancel("r", "client went away"),
        new Frame.Ping(42),
        new Frame.Pong(42),
        new Frame.Error(null, ProtocolException.MALFORMED_FRAME, "bad"),
        new Frame.GoAway("node shutting down", 100),
        new Frame.IndexAck(3, null, Map.of("pods", "e:7")),
        new Frame.IndexSynced(3));
    for (Frame frame : frames) {
      Frame copy = FrameCodec.decode(FrameCodec.encode(frame));
      assertEquals(frame.getClass(), copy.getClass());
      assertEquals(FrameCodec.encodeToString(frame), FrameCodec.encodeToString(copy));
    }
  }

  @Test
  void theCaughtUpMarkerIsNeverNegative() {
    assertThrows(ProtocolException.class, () -> FrameCodec.decode("{\"type\":\"indexsynced\",\"afterSeq\":-1}"
        .getBytes(java.nio.charset.StandardCharsets.UTF_8)));
  }

  @Test
  void unknownFieldsAreIgnored() {
    Frame frame = FrameCodec.decode("{\"type\":\"ping\",\"sentAtMillis\":5,\"future\":{\"x\":1}}");
    assertEquals(new Frame.Ping(5), frame);
  }

  @Test
  void missingFlagsAndCountsDefaultToFalseAndZero() {
    Frame frame = FrameCodec.decode("{\"type\":\"response\",\"id\":\"r\",\"status\":200}");
    assertEquals(false, ((Frame.Response) frame).more());
  }

  @Test
  void unknownTypeIsAProtocolErrorNamingTheType() {
    ProtocolException e = assertThrows(ProtocolException.class,
        () -> FrameCodec.decode("{\"type\":\"teleport\",\"id\":\"1\"}"));
    assertEquals(ProtocolException.UNKNOWN_TYPE, e.code());
    assertTrue(e.getMessage().contains("teleport"), e.getMessage());
  }

  @Test
  void malformedInputIsAProtocolError() {
    for (String bad : List.of("", "not json", "{\"type\":", "[1,2]", "null", "{\"id\":\"x\"}",
        "{\"type\":\"request\",\"id\":\"1\"}", "{\"type\":\"request\",\"id\":\"1\",\"method\":\"GET\",\"path\":\"no-slash\"}",
        "{\"type\":\"data\",\"id\":\"1\",\"data\":\"%%%not-base64\"}",
        "{\"type\":\"credit\",\"id\":\"1\",\"credits\":0}",
        "{\"type\":\"hello\",\"protocolVersions\":[],\"cluster\":\"a\"}",
        "{\"type\":\"response\",\"id\":\"r\"}")) {
      ProtocolException e = assertThrows(ProtocolException.class,
          () -> FrameCodec.decode(bad.getBytes(StandardCharsets.UTF_8)), bad);
      assertEquals(ProtocolException.MALFORMED_FRAME, e.code(), bad + " -> " + e.getMessage());
    }
  }

  @Test
  void versionNegotiationPicksTheHighestCommonVersion() {
    assertEquals(1, ProtocolVersions.negotiate(List.of(1, 7)).getAsInt());
    assertEquals(2, ProtocolVersions.negotiate(List.of(1, 2)).getAsInt());
    assertEquals(2, ProtocolVersions.negotiate(List.of(2, 3)).getAsInt());
    assertTrue(ProtocolVersions.negotiate(List.of(3, 4)).isEmpty());
  }

  @Test
  void limitsRejectAChunkThatCannotFitInAFrame() {
    assertThrows(IllegalArgumentException.class,
        () -> new Limits(64 * 1024, 1024, 64 * 1024, 1, 1, 1, 1, 1, 2));
  }
}
