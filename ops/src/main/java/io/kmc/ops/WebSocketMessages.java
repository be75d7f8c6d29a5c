package io.kmc.ops;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.WebSocketBase;
import io.vertx.core.http.WebSocketFrame;

import java.nio.charset.StandardCharsets;

/**
 * Writes protocol messages on a websocket in fragments of at most {@link #FRAGMENT_BYTES}, whatever
 * frame size the socket accepts. The rule both sides of the tunnel follow: send fragments of 64 KiB,
 * accept frames as large as a whole message. Vert.x couples the two (one option sizes outgoing
 * fragments and bounds incoming frames), which made one unfragmented frame over 64 KiB close the
 * connection instead of being answered.
 */
public final class WebSocketMessages {

  public static final int FRAGMENT_BYTES = 64 * 1024;

  private WebSocketMessages() {
  }

  /** Writes one text message. */
  public static Future<Void> writeText(WebSocketBase ws, String text) {
    if (text.length() * 3L <= FRAGMENT_BYTES) {
      return ws.writeFrame(WebSocketFrame.textFrame(text, true));
    }
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    if (bytes.length <= FRAGMENT_BYTES) {
      return ws.writeFrame(WebSocketFrame.textFrame(text, true));
    }
    int end = boundary(bytes, FRAGMENT_BYTES);
    Future<Void> written = ws.writeFrame(WebSocketFrame.textFrame(new String(bytes, 0, end, StandardCharsets.UTF_8), false));
    return continuation(ws, bytes, end, written);
  }

  /** Writes one binary message. */
  public static Future<Void> writeBinary(WebSocketBase ws, Buffer message) {
    if (message.length() <= FRAGMENT_BYTES) {
      return ws.writeFrame(WebSocketFrame.binaryFrame(message, true));
    }
    Future<Void> written = ws.writeFrame(WebSocketFrame.binaryFrame(message.slice(0, FRAGMENT_BYTES), false));
    for (int start = FRAGMENT_BYTES; start < message.length(); start += FRAGMENT_BYTES) {
      int end = Math.min(message.length(), start + FRAGMENT_BYTES);
      written = ws.writeFrame(WebSocketFrame.continuationFrame(message.slice(start, end), end == message.length()));
    }
    return written;
  }

  private static Future<Void> continuation(WebSocketBase ws, byte[] bytes, int start, Future<Void> written) {
    while (start < bytes.length) {
      int end = boundary(bytes, start + FRAGMENT_BYTES);
      written = ws.writeFrame(WebSocketFrame.continuationFrame(Buffer.buffer().appendBytes(bytes, start, end - start),
          end == bytes.length));
      start = end;
    }
    return written;
  }

  /** The largest index ≤ {@code limit} that does not split a UTF-8 sequence (a text frame must stay decodable). */
  private static int boundary(byte[] bytes, int limit) {
    if (limit >= bytes.length) {
      return bytes.length;
    }
    int end = limit;
    while (end > 0 && (bytes[end] & 0xC0) == 0x80) {
      end--;
    }
    return end;
  }
}
