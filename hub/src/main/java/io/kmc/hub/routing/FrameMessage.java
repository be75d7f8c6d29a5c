package io.kmc.hub.routing;

import io.kmc.common.protocol.Frame;
import io.kmc.common.protocol.FrameCodec;
import io.kmc.common.protocol.ProtocolException;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.MessageCodec;

/**
 * A frame on the event bus between hub nodes. Delivered on the same node it is the same object, so
 * a request and its answer cross from the API to the agent session and back without being encoded
 * or decoded again; sent to another node it travels as its JSON, which is decoded only when the
 * receiver asks for the frame. Whoever already has the JSON (a frame as the agent sent it) passes
 * it along, so that it is never encoded twice.
 */
public final class FrameMessage {

  private Frame frame;
  private Buffer encoded;

  private FrameMessage(Frame frame, Buffer encoded) {
    this.frame = frame;
    this.encoded = encoded;
  }

  /** {@code encoded}, when not null, is the frame's JSON. */
  public static FrameMessage of(Frame frame, Buffer encoded) {
    return new FrameMessage(frame, encoded);
  }

  public static FrameMessage of(Frame frame) {
    return new FrameMessage(frame, null);
  }

  /** The frame, decoded on first use if it came from another node: a {@link ProtocolException} if it is bad. */
  public Frame frame() {
    if (frame == null) {
      frame = FrameCodec.decode(encoded.getBytes());
    }
    return frame;
  }

  /** The frame's JSON if someone already had it, else null. */
  public Buffer knownEncoding() {
    return encoded;
  }

  private Buffer encoded() {
    if (encoded == null) {
      encoded = Buffer.buffer(FrameCodec.encode(frame));
    }
    return encoded;
  }

  /** Makes {@link FrameMessage} sendable on this event bus; once per Vert.x instance. */
  public static void register(EventBus eventBus) {
    eventBus.registerDefaultCodec(FrameMessage.class, new Codec());
  }

  static final class Codec implements MessageCodec<FrameMessage, FrameMessage> {

    @Override
    public void encodeToWire(Buffer buffer, FrameMessage message) {
      Buffer json = message.encoded();
      buffer.appendInt(json.length()).appendBuffer(json);
    }

    @Override
    public FrameMessage decodeFromWire(int position, Buffer buffer) {
      int length = buffer.getInt(position);
      return new FrameMessage(null, buffer.getBuffer(position + 4, position + 4 + length));
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
