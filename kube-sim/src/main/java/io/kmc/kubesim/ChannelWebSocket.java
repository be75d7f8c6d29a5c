package io.kmc.kubesim;

import io.kmc.kubesim.container.Output.BrokenPipeException;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.http.WebSocketFrame;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Kubernetes' channel protocol over a websocket ({@code k8s.io/apimachinery/pkg/util/httpstream/wsstream}):
 * several byte streams multiplexed on one connection, each message starting with its channel number,
 * as a byte (binary protocols) or an ASCII digit followed by base64 (the {@code base64.} ones, for
 * browsers). {@code v5.channel.k8s.io} adds a half-close: the message {@code [255, channel]} ends
 * that channel, which is how stdin reaches its end.
 *
 * <p>Messages may be fragmented into several websocket frames; the channel byte is on the first one
 * only, so a stdin larger than any frame limit streams through. Flow control runs both ways: the
 * socket stops being read while a channel's consumer is behind, and writes wait while the socket's
 * write queue is full. A channel written to without a reader is simply not read by the client.
 */
final class ChannelWebSocket {

  /** The subprotocols, in the order the server prefers them. */
  enum Protocol {
    V5("v5.channel.k8s.io", true, true, true),
    V4("v4.channel.k8s.io", true, false, true),
    V4_BASE64("v4.base64.channel.k8s.io", false, false, true),
    V1("channel.k8s.io", true, false, false),
    V1_BASE64("base64.channel.k8s.io", false, false, false),
    /** A client that asked for no subprotocol: the original binary protocol. */
    NONE("", true, false, false);

    private final String header;
    private final boolean binary;
    private final boolean halfClose;
    private final boolean statusObjects;

    Protocol(String header, boolean binary, boolean halfClose, boolean statusObjects) {
      this.header = header;
      this.binary = binary;
      this.halfClose = halfClose;
      this.statusObjects = statusObjects;
    }

    String header() {
      return header;
    }

    /** Whether the error channel carries a JSON Status (v4 and later) rather than a plain message. */
    boolean statusObjects() {
      return statusObjects;
    }

    /**
     * The first protocol the client offers (in its order, as wsstream negotiates) among
     * {@code supported}; NONE when it offers nothing and NONE is supported; null when none fits.
     */
    static Protocol negotiate(List<String> offered, List<Protocol> supported) {
      if (offered.isEmpty()) {
        return supported.contains(NONE) ? NONE : null;
      }
      for (String name : offered) {
        for (Protocol protocol : supported) {
          if (protocol != NONE && protocol.header.equals(name)) {
            return protocol;
          }
        }
      }
      return null;
    }
  }

  /** Byte 255 starts a v5 half-close message. */
  private static final int CLOSE_SIGNAL = 255;
  /** The biggest message written at once; bigger writes are cut (the client reads 32 KiB at a time). */
  private static final int MAX_MESSAGE_BYTES = 32 * 1024;

  private final ServerWebSocket socket;
  private final Protocol protocol;
  private final Map<Integer, Function<Buffer, Future<Void>>> readers = new HashMap<>();
  private final Map<Integer, Runnable> closeHandlers = new HashMap<>();
  private final List<Promise<Void>> waitingForDrain = new ArrayList<>();
  private Runnable goneHandler = () -> { };
  private int messageChannel = -1;
  private boolean closeMessage;
  private int blockedReaders;
  private boolean closed;
  /** The last message handed to the socket: {@link #close()} waits for it (see there). */
  private Future<Void> lastWrite = Future.succeededFuture();

  ChannelWebSocket(ServerWebSocket socket, Protocol protocol) {
    this.socket = socket;
    this.protocol = protocol;
  }

  Protocol protocol() {
    return protocol;
  }

  /** Where a channel's data goes; the consumer's future says when it can take more. */
  ChannelWebSocket reader(int channel, Function<Buffer, Future<Void>> consumer) {
    readers.put(channel, consumer);
    return this;
  }

  /** What runs when the client half-closes a channel (v5 only). */
  ChannelWebSocket closeHandler(int channel, Runnable handler) {
    closeHandlers.put(channel, handler);
    return this;
  }

  /** What runs when the connection goes away, whoever closed it. */
  ChannelWebSocket goneHandler(Runnable handler) {
    this.goneHandler = handler;
    return this;
  }

  /** Starts reading; call once the readers are in place. */
  void start() {
    if (protocol.binary) {
      socket.frameHandler(this::frame);
    } else {
      socket.textMessageHandler(this::textMessage);
    }
    socket.closeHandler(v -> gone());
    socket.exceptionHandler(error -> gone());
  }

  /** Writes to a channel, in messages of at most 32 KiB; an empty buffer sends the bare channel number. */
  Future<Void> write(int channel, Buffer data) {
    if (closed) {
      return Future.failedFuture(new BrokenPipeException());
    }
    int offset = 0;
    do {
      int end = Math.min(data.length(), offset + MAX_MESSAGE_BYTES);
      Buffer piece = data.getBuffer(offset, end);
      if (protocol.binary) {
        lastWrite = socket.writeBinaryMessage(
            Buffer.buffer(piece.length() + 1).appendByte((byte) channel).appendBuffer(piece));
      } else {
        lastWrite = socket.writeTextMessage(
            (char) ('0' + channel) + Base64.getEncoder().encodeToString(piece.getBytes()));
      }
      offset = end;
    } while (offset < data.length());
    if (!socket.writeQueueFull()) {
      return Future.succeededFuture();
    }
    Promise<Void> drained = Promise.promise();
    if (waitingForDrain.isEmpty()) {
      socket.drainHandler(v -> {
        List<Promise<Void>> waiting = new ArrayList<>(waitingForDrain);
        waitingForDrain.clear();
        waiting.forEach(Promise::tryComplete);
      });
    }
    waitingForDrain.add(drained);
    return drained.future();
  }

  /**
   * Ends the connection normally (close code 1000), after what was written. The close waits until
   * the last message is on the wire: under load, a close handed to Vert.x while a big stdout was
   * still queued reached kubectl ahead of the last data ("Unknown stream id 1, discarding message",
   * and {@code kubectl exec -- cat} printed a short file).
   */
  void close() {
    if (!closed) {
      closed = true;
      lastWrite.onComplete(written -> socket.close());
    }
  }

  private void frame(WebSocketFrame frame) {
    if (!(frame.isBinary() || frame.isContinuation())) {
      return;
    }
    Buffer data = frame.binaryData();
    if (!frame.isContinuation()) {
      messageChannel = -1;
      closeMessage = false;
      if (data.length() == 0) {
        return;
      }
      int first = data.getUnsignedByte(0);
      data = data.getBuffer(1, data.length());
      if (first == CLOSE_SIGNAL && protocol.halfClose) {
        closeMessage = true;
      } else {
        messageChannel = first;
      }
    }
    if (closeMessage) {
      if (data.length() > 0) {
        closeMessage = false;
        Runnable handler = closeHandlers.get((int) data.getUnsignedByte(0));
        if (handler != null) {
          handler.run();
        }
      }
      return;
    }
    deliver(messageChannel, data);
  }

  private void textMessage(String message) {
    if (message.isEmpty()) {
      return;
    }
    byte[] decoded;
    try {
      decoded = Base64.getDecoder().decode(message.substring(1).getBytes(StandardCharsets.US_ASCII));
    } catch (IllegalArgumentException e) {
      return;
    }
    deliver(message.charAt(0) - '0', Buffer.buffer(decoded));
  }

  private void deliver(int channel, Buffer data) {
    Function<Buffer, Future<Void>> reader = readers.get(channel);
    if (reader == null || data.length() == 0) {
      return;
    }
    Future<Void> taken = reader.apply(data);
    if (!taken.isComplete()) {
      if (blockedReaders++ == 0) {
        socket.pause();
      }
      taken.onComplete(done -> {
        if (--blockedReaders == 0 && !closed) {
          socket.resume();
        }
      });
    }
  }

  private void gone() {
    closed = true;
    List<Promise<Void>> waiting = new ArrayList<>(waitingForDrain);
    waitingForDrain.clear();
    waiting.forEach(promise -> promise.tryFail(new BrokenPipeException()));
    Runnable handler = goneHandler;
    goneHandler = () -> { };
    handler.run();
  }
}
