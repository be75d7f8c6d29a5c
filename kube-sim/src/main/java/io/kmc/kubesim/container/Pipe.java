package io.kmc.kubesim.container;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * A byte stream between a writer and one reader at a time, on one event-loop context: a process's
 * stdin fed by the client, or the pipe between two commands of a pipeline.
 *
 * <p>Readers take turns, as processes sharing a file descriptor do: a shell lends its stdin to the
 * command it runs, and whatever that command did not read stays queued for the next reader
 * ({@link #release()}, {@link #unread(Buffer)}). The end of the stream is either final ({@link #end()}:
 * the client closed stdin) or seen by one reader only ({@link #endOnce()}: Ctrl-D on a terminal).
 *
 * <p>Writes are acknowledged by {@link Output}'s rule: once more than {@code highWaterBytes} are queued,
 * the returned future waits until the reader has taken the queue down to half of that. After
 * {@link #close()} the reader is gone and writes fail with a broken pipe.
 */
public final class Pipe implements Output {

  private static final Object END_ONCE = new Object();

  private final long highWaterBytes;
  private final Deque<Object> queue = new ArrayDeque<>();
  private long queuedBytes;
  private boolean ended;
  private boolean closed;
  private Handler<Buffer> dataHandler;
  private Handler<Void> endHandler;
  private boolean paused;
  private boolean delivering;
  private Promise<Void> drained;

  public Pipe(long highWaterBytes) {
    this.highWaterBytes = highWaterBytes;
  }

  @Override
  public Future<Void> write(Buffer data) {
    if (closed) {
      return Future.failedFuture(new BrokenPipeException());
    }
    if (ended) {
      return Future.failedFuture(new IllegalStateException("write after end"));
    }
    if (data.length() > 0) {
      queue.add(data);
      queuedBytes += data.length();
      deliver();
    }
    if (closed) {
      return Future.failedFuture(new BrokenPipeException());
    }
    if (queuedBytes <= highWaterBytes) {
      return Future.succeededFuture();
    }
    if (drained == null) {
      drained = Promise.promise();
    }
    return drained.future();
  }

  /** The writer is done: once the queue is read, every reader, now or later, sees the end. */
  public void end() {
    if (!ended && !closed) {
      ended = true;
      deliver();
    }
  }

  /** An end for the current (or next) reader only; data written later goes to the reader after it. */
  public void endOnce() {
    if (!ended && !closed) {
      queue.add(END_ONCE);
      deliver();
    }
  }

  /**
   * Becomes the reader: {@code data} receives what is queued and what comes, {@code end} the end
   * (after which this reader is released). Replaces the previous reader and resumes delivery.
   */
  public void read(Handler<Buffer> data, Handler<Void> end) {
    this.dataHandler = data;
    this.endHandler = end;
    this.paused = false;
    deliver();
  }

  /** Stops reading; what arrives next waits for the next reader. */
  public void release() {
    dataHandler = null;
    endHandler = null;
  }

  public void pause() {
    paused = true;
  }

  public void resume() {
    if (paused) {
      paused = false;
      deliver();
    }
  }

  /** Puts back what a reader took but did not use, to be read first by the next reader. */
  public void unread(Buffer data) {
    if (data.length() > 0 && !closed) {
      queue.addFirst(data);
      queuedBytes += data.length();
    }
  }

  /** The reading side goes away for good: the queue is dropped and writers get a broken pipe. */
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    queue.clear();
    queuedBytes = 0;
    release();
    Promise<Void> waiting = drained;
    drained = null;
    if (waiting != null) {
      waiting.fail(new BrokenPipeException());
    }
  }

  public boolean closed() {
    return closed;
  }

  /** Whether the final end has been written (the reader may not have reached it yet). */
  public boolean ended() {
    return ended;
  }

  private void deliver() {
    if (delivering) {
      return;
    }
    delivering = true;
    try {
      while (dataHandler != null && !paused) {
        Object next = queue.poll();
        if (next == null) {
          if (!ended) {
            return;
          }
          Handler<Void> end = endHandler;
          release();
          end.handle(null);
          continue;
        }
        if (next == END_ONCE) {
          Handler<Void> end = endHandler;
          release();
          end.handle(null);
          continue;
        }
        Buffer data = (Buffer) next;
        queuedBytes -= data.length();
        dataHandler.handle(data);
        signalDrained();
      }
    } finally {
      delivering = false;
    }
  }

  private void signalDrained() {
    if (drained != null && queuedBytes <= highWaterBytes / 2) {
      Promise<Void> waiting = drained;
      drained = null;
      waiting.complete();
    }
  }
}
