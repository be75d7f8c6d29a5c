package io.kmc.hub.api;

import io.kmc.common.KmcException;
import io.kmc.hub.rbac.Rbac;
import io.kmc.hub.rbac.RbacService;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.util.List;

/**
 * {@code /api/v1/rbac/roles} (what a role may do: role, resource, action) and
 * {@code /api/v1/rbac/bindings} (who has a role where: subject, role, domain). Changes reach every
 * hub node within a second.
 */
public final class RbacApi {

  private final RbacService rbac;

  public RbacApi(RbacService rbac) {
    this.rbac = rbac;
  }

  public void listRoles(RoutingContext ctx) {
    JsonArray items = new JsonArray();
    rbac.current().rules().stream().filter(rule -> "p".equals(rule.ptype())).forEach(rule -> items.add(new JsonObject()
        .put("role", rule.values().get(0)).put("resource", rule.values().get(1)).put("action", rule.values().get(2))));
    Bodies.json(ctx, new JsonObject().put("items", items));
  }

  public void listBindings(RoutingContext ctx) {
    JsonArray items = new JsonArray();
    rbac.current().rules().stream().filter(rule -> "g".equals(rule.ptype())).forEach(rule -> items.add(new JsonObject()
        .put("subject", rule.values().get(0)).put("role", rule.values().get(1)).put("domain", rule.values().get(2))));
    Bodies.json(ctx, new JsonObject().put("items", items));
  }

  /** {@code POST} {@code {"role", "resource", "action"}}. */
  public void addRole(RoutingContext ctx) {
    JsonObject body = Bodies.object(ctx);
    add(ctx, new Rbac.Rule("p", List.of(field(body, "role"), field(body, "resource"), field(body, "action"))));
  }

  /** {@code POST} {@code {"subject", "role", "domain"}}; a group subject is written {@code group:<name>}. */
  public void addBinding(RoutingContext ctx) {
    JsonObject body = Bodies.object(ctx);
    add(ctx, new Rbac.Rule("g", List.of(field(body, "subject"), field(body, "role"), field(body, "domain"))));
  }

  /** {@code DELETE ?role=&resource=&action=}. */
  public void removeRole(RoutingContext ctx) {
    remove(ctx, new Rbac.Rule("p", List.of(query(ctx, "role"), query(ctx, "resource"), query(ctx, "action"))));
  }

  /** {@code DELETE ?subject=&role=&domain=}. */
  public void removeBinding(RoutingContext ctx) {
    remove(ctx, new Rbac.Rule("g", List.of(query(ctx, "subject"), query(ctx, "role"), query(ctx, "domain"))));
  }

  private void add(RoutingContext ctx, Rbac.Rule rule) {
    rbac.add(List.of(rule)).onSuccess(v -> Bodies.json(ctx, 201, new JsonObject().put("added", describe(rule))))
        .onFailure(ctx::fail);
  }

  private void remove(RoutingContext ctx, Rbac.Rule rule) {
    rbac.remove(rule).onSuccess(v -> Bodies.noContent(ctx)).onFailure(ctx::fail);
  }

  private static JsonArray describe(Rbac.Rule rule) {
    JsonArray values = new JsonArray().add(rule.ptype());
    rule.values().forEach(values::add);
    return values;
  }

  private static String field(JsonObject body, String name) {
    String value = Bodies.string(body, name, true);
    return checked(name, value);
  }

  private static String query(RoutingContext ctx, String name) {
    String value = ctx.queryParams().get(name);
    if (value == null) {
      throw KmcException.badRequest("query parameter '" + name + "' is required");
    }
    return checked(name, value);
  }

  private static String checked(String name, String value) {
    String trimmed = value.trim();
    if (trimmed.isEmpty() || trimmed.length() > 253 || trimmed.contains(",") || trimmed.contains("\n")) {
      throw KmcException.badRequest("'" + name + "' must be 1 to 253 characters without commas or newlines");
    }
    return trimmed;
  }
}
