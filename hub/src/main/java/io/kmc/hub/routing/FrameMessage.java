package io.kmc.hub.routing;

import io.kmc.common.protocol.BinaryFrames;
import io.kmc.common.protocol.Frame;
import io.kmc.common.protocol.ProtocolException;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.MessageCodec;

/**
 * One exchange frame (request, response, data, end, credit, cancel) on its way through the hub, in
 * whichever form it already has: the decoded record, or its protocol v2 binary message as a v2
 * agent or another node sent it. The type and id are read from the binary header, so a node that
 * only routes a frame (the data of a watch or a large list) never decodes or copies its body; a
 * frame is decoded or encoded only when someone asks for that form. Between hub nodes a frame
 * travels as its binary message; delivered on the same node it is the same object.
 */
public final class FrameMessage {

  private Frame.Exchange frame;
  private Buffer binary;
  private final boolean reversed;

  private FrameMessage(Frame.Exchange frame, Buffer binary, boolean reversed) {
    this.frame = frame;
    this.binary = binary;
    this.reversed = reversed;
  }

  public static FrameMessage of(Frame.Exchange frame) {
    return new FrameMessage(frame, null, false);
  }

  /**
   * A frame of an upgraded exchange going the other way than its type usually does: data from the
   * client towards the agent, or the agent's credit towards the client ({@link BinaryFrames#FLAG_REVERSED}).
   */
  public static FrameMessage reversed(Frame.Exchange frame) {
    return new FrameMessage(frame, null, true);
  }

  /**
   * A frame in its v2 binary form, as an agent sent it: the header is checked here (length, a known
   * type); the rest only when the frame is decoded.
   */
  public static FrameMessage binary(Buffer message) {
    if (message.length() < BinaryFrames.HEADER_BYTES) {
      throw new ProtocolException(ProtocolException.MALFORMED_FRAME, "binary frame shorter than its "
          + BinaryFrames.HEADER_BYTES + "-byte header");
    }
    byte type = message.getByte(0);
    if (type < BinaryFrames.REQUEST || type > BinaryFrames.CANCEL) {
      throw new ProtocolException(ProtocolException.UNKNOWN_TYPE, "unknown binary frame type " + type);
    }
    int metaLength = message.getInt(12);
    if (metaLength < 0 || metaLength > message.length() - BinaryFrames.HEADER_BYTES) {
      throw new ProtocolException(ProtocolException.MALFORMED_FRAME, "binary frame meta length " + metaLength
          + " does not fit in the frame");
    }
    return new FrameMessage(null, message, (message.getByte(1) & BinaryFrames.FLAG_REVERSED) != 0);
  }

  public boolean reversed() {
    return reversed;
  }

  /** One of {@link BinaryFrames#REQUEST} … {@link BinaryFrames#CANCEL}. */
  public byte type() {
    return binary != null ? binary.getByte(0) : BinaryFrames.typeOf(frame);
  }

  public String id() {
    return binary != null ? BinaryFrames.idText(binary.getLong(4)) : frame.id();
  }

  /** The frame, decoded on first use: a {@link ProtocolException} if its binary form is bad. */
  public Frame.Exchange frame() {
    if (frame == null) {
      frame = BinaryFrames.decode(binary.getBytes());
    }
    return frame;
  }

  /** The v2 binary message, encoded on first use. */
  public Buffer binary() {
    if (binary == null) {
      binary = Buffer.buffer(BinaryFrames.encode(frame, reversed ? BinaryFrames.FLAG_REVERSED : 0));
    }
    return binary;
  }

  /** The bytes a data frame carries, without copying them out of a binary message. */
  public Buffer payload() {
    if (binary != null) {
      int start = BinaryFrames.HEADER_BYTES + binary.getInt(12);
      return binary.slice(start, binary.length());
    }
    return Buffer.buffer(((Frame.Data) frame).data());
  }

  /** Makes {@link FrameMessage} sendable on this event bus; once per Vert.x instance. */
  public static void register(EventBus eventBus) {
    eventBus.registerDefaultCodec(FrameMessage.class, new Codec());
  }

  static final class Codec implements MessageCodec<FrameMessage, FrameMessage> {

    @Override
    public void encodeToWire(Buffer buffer, FrameMessage message) {
      Buffer binary = message.binary();
      byte flags = binary.getByte(1);
      if ((flags & BinaryFrames.FLAG_BINARY_HEAD) != 0) {
        // As the agent sent it: between nodes the meta is JSON, which nodes of every version read.
        binary = Buffer.buffer(BinaryFrames.encode(message.frame(), (byte) (flags & ~BinaryFrames.FLAG_BINARY_HEAD)));
      }
      buffer.appendInt(binary.length()).appendBuffer(binary);
    }

    @Override
    public FrameMessage decodeFromWire(int position, Buffer buffer) {
      int length = buffer.getInt(position);
      Buffer binary = buffer.getBuffer(position + 4, position + 4 + length);
      return new FrameMessage(null, binary, (binary.getByte(1) & BinaryFrames.FLAG_REVERSED) != 0);
    }

    @Override
    public FrameMessage transform(FrameMessage message) {
      return message;
    }

    @Override
    public String name() {
      return "kmc-frame";
    }

    @Override
    public byte systemCodecID() {
      return -1;
    }
  }
}
