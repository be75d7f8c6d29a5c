package io.kmc.common.protocol;

import java.nio.ByteBuffer;

/**
 * Exchange frames of protocol v2 (request, response, data, end, credit, cancel) as websocket binary
 * messages: a fixed 16-byte header, the frame's fields as JSON (none for data), then its body as
 * raw bytes, with no base64 and no JSON around it. A node that only routes a frame reads its type
 * and id from the header and never decodes the rest. See docs/protocol.md.
 *
 * <pre>
 *  0  u8   type            1 request, 2 response, 3 data, 4 end, 5 credit, 6 cancel
 *  1  u8   flags           bit 0: reversed (see {@link #FLAG_REVERSED}); bit 1: binary head
 *                          ({@link #FLAG_BINARY_HEAD}); the rest 0
 *  2  u16  reserved        0
 *  4  u64  exchange id     unsigned; the {@code id} of the frame in decimal
 * 12  u32  meta length     bytes of JSON that follow (0 for data)
 * 16  meta                 the frame as in v1 JSON, without its body; with a binary head, a
 *                          request's or response's fields in a fixed order ({@link BinaryHeads})
 *  …  body                 the request or response body, or the data: everything to the end
 * </pre>
 */
public final class BinaryFrames {

  public static final int HEADER_BYTES = 16;
  public static final byte REQUEST = 1;
  public static final byte RESPONSE = 2;
  public static final byte DATA = 3;
  public static final byte END = 4;
  public static final byte CREDIT = 5;
  public static final byte CANCEL = 6;
  /**
   * A data frame sent towards the agent, or a credit sent towards the client: the direction of an
   * upgraded exchange (exec, attach, port-forward) opposite to its type's usual one. Set and read
   * only between hub nodes; an agent knows the direction from who sent the frame.
   */
  public static final byte FLAG_REVERSED = 1;
  /**
   * The meta of a request or response is in the fixed binary layout of {@link BinaryHeads}, not JSON:
   * sent only to a peer that said {@link #BINARY_HEADS} (agent and hub, in hello and welcome). Between
   * hub nodes frames keep JSON meta, so that nodes of different versions understand each other.
   */
  public static final byte FLAG_BINARY_HEAD = 2;
  /** The capability, in hello and welcome, of a side that reads binary heads. */
  public static final String BINARY_HEADS = "binary-heads";
  static final int FLAGS_OFFSET = 1;
  static final int ID_OFFSET = 4;
  static final int META_LENGTH_OFFSET = 12;

  private BinaryFrames() {
  }

  /** The type byte of a frame (one of the constants above). */
  public static byte typeOf(Frame.Exchange frame) {
    if (frame instanceof Frame.Request) {
      return REQUEST;
    } else if (frame instanceof Frame.Response) {
      return RESPONSE;
    } else if (frame instanceof Frame.Data) {
      return DATA;
    } else if (frame instanceof Frame.End) {
      return END;
    } else if (frame instanceof Frame.Credit) {
      return CREDIT;
    }
    return CANCEL;
  }

  /** The id of an exchange as it travels in v2: ids are unsigned 64-bit numbers, written in decimal in frames. */
  public static long wireId(String id) {
    try {
      return Long.parseUnsignedLong(id);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("exchange id '" + id + "' is not an unsigned 64-bit number", e);
    }
  }

  public static String idText(long wireId) {
    return Long.toUnsignedString(wireId);
  }

  /** The whole message for one frame. */
  public static byte[] encode(Frame.Exchange frame) {
    return encode(frame, (byte) 0);
  }

  /** The whole message for one frame, with these flags. */
  public static byte[] encode(Frame.Exchange frame, byte flags) {
    byte[] body = body(frame);
    boolean head = frame instanceof Frame.Request || frame instanceof Frame.Response;
    if (!head) {
      flags = (byte) (flags & ~FLAG_BINARY_HEAD);
    }
    byte[] meta = frame instanceof Frame.Data ? new byte[0]
        : (flags & FLAG_BINARY_HEAD) != 0 ? BinaryHeads.encode(frame)
        : FrameCodec.encode(withoutBody(frame));
    ByteBuffer out = ByteBuffer.allocate(HEADER_BYTES + meta.length + (body == null ? 0 : body.length));
    writeHeader(out, typeOf(frame), wireId(frame.id()), meta.length);
    out.put(FLAGS_OFFSET, flags);
    out.put(meta);
    if (body != null) {
      out.put(body);
    }
    return out.array();
  }

  /** Writes the 16-byte header; the buffer's position moves past it. */
  public static void writeHeader(ByteBuffer out, byte type, long wireId, int metaLength) {
    out.put(type).put((byte) 0).putShort((short) 0).putLong(wireId).putInt(metaLength);
  }

  /**
   * Decodes one message. A message that is too short, has an unknown type, meta that does not
   * describe a frame of that type and id, or a body where none belongs is a {@link ProtocolException}.
   */
  public static Frame.Exchange decode(byte[] message) {
    if (message.length < HEADER_BYTES) {
      throw new ProtocolException(ProtocolException.MALFORMED_FRAME, "binary frame shorter than its "
          + HEADER_BYTES + "-byte header");
    }
    ByteBuffer in = ByteBuffer.wrap(message);
    byte type = in.get(0);
    String id = idText(in.getLong(ID_OFFSET));
    int metaLength = in.getInt(META_LENGTH_OFFSET);
    if (metaLength < 0 || metaLength > message.length - HEADER_BYTES) {
      throw new ProtocolException(ProtocolException.MALFORMED_FRAME, "binary frame meta length " + metaLength
          + " does not fit in the frame");
    }
    int bodyStart = HEADER_BYTES + metaLength;
    byte[] body = new byte[message.length - bodyStart];
    System.arraycopy(message, bodyStart, body, 0, body.length);
    if (type == DATA) {
      try {
        return new Frame.Data(id, body);
      } catch (IllegalArgumentException e) {
        throw new ProtocolException(ProtocolException.MALFORMED_FRAME, e.getMessage());
      }
    }
    if (type < REQUEST || type > CANCEL) {
      throw new ProtocolException(ProtocolException.UNKNOWN_TYPE, "unknown binary frame type " + type);
    }
    if ((in.get(FLAGS_OFFSET) & FLAG_BINARY_HEAD) != 0) {
      return BinaryHeads.decode(type, id, ByteBuffer.wrap(message, HEADER_BYTES, metaLength).slice(),
          body.length == 0 ? null : body);
    }
    byte[] metaBytes = new byte[metaLength];
    System.arraycopy(message, HEADER_BYTES, metaBytes, 0, metaLength);
    Frame meta = FrameCodec.decode(metaBytes);
    if (!(meta instanceof Frame.Exchange exchange) || typeOf(exchange) != type) {
      throw new ProtocolException(ProtocolException.MALFORMED_FRAME, "binary frame of type " + type
          + " carries a '" + FrameCodec.typeName(meta) + "' frame");
    }
    if (!id.equals(exchange.id())) {
      throw new ProtocolException(ProtocolException.MALFORMED_FRAME, "binary frame header id " + id
          + " differs from its meta id");
    }
    if (body.length > 0 && !(meta instanceof Frame.Request || meta instanceof Frame.Response)) {
      throw new ProtocolException(ProtocolException.MALFORMED_FRAME, "a " + FrameCodec.typeName(meta)
          + " frame carries no body");
    }
    return withBody(exchange, body.length == 0 ? null : body);
  }

  private static byte[] body(Frame.Exchange frame) {
    if (frame instanceof Frame.Request request) {
      return request.body();
    } else if (frame instanceof Frame.Response response) {
      return response.body();
    } else if (frame instanceof Frame.Data data) {
      return data.data();
    }
    return null;
  }

  private static Frame withoutBody(Frame.Exchange frame) {
    return withBody(frame, null);
  }

  private static Frame.Exchange withBody(Frame.Exchange frame, byte[] body) {
    if (frame instanceof Frame.Request r) {
      return new Frame.Request(r.id(), r.method(), r.path(), r.query(), r.headers(), body, r.user(), r.impersonate(),
          r.stream(), r.credits(), r.timeoutMillis());
    } else if (frame instanceof Frame.Response r) {
      return new Frame.Response(r.id(), r.status(), r.headers(), body, r.more());
    }
    return frame;
  }

  /** Whether the text is the decimal spelling of an id as v2 carries it. */
  public static boolean isWireId(String id) {
    if (id == null || id.isEmpty() || id.length() > 20) {
      return false;
    }
    for (int i = 0; i < id.length(); i++) {
      if (id.charAt(i) < '0' || id.charAt(i) > '9') {
        return false;
      }
    }
    try {
      return idText(Long.parseUnsignedLong(id)).equals(id);
    } catch (NumberFormatException e) {
      return false;
    }
  }
}
