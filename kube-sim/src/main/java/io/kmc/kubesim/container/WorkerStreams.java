package io.kmc.kubesim.container;

import io.vertx.core.Context;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Blocking streams for code that runs on a worker thread (tar, through commons-compress's stream
 * API) while the process's stdin and stdout live on an event loop. Both sides are bounded: the
 * worker blocks when it is ahead, and stdin's pipe is paused while the worker is behind, so a big
 * {@code kubectl cp} flows through with little memory and without stalling the event loop.
 */
final class WorkerStreams {

  /** How far either side may run ahead of the other. */
  static final int WINDOW_BYTES = 1024 * 1024;

  private WorkerStreams() {
  }

  /** Runs {@code work} on the event loop and waits for it; for a worker thread. */
  static <T> T onContext(Context context, Callable<T> work) throws IOException {
    CompletableFuture<T> result = new CompletableFuture<>();
    context.runOnContext(v -> {
      try {
        result.complete(work.call());
      } catch (Exception | Error e) {
        result.completeExceptionally(e);
      }
    });
    try {
      return result.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted");
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException runtime) {
        throw runtime;
      }
      throw new IOException(e.getCause());
    }
  }

  /** Writes text to an event-loop output and waits until it was taken; for a worker thread. */
  static void write(Context context, Output output, String text) throws IOException {
    CompletableFuture<Void> taken = new CompletableFuture<>();
    context.runOnContext(v -> output.write(text).onComplete(written -> taken.complete(null)));
    try {
      taken.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted");
    } catch (ExecutionException e) {
      throw new IOException(e.getCause());
    }
  }

  /** stdin, read on a worker. Create on the event loop; {@link #close()} releases the pipe for the next reader. */
  static final class PipeInput extends InputStream {
    private static final byte[] END = new byte[0];

    private final Context context;
    private final Pipe pipe;
    private final LinkedBlockingQueue<byte[]> queue = new LinkedBlockingQueue<>();
    private final AtomicLong queued = new AtomicLong();
    private final AtomicBoolean paused = new AtomicBoolean();
    private volatile boolean cancelled;
    private byte[] current = new byte[0];
    private int offset;
    private boolean ended;

    PipeInput(Context context, Pipe pipe, Cancellation cancellation) {
      this.context = context;
      this.pipe = pipe;
      pipe.read(data -> {
        byte[] bytes = data.getBytes();
        queue.add(bytes);
        if (queued.addAndGet(bytes.length) > WINDOW_BYTES && paused.compareAndSet(false, true)) {
          pipe.pause();
        }
      }, end -> queue.add(END));
      cancellation.onCancel(() -> {
        cancelled = true;
        queue.add(END);
      });
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      int n = read(one, 0, 1);
      return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] target, int targetOffset, int length) throws IOException {
      if (length == 0) {
        return 0;
      }
      while (offset >= current.length) {
        if (ended) {
          return -1;
        }
        byte[] next;
        try {
          next = queue.take();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted");
        }
        if (cancelled) {
          throw new InterruptedIOException("cancelled");
        }
        if (next == END) {
          ended = true;
          return -1;
        }
        current = next;
        offset = 0;
        if (queued.addAndGet(-next.length) < WINDOW_BYTES / 2 && paused.compareAndSet(true, false)) {
          context.runOnContext(v -> pipe.resume());
        }
      }
      int n = Math.min(length, current.length - offset);
      System.arraycopy(current, offset, target, targetOffset, n);
      offset += n;
      return n;
    }

    @Override
    public void close() {
      context.runOnContext(v -> {
        pipe.release();
        pipe.resume();
      });
    }
  }

  /** stdout, written on a worker in pieces of 64 KiB; {@link #close()} waits until all of it was taken. */
  static final class OutputBridge extends OutputStream {
    private final Context context;
    private final Output output;
    private final Semaphore window = new Semaphore(WINDOW_BYTES);
    private final byte[] buffer = new byte[Streams.CHUNK_BYTES];
    private int filled;
    private volatile Throwable failure;
    private volatile boolean cancelled;

    OutputBridge(Context context, Output output, Cancellation cancellation) {
      this.context = context;
      this.output = output;
      cancellation.onCancel(() -> cancelled = true);
    }

    @Override
    public void write(int b) throws IOException {
      if (filled == buffer.length) {
        flush();
      }
      buffer[filled++] = (byte) b;
    }

    @Override
    public void write(byte[] data, int offset, int length) throws IOException {
      while (length > 0) {
        if (filled == buffer.length) {
          flush();
        }
        int n = Math.min(length, buffer.length - filled);
        System.arraycopy(data, offset, buffer, filled, n);
        filled += n;
        offset += n;
        length -= n;
      }
    }

    @Override
    public void flush() throws IOException {
      check();
      if (filled == 0) {
        return;
      }
      Buffer piece = Buffer.buffer(filled).appendBytes(buffer, 0, filled);
      int size = filled;
      filled = 0;
      acquire(size);
      context.runOnContext(v -> output.write(piece).onComplete(written -> {
        if (written.failed()) {
          failure = written.cause();
        }
        window.release(size);
      }));
    }

    @Override
    public void close() throws IOException {
      flush();
      acquire(WINDOW_BYTES);
      window.release(WINDOW_BYTES);
      check();
    }

    private void acquire(int bytes) throws IOException {
      try {
        while (!window.tryAcquire(bytes, 100, java.util.concurrent.TimeUnit.MILLISECONDS)) {
          check();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted");
      }
    }

    private void check() throws IOException {
      if (cancelled) {
        throw new InterruptedIOException("cancelled");
      }
      if (failure instanceof Output.BrokenPipeException) {
        throw new BrokenPipe();
      }
      if (failure != null) {
        throw new IOException(failure.getMessage(), failure);
      }
    }
  }

  /** The reader of a worker's output went away. */
  static final class BrokenPipe extends IOException {
    BrokenPipe() {
      super("Broken pipe");
    }
  }
}
