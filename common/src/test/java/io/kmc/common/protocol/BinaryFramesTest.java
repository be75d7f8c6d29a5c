package io.kmc.common.protocol;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BinaryFramesTest {

  private static final String ID = BinaryFrames.idText(-2L); // the largest but one unsigned id

  @Test
  void everyExchangeFrameRoundTripsWithItsBodyRaw() {
    byte[] body = new byte[256];
    for (int i = 0; i < body.length; i++) {
      body[i] = (byte) i;
    }
    List<Frame.Exchange> frames = List.of(
        new Frame.Request(ID, "PUT", "/api/v1/namespaces/a/configmaps/b", "dryRun=All",
            Map.of("Content-Type", List.of("application/json")), body, new ActingUser("alice", List.of("g")), true,
            false, 8, 5_000),
        new Frame.Response(ID, 201, Map.of("Content-Type", List.of("application/json")), body, true),
        new Frame.Response(ID, 204, Map.of(), null, false),
        new Frame.Data(ID, body),
        new Frame.Data(ID, new byte[0]),
        new Frame.End(ID, null),
        new Frame.End(ID, "broken"),
        new Frame.Credit(ID, 4),
        new Frame.Cancel(ID, "client left"));
    for (Frame.Exchange frame : frames) {
      byte[] message = BinaryFrames.encode(frame);
      assertEquals(BinaryFrames.typeOf(frame), message[0]);
      assertEquals(-2L, ByteBuffer.wrap(message).getLong(4));
      Frame.Exchange decoded = BinaryFrames.decode(message);
      assertEquals(frame.getClass(), decoded.getClass());
      assertEquals(FrameCodec.encodeToString(frame), FrameCodec.encodeToString(decoded), frame.toString());
    }
    Frame.Data data = assertInstanceOf(Frame.Data.class, BinaryFrames.decode(BinaryFrames.encode(new Frame.Data(ID, body))));
    assertArrayEquals(body, data.data());
    byte[] dataMessage = BinaryFrames.encode(new Frame.Data(ID, body));
    assertEquals(BinaryFrames.HEADER_BYTES + body.length, dataMessage.length, "data carries no meta and no base64");
    assertNull(((Frame.Response) BinaryFrames.decode(BinaryFrames.encode(new Frame.Response(ID, 204, Map.of(), null,
        false)))).body());
  }

  @Test
  void binaryHeadsCarryTheSameRequestsAndResponses() {
    byte[] body = "{\"kind\":\"ConfigMap\"}".getBytes(StandardCharsets.UTF_8);
    Map<String, List<String>> headers = new java.util.LinkedHashMap<>();
    headers.put("Accept", List.of("application/json", "*/*"));
    headers.put("X-Empty", List.of());
    headers.put("X-Ünïcode", List.of("€ \"quoted\"\n"));
    List<Frame.Exchange> frames = List.of(
        new Frame.Request(ID, "GET", "/api/v1/namespaces/a/configmaps", "watch=true&resourceVersion=7", headers,
            null, new ActingUser("alice", List.of("g1", "g2")), true, true, 64, Long.MAX_VALUE),
        new Frame.Request(ID, "POST", "/api/v1/namespaces", null, Map.of(), body, null, false, false, 0, 0),
        new Frame.Request(ID, "GET", "/", null, Map.of(), null, new ActingUser(null, List.of()), false, false, 1, -1),
        new Frame.Response(ID, 200, headers, body, false),
        new Frame.Response(ID, 599, Map.of(), null, true));
    for (Frame.Exchange frame : frames) {
      byte[] message = BinaryFrames.encode(frame, BinaryFrames.FLAG_BINARY_HEAD);
      assertEquals(BinaryFrames.FLAG_BINARY_HEAD, message[1]);
      assertEquals(FrameCodec.encodeToString(frame), FrameCodec.encodeToString(BinaryFrames.decode(message)),
          frame.toString());
      assertTrue(message.length < BinaryFrames.encode(frame).length, "smaller than the JSON meta");
    }
    // Only requests and responses have a binary head: the flag is dropped for the others.
    assertEquals(0, BinaryFrames.encode(new Frame.End(ID, "x"), BinaryFrames.FLAG_BINARY_HEAD)[1]);
  }

  @Test
  void malformedBinaryHeadsAreProtocolErrors() {
    byte[] good = BinaryFrames.encode(new Frame.Request(ID, "GET", "/api", null, Map.of("A", List.of("b")), null,
        new ActingUser("u", List.of("g")), false, false, 1, 1), BinaryFrames.FLAG_BINARY_HEAD);
    int metaLength = ByteBuffer.wrap(good).getInt(12);
    for (int cut = 0; cut < metaLength; cut++) {
      byte[] shorter = java.util.Arrays.copyOf(good, BinaryFrames.HEADER_BYTES + cut);
      ByteBuffer.wrap(shorter).putInt(12, cut);
      assertCode(ProtocolException.MALFORMED_FRAME, shorter);
    }
    byte[] hugeString = good.clone();
    ByteBuffer.wrap(hugeString).putInt(BinaryFrames.HEADER_BYTES, Integer.MAX_VALUE);
    assertCode(ProtocolException.MALFORMED_FRAME, hugeString);
    byte[] negative = good.clone();
    ByteBuffer.wrap(negative).putInt(BinaryFrames.HEADER_BYTES, -7);
    assertCode(ProtocolException.MALFORMED_FRAME, negative);
    byte[] noPath = good.clone();
    ByteBuffer.wrap(noPath).putInt(BinaryFrames.HEADER_BYTES + 4 + 3, -1); // path absent
    assertCode(ProtocolException.MALFORMED_FRAME, noPath);
    byte[] flaggedEnd = BinaryFrames.encode(new Frame.End(ID, null));
    flaggedEnd[1] = BinaryFrames.FLAG_BINARY_HEAD;
    assertCode(ProtocolException.MALFORMED_FRAME, flaggedEnd);
    byte[] badStatus = BinaryFrames.encode(new Frame.Response(ID, 200, Map.of(), null, false),
        BinaryFrames.FLAG_BINARY_HEAD);
    ByteBuffer.wrap(badStatus).putShort(BinaryFrames.HEADER_BYTES, (short) 700);
    assertCode(ProtocolException.MALFORMED_FRAME, badStatus);
  }

  @Test
  void malformedMessagesAreProtocolErrors() {
    assertCode(ProtocolException.MALFORMED_FRAME, new byte[5]);
    byte[] unknown = BinaryFrames.encode(new Frame.End(ID, null));
    unknown[0] = 42;
    assertCode(ProtocolException.UNKNOWN_TYPE, unknown);
    byte[] tooLong = BinaryFrames.encode(new Frame.End(ID, null));
    ByteBuffer.wrap(tooLong).putInt(12, 1_000_000);
    assertCode(ProtocolException.MALFORMED_FRAME, tooLong);
    byte[] mislabelled = BinaryFrames.encode(new Frame.End(ID, null));
    mislabelled[0] = BinaryFrames.CREDIT;
    assertCode(ProtocolException.MALFORMED_FRAME, mislabelled);
    byte[] otherId = BinaryFrames.encode(new Frame.End(ID, null));
    ByteBuffer.wrap(otherId).putLong(4, 7);
    assertCode(ProtocolException.MALFORMED_FRAME, otherId);
    byte[] end = BinaryFrames.encode(new Frame.End(ID, null));
    byte[] endWithBody = new byte[end.length + 3];
    System.arraycopy(end, 0, endWithBody, 0, end.length);
    assertCode(ProtocolException.MALFORMED_FRAME, endWithBody);
    byte[] meta = "{\"type\":\"end\"}".getBytes(StandardCharsets.UTF_8);
    ByteBuffer noId = ByteBuffer.allocate(BinaryFrames.HEADER_BYTES + meta.length);
    BinaryFrames.writeHeader(noId, BinaryFrames.END, 5, meta.length);
    noId.put(meta);
    assertCode(ProtocolException.MALFORMED_FRAME, noId.array());
    assertThrows(IllegalArgumentException.class, () -> BinaryFrames.encode(new Frame.End("not-a-number", null)));
  }

  @Test
  void idsAreUnsignedDecimals() {
    assertEquals("18446744073709551615", BinaryFrames.idText(-1L));
    assertEquals(-1L, BinaryFrames.wireId("18446744073709551615"));
    assertEquals(true, BinaryFrames.isWireId("12"));
    assertEquals(false, BinaryFrames.isWireId("012"));
    assertEquals(false, BinaryFrames.isWireId("18446744073709551616"));
    assertEquals(false, BinaryFrames.isWireId("r-1"));
  }

  private static void assertCode(String code, byte[] message) {
    ProtocolException e = assertThrows(ProtocolException.class, () -> BinaryFrames.decode(message));
    assertEquals(code, e.code(), e.getMessage());
  }
}
