package io.kmc.kubesim.container;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;

/**
 * Where a process writes: its stdout or stderr, a pipe to the next command, a file, the client's
 * terminal. Every use happens on the process's event-loop context.
 *
 * <p>Flow control is in the returned future: it completes at once while the reader keeps up, and
 * only once the reader has caught up when it falls behind, so a writer that waits for it before
 * writing more never buffers more than a bounded amount. It fails with {@link BrokenPipeException}
 * when the reader has gone away.
 */
public interface Output {

  /** Takes everything and keeps nothing: {@code /dev/null}, or a stream the client did not ask for. */
  Output DISCARD = data -> Future.succeededFuture();

  Future<Void> write(Buffer data);

  default Future<Void> write(String text) {
    return write(Buffer.buffer(text.getBytes(StandardCharsets.UTF_8)));
  }

  /** A writer's reader went away: what a process gets as SIGPIPE. */
  final class BrokenPipeException extends RuntimeException {
    public BrokenPipeException() {
      super("Broken pipe", null, false, false);
    }
  }
}
