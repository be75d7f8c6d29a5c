package io.kmc.hub.api;

import io.kmc.common.ClusterNames;
import io.kmc.common.KmcException;
import io.kmc.hub.auth.Authenticator;
import io.kmc.hub.rbac.Authorizer;
import io.kmc.hub.store.ClusterRegistry;
import io.kmc.ops.Texts;
import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;
import java.util.function.BiConsumer;
import java.util.regex.Pattern;

/**
 * The typed API v1: {@code /api/v1/clusters/{cluster}/deployments} and its siblings, and
 * {@code /api/v1/clusters/{cluster}/resources/{group}/{version}/{plural}} for any kind a member
 * cluster serves (CRDs included, found through its discovery).
 *
 * <p>Every call is translated into the one Kubernetes call that does it and then goes the
 * pass-through's way: authorized by {@link Authorizer#kube} with that call's method, path and
 * query (so a role means the same here as through kubectl), checked by the policies if it writes,
 * audited with the call's Kubernetes attributes, relayed through the tunnel with credits. Successes
 * are the member cluster's own answers (Kubernetes objects and lists); failures are in the hub's
 * error shape, a member cluster's refusal with its status and message.
 *
 * <p>Namespaced kinds take their namespace from {@code ?namespace=}; a list without it spans every
 * namespace, a single object without it is looked for in the body's {@code metadata.namespace},
 * then in {@code default} (as kubectl does).
 */
public final class TypedApi {

  /** A kind the typed API serves: where the member cluster serves it and whether it lives in namespaces. */
  public record Kind(String group, String version, String plural, String kind, boolean namespaced) {
    String apiVersion() {
      return group.isEmpty() ? version : group + "/" + version;
    }
  }

  public static final String CLUSTER_PATH = "/api/v1/clusters/:cluster";
  /** The generic path's group segment for the core group ({@code /api/v1}): its name in Kubernetes is "". */
  public static final String CORE_GROUP = "core";
  /** The annotation kubectl rollout restart sets on the pod template. */
  public static final String RESTARTED_AT = "kubectl.kubernetes.io/restartedAt";

  /** How long a member cluster's discovery of one group version is trusted before it is read again. */
  public static final Duration DISCOVERY_TTL = Duration.ofSeconds(30);

  static final Kind NAMESPACES = new Kind("", "v1", "namespaces", "Namespace", false);
  static final Kind DEPLOYMENTS = new Kind("apps", "v1", "deployments", "Deployment", true);
  static final Kind SERVICES = new Kind("", "v1", "services", "Service", true);
  static final Kind PODS = new Kind("", "v1", "pods", "Pod", true);
  static final Kind CONFIGMAPS = new Kind("", "v1", "configmaps", "ConfigMap", true);
  static final Kind EVENTS = new Kind("", "v1", "events", "Event", true);

  private static final String DEFAULT_NAMESPACE = "default";
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9]([-A-Za-z0-9_.:]{0,251}[A-Za-z0-9])?");
  private static final Pattern NAMESPACE = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
  private static final Pattern GROUP = Pattern.compile("[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?");
  private static final Pattern VERSION = Pattern.compile("[a-z0-9]{1,63}");
  private static final Pattern PLURAL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
  private static final Pattern SELECTOR_OR_TOKEN = Pattern.compile("[^\\u0000-\\u001f\\u007f]{0,4096}");
  private static final List<String> DELETE_PARAMS = List.of("propagationPolicy", "gracePeriodSeconds", "dryRun");
  private static final List<String> WRITE_PARAMS = List.of("dryRun", "fieldManager");
  private static final List<String> LOG_PARAMS = List.of("container", "follow", "tailLines", "sinceSeconds",
      "sinceTime", "previous", "timestamps", "limitBytes");

  private final Authorizer authorizer;
  private final KubePassthrough passthrough;
  private final TypedLists lists;
  private final ResourceDiscovery discovery;

  /**
   * @param lists        where lists come from (the tunnel today, the index later)
   * @param discoveryTtl how long a cluster's discovery of one group version is trusted
   */
  public TypedApi(Authorizer authorizer, KubePassthrough passthrough, TypedLists lists, Duration discoveryTtl) {
    this.authorizer = authorizer;
    this.passthrough = passthrough;
    this.lists = lists;
    this.discovery = new ResourceDiscovery(passthrough, discoveryTtl.toMillis());
  }

  /** Adds the typed routes; authentication, the request id, the audit recorder and the body come before them. */
  public void register(Router router) {
    String base = CLUSTER_PATH + "/";
    router.get(base + "namespaces").handler(typed(NAMESPACES, this::list));
    router.post(base + "namespaces").handler(typed(NAMESPACES, this::create));
    router.get(base + "namespaces/:name").handler(typed(NAMESPACES, this::get));
    router.delete(base + "namespaces/:name").handler(typed(NAMESPACES, this::delete));

    for (Kind kind : List.of(DEPLOYMENTS, SERVICES, CONFIGMAPS)) {
      router.get(base + kind.plural()).handler(typed(kind, this::list));
      router.post(base + kind.plural()).handler(typed(kind, this::create));
      router.get(base + kind.plural() + "/:name").handler(typed(kind, this::get));
      router.put(base + kind.plural() + "/:name").handler(typed(kind, this::update));
      router.delete(base + kind.plural() + "/:name").handler(typed(kind, this::delete));
    }
    router.put(base + "deployments/:name/scale").handler(typed(DEPLOYMENTS, this::scale));
    router.post(base + "deployments/:name/restart").handler(typed(DEPLOYMENTS, this::restart));

    router.get(base + "pods").handler(typed(PODS, this::list));
    router.get(base + "pods/:name").handler(typed(PODS, this::get));
    router.delete(base + "pods/:name").handler(typed(PODS, this::delete));
    router.get(base + "pods/:name/logs").handler(typed(PODS, this::logs));

    router.get(base + "events").handler(typed(EVENTS, this::list));
    router.get(base + "events/:name").handler(typed(EVENTS, this::get));

    String generic = base + "resources/:group/:version/:plural";
    router.get(generic).handler(discovered(this::list));
    router.post(generic).handler(discovered(this::create));
    router.get(generic + "/:name").handler(discovered(this::get));
    router.put(generic + "/:name").handler(discovered(this::update));
    router.delete(generic + "/:name").handler(discovered(this::delete));
  }

  private Handler<RoutingContext> typed(Kind kind, BiConsumer<RoutingContext, Kind> operation) {
    return ctx -> {
      try {
        validCluster(ctx);
        operation.accept(ctx, kind);
      } catch (KmcException e) {
        ctx.fail(e);
      }
    };
  }

  /** The generic path: the kind is what the member cluster's discovery says it is. */
  private Handler<RoutingContext> discovered(BiConsumer<RoutingContext, Kind> operation) {
    return ctx -> {
      try {
        String cluster = validCluster(ctx);
        String groupParam = segment(ctx, "group", GROUP);
        String group = CORE_GROUP.equals(groupParam) ? "" : groupParam;
        String version = segment(ctx, "version", VERSION);
        String plural = segment(ctx, "plural", PLURAL);
        if (!authorizer.canSeeCluster(Authenticator.principal(ctx), cluster)) {
          ctx.fail(ClusterRegistry.notFound(cluster)); // as the pass-through answers: names do not leak
          return;
        }
        discovery.find(ctx, cluster, group, version, plural).onComplete(found -> {
          if (found.failed()) {
            ctx.fail(found.cause());
            return;
          }
          try {
            operation.accept(ctx, found.result());
          } catch (KmcException e) {
            ctx.fail(e);
          }
        });
      } catch (KmcException e) {
        ctx.fail(e);
      }
    };
  }

  private void list(RoutingContext ctx, Kind kind) {
    MultiMap params = ctx.queryParams();
    String namespace = kind.namespaced() ? optionalNamespace(ctx) : noNamespace(ctx, kind);
    String limit = params.get("limit");
    Integer limitValue = null;
    if (limit != null) {
      try {
        limitValue = Integer.valueOf(limit);
      } catch (NumberFormatException e) {
        limitValue = -1;
      }
      if (limitValue < 1) {
        throw KmcException.badRequest("limit must be a positive whole number, not '" + Texts.forLog(limit) + "'");
      }
    }
    TypedLists.ListQuery query = new TypedLists.ListQuery(cluster(ctx), kind.group(), kind.version(), kind.plural(),
        namespace, text(params, "labelSelector"), text(params, "fieldSelector"), limitValue,
        text(params, "continue"));
    if (authorizer.kube(ctx, query.cluster(), "GET", TunnelLists.path(query), TunnelLists.kubeQuery(query))) {
      lists.list(ctx, query);
    }
  }

  private void get(RoutingContext ctx, Kind kind) {
    String namespace = kind.namespaced() ? singleNamespace(ctx, null) : noNamespace(ctx, kind);
    send(ctx, KubeCall.json("GET", path(kind, namespace, name(ctx), null), null, null, null));
  }

  private void create(RoutingContext ctx, Kind kind) {
    JsonObject object = typedBody(ctx, kind, null);
    String namespace = kind.namespaced() ? singleNamespace(ctx, object) : noNamespace(ctx, kind);
    send(ctx, KubeCall.json("POST", path(kind, namespace, null, null), query(ctx, WRITE_PARAMS), "application/json",
        object.toBuffer()));
  }

  private void update(RoutingContext ctx, Kind kind) {
    String name = name(ctx);
    JsonObject object = typedBody(ctx, kind, name);
    String namespace = kind.namespaced() ? singleNamespace(ctx, object) : noNamespace(ctx, kind);
    send(ctx, KubeCall.json("PUT", path(kind, namespace, name, null), query(ctx, WRITE_PARAMS), "application/json",
        object.toBuffer()));
  }

  private void delete(RoutingContext ctx, Kind kind) {
    String namespace = kind.namespaced() ? singleNamespace(ctx, null) : noNamespace(ctx, kind);
    send(ctx, KubeCall.json("DELETE", path(kind, namespace, name(ctx), null), query(ctx, DELETE_PARAMS), null, null));
  }

  /** {@code {"replicas": n}}: a merge patch of the scale subresource, as kubectl scale sends. */
  private void scale(RoutingContext ctx, Kind kind) {
    JsonObject body = Bodies.object(ctx);
    Object replicas = body.getValue("replicas");
    if (!(replicas instanceof Integer || replicas instanceof Long) || ((Number) replicas).longValue() < 0
        || ((Number) replicas).longValue() > Integer.MAX_VALUE) {
      throw KmcException.badRequest("the body must be {\"replicas\": n} with n a whole number from 0");
    }
    JsonObject patch = new JsonObject().put("spec", new JsonObject().put("replicas", ((Number) replicas).intValue()));
    send(ctx, KubeCall.json("PATCH", path(kind, singleNamespace(ctx, null), name(ctx), "scale"),
        query(ctx, WRITE_PARAMS), "application/merge-patch+json", patch.toBuffer()));
  }

  /**
   * A rolling restart as {@code kubectl rollout restart} does it: the pod template gets the current
   * time in an annotation, so the controller rolls every pod.
   */
  private void restart(RoutingContext ctx, Kind kind) {
    String now = OffsetDateTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.SECONDS)
        .format(DateTimeFormatter.ISO_OFFSET_DATE_TIME);
    JsonObject patch = new JsonObject().put("spec", new JsonObject().put("template", new JsonObject()
        .put("metadata", new JsonObject().put("annotations", new JsonObject().put(RESTARTED_AT, now)))));
    send(ctx, KubeCall.json("PATCH", path(kind, singleNamespace(ctx, null), name(ctx), null),
        query(ctx, WRITE_PARAMS), "application/strategic-merge-patch+json", patch.toBuffer()));
  }

  /** A pod's log; with {@code follow=true} a stream that lasts as long as the container runs or the client stays. */
  private void logs(RoutingContext ctx, Kind kind) {
    send(ctx, new KubeCall("GET", path(kind, singleNamespace(ctx, null), name(ctx), "log"), query(ctx, LOG_PARAMS),
        Map.of(), null));
  }

  private void send(RoutingContext ctx, KubeCall call) {
    String cluster = cluster(ctx);
    if (authorizer.kube(ctx, cluster, call.method(), call.path(), call.query())) {
      passthrough.send(ctx, cluster, call);
    }
  }

  /**
   * The body of a create or update: a JSON object of the kind (its apiVersion and kind filled in
   * when missing), named as the path says.
   */
  private static JsonObject typedBody(RoutingContext ctx, Kind kind, String name) {
    JsonObject object = Bodies.object(ctx);
    Object apiVersion = object.getValue("apiVersion");
    Object kindName = object.getValue("kind");
    if (apiVersion == null) {
      object.put("apiVersion", kind.apiVersion());
    } else if (!kind.apiVersion().equals(apiVersion)) {
      throw KmcException.badRequest("the body's apiVersion is '" + Texts.forLog(String.valueOf(apiVersion))
          + "'; this path takes " + kind.apiVersion());
    }
    if (kindName == null) {
      object.put("kind", kind.kind());
    } else if (!kind.kind().equals(kindName)) {
      throw KmcException.badRequest("the body is a " + Texts.forLog(String.valueOf(kindName)) + "; this path takes a "
          + kind.kind());
    }
    Object metadata = object.getValue("metadata");
    if (metadata == null) {
      metadata = new JsonObject();
      object.put("metadata", metadata);
    }
    if (!(metadata instanceof JsonObject meta)) {
      throw KmcException.badRequest("the body's metadata must be an object");
    }
    if (name != null) {
      Object named = meta.getValue("name");
      if (named == null) {
        meta.put("name", name);
      } else if (!name.equals(named)) {
        throw KmcException.badRequest("the body names '" + Texts.forLog(String.valueOf(named)) + "', the path '"
            + name + "'");
      }
    }
    return object;
  }

  /** The Kubernetes path of a kind's collection, object or subresource. */
  static String path(String group, String version, String plural, String namespace, String name, String subresource) {
    StringBuilder path = new StringBuilder(group.isEmpty() ? "/api/" + version : "/apis/" + group + "/" + version);
    if (namespace != null) {
      path.append("/namespaces/").append(namespace);
    }
    path.append('/').append(plural);
    if (name != null) {
      path.append('/').append(name);
      if (subresource != null) {
        path.append('/').append(subresource);
      }
    }
    return path.toString();
  }

  private static String path(Kind kind, String namespace, String name, String subresource) {
    return path(kind.group(), kind.version(), kind.plural(), namespace, name, subresource);
  }

  private static String cluster(RoutingContext ctx) {
    return ctx.pathParam("cluster");
  }

  private static String validCluster(RoutingContext ctx) {
    String cluster = cluster(ctx);
    if (!ClusterNames.valid(cluster)) {
      throw KmcException.badRequest("'" + Texts.forLog(cluster) + "' is not a valid cluster name ("
          + ClusterNames.RULE + ")");
    }
    return cluster;
  }

  private static String name(RoutingContext ctx) {
    return segment(ctx, "name", NAME);
  }

  private static String segment(RoutingContext ctx, String param, Pattern rule) {
    String value = ctx.pathParam(param);
    if (value == null || !rule.matcher(value).matches()) {
      throw KmcException.badRequest("'" + Texts.forLog(value) + "' is not a valid " + param);
    }
    return value;
  }

  /** {@code ?namespace=}, or null (every namespace). */
  private static String optionalNamespace(RoutingContext ctx) {
    String namespace = ctx.queryParams().get("namespace");
    if (namespace == null || namespace.isEmpty()) {
      return null;
    }
    if (!NAMESPACE.matcher(namespace).matches()) {
      throw KmcException.badRequest("'" + Texts.forLog(namespace) + "' is not a valid namespace");
    }
    return namespace;
  }

  /** The namespace of one object: {@code ?namespace=}, the body's, or {@code default}. */
  private static String singleNamespace(RoutingContext ctx, JsonObject body) {
    String namespace = optionalNamespace(ctx);
    if (namespace == null && body != null && body.getValue("metadata") instanceof JsonObject metadata
        && metadata.getValue("namespace") instanceof String given && !given.isEmpty()) {
      if (!NAMESPACE.matcher(given).matches()) {
        throw KmcException.badRequest("'" + Texts.forLog(given) + "' is not a valid namespace");
      }
      namespace = given;
    }
    return namespace == null ? DEFAULT_NAMESPACE : namespace;
  }

  private static String noNamespace(RoutingContext ctx, Kind kind) {
    String namespace = ctx.queryParams().get("namespace");
    if (namespace != null && !namespace.isEmpty()) {
      throw KmcException.badRequest(kind.plural() + " are not namespaced: leave out ?namespace=");
    }
    return null;
  }

  private static String text(MultiMap params, String name) {
    String value = params.get(name);
    if (value == null || value.isEmpty()) {
      return null;
    }
    if (!SELECTOR_OR_TOKEN.matcher(value).matches()) {
      throw KmcException.badRequest(name + " is longer than 4096 characters or holds control characters");
    }
    return value;
  }

  /** The named parameters of the request, escaped again for the member cluster. */
  private static String query(RoutingContext ctx, List<String> names) {
    StringJoiner joined = new StringJoiner("&");
    MultiMap params = ctx.queryParams();
    for (String name : names) {
      String value = text(params, name);
      if (value != null) {
        joined.add(name + "=" + URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20"));
      }
    }
    return joined.length() == 0 ? null : joined.toString();
  }
}
