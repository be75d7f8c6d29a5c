package io.kmc.hub.api;

import io.kmc.hub.routing.HubNodes;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.util.function.BooleanSupplier;

/** {@code /healthz} (the process answers) and {@code /ready} (it can serve; one check per dependency). */
public final class HealthApi {

  private final HubNodes nodes;
  private final BooleanSupplier started;

  public HealthApi(HubNodes nodes, BooleanSupplier started) {
    this.nodes = nodes;
    this.started = started;
  }

  public void healthz(RoutingContext ctx) {
    ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .end(new JsonObject().put("status", "ok").toBuffer());
  }

  public void ready(RoutingContext ctx) {
    boolean serving = started.getAsBoolean();
    boolean membership = !nodes.clustered() || nodes.members().contains(nodes.nodeId());
    JsonObject checks = new JsonObject()
        .put("server", check(serving, serving ? "accepting connections" : "starting or stopping"))
        .put("cluster", check(membership, nodes.clustered()
            ? nodes.members().size() + " hub node(s) in the cluster" : "single node"));
    boolean ready = serving && membership;
    ctx.response().setStatusCode(ready ? 200 : 503)
        .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .end(new JsonObject().put("status", ready ? "ready" : "not ready").put("checks", checks).toBuffer());
  }

  private static JsonObject check(boolean ok, String detail) {
    return new JsonObject().put("ok", ok).put("detail", detail);
  }
}
