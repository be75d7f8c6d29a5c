package io.kmc.kubesim;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerResponse;
import java.util.function.Consumer;

/**
 * A long-lived chunked response (a watch or a followed log) fed by the store's changes. It ends
 * when the client goes away, when it is done, or when the simulator closes; ending twice is safe.
 */
abstract class SimStream implements ObjectStore.Listener {

  protected final Vertx vertx;
  protected final ObjectStore store;
  protected final HttpServerResponse response;
  private final Consumer<SimStream> onEnd;
  protected boolean ended;

  SimStream(Vertx vertx, ObjectStore store, HttpServerResponse response, Consumer<SimStream> onEnd) {
    this.vertx = vertx;
    this.store = store;
    this.response = response;
    this.onEnd = onEnd;
  }

  /** Makes the response a chunked one of this type that ends the stream when the connection does. */
  protected void open(String contentType) {
    response.setChunked(true);
    response.putHeader("Content-Type", contentType);
    response.closeHandler(v -> end());
    response.exceptionHandler(e -> end());
  }

  /** True while the client does not read fast enough: writes pile up in the connection's queue. */
  final boolean backedUp() {
    return !ended && !response.closed() && response.writeQueueFull();
  }

  /** Cancels what the stream runs besides listening to the store (its timers). */
  protected abstract void cancelTimers();

  /** Ends the response (if the client is still there) and stops listening. */
  final void end() {
    if (ended) {
      return;
    }
    ended = true;
    store.removeListener(this);
    cancelTimers();
    if (!response.ended() && !response.closed()) {
      response.end();
    }
    onEnd.accept(this);
  }
}
