package io.kmc.kubesim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.buffer.Buffer;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.zip.Adler32;
import org.junit.jupiter.api.Test;

/** SPDY/3.1 framing as spdystream (kubectl's SPDY library) writes and reads it. */
class SpdyFramesTest {

  /**
   * The first frame kubectl 1.32 sent for a forwarded connection (captured with -v=9): SYN_STREAM 1
   * with streamType=error, port=80, requestID=0. Its zlib header announces dictionary e3c6a7c2.
   */
  private static final String KUBECTL_SYN_STREAM = "80030001" + "0000003d" + "00000001" + "00000000" + "00" + "00"
      + "78f9e3c6a7c202253a703a2b294a4dcc851625aca9a0808614"
      + "cb45a024cc6461c0c0c0c0590489c44c50e2663400000000ffff";

  @Test
  void theDictionaryIsSpdy3s() {
    byte[] dictionary = SpdyDictionary.bytes();
    Adler32 adler = new Adler32();
    adler.update(dictionary);
    assertEquals(1423, dictionary.length);
    assertEquals(0xe3c6a7c2L, adler.getValue());
  }

  @Test
  void readsTheSynStreamKubectlSends() {
    List<SpdyFrames.Frame> frames = new SpdyFrames().read(Buffer.buffer(HexFormat.of().parseHex(KUBECTL_SYN_STREAM)));
    assertEquals(1, frames.size());
    SpdyFrames.Frame frame = frames.get(0);
    assertTrue(frame.control());
    assertEquals(SpdyFrames.SYN_STREAM, frame.type());
    assertEquals(1, frame.streamId());
    assertEquals(Map.of("streamtype", List.of("error"), "port", List.of("80"), "requestid", List.of("0")),
        frame.headers());
  }

  @Test
  void headerBlocksShareOneCompressionContextAndFramesMayArriveInAnyPieces() {
    SpdyFrames client = new SpdyFrames();
    SpdyFrames server = new SpdyFrames();
    Buffer wire = Buffer.buffer();
    for (int id = 1; id <= 5; id += 2) {
      wire.appendBuffer(client.synStream(id, Map.of("streamtype", "data", "port", "80", "requestid",
          String.valueOf(id)), false));
      wire.appendBuffer(SpdyFrames.data(id, Buffer.buffer("payload " + id), id == 5));
    }
    List<SpdyFrames.Frame> frames = new ArrayList<>();
    for (int i = 0; i < wire.length(); i += 7) {
      frames.addAll(server.read(wire.getBuffer(i, Math.min(wire.length(), i + 7))));
    }
    assertEquals(6, frames.size());
    assertEquals(List.of("5"), frames.get(4).headers().get("requestid"), "the third block decompresses too");
    assertEquals("payload 5", frames.get(5).payload().toString());
    assertTrue(frames.get(5).fin());

    Buffer reply = server.synReply(3, Map.of());
    SpdyFrames.Frame read = client.read(reply).get(0);
    assertEquals(SpdyFrames.SYN_REPLY, read.type());
    assertEquals(3, read.streamId());
    assertEquals(Map.of(), read.headers());
  }
}
