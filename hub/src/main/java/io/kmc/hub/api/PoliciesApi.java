package io.kmc.hub.api;

import io.kmc.common.KmcException;
import io.kmc.hub.auth.Authenticator;
import io.kmc.hub.policy.Policy;
import io.kmc.hub.policy.PolicyEngine;
import io.kmc.hub.policy.PolicyService;
import io.kmc.hub.propagation.Manifests;
import io.kmc.hub.store.ClusterRecord;
import io.kmc.hub.store.ClusterRegistry;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code /api/v1/policies}: the CEL admission policies, as JSON or YAML manifests
 * ({@code apiVersion: kmc.io/v1alpha1, kind: Policy}); {@code POST /api/v1/policies/evaluate}
 * dry-runs an object against them. Writes are validated and compiled first: a policy that does not
 * compile is a 400 naming the field and the CEL error, and is never stored.
 */
public final class PoliciesApi {

  private final PolicyService policies;
  private final ClusterRegistry clusters;

  public PoliciesApi(PolicyService policies, ClusterRegistry clusters) {
    this.policies = policies;
    this.clusters = clusters;
  }

  public void list(RoutingContext ctx) {
    policies.list().onSuccess(stored -> {
      JsonArray items = new JsonArray();
      stored.forEach(p -> items.add(p.view()));
      answer(ctx, 200, new JsonObject().put("apiVersion", Policy.API_VERSION).put("kind", "PolicyList")
          .put("items", items));
    }).onFailure(ctx::fail);
  }

  public void get(RoutingContext ctx) {
    policies.get(ctx.pathParam("name")).onSuccess(p -> answer(ctx, 200, p.view())).onFailure(ctx::fail);
  }

  public void create(RoutingContext ctx) {
    JsonObject manifest = manifest(ctx);
    policies.create(manifest, Authenticator.principal(ctx).user())
        .onSuccess(p -> answer(ctx, 201, p.view())).onFailure(ctx::fail);
  }

  public void replace(RoutingContext ctx) {
    JsonObject manifest = manifest(ctx);
    policies.put(Policy.validName(ctx.pathParam("name")), manifest, Authenticator.principal(ctx).user())
        .onSuccess(p -> answer(ctx, p.generation() == 1 ? 201 : 200, p.view())).onFailure(ctx::fail);
  }

  public void delete(RoutingContext ctx) {
    policies.delete(ctx.pathParam("name")).onSuccess(v -> Bodies.noContent(ctx)).onFailure(ctx::fail);
  }

  /**
   * Dry-runs a write: the body is a Kubernetes object (JSON or YAML), or {@code {"object": ...}} with
   * any of {@code oldObject}, {@code cluster} (a registered cluster's name: its labels are used),
   * {@code operation} (CREATE or UPDATE), {@code namespace}, and {@code policy} (a manifest to try
   * instead of the stored policies). Answers which policies the object violates and what they would do.
   */
  public void evaluate(RoutingContext ctx) {
    JsonObject body = document(ctx);
    boolean wrapped = body.containsKey("object");
    JsonObject object = wrapped ? objectField(body, "object", true) : body;
    JsonObject oldObject = wrapped ? objectField(body, "oldObject", false) : null;
    String cluster = wrapped ? Bodies.string(body, "cluster", false, 63) : null;
    String operation = wrapped ? Bodies.string(body, "operation", false, 16) : null;
    String namespace = wrapped ? Bodies.string(body, "namespace", false, 63) : null;
    JsonObject candidate = wrapped ? objectField(body, "policy", false) : null;
    if (wrapped) {
      for (String field : body.fieldNames()) {
        if (!List.of("object", "oldObject", "cluster", "operation", "namespace", "policy").contains(field)) {
          throw KmcException.badRequest("unknown field " + field.replaceAll("[^\\x20-\\x7e]", "?")
              + " (allowed: object, oldObject, cluster, operation, namespace, policy)");
        }
      }
    }
    String op = operation == null ? (oldObject == null ? "CREATE" : "UPDATE") : operation.toUpperCase(Locale.ROOT);
    if (!op.equals("CREATE") && !op.equals("UPDATE")) {
      throw KmcException.badRequest("operation must be CREATE or UPDATE");
    }
    Future<List<PolicyEngine.Compiled>> set = candidate == null ? Future.succeededFuture(policies.current())
        : policies.compile(candidate).map(List::of);
    Future<ClusterRecord> record = cluster == null ? Future.succeededFuture(null) : clusters.find(cluster);
    set.compose(compiled -> record.map(found -> {
      if (cluster != null && found == null) {
        throw ClusterRegistry.notFound(cluster);
      }
      String apiVersion = object.getValue("apiVersion") instanceof String s ? s : "";
      int slash = apiVersion.indexOf('/');
      JsonObject metadata = object.getValue("metadata") instanceof JsonObject m ? m : new JsonObject();
      String ns = namespace != null ? namespace : metadata.getValue("namespace") instanceof String s ? s : null;
      var principal = Authenticator.principal(ctx);
      PolicyEngine.Request request = new PolicyEngine.Request(op, cluster, found == null ? Map.of() : found.labels(),
          object.getValue("kind") instanceof String s ? s : "", slash < 0 ? "" : apiVersion.substring(0, slash),
          slash < 0 ? apiVersion : apiVersion.substring(slash + 1), null, null, ns,
          metadata.getValue("name") instanceof String s ? s : null, principal.user(), principal.groups(), true,
          object, oldObject);
      return policies.engine().evaluate(compiled, request);
    })).onSuccess(verdict -> {
      JsonArray violations = new JsonArray();
      verdict.violations().forEach(v -> violations.add(new JsonObject().put("policy", v.policy())
          .put("action", v.action().name().toLowerCase(Locale.ROOT)).put("message", v.message())));
      Bodies.json(ctx, new JsonObject().put("allowed", !verdict.denied()).put("evaluated", verdict.evaluated())
          .put("violations", violations));
    }).onFailure(ctx::fail);
  }

  private static JsonObject objectField(JsonObject body, String field, boolean required) {
    Object value = body.getValue(field);
    if (value == null && !required) {
      return null;
    }
    if (!(value instanceof JsonObject object)) {
      throw KmcException.badRequest("'" + field + "' must be an object");
    }
    return object;
  }

  /** The body as a Policy manifest (JSON or YAML); the manifest's own fields are checked when it is compiled. */
  private static JsonObject manifest(RoutingContext ctx) {
    return document(ctx);
  }

  /** The request body, JSON or (by its content type) YAML, as a JSON object; 400 otherwise. */
  private static JsonObject document(RoutingContext ctx) {
    if (yaml(ctx.request().getHeader(HttpHeaders.CONTENT_TYPE))) {
      Buffer body = ctx.body() == null ? null : ctx.body().buffer();
      if (body == null || body.length() == 0) {
        throw KmcException.badRequest("the request needs a YAML body");
      }
      Object value = yamlToJson(body.toString(), "the request body");
      if (!(value instanceof JsonObject object)) {
        throw KmcException.badRequest("the request body must be a YAML mapping");
      }
      return object;
    }
    return Bodies.object(ctx);
  }

  private static boolean yaml(String contentType) {
    return contentType != null && contentType.toLowerCase(Locale.ROOT).matches("(application|text)/(x-)?yaml.*");
  }

  private static boolean wantsYaml(RoutingContext ctx) {
    String accept = ctx.request().getHeader(HttpHeaders.ACCEPT);
    return "yaml".equals(ctx.queryParams().get("format")) || (accept != null && yaml(accept));
  }

  private static void answer(RoutingContext ctx, int status, JsonObject body) {
    if (wantsYaml(ctx)) {
      ctx.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "application/yaml")
          .end(YamlMaps.blockYaml(false).dump(plain(body)));
    } else {
      Bodies.json(ctx, status, body);
    }
  }

  /** JSON values as the plain maps and lists a YAML writer takes. */
  private static Object plain(Object json) {
    if (json instanceof JsonObject object) {
      Map<String, Object> map = new java.util.LinkedHashMap<>();
      object.forEach(e -> map.put(e.getKey(), plain(e.getValue())));
      return map;
    }
    if (json instanceof JsonArray array) {
      List<Object> list = new ArrayList<>();
      array.forEach(item -> list.add(plain(item)));
      return list;
    }
    return json;
  }

  /** One YAML document as JSON values (see {@link Manifests#yamlDocuments}); 400 for none or several. */
  static Object yamlToJson(String text, String what) {
    List<Object> documents = Manifests.yamlDocuments(text, what);
    if (documents.size() != 1) {
      throw KmcException.badRequest(what + " must be exactly one YAML document (it has " + documents.size() + ")");
    }
    return documents.get(0);
  }
}
