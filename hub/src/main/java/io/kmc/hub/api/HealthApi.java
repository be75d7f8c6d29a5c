package io.kmc.hub.api;

import io.kmc.hub.routing.HubNodes;
import io.vertx.core.Future;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * {@code /healthz} (the process answers) and {@code /ready} (it can serve: one check per
 * dependency, each with a timeout, and a JSON body saying which one fails).
 */
public final class HealthApi {

  private static final long CHECK_TIMEOUT_MILLIS = 2_000;

  private final HubNodes nodes;
  private final BooleanSupplier serving;
  private final Map<String, Supplier<Future<Void>>> checks = new LinkedHashMap<>();

  public HealthApi(HubNodes nodes, BooleanSupplier serving) {
    this.nodes = nodes;
    this.serving = serving;
  }

  /** Adds a dependency check; a failed or late future makes the node not ready. */
  public HealthApi check(String name, Supplier<Future<Void>> check) {
    checks.put(name, check);
    return this;
  }

  public void healthz(RoutingContext ctx) {
    ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .end(new JsonObject().put("status", "ok").toBuffer());
  }

  public void ready(RoutingContext ctx) {
    JsonObject results = new JsonObject();
    boolean started = serving.getAsBoolean();
    results.put("server", result(started, started ? "accepting connections" : "starting or stopping"));
    boolean member = !nodes.clustered() || nodes.members().contains(nodes.nodeId());
    results.put("cluster", result(member, nodes.clustered() ? nodes.members().size() + " hub node(s)" : "single node"));
    List<Future<Void>> pending = new ArrayList<>();
    checks.forEach((name, check) -> {
      Future<Void> future = check.get().timeout(CHECK_TIMEOUT_MILLIS, java.util.concurrent.TimeUnit.MILLISECONDS)
          .onComplete(ar -> results.put(name, result(ar.succeeded(), ar.succeeded() ? "ok" : ar.cause().getMessage())));
      pending.add(future);
    });
    Future.join(pending).onComplete(ar -> {
      boolean ready = started && member && pending.stream().allMatch(Future::succeeded);
      ctx.response().setStatusCode(ready ? 200 : 503)
          .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
          .end(new JsonObject().put("status", ready ? "ready" : "not ready").put("checks", results).toBuffer());
    });
  }

  private static JsonObject result(boolean ok, String detail) {
    return new JsonObject().put("ok", ok).put("detail", detail == null ? "" : detail);
  }
}
