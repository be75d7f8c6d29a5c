package io.kmc.hub.api;

import io.kmc.common.KmcException;
import io.kmc.common.KubeQuery;
import io.kmc.hub.auth.Authenticator;
import io.kmc.hub.propagation.Propagation;
import io.kmc.hub.propagation.PropagationService;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.util.Locale;

/**
 * {@code /api/v1/propagations}: propagations as JSON or YAML manifests
 * ({@code apiVersion: kmc.io/v1alpha1, kind: Propagation}), with their status; {@code ?dryRun=true}
 * on POST or PUT renders every target cluster's objects and diffs them against what is there,
 * storing nothing. PATCH is a JSON merge patch of the manifest (pause: {@code {"spec":{"rollout":
 * {"paused":true}}}}). DELETE removes the objects from the clusters, or with {@code ?orphan=true}
 * leaves them; the controller carries it out, so it answers 202.
 */
public final class PropagationsApi {

  private final PropagationService propagations;

  public PropagationsApi(PropagationService propagations) {
    this.propagations = propagations;
  }

  public void list(RoutingContext ctx) {
    propagations.list().onSuccess(items -> answer(ctx, 200, new JsonObject().put("apiVersion", Propagation.API_VERSION)
        .put("kind", "PropagationList").put("items", new JsonArray(items)))).onFailure(ctx::fail);
  }

  public void get(RoutingContext ctx) {
    propagations.get(ctx.pathParam("name")).onSuccess(p -> answer(ctx, 200, p)).onFailure(ctx::fail);
  }

  public void revisions(RoutingContext ctx) {
    propagations.revisions(ctx.pathParam("name"))
        .onSuccess(items -> Bodies.json(ctx, new JsonObject().put("items", items))).onFailure(ctx::fail);
  }

  public void events(RoutingContext ctx) {
    propagations.events(ctx.pathParam("name"))
        .onSuccess(items -> Bodies.json(ctx, new JsonObject().put("items", items))).onFailure(ctx::fail);
  }

  public void create(RoutingContext ctx) {
    JsonObject manifest = document(ctx);
    if (dryRun(ctx)) {
      propagations.dryRun(manifest).onSuccess(result -> answer(ctx, 200, result)).onFailure(ctx::fail);
      return;
    }
    propagations.create(manifest, Authenticator.principal(ctx).user())
        .onSuccess(p -> answer(ctx, 201, p)).onFailure(ctx::fail);
  }

  public void replace(RoutingContext ctx) {
    JsonObject manifest = document(ctx);
    if (dryRun(ctx)) {
      propagations.dryRun(manifest).onSuccess(result -> answer(ctx, 200, result)).onFailure(ctx::fail);
      return;
    }
    propagations.put(Propagation.validName(ctx.pathParam("name")), manifest, Authenticator.principal(ctx).user())
        .onSuccess(p -> answer(ctx, p.getJsonObject("metadata").getLong("generation") == 1 ? 201 : 200, p))
        .onFailure(ctx::fail);
  }

  public void patch(RoutingContext ctx) {
    JsonObject patch = document(ctx);
    propagations.patch(ctx.pathParam("name"), patch, Authenticator.principal(ctx).user())
        .onSuccess(p -> answer(ctx, 200, p)).onFailure(ctx::fail);
  }

  public void delete(RoutingContext ctx) {
    String orphan = KubeQuery.first(ctx.request().query(), "orphan");
    if (orphan != null && !orphan.equals("true") && !orphan.equals("false")) {
      throw KmcException.badRequest("orphan must be true or false");
    }
    propagations.delete(ctx.pathParam("name"), orphan == null ? null : Boolean.valueOf(orphan),
            Authenticator.principal(ctx).user())
        .onSuccess(v -> Bodies.json(ctx, 202, new JsonObject().put("name", ctx.pathParam("name"))
            .put("status", "deleting"))).onFailure(ctx::fail);
  }

  private static boolean dryRun(RoutingContext ctx) {
    String value = KubeQuery.first(ctx.request().query(), "dryRun");
    return "true".equalsIgnoreCase(value) || "All".equals(value);
  }

  /** The request body, JSON or (by its content type) YAML, as a JSON object; 400 otherwise. */
  private static JsonObject document(RoutingContext ctx) {
    String type = ctx.request().getHeader(HttpHeaders.CONTENT_TYPE);
    if (type != null && type.toLowerCase(Locale.ROOT).matches("(application|text)/(x-)?yaml.*")) {
      Buffer body = ctx.body() == null ? null : ctx.body().buffer();
      if (body == null || body.length() == 0) {
        throw KmcException.badRequest("the request needs a YAML body");
      }
      if (!(PoliciesApi.yamlToJson(body.toString(), "the request body") instanceof JsonObject object)) {
        throw KmcException.badRequest("the request body must be a YAML mapping");
      }
      return object;
    }
    return Bodies.object(ctx);
  }

  private static void answer(RoutingContext ctx, int status, JsonObject body) {
    String accept = ctx.request().getHeader(HttpHeaders.ACCEPT);
    if ("yaml".equals(ctx.queryParams().get("format"))
        || (accept != null && accept.toLowerCase(Locale.ROOT).matches("(application|text)/(x-)?yaml.*"))) {
      ctx.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "application/yaml")
          .end(YamlMaps.blockYaml(false).dump(body.getMap() == null ? null : plain(body)));
    } else {
      Bodies.json(ctx, status, body);
    }
  }

  private static Object plain(Object json) {
    if (json instanceof JsonObject object) {
      java.util.Map<String, Object> map = new java.util.LinkedHashMap<>();
      object.forEach(e -> map.put(e.getKey(), plain(e.getValue())));
      return map;
    }
    if (json instanceof JsonArray array) {
      java.util.List<Object> list = new java.util.ArrayList<>();
      array.forEach(item -> list.add(plain(item)));
      return list;
    }
    return json;
  }
}
