package io.kmc.kubesim;

import io.kmc.kubesim.container.Cancellation;
import io.kmc.kubesim.container.Console;
import io.kmc.kubesim.container.Container;
import io.kmc.kubesim.container.Output;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@code exec} or {@code attach}, whichever protocol carries it: connects the client's streams
 * to a process in a simulated container and reports how it ended on the error stream, as the
 * kubelet does (client-go's {@code remotecommand} reads that Status to exit with the same code).
 */
final class RemoteCommand {

  private static final Logger LOG = LoggerFactory.getLogger(RemoteCommand.class);
  /** stdin the client may send ahead of a process that is not reading before it is asked to wait. */
  private static final long STDIN_BUFFER_BYTES = 256 * 1024;

  /** What the request asks for; {@code command} is empty for attach. */
  record Request(String namespace, String pod, String container, List<String> command, boolean stdin,
      boolean stdout, boolean stderr, boolean tty) {

    boolean attach() {
      return command.isEmpty();
    }
  }

  /** The client's streams as one protocol carries them: websocket channels or SPDY streams. */
  interface Channels {
    /** stdout, or {@link Output#DISCARD} when the client did not ask for it. */
    Output stdout();

    /** stderr, or {@link Output#DISCARD} (always with a TTY, where it goes to stdout). */
    Output stderr();

    /**
     * Starts delivering what the client sends: stdin data (the future tells when the process can take
     * more), stdin's end, the bytes of the resize stream, and the client going away.
     */
    void start(Function<Buffer, Future<Void>> stdin, Runnable stdinEnd, Function<Buffer, Future<Void>> resize,
        Runnable gone);

    /** Sends the final Status on the error stream and ends the connection. */
    void finish(JsonObject status);
  }

  private RemoteCommand() {
  }

  /**
   * Runs the command (or, for attach, the container's main process: see {@link Container#attach})
   * until it ends or the client goes away.
   */
  static void run(Request request, Container container, Channels channels, Supplier<String> logLine,
      long logIntervalMillis) {
    Console console = new Console(channels.stdout(), channels.stderr(), request.tty(), STDIN_BUFFER_BYTES);
    Cancellation cancellation = new Cancellation();
    boolean[] gone = {false};
    ResizeDecoder sizes = new ResizeDecoder((columns, rows) -> {
      if (console.terminal() != null) {
        console.terminal().resize(columns, rows);
      }
    });
    channels.start(console::input, console::endInput, sizes, () -> {
      gone[0] = true;
      cancellation.cancel();
      console.close();
    });
    if (!request.stdin()) {
      console.endInput();
    }
    Future<Integer> status = request.attach()
        ? container.attach(console.stdio(), request.stdin(), logLine, logIntervalMillis, cancellation)
        : container.exec(request.command(), console.stdio(), cancellation);
    status.onComplete(result -> {
      if (gone[0]) {
        return;
      }
      if (result.failed()) {
        LOG.warn("{} in {}/{} {} failed", request.attach() ? "attach" : "exec", request.namespace(), request.pod(),
            request.command(), result.cause());
      }
      channels.finish(result.failed() ? internalError(String.valueOf(result.cause().getMessage()))
          : result.result() == 0 ? success() : exitCode(request.command(), result.result()));
      console.close();
    });
  }

  /** {@code {"metadata":{},"status":"Success"}}, what the kubelet sends when a command exits 0. */
  static JsonObject success() {
    return new JsonObject().put("metadata", new JsonObject()).put("status", "Success");
  }

  /** The kubelet's Status for a command that exited non-zero: kubectl exits with the code in its cause. */
  static JsonObject exitCode(List<String> command, int code) {
    return new JsonObject()
        .put("metadata", new JsonObject())
        .put("status", "Failure")
        .put("message", "command terminated with non-zero exit code: error executing command "
            + "[" + String.join(" ", command) + "], exit code " + code)
        .put("reason", "NonZeroExitCode")
        .put("details", new JsonObject().put("causes", new JsonArray()
            .add(new JsonObject().put("reason", "ExitCode").put("message", Integer.toString(code)))));
  }

  static JsonObject internalError(String message) {
    return new JsonObject()
        .put("metadata", new JsonObject())
        .put("status", "Failure")
        .put("message", "Internal error occurred: " + message)
        .put("reason", "InternalError")
        .put("details", new JsonObject().put("causes", new JsonArray().add(new JsonObject().put("message", message))))
        .put("code", 500);
  }

  /**
   * Terminal sizes as client-go writes them on the resize stream: JSON objects
   * {@code {"Width":80,"Height":24}}, one per line (a json.Encoder), in pieces of any size.
   */
  static final class ResizeDecoder implements Function<Buffer, Future<Void>> {
    private static final int MAX_PENDING_BYTES = 4096;
    private final BiConsumer<Integer, Integer> resize;
    private final StringBuilder pending = new StringBuilder();

    ResizeDecoder(BiConsumer<Integer, Integer> resize) {
      this.resize = resize;
    }

    @Override
    public Future<Void> apply(Buffer data) {
      pending.append(data.toString(StandardCharsets.UTF_8));
      int newline;
      while ((newline = pending.indexOf("\n")) >= 0) {
        String line = pending.substring(0, newline);
        pending.delete(0, newline + 1);
        size(line);
      }
      if (pending.length() > 0 && size(pending.toString())) {
        pending.setLength(0);
      }
      if (pending.length() > MAX_PENDING_BYTES) {
        pending.setLength(0);
      }
      return Future.succeededFuture();
    }

    private boolean size(String text) {
      if (text.isBlank()) {
        return true;
      }
      try {
        JsonObject size = new JsonObject(text);
        resize.accept(size.getInteger("Width", 0), size.getInteger("Height", 0));
        return true;
      } catch (DecodeException | ClassCastException e) {
        return false;
      }
    }
  }
}
