package io.kmc.hub.api;

import io.kmc.common.KmcException;
import io.kmc.common.KubeQuery;
import io.kmc.hub.audit.Audits;
import io.kmc.hub.auth.Authenticator;
import io.kmc.hub.auth.Principal;
import io.kmc.hub.metrics.HubMetrics;
import io.kmc.hub.notify.Event;
import io.kmc.hub.notify.EventType;
import io.kmc.hub.notify.Notifier;
import io.kmc.hub.notify.Severity;
import io.kmc.hub.policy.Patches;
import io.kmc.hub.policy.Policy;
import io.kmc.hub.policy.PolicyEngine;
import io.kmc.hub.policy.PolicyService;
import io.kmc.hub.rbac.Authorizer;
import io.kmc.hub.rbac.KubeRequestAttributes;
import io.kmc.hub.routing.ClusterRouter;
import io.kmc.hub.store.ClusterRecord;
import io.kmc.hub.store.ClusterRegistry;
import io.kmc.hub.web.Errors;
import io.kmc.ops.Texts;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Checks pass-through writes (create, replace, patch, server-side apply) against the policies
 * before they are forwarded. A patch is checked by its result: the current object is read through
 * the tunnel, as the caller (so the member cluster's own RBAC still applies), and the patch applied
 * to it ({@link Patches} says where that is an approximation). A denial is a Kubernetes
 * {@code Status} naming every violated policy; warnings travel as {@code Warning} headers, which
 * kubectl prints; every violation is noted in the request's audit record and counted.
 */
public final class PolicyAdmission {

  private static final Set<String> WRITE_METHODS = Set.of("POST", "PUT", "PATCH");
  private static final String SCALE = "scale";
  /** Most Warning headers one answer carries; the audit record has every violation. */
  private static final int MAX_WARNINGS = 20;

  private final PolicyService policies;
  private final ClusterRegistry clusters;
  private final ClusterRouter router;
  private final HubMetrics metrics;
  private final Notifier notifier;

  public PolicyAdmission(PolicyService policies, ClusterRegistry clusters, ClusterRouter router, HubMetrics metrics,
                         Notifier notifier) {
    this.policies = policies;
    this.clusters = clusters;
    this.router = router;
    this.metrics = metrics;
    this.notifier = notifier;
  }

  /**
   * Whether this pass-through request is a write the policies look at: a create, replace or patch of
   * an object itself, or of its {@code scale} (kubectl scale), checked as the object with its new
   * replicas. Other subresources (status, eviction, binding...) are not checked.
   */
  public boolean applies(RoutingContext ctx, KubeCall call) {
    if (!WRITE_METHODS.contains(call.method()) || policies.current().isEmpty()) {
      return false;
    }
    KubeRequestAttributes kube = ctx.get(Authorizer.KUBE_ATTRIBUTES_KEY);
    if (kube == null || !kube.resourceRequest()) {
      return false;
    }
    boolean named = kube.name() != null && !kube.name().isEmpty();
    if (SCALE.equals(kube.subresource())) {
      return named && !"POST".equals(call.method());
    }
    return (kube.subresource() == null || kube.subresource().isEmpty())
        && !("POST".equals(call.method()) && named);
  }

  /** Succeeds if the write may go on (warnings added to the response); fails with what to answer instead. */
  public Future<Void> review(RoutingContext ctx, String cluster, KubeCall call) {
    KubeRequestAttributes kube = ctx.get(Authorizer.KUBE_ATTRIBUTES_KEY);
    String method = call.method();
    String path = call.path();
    Buffer body = call.body();
    String contentType = call.contentType();
    if (body == null || body.length() == 0) {
      return Future.succeededFuture(); // nothing to check: the member cluster refuses an empty write itself
    }
    String type = contentType == null ? "" : contentType.toLowerCase(Locale.ROOT);
    boolean readable = type.contains("json") || type.startsWith(Patches.APPLY_PATCH);
    if (!readable && "PATCH".equals(method)) {
      return Future.failedFuture(new KmcException.ClientError(415, "UnsupportedMediaType", "the hub checks patches "
          + "against its policies and reads JSON and YAML patches only, not " + Texts.forLog(contentType == null
          ? "an untyped body" : contentType)));
    }
    Object written;
    try {
      written = readable ? parse(contentType, body) : null;
    } catch (KmcException e) {
      return Future.failedFuture(e);
    }
    if (SCALE.equals(kube.subresource())) {
      return reviewScale(ctx, cluster, call, kube, written);
    }
    Future<JsonObject> current = "POST".equals(method) ? Future.succeededFuture(null)
        : currentObject(ctx, cluster, path);
    if (!"PATCH".equals(method)) {
      String operation = "POST".equals(method) ? "CREATE" : "UPDATE";
      Future<JsonObject> object = typed(written) ? Future.succeededFuture((JsonObject) written)
          // Protobuf (what kubectl create <kind> sends), or JSON without its apiVersion and kind (which the API
          // server takes from the path): what the member cluster makes of it, in a dry run, says what it is.
          : dryRun(ctx, cluster, call);
      return current.compose(old -> object.compose(checked -> clusters.find(cluster)
          .map(record -> decide(ctx, cluster, record, kube, call, operation, checked, old))));
    }
    return current.compose(old -> {
      if (old == null && !type.startsWith(Patches.APPLY_PATCH)) {
        return Future.succeededFuture(); // nothing to patch: the member cluster answers 404 itself
      }
      JsonObject object = Patches.apply(contentType, old == null ? new JsonObject() : old, written);
      String operation = old == null ? "CREATE" : "UPDATE";
      return clusters.find(cluster).map(record -> decide(ctx, cluster, record, kube, call, operation, object, old));
    });
  }

  /**
   * {@code kubectl scale}: a Scale object replaced or patched. The policies see the scaled object
   * itself (a Deployment, a StatefulSet), with the replicas the Scale would give it, as an update.
   */
  private Future<Void> reviewScale(RoutingContext ctx, String cluster, KubeCall call, KubeRequestAttributes kube,
                                   Object written) {
    String path = call.path();
    String contentType = call.contentType();
    if (!(written instanceof JsonObject)) {
      return Future.failedFuture(new KmcException.ClientError(415, "UnsupportedMediaType", "the hub checks a scale "
          + "against its policies and reads a JSON Scale only"));
    }
    String objectPath = path.substring(0, path.length() - ("/" + SCALE).length());
    Future<JsonObject> scaled = "PUT".equals(call.method())
        ? Future.succeededFuture((JsonObject) written)
        : currentObject(ctx, cluster, path).map(scale -> scale == null ? null
            : Patches.apply(contentType, scale, written));
    return scaled.compose(scale -> currentObject(ctx, cluster, objectPath).compose(old -> {
      Object replicas = scale == null || !(scale.getValue("spec") instanceof JsonObject spec) ? null
          : spec.getValue("replicas");
      if (old == null || replicas == null) {
        return Future.succeededFuture(); // the member cluster answers a missing object or a bad Scale itself
      }
      JsonObject object = old.copy();
      if (!(object.getValue("spec") instanceof JsonObject)) {
        object.put("spec", new JsonObject());
      }
      object.getJsonObject("spec").put("replicas", replicas);
      return clusters.find(cluster).map(record -> decide(ctx, cluster, record, kube, call, "UPDATE", object, old));
    }));
  }

  /** A JSON object that says what it is: the policies can match it by kind without asking the member cluster. */
  private static boolean typed(Object written) {
    return written instanceof JsonObject object && object.getValue("apiVersion") instanceof String apiVersion
        && !apiVersion.isEmpty() && object.getValue("kind") instanceof String kind && !kind.isEmpty();
  }

  private Void decide(RoutingContext ctx, String cluster, ClusterRecord record, KubeRequestAttributes kube,
                      KubeCall call, String operation, JsonObject object, JsonObject old) {
    Principal principal = Authenticator.principal(ctx);
    String apiVersion = object.getValue("apiVersion") instanceof String s ? s : "";
    int slash = apiVersion.indexOf('/');
    String group = slash < 0 ? "" : apiVersion.substring(0, slash);
    String version = slash < 0 ? apiVersion : apiVersion.substring(slash + 1);
    String kind = object.getValue("kind") instanceof String s ? s : "";
    String name = kube.name();
    if ((name == null || name.isEmpty()) && object.getValue("metadata") instanceof JsonObject metadata
        && metadata.getValue("name") instanceof String n) {
      name = n;
    }
    PolicyEngine.Request request = new PolicyEngine.Request(operation, cluster,
        record == null ? Map.of() : record.labels(), kind, group, version, kube.resource(), kube.subresource(),
        kube.namespace(), name, principal.user(), principal.groups(),
        "All".equals(KubeQuery.first(call.query(), "dryRun")), object, old);
    PolicyEngine.Verdict verdict = policies.engine().evaluate(policies.current(), request);
    if (verdict.violations().isEmpty()) {
      return null;
    }
    for (PolicyEngine.Violation v : verdict.violations()) {
      metrics.policyViolation(v.policy(), v.action().name().toLowerCase(Locale.ROOT), cluster);
    }
    Audits.note(ctx, "policy violations: " + verdict.violations().stream()
        .map(v -> v.action().name().toLowerCase(Locale.ROOT) + " " + v.policy() + ": " + v.message())
        .collect(Collectors.joining("; ")));
    List<PolicyEngine.Violation> denials = verdict.of(Policy.Action.DENY);
    notify(cluster, request, principal, verdict.violations(), !denials.isEmpty());
    if (!denials.isEmpty()) {
      throw new Denied(denialMessage(kind, name, denials), kind, name, denials);
    }
    verdict.of(Policy.Action.WARN).stream().limit(MAX_WARNINGS).forEach(v -> ctx.response().headers()
        .add("Warning", Errors.warning("policy " + v.policy() + ": " + v.message())));
    return null;
  }

  /** One event per checked write: refused (warning) or let through with warnings or audits (info). */
  private void notify(String cluster, PolicyEngine.Request request, Principal principal,
                      List<PolicyEngine.Violation> violations, boolean denied) {
    String object = (request.kind().isEmpty() ? "object" : request.kind()) + " "
        + (request.namespace() == null || request.namespace().isEmpty() ? "" : request.namespace() + "/")
        + (request.name() == null ? "" : request.name());
    JsonArray list = new JsonArray();
    violations.forEach(v -> list.add(new JsonObject().put("policy", v.policy())
        .put("action", v.action().name().toLowerCase(Locale.ROOT)).put("message", v.message())));
    String policiesNamed = violations.stream().map(PolicyEngine.Violation::policy).distinct().sorted()
        .collect(Collectors.joining(","));
    notifier.emit(Event.of(EventType.POLICY_VIOLATION, denied ? Severity.WARNING : Severity.INFO, cluster,
        object + "|" + policiesNamed + "|" + denied,
        object + " in cluster " + cluster + (denied ? " was refused" : " violated policies") + " (" + request.operation()
            + " by " + principal.user() + "): " + violations.stream().map(v -> "[" + v.policy() + "] " + v.message())
            .collect(Collectors.joining("; ")),
        new JsonObject().put("denied", denied).put("operation", request.operation()).put("user", principal.user())
            .put("kind", request.kind()).put("namespace", request.namespace()).put("name", request.name())
            .put("dryRun", request.dryRun()).put("violations", list)));
  }

  static String denialMessage(String kind, String name, List<PolicyEngine.Violation> denials) {
    String what = (kind.isEmpty() ? "the object" : kind) + (name == null || name.isEmpty() ? "" : " \"" + name + "\"");
    StringBuilder text = new StringBuilder(what).append(" was refused by ").append(denials.size())
        .append(denials.size() == 1 ? " kmc policy: " : " kmc policies: ");
    for (int i = 0; i < denials.size(); i++) {
      PolicyEngine.Violation v = denials.get(i);
      text.append(i == 0 ? "" : "; ").append('[').append(v.policy()).append("] ").append(v.message());
    }
    return text.toString();
  }

  /**
   * Answers a failed review: a refusal as a 403 {@code Forbidden} Status whose message names every
   * violated policy (what kubectl prints) and whose details list them one by one; anything else
   * through the failure handler.
   */
  public static void fail(RoutingContext ctx, Throwable failure) {
    if (failure instanceof MemberAnswer member && !ctx.response().headWritten()) {
      member.answer.headers().forEach((name, values) -> ctx.response().headers().add(name, values));
      ctx.response().setStatusCode(member.answer.status()).end(member.answer.body());
      return;
    }
    if (!(failure instanceof Denied denied) || ctx.response().headWritten()) {
      ctx.fail(failure);
      return;
    }
    JsonArray causes = new JsonArray();
    denied.denials.forEach(v -> causes.add(new JsonObject().put("reason", "PolicyViolation")
        .put("field", "policy/" + v.policy()).put("message", v.message())));
    JsonObject status = new JsonObject().put("kind", "Status").put("apiVersion", "v1").put("metadata", new JsonObject())
        .put("status", "Failure").put("message", denied.getMessage()).put("reason", "Forbidden")
        .put("details", new JsonObject().put("kind", denied.kind).put("name", denied.name).put("causes", causes))
        .put("code", 403);
    ctx.response().setStatusCode(403).putHeader("Content-Type", "application/json").end(status.toBuffer());
  }

  /**
   * A failed review in the hub's own error terms (the typed API): a refusal is a 403 whose message
   * names every violated policy, a member cluster's refusal keeps its status and message.
   */
  public static Throwable asApiError(Throwable failure) {
    if (failure instanceof Denied denied) {
      return KmcException.forbidden(denied.getMessage());
    }
    if (failure instanceof MemberAnswer member) {
      return KubeCall.memberFailure(member.answer.status(), member.answer.body());
    }
    return failure;
  }

  /** A refusal by the policies; {@link #fail} writes it. */
  private static final class Denied extends RuntimeException {
    private final String kind;
    private final String name;
    private final List<PolicyEngine.Violation> denials;

    Denied(String message, String kind, String name, List<PolicyEngine.Violation> denials) {
      super(message, null, false, false);
      this.kind = kind;
      this.name = name == null ? "" : name;
      this.denials = denials;
    }
  }

  /** A JSON body as JSON; a server-side apply configuration may be YAML. */
  private static Object parse(String contentType, Buffer body) {
    String type = contentType == null ? "" : contentType.toLowerCase(Locale.ROOT);
    if (type.startsWith(Patches.APPLY_PATCH)) {
      return PoliciesApi.yamlToJson(body.toString(), "the applied configuration");
    }
    try {
      return body.toJsonValue();
    } catch (DecodeException e) {
      throw KmcException.badRequest("the body is not valid JSON");
    }
  }

  /** The member cluster's answer, as it gave it; {@link #fail} writes it as the answer to the write. */
  private static final class MemberAnswer extends RuntimeException {
    private final transient WholeAnswer answer;

    MemberAnswer(WholeAnswer answer) {
      super("the member cluster refused the write", null, false, false);
      this.answer = answer;
    }
  }

  /**
   * What the write would make of the object, from the member cluster in a dry run. A refusal (the
   * object exists, it is invalid) is the answer the write itself would get: the caller gets it as it is.
   */
  private Future<JsonObject> dryRun(RoutingContext ctx, String cluster, KubeCall call) {
    String query = call.query();
    String contentType = call.contentType();
    String dryQuery = (query == null || query.isEmpty() ? "" : query + "&") + "dryRun=All";
    Map<String, List<String>> headers = Map.of("Content-Type", List.of(contentType == null ? "" : contentType),
        "Accept", List.of("application/json"));
    return exchange(ctx, cluster, new ClusterRouter.Outgoing(call.method(), call.path(), dryQuery, headers,
        call.body().getBytes(), Authenticator.principal(ctx).actingUser(), false)).compose(answer -> {
          if (answer.status() >= 300) {
            return Future.failedFuture(new MemberAnswer(answer));
          }
          try {
            return Future.succeededFuture(new JsonObject(answer.body()));
          } catch (DecodeException e) {
            return Future.failedFuture(KmcException.badGateway("the member cluster's dry run did not answer JSON"));
          }
        });
  }

  /** The object as it is now, read through the tunnel as the caller; null if it does not exist. */
  private Future<JsonObject> currentObject(RoutingContext ctx, String cluster, String path) {
    ClusterRouter.Outgoing get = new ClusterRouter.Outgoing("GET", path, null,
        Map.of("Accept", List.of("application/json")), null, Authenticator.principal(ctx).actingUser(), false);
    return exchange(ctx, cluster, get).compose(answer -> {
      if (answer.status() == 404) {
        return Future.succeededFuture(null);
      }
      if (answer.status() != 200) {
        return Future.failedFuture(new MemberAnswer(answer));
      }
      try {
        return Future.succeededFuture(new JsonObject(answer.body()));
      } catch (DecodeException e) {
        return Future.failedFuture(KmcException.badGateway("the current object is not JSON"));
      }
    });
  }

  private Future<WholeAnswer> exchange(RoutingContext ctx, String cluster, ClusterRouter.Outgoing outgoing) {
    return WholeAnswer.read(router, cluster, outgoing);
  }
}
