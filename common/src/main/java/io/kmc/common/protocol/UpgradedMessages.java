package io.kmc.common.protocol;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * The data of an upgraded exchange (exec, attach, port-forward: a websocket the agent opened to
 * its kube-apiserver for a client of the hub). Each data frame carries one websocket message,
 * both ways: a first byte saying what it is, as websocket opcodes do, then the message.
 *
 * <ul>
 *   <li>{@link #TEXT} (1), {@link #BINARY} (2): a message, to be written as it came;</li>
 *   <li>{@link #CLOSE} (8): the side that sent it closed, with a two-byte close code and a reason
 *       (UTF-8), as in a websocket close frame.</li>
 * </ul>
 */
public final class UpgradedMessages {

  public static final byte TEXT = 1;
  public static final byte BINARY = 2;
  public static final byte CLOSE = 8;
  /** The request header that asks the agent for an upgrade instead of a plain request. */
  public static final String UPGRADE_HEADER = "Upgrade";
  public static final String WEBSOCKET = "websocket";
  public static final String SUBPROTOCOL_HEADER = "Sec-WebSocket-Protocol";

  private UpgradedMessages() {
  }

  /** Whether a request asks the agent to open a websocket to its API server rather than make a plain call. */
  public static boolean isUpgrade(Frame.Request request) {
    for (Map.Entry<String, List<String>> header : request.headers().entrySet()) {
      if (header.getKey().equalsIgnoreCase(UPGRADE_HEADER)
          && header.getValue().stream().anyMatch(WEBSOCKET::equalsIgnoreCase)) {
        return true;
      }
    }
    return false;
  }

  public static byte[] message(boolean text, byte[] bytes) {
    byte[] out = new byte[bytes.length + 1];
    out[0] = text ? TEXT : BINARY;
    System.arraycopy(bytes, 0, out, 1, bytes.length);
    return out;
  }

  public static byte[] close(int code, String reason) {
    byte[] text = reason == null ? new byte[0] : reason.getBytes(StandardCharsets.UTF_8);
    int length = Math.min(text.length, 123); // a websocket close reason is at most 123 bytes
    return ByteBuffer.allocate(3 + length).put(CLOSE).putShort((short) code).put(text, 0, length).array();
  }

  /** The close code of a {@link #CLOSE} payload (1005, "no status", when it has none). */
  public static int closeCode(byte[] payload) {
    return payload.length >= 3 ? ByteBuffer.wrap(payload, 1, 2).getShort() & 0xffff : 1005;
  }

  public static String closeReason(byte[] payload) {
    return payload.length > 3 ? new String(payload, 3, payload.length - 3, StandardCharsets.UTF_8) : "";
  }
}
