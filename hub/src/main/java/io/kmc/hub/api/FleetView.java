package io.kmc.hub.api;

import io.kmc.common.Addresses;
import io.kmc.common.KmcException;
import io.kmc.common.KmcVersion;
import io.kmc.common.protocol.ActingUser;
import io.kmc.common.protocol.Frame;
import io.kmc.hub.auth.Authenticator;
import io.kmc.hub.auth.Principal;
import io.kmc.hub.index.FleetIndex;
import io.kmc.hub.index.FleetQuery;
import io.kmc.hub.index.Selector;
import io.kmc.hub.routing.ClusterRouter;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * {@code /k8s/fleet/...}: a read-only Kubernetes API over the fleet index, so that
 * {@code kubectl --context fleet get deployments -A -l app=web} lists every cluster the user may see.
 * Discovery is what the clusters index; list and get answer from the index, each object carrying its
 * cluster in the annotation {@code kmc.io/cluster} and Tables a CLUSTER column. The objects are what
 * the index keeps (metadata and a status summary), not whole objects. Writes are refused with a
 * Status that points at the cluster's own context.
 */
public final class FleetView {

  public static final String PREFIX = "/k8s/fleet";
  public static final String CLUSTER_ANNOTATION = "kmc.io/cluster";
  /** What the view answers: reads, and writes only to refuse them with a Status naming the cluster's context. */
  public static final List<HttpMethod> METHODS = List.of(HttpMethod.GET, HttpMethod.HEAD, HttpMethod.PUT,
      HttpMethod.POST, HttpMethod.PATCH, HttpMethod.DELETE);
  private static final String STALE_ANNOTATION = "kmc.io/stale";
  private static final String LAST_SYNC_ANNOTATION = "kmc.io/last-sync";
  private static final String OWNER_ANNOTATION = "kmc.io/owner";

  private static final ActingUser HUB =
      new ActingUser("system:kmc-hub", List.of());

  private final SearchApi search;
  private final AtomicInteger streaming;
  private final ClusterRouter router;

  /**
   * @param streaming the node's count of open streams, which a graceful shutdown does not wait for
   * @param router    reaches agents, for whole objects from their informer caches
   */
  public FleetView(SearchApi search, AtomicInteger streaming,
                   ClusterRouter router) {
    this.search = search;
    this.streaming = streaming;
    this.router = router;
  }

  /** What a path under the prefix asks for. */
  private record Target(String group, String version, String namespace, String resource, String name) {
  }

  public void handle(RoutingContext ctx) {
    String path = ctx.normalizedPath().substring(PREFIX.length());
    if (path.endsWith("/") && path.length() > 1) {
      path = path.substring(0, path.length() - 1);
    }
    if (ctx.request().method() != HttpMethod.GET && ctx.request().method() != HttpMethod.HEAD) {
      ctx.fail(new KmcException.ClientError(405, "MethodNotAllowed", "the fleet view is read-only: "
          + "change objects through their cluster's own context (kubectl --context <cluster>, "
          + "/k8s/clusters/<cluster>/...); the annotation " + CLUSTER_ANNOTATION + " names it"));
      return;
    }
    Principal principal = Authenticator.principal(ctx);
    String[] parts = path.isEmpty() ? new String[0] : path.substring(1).split("/");
    if (path.equals("/version")) {
      json(ctx, new JsonObject().put("major", "1").put("minor", "28").put("gitVersion", "v1.28.0+kmc.fleet")
          .put("platform", "kmc/" + KmcVersion.current()));
    } else if (path.equals("/api")) {
      json(ctx, new JsonObject().put("kind", "APIVersions").put("versions", new JsonArray().add("v1"))
          .put("serverAddressByClientCIDRs", new JsonArray()));
    } else if (path.equals("/apis")) {
      groups(ctx, principal);
    } else if (parts.length == 2 && parts[0].equals("api")) {
      resourceList(ctx, principal, "", parts[1]);
    } else if (parts.length == 3 && parts[0].equals("apis")) {
      resourceList(ctx, principal, parts[1], parts[2]);
    } else if (parts.length > 2 && parts[0].equals("api")) {
      serve(ctx, principal, target("", parts[1], Arrays.copyOfRange(parts, 2, parts.length)));
    } else if (parts.length > 3 && parts[0].equals("apis")) {
      serve(ctx, principal, target(parts[1], parts[2], Arrays.copyOfRange(parts, 3, parts.length)));
    } else {
      ctx.fail(KmcException.notFound("the fleet view does not serve " + path));
    }
  }

  private static Target target(String group, String version, String[] rest) {
    if (rest.length == 1) {
      return new Target(group, version, null, rest[0], null);
    }
    if (rest.length == 2) {
      return new Target(group, version, null, rest[0], rest[1]);
    }
    if (rest[0].equals("namespaces") && rest.length == 3) {
      return new Target(group, version, rest[1], rest[2], null);
    }
    if (rest[0].equals("namespaces") && rest.length == 4) {
      return new Target(group, version, rest[1], rest[2], rest[3]);
    }
    return null;
  }

  private Future<FleetAccess.Visible> visible(Principal principal, Predicate<FleetIndex.Kind> kinds, String verb) {
    return search.access().visible(principal, null, Selector.EVERYTHING, kinds, verb);
  }

  private void groups(RoutingContext ctx, Principal principal) {
    visible(principal, kind -> !kind.group().isEmpty(), "list").onSuccess(visible -> {
      Map<String, TreeSet<String>> versions = new TreeMap<>();
      visible.kinds().forEach(kind -> versions.computeIfAbsent(kind.group(), g -> new TreeSet<>()).add(kind.version()));
      JsonArray groups = new JsonArray();
      versions.forEach((group, vs) -> {
        JsonArray list = new JsonArray();
        vs.forEach(v -> list.add(new JsonObject().put("groupVersion", group + "/" + v).put("version", v)));
        groups.add(new JsonObject().put("name", group).put("versions", list)
            .put("preferredVersion", list.getJsonObject(list.size() - 1)));
      });
      json(ctx, new JsonObject().put("kind", "APIGroupList").put("apiVersion", "v1").put("groups", groups));
    }).onFailure(ctx::fail);
  }

  private void resourceList(RoutingContext ctx, Principal principal, String group, String version) {
    visible(principal, kind -> kind.group().equals(group) && kind.version().equals(version), "list")
        .onSuccess(visible -> {
          Map<String, FleetIndex.Kind> byResource = new TreeMap<>();
          visible.kinds().forEach(kind -> byResource.putIfAbsent(kind.resource(), kind));
          if (byResource.isEmpty()) {
            ctx.fail(KmcException.notFound("no cluster you may see indexes " + groupVersion(group, version)));
            return;
          }
          JsonArray resources = new JsonArray();
          byResource.values().forEach(kind -> resources.add(new JsonObject().put("name", kind.resource())
              .put("singularName", "").put("namespaced", kind.namespaced()).put("kind", kind.kind())
              .put("verbs", new JsonArray().add("get").add("list"))));
          json(ctx, new JsonObject().put("kind", "APIResourceList").put("apiVersion", "v1")
              .put("groupVersion", groupVersion(group, version)).put("resources", resources));
        }).onFailure(ctx::fail);
  }

  private void serve(RoutingContext ctx, Principal principal, Target target) {
    if (target == null) {
      ctx.fail(KmcException.notFound("the fleet view serves lists and gets of objects, not subresources"));
      return;
    }
    MultiMap params = MultiMap.caseInsensitiveMultiMap();
    params.addAll(ctx.queryParams());
    params.remove("namespace");
    params.remove("name");
    FleetQuery query;
    try {
      fieldSelector(params, ctx.request().getParam("fieldSelector"));
      if (target.name() != null) {
        params.set("name", target.name());
      }
      query = SearchApi.query(params, target.group(), target.version(), target.resource(), target.namespace(),
          search.maxPageSize());
    } catch (KmcException e) {
      ctx.fail(e);
      return;
    }
    boolean watch = "true".equals(ctx.request().getParam("watch")) || "1".equals(ctx.request().getParam("watch"));
    if (watch && target.name() != null) {
      ctx.fail(KmcException.badRequest("watch a list (with fieldSelector=metadata.name=<name>), not one object"));
      return;
    }
    String verb = watch ? "watch" : target.name() == null ? "list" : "get";
    FleetQuery base = query;
    if (watch) {
      watch(ctx, principal, target, base);
      return;
    }
    visible(principal, kind -> kind.group().equals(target.group()) && kind.resource().equals(target.resource()), verb)
        .compose(visible -> {
          if (visible.kinds().isEmpty()) {
            return Future.failedFuture(KmcException.notFound("the server could not find the requested resource ("
                + target.resource() + " is not indexed in any cluster you may see)"));
          }
          FleetIndex.Kind kind = visible.kinds().get(0);
          FleetQuery scoped = SearchApi.withVisibility(base, visible.visibility());
          return Future.all(search.access().index().search(scoped), search.access().states()).compose(done -> {
            FleetIndex.Page page = done.resultAt(0);
            Map<String, FleetAccess.ClusterState> states = done.resultAt(1);
            JsonObject rendered = render(ctx, target, kind, scoped, page, states);
            boolean table = String.valueOf(ctx.request().getHeader(HttpHeaders.ACCEPT)).contains("as=Table");
            if (target.name() == null || table) {
              return Future.succeededFuture(rendered);
            }
            FleetIndex.Item item = page.items().get(0);
            FleetAccess.ClusterState state = states.get(item.cluster());
            if (state == null || !state.live()) {
              // The cluster is away: its last-known whole copy when its agent keeps one, else the index's.
              return search.access().index().storedObject(item.cluster(), item.group(), item.resource(),
                  item.namespace(), item.name()).map(stored -> stored == null ? rendered
                  : annotated(stored, rendered.getJsonObject("metadata").getJsonObject("annotations")));
            }
            // One object by name, and its agent is there: the whole object, from the agent's informer cache.
            return whole(item).map(object -> annotated(object, new JsonObject().put(CLUSTER_ANNOTATION, item.cluster())))
                .otherwise(rendered);
          });
        })
        .onSuccess(body -> json(ctx, body))
        .onFailure(ctx::fail);
  }

  /**
   * A watch from the index: the objects the list selects now are known, then every change that the
   * node writing a cluster's batch publishes is filtered (the caller's RBAC taken when the watch
   * began, the list's selectors) and sent as a watch event. An object that stops matching the label
   * selector is sent as DELETED, as the API server does.
   */
  private void watch(RoutingContext ctx, Principal principal, Target target, FleetQuery base) {
    boolean table = String.valueOf(ctx.request().getHeader(HttpHeaders.ACCEPT)).contains("as=Table");
    boolean wholeObjects = "Object".equals(ctx.request().getParam("includeObject"));
    visible(principal, kind -> kind.group().equals(target.group()) && kind.resource().equals(target.resource()),
        "watch").compose(visible -> {
          if (visible.kinds().isEmpty()) {
            return Future.failedFuture(KmcException.notFound("the server could not find the requested resource ("
                + target.resource() + " is not indexed in any cluster you may see)"));
          }
          FleetQuery all = SearchApi.withVisibility(new FleetQuery(base.group(), base.version(), base.resource(),
              base.kind(), base.namespace(), base.name(), base.namePrefix(), base.nameContains(), base.owner(),
              base.summary(), base.labels(), List.of(), search.maxPageSize(), 0, null), visible.visibility());
          return search.access().index().search(all).map(page -> {
            Set<String> known = new HashSet<>();
            page.items().forEach(item -> known.add(item.cluster() + "/" + item.namespace() + "/" + item.name()));
            return new Object[] {visible, known};
          });
        }).onSuccess(started -> {
          FleetAccess.Visible visible = (FleetAccess.Visible) started[0];
          @SuppressWarnings("unchecked")
          Set<String> known = (Set<String>) started[1];
          HttpServerResponse response = ctx.response().setChunked(true)
              .putHeader(HttpHeaders.CONTENT_TYPE, "application/json");
          streaming.incrementAndGet();
          MessageConsumer<JsonObject> consumer = ctx.vertx().eventBus()
              .consumer(Addresses.INDEX_CHANGES, message -> changed(response, message.body(), target,
                  base, visible, known, table, wholeObjects));
          // The head goes out once every node will deliver changes to this watch.
          consumer.completion().onComplete(registered -> {
            if (!response.ended() && !response.closed()) {
              response.write("");
            }
          });
          long timeoutSeconds = parseTimeout(ctx.request().getParam("timeoutSeconds"));
          long timer = timeoutSeconds <= 0 ? -1 : ctx.vertx().setTimer(timeoutSeconds * 1000, t -> response.end());
          AtomicBoolean finished = new AtomicBoolean();
          Runnable finish = () -> {
            if (finished.compareAndSet(false, true)) {
              consumer.unregister();
              ctx.vertx().cancelTimer(timer);
              streaming.decrementAndGet();
            }
          };
          response.closeHandler(v -> finish.run());
          response.endHandler(v -> finish.run());
        }).onFailure(ctx::fail);
  }

  private static long parseTimeout(String value) {
    try {
      return value == null ? 0 : Long.parseLong(value);
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private static void changed(HttpServerResponse response, JsonObject change, Target target,
                              FleetQuery query, FleetAccess.Visible visible, Set<String> known,
                              boolean table, boolean wholeObjects) {
    if (response.closed() || response.ended() || !target.group().equals(change.getString("group"))
        || !target.resource().equals(change.getString("resource"))) {
      return;
    }
    String cluster = change.getString("cluster");
    FleetIndex.Kind kind = new FleetIndex.Kind(cluster, change.getString("group"), change.getString("version"),
        change.getString("resource"), change.getString("kind"), change.getBoolean("namespaced", false));
    FleetAccess.ClusterState live = new FleetAccess.ClusterState(true, null);
    for (Object value : change.getJsonArray("upserts", new JsonArray())) {
      JsonObject o = (JsonObject) value;
      String namespace = o.getString("namespace", "");
      if (!visibleTo(visible, cluster, kind.resource(), namespace) || !named(query, namespace, o.getString("name"))) {
        continue;
      }
      String key = cluster + "/" + namespace + "/" + o.getString("name");
      JsonObject labels = o.getJsonObject("labels", new JsonObject());
      java.util.Map<String, String> labelMap = new HashMap<>();
      labels.forEach(e -> labelMap.put(e.getKey(), String.valueOf(e.getValue())));
      FleetIndex.Item item = new FleetIndex.Item(cluster, kind.group(), kind.version(), kind.resource(), kind.kind(),
          namespace, o.getString("name"), o.getString("uid"), o.getString("resourceVersion"), labels,
          o.getString("owner"), o.getString("created") == null ? null : OffsetDateTime.parse(o.getString("created")),
          o.getJsonObject("summary", new JsonObject()));
      String type;
      if (query.labels().matches(labelMap)) {
        type = known.add(key) ? "ADDED" : "MODIFIED";
      } else if (known.remove(key)) {
        type = "DELETED";
      } else {
        continue;
      }
      event(response, type, kind, item, live, table, wholeObjects);
    }
    for (Object value : change.getJsonArray("deletes", new JsonArray())) {
      JsonObject k = (JsonObject) value;
      String namespace = k.getString("namespace") == null ? "" : k.getString("namespace");
      String key = cluster + "/" + namespace + "/" + k.getString("name");
      if (known.remove(key)) {
        FleetIndex.Item item = new FleetIndex.Item(cluster, kind.group(), kind.version(), kind.resource(),
            kind.kind(), namespace, k.getString("name"), "", "", new JsonObject(), null, null, new JsonObject());
        event(response, "DELETED", kind, item, live, table, wholeObjects);
      }
    }
  }

  private static boolean visibleTo(FleetAccess.Visible visible, String cluster, String resource, String namespace) {
    return visible.visibility().everywhere().contains(cluster + "|" + resource)
        || visible.visibility().namespaces().contains(cluster + "|" + resource + "|" + namespace);
  }

  private static boolean named(FleetQuery query, String namespace, String name) {
    return (query.namespace() == null || query.namespace().equals(namespace))
        && (query.name() == null || query.name().equals(name))
        && (query.namePrefix() == null || name.startsWith(query.namePrefix()))
        && (query.nameContains() == null || name.contains(query.nameContains()));
  }

  private static void event(HttpServerResponse response, String type, FleetIndex.Kind kind,
                            FleetIndex.Item item, FleetAccess.ClusterState state, boolean table,
                            boolean wholeObjects) {
    JsonObject object = object(item, state);
    JsonObject payload = table ? Tables.of(kind, List.of(item), List.of(object), wholeObjects, null) : object;
    if (response.ended() || response.closed()) {
      return;
    }
    if (response.writeQueueFull()) {
      // A reader that does not keep up is let go rather than buffered without bound; kubectl lists again.
      response.end();
      return;
    }
    response.write(new JsonObject().put("type", type).put("object", payload).encode() + "\n");
  }

  /** The object with kmc's annotations added to its own. */
  private static JsonObject annotated(JsonObject object, JsonObject kmcAnnotations) {
    JsonObject metadata = object.getJsonObject("metadata", new JsonObject());
    JsonObject annotations = metadata.getJsonObject("annotations", new JsonObject());
    kmcAnnotations.forEach(e -> annotations.put(e.getKey(), e.getValue()));
    metadata.put("annotations", annotations);
    return object.put("metadata", metadata);
  }

  /** The whole object from the informer cache of the agent of its cluster (not its API server). */
  private Future<JsonObject> whole(FleetIndex.Item item) {
    String path = Frame.Index.CACHE_PATH + (item.group().isEmpty() ? "core" : item.group())
        + "/" + item.version() + "/" + item.resource() + "/" + (item.namespace().isEmpty() ? "_" : item.namespace())
        + "/" + item.name();
    ClusterRouter.Outgoing outgoing = new ClusterRouter.Outgoing("GET", path,
        null, Map.of("Accept", List.of("application/json")), null, HUB, false);
    return router.open(item.cluster(), outgoing, new ClusterRouter.StreamHandler() {
      @Override
      public void data(Buffer data) {
      }

      @Override
      public void end(String error) {
      }
    }).compose(exchange -> {
      if (exchange.head().more()) {
        exchange.cancel("one frame was expected");
        return Future.failedFuture("the object came in parts");
      }
      if (exchange.head().status() != 200) {
        return Future.failedFuture("HTTP " + exchange.head().status());
      }
      return Future.succeededFuture(Buffer.buffer(exchange.head().body()).toJsonObject());
    });
  }

  /** Only what the index answers: {@code metadata.name} and {@code metadata.namespace} equal to a value. */
  private static void fieldSelector(MultiMap params, String selector) {
    if (selector == null || selector.isBlank()) {
      return;
    }
    for (String term : selector.split(",")) {
      int eq = term.indexOf('=');
      if (eq < 0 || term.contains("!=")) {
        throw KmcException.badRequest("the fleet view takes field selectors metadata.name=<x> and "
            + "metadata.namespace=<x> only");
      }
      String field = term.substring(0, eq).trim();
      String value = term.substring(term.startsWith("==", eq) ? eq + 2 : eq + 1).trim();
      switch (field) {
        case "metadata.name" -> params.set("name", value);
        case "metadata.namespace" -> params.set("namespace", value);
        default -> throw KmcException.badRequest("the fleet view cannot select on field '" + field + "'");
      }
    }
  }

  private JsonObject render(RoutingContext ctx, Target target, FleetIndex.Kind kind, FleetQuery query,
                            FleetIndex.Page page, Map<String, FleetAccess.ClusterState> states) {
    String apiVersion = groupVersion(kind.group(), kind.version());
    List<JsonObject> objects = new ArrayList<>();
    for (FleetIndex.Item item : page.items()) {
      objects.add(object(item, states.get(item.cluster())));
    }
    boolean table = String.valueOf(ctx.request().getHeader(HttpHeaders.ACCEPT)).contains("as=Table");
    if (target.name() != null && objects.isEmpty()) {
      throw KmcException.notFound(kind.resource() + (kind.group().isEmpty() ? "" : "." + kind.group()) + " \""
          + target.name() + "\" not found in any cluster you may see");
    }
    if (table) {
      return Tables.of(kind, page.items(), objects, "Object".equals(ctx.request().getParam("includeObject")),
          page.more() ? SearchApi.continueToken(query.offset() + query.limit()) : null);
    }
    if (target.name() != null) {
      return objects.get(0);
    }
    JsonObject metadata = new JsonObject().put("resourceVersion", "");
    if (page.more()) {
      metadata.put("continue", SearchApi.continueToken(query.offset() + query.limit()));
    }
    JsonArray items = new JsonArray();
    objects.forEach(items::add);
    return new JsonObject().put("kind", kind.kind() + "List").put("apiVersion", apiVersion).put("metadata", metadata)
        .put("items", items);
  }

  /** The object as the index knows it: metadata, its cluster, and the status summary. */
  static JsonObject object(FleetIndex.Item item, FleetAccess.ClusterState state) {
    JsonObject annotations = new JsonObject().put(CLUSTER_ANNOTATION, item.cluster());
    if (item.owner() != null) {
      annotations.put(OWNER_ANNOTATION, item.owner());
    }
    if (state == null || !state.live()) {
      annotations.put(STALE_ANNOTATION, "true");
      if (state != null && state.lastSync() != null) {
        annotations.put(LAST_SYNC_ANNOTATION, state.lastSync().toInstant().toString());
      }
    }
    JsonObject metadata = new JsonObject().put("name", item.name());
    if (!item.namespace().isEmpty()) {
      metadata.put("namespace", item.namespace());
    }
    metadata.put("uid", item.uid()).put("resourceVersion", item.resourceVersion());
    if (item.created() != null) {
      metadata.put("creationTimestamp", item.created().toInstant().toString());
    }
    if (!item.labels().isEmpty()) {
      metadata.put("labels", item.labels());
    }
    metadata.put("annotations", annotations);
    return new JsonObject().put("apiVersion", groupVersion(item.group(), item.version())).put("kind", item.kind())
        .put("metadata", metadata).put("status", item.summary());
  }

  static String groupVersion(String group, String version) {
    return group.isEmpty() ? version : group + "/" + version;
  }

  private static void json(RoutingContext ctx, JsonObject body) {
    ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/json").end(body.toBuffer());
  }

  /** {@code meta.k8s.io/v1} Tables, as {@code kubectl get} asks for them, with a CLUSTER column first. */
  static final class Tables {

    private Tables() {
    }

    static JsonObject of(FleetIndex.Kind kind, List<FleetIndex.Item> items, List<JsonObject> objects,
                         boolean wholeObjects, String continueToken) {
      JsonArray columns = new JsonArray()
          .add(column("Cluster", "string", "The member cluster holding the object (kmc.io/cluster)."))
          .add(column("Name", "string", "Name of the object."));
      String key = kind.group().isEmpty() ? kind.resource() : kind.resource() + "." + kind.group();
      switch (key) {
        case "deployments.apps", "statefulsets.apps", "replicasets.apps", "daemonsets.apps" ->
            columns.add(column("Ready", "string", "Ready replicas of the desired."));
        case "pods" -> columns.add(column("Ready", "string", "Whether every container is ready."))
            .add(column("Status", "string", "The pod's phase.")).add(column("Restarts", "integer", "Restarts."));
        case "nodes" -> columns.add(column("Status", "string", "Whether the node is Ready."));
        case "namespaces" -> columns.add(column("Status", "string", "The namespace's phase."));
        case "services" -> columns.add(column("Type", "string", "Service type."))
            .add(column("Cluster-IP", "string", "Cluster IP."));
        default -> {
        }
      }
      columns.add(column("Age", "string", "Time since the object was created."));
      JsonArray rows = new JsonArray();
      for (int i = 0; i < items.size(); i++) {
        FleetIndex.Item item = items.get(i);
        JsonObject summary = item.summary();
        JsonArray cells = new JsonArray().add(item.cluster()).add(item.name());
        switch (key) {
          case "deployments.apps", "statefulsets.apps", "replicasets.apps", "daemonsets.apps" ->
              cells.add(summary.getValue("readyReplicas", 0) + "/" + summary.getValue("replicas", 0));
          case "pods" -> cells.add(Boolean.TRUE.equals(summary.getValue("ready")) ? "1/1" : "0/1")
              .add(summary.getString("phase", "")).add(summary.getValue("restarts", 0));
          case "nodes" -> cells.add(Boolean.TRUE.equals(summary.getValue("ready")) ? "Ready" : "NotReady");
          case "namespaces" -> cells.add(summary.getString("phase", "Active"));
          case "services" -> cells.add(summary.getString("type", "")).add(summary.getString("clusterIP", ""));
          default -> {
          }
        }
        cells.add(age(item.created()));
        JsonObject object = objects.get(i);
        JsonObject rowObject = wholeObjects ? object : new JsonObject().put("kind", "PartialObjectMetadata")
            .put("apiVersion", "meta.k8s.io/v1").put("metadata", object.getJsonObject("metadata"));
        rows.add(new JsonObject().put("cells", cells).put("object", rowObject));
      }
      JsonObject metadata = new JsonObject().put("resourceVersion", "");
      if (continueToken != null) {
        metadata.put("continue", continueToken);
      }
      return new JsonObject().put("kind", "Table").put("apiVersion", "meta.k8s.io/v1").put("metadata", metadata)
          .put("columnDefinitions", columns).put("rows", rows);
    }

    private static JsonObject column(String name, String type, String description) {
      return new JsonObject().put("name", name).put("type", type).put("format", name.equals("Name") ? "name" : "")
          .put("description", description).put("priority", 0);
    }

    /** As kubectl prints ages: 42s, 5m, 3h, 12d. */
    static String age(OffsetDateTime created) {
      if (created == null) {
        return "<unknown>";
      }
      Duration age = Duration.between(created.toInstant(), java.time.Instant.now());
      long seconds = Math.max(0, age.getSeconds());
      if (seconds < 120) {
        return seconds + "s";
      }
      if (seconds < 2 * 3600) {
        return seconds / 60 + "m";
      }
      if (seconds < 2 * 86400) {
        return seconds / 3600 + "h";
      }
      return seconds / 86400 + "d";
    }
  }
}
