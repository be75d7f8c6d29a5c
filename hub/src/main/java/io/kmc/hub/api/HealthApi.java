package io.kmc.hub.api;

import io.kmc.ops.HealthChecks;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/**
 * {@code /healthz} and {@code /ready} on the API port too (for load balancers that can only probe
 * the port they forward to); the same checks as on the management port.
 */
public final class HealthApi {

  private final HealthChecks readiness;

  public HealthApi(HealthChecks readiness) {
    this.readiness = readiness;
  }

  public void healthz(RoutingContext ctx) {
    Bodies.json(ctx, new JsonObject().put("status", "ok"));
  }

  public void ready(RoutingContext ctx) {
    readiness.run().onSuccess(result -> Bodies.json(ctx, result.ready() ? 200 : 503, result.body()))
        .onFailure(ctx::fail);
  }
}
