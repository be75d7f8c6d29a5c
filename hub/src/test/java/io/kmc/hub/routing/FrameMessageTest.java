package io.kmc.hub.routing;

import io.kmc.common.protocol.Frame;
import io.kmc.common.protocol.ProtocolException;
import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

class FrameMessageTest {

  private final FrameMessage.Codec codec = new FrameMessage.Codec();
  private final Frame.Response response = new Frame.Response("n1-7", 200,
      Map.of("Content-Type", List.of("application/json")), "{\"kind\":\"ConfigMap\"}".getBytes(), false);

  @Test
  void onTheSameNodeTheFrameItselfIsDeliveredWithoutJson() {
    FrameMessage message = FrameMessage.of(response);

    assertSame(message, codec.transform(message));
    assertSame(response, codec.transform(message).frame());
    assertNull(message.knownEncoding(), "never encoded");
  }

  @Test
  void betweenNodesItTravelsAsJsonAmongOtherFieldsAndIsDecodedOnDemand() {
    Buffer wire = Buffer.buffer("bytes of the fields before");
    int position = wire.length();
    codec.encodeToWire(wire, FrameMessage.of(response));
    wire.appendString("bytes of the fields after");

    Frame.Response decoded = (Frame.Response) codec.decodeFromWire(position, wire).frame();

    assertEquals(response.id(), decoded.id());
    assertEquals(200, decoded.status());
    assertEquals(response.headers(), decoded.headers());
    assertArrayEquals(response.body(), decoded.body());
  }

  @Test
  void jsonAlreadyAtHandIsSentAsItIsAndABadFrameFailsWhenRead() {
    Buffer wire = Buffer.buffer();
    codec.encodeToWire(wire, FrameMessage.of(null, Buffer.buffer("{\"type\":\"launch\"}")));

    FrameMessage received = codec.decodeFromWire(0, wire);

    assertEquals("{\"type\":\"launch\"}", received.knownEncoding().toString());
    ProtocolException e = assertThrows(ProtocolException.class, received::frame);
    assertEquals(ProtocolException.UNKNOWN_TYPE, e.code());
  }
}
