package io.kmc.ops;

import io.vertx.core.Future;
import io.vertx.core.Vertx;

import java.util.function.BooleanSupplier;

/** Waiting, without blocking, for something to settle before a deadline: the shutdown graces. */
public final class Deadlines {

  private Deadlines() {
  }

  /**
   * Completes when {@code condition} holds or at {@code deadlineMillis} (wall clock), whichever
   * comes first, looking every {@code intervalMillis}; never fails.
   */
  public static Future<Void> waitUntil(Vertx vertx, long deadlineMillis, long intervalMillis, BooleanSupplier condition) {
    if (condition.getAsBoolean() || System.currentTimeMillis() >= deadlineMillis) {
      return Future.succeededFuture();
    }
    return vertx.timer(intervalMillis).compose(v -> waitUntil(vertx, deadlineMillis, intervalMillis, condition));
  }
}
