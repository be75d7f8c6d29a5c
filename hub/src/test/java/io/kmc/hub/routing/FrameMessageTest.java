package io.kmc.hub.routing;

import io.kmc.common.protocol.BinaryFrames;
import io.kmc.common.protocol.Frame;
import io.kmc.common.protocol.ProtocolException;
import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

class FrameMessageTest {

  private final FrameMessage.Codec codec = new FrameMessage.Codec();
  private final Frame.Response response = new Frame.Response("42", 200,
      Map.of("Content-Type", List.of("application/json")), "{\"kind\":\"ConfigMap\"}".getBytes(), false);

  @Test
  void onTheSameNodeTheFrameItselfIsDelivered() {
    FrameMessage message = FrameMessage.of(response);

    assertSame(message, codec.transform(message));
    assertSame(response, codec.transform(message).frame());
    assertEquals(BinaryFrames.RESPONSE, message.type());
    assertEquals("42", message.id());
  }

  @Test
  void betweenNodesItTravelsAsItsBinaryMessageAmongOtherFieldsAndIsDecodedOnDemand() {
    Buffer wire = Buffer.buffer("bytes of the fields before");
    int position = wire.length();
    codec.encodeToWire(wire, FrameMessage.of(response));
    wire.appendString("bytes of the fields after");

    FrameMessage received = codec.decodeFromWire(position, wire);
    assertEquals(BinaryFrames.RESPONSE, received.type());
    assertEquals("42", received.id());
    Frame.Response decoded = (Frame.Response) received.frame();
    assertEquals(200, decoded.status());
    assertEquals(response.headers(), decoded.headers());
    assertArrayEquals(response.body(), decoded.body());
  }

  @Test
  void dataIsRoutedByItsHeaderAndItsPayloadIsASliceNotACopy() {
    byte[] chunk = "a watch event\n".getBytes(StandardCharsets.UTF_8);
    Buffer message = Buffer.buffer(BinaryFrames.encode(new Frame.Data("7", chunk)));
    FrameMessage data = FrameMessage.binary(message);

    assertEquals(BinaryFrames.DATA, data.type());
    assertEquals("7", data.id());
    assertArrayEquals(chunk, data.payload().getBytes());
    assertSame(message, data.binary(), "sent on as it came");
  }

  @Test
  void aBadBinaryFrameIsRefusedAtItsHeaderOrWhenRead() {
    assertEquals(ProtocolException.MALFORMED_FRAME, assertThrows(ProtocolException.class,
        () -> FrameMessage.binary(Buffer.buffer(new byte[3]))).code());
    byte[] unknown = BinaryFrames.encode(new Frame.End("1", null));
    unknown[0] = 99;
    assertEquals(ProtocolException.UNKNOWN_TYPE, assertThrows(ProtocolException.class,
        () -> FrameMessage.binary(Buffer.buffer(unknown))).code());
    byte[] garbled = BinaryFrames.encode(new Frame.End("1", null));
    garbled[BinaryFrames.HEADER_BYTES] = 'x';
    FrameMessage received = FrameMessage.binary(Buffer.buffer(garbled));
    assertThrows(ProtocolException.class, received::frame);
  }
}
