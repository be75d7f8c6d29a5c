package io.kmc.ops;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/** Readiness: one named check per dependency, each with a timeout; the answer says which one fails. */
public final class HealthChecks {

  private static final long TIMEOUT_MILLIS = 2_000;

  /** The outcome: ready when every check passed; {@code body} has one entry per check. */
  public record Result(boolean ready, JsonObject body) {
  }

  private final Map<String, Supplier<Future<String>>> checks = new LinkedHashMap<>();

  /** A check whose future completes with a short description, or fails with the reason. */
  public HealthChecks add(String name, Supplier<Future<String>> check) {
    checks.put(name, check);
    return this;
  }

  public Future<Result> run() {
    JsonObject results = new JsonObject();
    List<Future<String>> pending = new ArrayList<>();
    checks.forEach((name, check) -> {
      Future<String> future;
      try {
        future = check.get().timeout(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
      } catch (RuntimeException e) {
        future = Future.failedFuture(e);
      }
      pending.add(future.onComplete(ar -> results.put(name, new JsonObject().put("ok", ar.succeeded())
          .put("detail", ar.succeeded() ? ar.result() : describe(ar.cause())))));
    });
    return Future.join(pending).transform(ar -> {
      boolean ready = pending.stream().allMatch(Future::succeeded);
      return Future.succeededFuture(new Result(ready, new JsonObject().put("status", ready ? "ready" : "not ready")
          .put("checks", results)));
    });
  }

  private static String describe(Throwable e) {
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
  }
}
