package io.kmc.kubesim.container;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.List;

/** Reading and writing helpers that respect flow control and never recurse once per chunk. */
final class Streams {

  /** Writes to an {@link Output} are cut into pieces of at most this size. */
  static final int CHUNK_BYTES = 64 * 1024;

  private Streams() {
  }

  /** Writes every buffer in turn, waiting whenever the reader falls behind; stops early on cancellation. */
  static Future<Void> writeAll(Output out, Iterator<Buffer> buffers, Cancellation cancellation) {
    Promise<Void> done = Promise.promise();
    new Pump(out, buffers, cancellation, done).run();
    return done.future();
  }

  /** Writes file content (a list of chunks), in pieces of at most {@link #CHUNK_BYTES}. */
  static Future<Void> writeChunks(Output out, List<byte[]> chunks, Cancellation cancellation) {
    return writeAll(out, pieces(chunks, 0), cancellation);
  }

  /** The content after its first {@code skip} bytes, in pieces of at most {@link #CHUNK_BYTES}. */
  static Iterator<Buffer> pieces(List<byte[]> chunks, long skip) {
    return new Iterator<>() {
      private int chunk;
      private int offset;
      private long toSkip = skip;

      @Override
      public boolean hasNext() {
        advance();
        return chunk < chunks.size();
      }

      @Override
      public Buffer next() {
        advance();
        byte[] current = chunks.get(chunk);
        int length = Math.min(CHUNK_BYTES, current.length - offset);
        Buffer piece = Buffer.buffer(length).appendBytes(current, offset, length);
        offset += length;
        return piece;
      }

      private void advance() {
        while (chunk < chunks.size()) {
          int remaining = chunks.get(chunk).length - offset;
          if (toSkip >= remaining) {
            toSkip -= remaining;
            chunk++;
            offset = 0;
          } else if (toSkip > 0) {
            offset += (int) toSkip;
            toSkip = 0;
          } else if (remaining == 0) {
            chunk++;
            offset = 0;
          } else {
            return;
          }
        }
      }
    };
  }

  /**
   * Copies stdin to an output until its end (or cancellation), pausing the pipe while the output is
   * behind; {@code transform} may rewrite each buffer on the way (identity for cat).
   */
  static Future<Void> copy(Pipe in, Output out, Cancellation cancellation,
      java.util.function.UnaryOperator<Buffer> transform) {
    Promise<Void> done = Promise.promise();
    Runnable forget = cancellation.onCancel(() -> {
      in.release();
      done.tryComplete();
    });
    in.read(data -> {
      Future<Void> written = out.write(transform.apply(data));
      if (!written.isComplete()) {
        in.pause();
        written.onComplete(result -> {
          if (result.failed()) {
            in.release();
            done.tryFail(result.cause());
          } else {
            in.resume();
          }
        });
      } else if (written.failed()) {
        in.release();
        done.tryFail(written.cause());
      }
    }, end -> done.tryComplete());
    return done.future().onComplete(result -> forget.run());
  }

  /** Reads stdin to its end (or cancellation) and hands everything over; for commands that need all input. */
  static Future<byte[]> readAll(Pipe in, Cancellation cancellation, long limitBytes) {
    Promise<byte[]> done = Promise.promise();
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    Runnable forget = cancellation.onCancel(() -> {
      in.release();
      done.tryComplete(all.toByteArray());
    });
    in.read(data -> {
      if (all.size() + (long) data.length() > limitBytes) {
        in.release();
        done.tryFail(new IllegalStateException("input larger than " + limitBytes + " bytes"));
        return;
      }
      all.writeBytes(data.getBytes());
    }, end -> done.tryComplete(all.toByteArray()));
    return done.future().onComplete(result -> forget.run());
  }

  /**
   * Reads one line (without its newline) from stdin, leaving the rest queued for the next reader;
   * null at the end of input. A last line without a newline is still a line.
   */
  static Future<String> readLine(Pipe in, Cancellation cancellation) {
    Promise<String> done = Promise.promise();
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    Runnable forget = cancellation.onCancel(() -> {
      in.release();
      done.tryComplete(null);
    });
    Handler<Buffer> onData = data -> {
      int length = data.length();
      for (int i = 0; i < length; i++) {
        if (data.getByte(i) == '\n') {
          line.writeBytes(data.getBytes(0, i));
          in.release();
          // A slice, not a copy: a script piped in is read line after line from the same buffer.
          in.unread(data.slice(i + 1, length));
          done.tryComplete(line.toString(StandardCharsets.UTF_8));
          return;
        }
      }
      line.writeBytes(data.getBytes());
    };
    in.read(onData, end -> done.tryComplete(line.size() > 0 ? line.toString(StandardCharsets.UTF_8) : null));
    return done.future().onComplete(result -> forget.run());
  }

  private static final class Pump {
    private final Output out;
    private final Iterator<Buffer> buffers;
    private final Cancellation cancellation;
    private final Promise<Void> done;

    Pump(Output out, Iterator<Buffer> buffers, Cancellation cancellation, Promise<Void> done) {
      this.out = out;
      this.buffers = buffers;
      this.cancellation = cancellation;
      this.done = done;
    }

    void run() {
      while (!cancellation.cancelled() && buffers.hasNext()) {
        Future<Void> written = out.write(buffers.next());
        if (!written.isComplete()) {
          written.onComplete(result -> {
            if (result.failed()) {
              done.tryFail(result.cause());
            } else {
              run();
            }
          });
          return;
        }
        if (written.failed()) {
          done.tryFail(written.cause());
          return;
        }
      }
      done.tryComplete();
    }
  }
}
