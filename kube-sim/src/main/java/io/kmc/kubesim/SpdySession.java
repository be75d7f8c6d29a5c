package io.kmc.kubesim;

import io.kmc.kubesim.container.Output.BrokenPipeException;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.net.NetSocket;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server side of a SPDY/3.1 connection as Kubernetes uses it: the client opens every stream
 * (kubectl opens one per exec stream, or two per forwarded connection), each is accepted at once with
 * a SYN_REPLY, and data flows both ways until each side sends FIN. PINGs are answered; a GOAWAY, a
 * protocol error or the connection ending closes everything.
 *
 * <p>The bytes travel over a {@link Link}: the upgraded HTTP connection itself, or a websocket whose
 * binary messages carry them (kubectl's port-forward since 1.31, subprotocol
 * {@code SPDY/3.1+portforward.k8s.io}). Used on one event-loop context.
 */
final class SpdySession {

  private static final Logger LOG = LoggerFactory.getLogger(SpdySession.class);
  /** Data frames written are cut to this size. */
  private static final int MAX_DATA_FRAME = 32 * 1024;

  /** A byte stream with flow control: what SPDY frames travel on. */
  interface Link {
    void start(Handler<Buffer> data, Runnable closed);

    /** Completes when the link can take more. */
    Future<Void> write(Buffer data);

    void pause();

    void resume();

    /** Ends the link after what was written. */
    void close();

    static Link of(NetSocket socket) {
      return new Link() {
        @Override
        public void start(Handler<Buffer> data, Runnable closed) {
          socket.handler(data);
          socket.closeHandler(v -> closed.run());
          socket.exceptionHandler(error -> socket.close());
        }

        @Override
        public Future<Void> write(Buffer data) {
          socket.write(data);
          return socket.writeQueueFull() ? drained(socket::drainHandler) : Future.succeededFuture();
        }

        @Override
        public void pause() {
          socket.pause();
        }

        @Override
        public void resume() {
          socket.resume();
        }

        @Override
        public void close() {
          socket.end();
        }
      };
    }

    /** SPDY tunnelled in websocket binary messages: message boundaries mean nothing. */
    static Link of(ServerWebSocket socket) {
      return new Link() {
        @Override
        public void start(Handler<Buffer> data, Runnable closed) {
          socket.frameHandler(frame -> {
            if (frame.isBinary() || frame.isContinuation()) {
              data.handle(frame.binaryData());
            }
          });
          socket.closeHandler(v -> closed.run());
          socket.exceptionHandler(error -> socket.close());
        }

        @Override
        public Future<Void> write(Buffer data) {
          socket.writeBinaryMessage(data);
          return socket.writeQueueFull() ? drained(socket::drainHandler) : Future.succeededFuture();
        }

        @Override
        public void pause() {
          socket.pause();
        }

        @Override
        public void resume() {
          socket.resume();
        }

        @Override
        public void close() {
          socket.close();
        }
      };
    }

    private static Future<Void> drained(Consumer<Handler<Void>> drainHandler) {
      Promise<Void> drained = Promise.promise();
      drainHandler.accept(v -> drained.tryComplete());
      return drained.future();
    }
  }

  /** One stream the client opened. */
  final class Stream {
    private final int id;
    private final Map<String, List<String>> headers;
    private Function<Buffer, Future<Void>> dataHandler;
    private final List<Buffer> early = new ArrayList<>();
    private Runnable endHandler = () -> { };
    private boolean remoteEnded;
    private boolean endDelivered;
    private boolean localEnded;

    private Stream(int id, Map<String, List<String>> headers) {
      this.id = id;
      this.headers = headers;
    }

    int id() {
      return id;
    }

    /** A header's first value (names are lower case in SPDY), or null. */
    String header(String name) {
      List<String> values = headers.get(name);
      return values == null || values.isEmpty() ? null : values.get(0);
    }

    /** Where the client's data goes; data that came before is delivered at once. */
    Stream dataHandler(Function<Buffer, Future<Void>> handler) {
      this.dataHandler = handler;
      List<Buffer> waiting = new ArrayList<>(early);
      early.clear();
      waiting.forEach(this::deliver);
      if (remoteEnded) {
        deliverEnd();
      }
      return this;
    }

    /** What runs once the client has half-closed the stream (FIN) or reset it. */
    Stream endHandler(Runnable handler) {
      this.endHandler = handler;
      if (remoteEnded) {
        deliverEnd();
      }
      return this;
    }

    Future<Void> write(Buffer data) {
      if (localEnded || closed) {
        return Future.failedFuture(new BrokenPipeException());
      }
      Future<Void> written = Future.succeededFuture();
      for (int offset = 0; offset < data.length(); offset += MAX_DATA_FRAME) {
        written = link.write(SpdyFrames.data(id, data.getBuffer(offset, Math.min(data.length(),
            offset + MAX_DATA_FRAME)), false));
      }
      return written;
    }

    /** Half-closes the stream from this side (FIN). */
    void end() {
      if (!localEnded && !closed) {
        localEnded = true;
        link.write(SpdyFrames.data(id, Buffer.buffer(), true));
      }
    }

    private void deliver(Buffer data) {
      if (dataHandler == null) {
        early.add(data);
        return;
      }
      Future<Void> taken = dataHandler.apply(data);
      if (!taken.isComplete()) {
        if (blocked++ == 0) {
          link.pause();
        }
        taken.onComplete(done -> {
          if (--blocked == 0 && !closed) {
            link.resume();
          }
        });
      }
    }

    private void remoteEnd() {
      remoteEnded = true;
      if (dataHandler != null || early.isEmpty()) {
        deliverEnd();
      }
    }

    private void deliverEnd() {
      if (!endDelivered) {
        endDelivered = true;
        endHandler.run();
      }
    }
  }

  private final Link link;
  private final Vertx vertx;
  private final SpdyFrames frames = new SpdyFrames();
  private final Map<Integer, Stream> streams = new HashMap<>();
  private Consumer<Stream> streamHandler;
  private Runnable closeHandler = () -> { };
  private int lastStreamId;
  private int blocked;
  private boolean closed;
  private boolean finished;

  SpdySession(Link link, Vertx vertx) {
    this.link = link;
    this.vertx = vertx;
  }

  Vertx vertx() {
    return vertx;
  }

  /** Starts reading: each stream the client opens goes to {@code onStream}; {@code onClose} runs once at the end. */
  void start(Consumer<Stream> onStream, Runnable onClose) {
    this.streamHandler = onStream;
    this.closeHandler = onClose;
    link.start(this::read, this::closed);
  }

  /** Says goodbye (GOAWAY) and ends the connection after what was written. */
  void close() {
    if (!closed) {
      closed = true;
      link.write(SpdyFrames.goAway(lastStreamId));
      link.close();
    }
    closed();
  }

  private void read(Buffer data) {
    if (closed) {
      return;
    }
    List<SpdyFrames.Frame> received;
    try {
      received = frames.read(data);
    } catch (SpdyFrames.ProtocolException e) {
      LOG.debug("SPDY protocol error: {}", e.getMessage());
      close();
      return;
    }
    for (SpdyFrames.Frame frame : received) {
      if (closed) {
        return;
      }
      if (frame.control()) {
        control(frame);
      } else {
        Stream stream = streams.get(frame.streamId());
        if (stream == null) {
          continue;
        }
        if (frame.payload().length() > 0) {
          stream.deliver(frame.payload());
        }
        if (frame.fin()) {
          stream.remoteEnd();
        }
      }
    }
  }

  private void control(SpdyFrames.Frame frame) {
    switch (frame.type()) {
      case SpdyFrames.SYN_STREAM -> {
        Stream stream = new Stream(frame.streamId(), frame.headers());
        lastStreamId = Math.max(lastStreamId, frame.streamId());
        streams.put(stream.id, stream);
        link.write(frames.synReply(stream.id, Map.of()));
        streamHandler.accept(stream);
        if (frame.fin()) {
          stream.remoteEnd();
        }
      }
      case SpdyFrames.RST_STREAM -> {
        Stream stream = streams.remove(frame.streamId());
        if (stream != null) {
          stream.localEnded = true;
          stream.remoteEnd();
        }
      }
      case SpdyFrames.PING -> link.write(SpdyFrames.ping(frame.payload()));
      case SpdyFrames.GOAWAY -> close();
      default -> {
      }
    }
  }

  private void closed() {
    if (finished) {
      return;
    }
    finished = true;
    closed = true;
    streamHandler = stream -> { };
    for (Stream stream : List.copyOf(streams.values())) {
      stream.remoteEnd();
    }
    streams.clear();
    frames.close();
    Runnable handler = closeHandler;
    closeHandler = () -> { };
    handler.run();
  }
}
