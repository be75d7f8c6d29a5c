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

  /** The object's own resourceVersion in its cluster, where metadata.resourceVersion holds the fleet's. */
  private static final String RESOURCE_VERSION_ANNOTATION = "kmc.io/resource-version";

  private final SearchApi search;
  private final AtomicInteger streaming;
  private final ClusterRouter router;
  private final int maxReplay;
  private final long bookmarkMillis;

  /**
   * @param streaming      the node's count of open streams, which a graceful shutdown does not wait for
   * @param router         reaches agents, for whole objects from their informer caches
   * @param maxReplay      most missed changes of one kind of one cluster a resumed watch replays (stream.max_replay)
   * @param bookmarkMillis how often a watch that allows bookmarks is told its position (stream.bookmark_interval)
   */
  public FleetView(SearchApi search, AtomicInteger streaming, ClusterRouter router, int maxReplay,
                   long bookmarkMillis) {
    this.search = search;
    this.streaming = streaming;
    this.router = router;
    this.maxReplay = maxReplay;
    this.bookmarkMillis = bookmarkMillis;
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
          // The position is read before the objects: a watch from it may repeat a change the list has, never miss one.
          Future<Map<String, Long>> position = search.access().index().lastChanges(clusters(visible));
          return position.compose(seqs -> Future.all(search.access().index().search(scoped),
              search.access().states()).compose(done -> {
            FleetIndex.Page page = done.resultAt(0);
            Map<String, FleetAccess.ClusterState> states = done.resultAt(1);
            JsonObject rendered = render(ctx, target, kind, scoped, page, states, FleetVersion.encode(seqs));
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
          }));
        })
        .onSuccess(body -> json(ctx, body))
        .onFailure(ctx::fail);
  }

  /**
   * A watch from the index, fed by the changes the node writing each cluster's batches publishes, as
   * numbered in the stream change log. Its resourceVersion is the fleet's: the number of the last
   * change of each cluster it has accounted for ({@link FleetVersion}), which lists carry too. From a
   * resourceVersion, the changes since are replayed from the log first (a watch started right after a
   * list misses nothing); without one, it starts now. One the log no longer reaches back to, or that
   * is not the fleet's, is answered 410 Gone: list again. Each change is filtered (the caller's RBAC
   * taken when the watch began, the list's selectors) and sent as a watch event; an object that stops
   * matching the label selector is sent as DELETED, one that starts as ADDED, as the API server does.
   */
  private void watch(RoutingContext ctx, Principal principal, Target target, FleetQuery base) {
    boolean table = String.valueOf(ctx.request().getHeader(HttpHeaders.ACCEPT)).contains("as=Table");
    boolean wholeObjects = "Object".equals(ctx.request().getParam("includeObject"));
    boolean bookmarks = "true".equals(ctx.request().getParam("allowWatchBookmarks")) && !table;
    String from = ctx.request().getParam("resourceVersion");
    Map<String, Long> resumeFrom;
    try {
      resumeFrom = from == null || from.isEmpty() || from.equals("0") ? null : FleetVersion.decode(from);
    } catch (IllegalArgumentException e) {
      ctx.fail(expired("the resourceVersion is not one of the fleet view's (its lists and events carry those, "
          + "not a member cluster's); list again"));
      return;
    }
    visible(principal, kind -> kind.group().equals(target.group()) && kind.resource().equals(target.resource()),
        "watch").onSuccess(visible -> {
          if (visible.kinds().isEmpty()) {
            ctx.fail(KmcException.notFound("the server could not find the requested resource ("
                + target.resource() + " is not indexed in any cluster you may see)"));
            return;
          }
          new FleetWatch(ctx, target, base, visible, table, wholeObjects, bookmarks).start(resumeFrom);
        }).onFailure(ctx::fail);
  }

  private static KmcException expired(String message) {
    return new KmcException.ClientError(410, "Expired", message);
  }

  private static Set<String> clusters(FleetAccess.Visible visible) {
    Set<String> clusters = new TreeSet<>();
    visible.kinds().forEach(kind -> clusters.add(kind.cluster()));
    return clusters;
  }

  /** What a resumed watch replays of one cluster: its changes after {@code from}. */
  private record Replayed(String cluster, long from, FleetIndex.Replay replay) {
  }

  /** One open watch of the fleet view; everything runs on the request's context. */
  private final class FleetWatch {
    private final RoutingContext ctx;
    private final Target target;
    private final FleetQuery query;
    private final FleetAccess.Visible visible;
    private final boolean table;
    private final boolean wholeObjects;
    private final boolean bookmarks;
    private final Set<String> clusters;
    /** Per cluster, the number of its last change accounted for: what the events' resourceVersion holds. */
    private final Map<String, Long> position = new TreeMap<>();
    /** Publications that came while their cluster was replayed, or before the watch knew where it starts. */
    private final List<JsonObject> held = new ArrayList<>();
    private final AtomicBoolean finished = new AtomicBoolean();
    private MessageConsumer<JsonObject> consumer;
    private boolean started;
    private long timer = -1;
    private long bookmarkTimer = -1;

    FleetWatch(RoutingContext ctx, Target target, FleetQuery query, FleetAccess.Visible visible, boolean table,
               boolean wholeObjects, boolean bookmarks) {
      this.ctx = ctx;
      this.target = target;
      this.query = query;
      this.visible = visible;
      this.table = table;
      this.wholeObjects = wholeObjects;
      this.bookmarks = bookmarks;
      this.clusters = clusters(visible);
    }

    void start(Map<String, Long> resumeFrom) {
      streaming.incrementAndGet();
      consumer = ctx.vertx().eventBus().consumer(Addresses.STREAM_CHANGES, message -> published(message.body()));
      ctx.addEndHandler(ended -> finish()); // not the response's close handler: Vert.x Web's end handlers need it
      // Once every node delivers changes here: where the watch starts, then the changes since.
      consumer.completion().compose(registered -> resumeFrom == null
              ? search.access().index().lastChanges(clusters).map(now -> {
                List<Replayed> none = new ArrayList<>();
                now.forEach((cluster, seq) -> none.add(new Replayed(cluster, seq,
                    new FleetIndex.Replay(true, seq, List.of()))));
                return none;
              })
              : replay(resumeFrom))
          .onSuccess(this::begin)
          .onFailure(e -> {
            finish();
            ctx.fail(e);
          });
    }

    /** The changes of the watched kind after the given numbers, cluster by cluster, in each cluster's order. */
    private Future<List<Replayed>> replay(Map<String, Long> resumeFrom) {
      List<Future<FleetIndex.Replay>> replays = new ArrayList<>();
      List<String> order = new ArrayList<>(clusters);
      for (String cluster : order) {
        // A cluster the resourceVersion does not name came after it: from its first change.
        replays.add(search.access().index().replay(cluster, target.group(), target.resource(),
            resumeFrom.getOrDefault(cluster, 0L), maxReplay));
      }
      return Future.all(replays).compose(done -> {
        List<Replayed> replayed = new ArrayList<>();
        for (int i = 0; i < order.size(); i++) {
          FleetIndex.Replay replay = done.resultAt(i);
          if (!replay.complete()) {
            return Future.failedFuture(expired("too old resource version: the hub's change history of cluster "
                + order.get(i) + " no longer reaches back to it (stream.history); list again"));
          }
          replayed.add(new Replayed(order.get(i), resumeFrom.getOrDefault(order.get(i), 0L), replay));
        }
        return Future.succeededFuture(replayed);
      });
    }

    private void begin(List<Replayed> replayed) {
      if (finished.get()) {
        return;
      }
      HttpServerResponse response = ctx.response().setChunked(true)
          .putHeader(HttpHeaders.CONTENT_TYPE, "application/json");
      response.write("");
      // Every cluster at its resume point first, so that an event's resourceVersion covers only what was sent.
      replayed.forEach(r -> position.put(r.cluster(), r.from()));
      for (Replayed r : replayed) {
        for (FleetIndex.Change change : r.replay().changes()) {
          position.put(r.cluster(), change.seq());
          event(r.cluster(), change.type(), change.body());
        }
        position.put(r.cluster(), Math.max(r.from(), r.replay().upTo()));
      }
      started = true;
      List<JsonObject> waiting = new ArrayList<>(held);
      held.clear();
      waiting.forEach(this::published);
      long timeoutSeconds = parseTimeout(ctx.request().getParam("timeoutSeconds"));
      timer = timeoutSeconds <= 0 ? -1 : ctx.vertx().setTimer(timeoutSeconds * 1000, t -> {
        response.end();
        finish();
      });
      if (bookmarks) {
        bookmarkTimer = ctx.vertx().setPeriodic(bookmarkMillis, t -> bookmark());
      }
    }

    /** One batch's changes of one cluster, as the writing node published them. */
    private void published(JsonObject publication) {
      String cluster = publication.getString("cluster");
      JsonArray changes = publication.getJsonArray("changes");
      if (finished.get() || changes == null || !clusters.contains(cluster)) {
        return;
      }
      if (!started) {
        held.add(publication);
        return;
      }
      boolean watched = target.group().equals(publication.getString("group"))
          && target.resource().equals(publication.getString("resource"));
      for (Object value : changes) {
        JsonObject change = (JsonObject) value;
        long seq = change.getLong("seq");
        if (seq <= position.getOrDefault(cluster, 0L)) {
          continue;
        }
        position.put(cluster, seq);
        if (watched) {
          event(cluster, change.getString("type"), change.getJsonObject("body"));
        }
      }
    }

    /** The watch event a change makes, if the watch selects the object before or after it. */
    private void event(String cluster, String changeType, JsonObject body) {
      String namespace = body.getString("namespace", "");
      String name = body.getString("name");
      if (!visibleTo(visible, cluster, target.resource(), namespace) || !named(query, namespace, name)) {
        return;
      }
      boolean now = !changeType.equals("DELETED") && query.labels().matches(labels(body.getJsonObject("labels")));
      boolean before = switch (changeType) {
        case "ADDED" -> false;
        case "MODIFIED" -> body.getJsonObject("prevLabels") == null
            || query.labels().matches(labels(body.getJsonObject("prevLabels")));
        default -> query.labels().matches(labels(body.getJsonObject("labels")));
      };
      String type = now ? (before ? "MODIFIED" : "ADDED") : before ? "DELETED" : null;
      if (type == null) {
        return;
      }
      FleetIndex.Kind kind = new FleetIndex.Kind(cluster, target.group(), body.getString("version", target.version()),
          target.resource(), body.getString("kind"), !namespace.isEmpty());
      FleetIndex.Item item = new FleetIndex.Item(cluster, kind.group(), kind.version(), kind.resource(), kind.kind(),
          namespace, name, body.getString("uid", ""), body.getString("resourceVersion", ""),
          body.getJsonObject("labels", new JsonObject()), body.getString("owner"),
          body.getString("created") == null ? null : OffsetDateTime.parse(body.getString("created")),
          body.getJsonObject("summary", new JsonObject()));
      JsonObject object = object(item, new FleetAccess.ClusterState(true, null));
      JsonObject metadata = object.getJsonObject("metadata");
      metadata.getJsonObject("annotations").put(RESOURCE_VERSION_ANNOTATION, item.resourceVersion());
      metadata.put("resourceVersion", FleetVersion.encode(position));
      JsonObject payload = table ? Tables.of(kind, List.of(item), List.of(object), wholeObjects, null,
          metadata.getString("resourceVersion")) : object;
      write(new JsonObject().put("type", type).put("object", payload));
    }

    /** Where the watch is, for a client to resume from, during quiet times too. */
    private void bookmark() {
      write(new JsonObject().put("type", "BOOKMARK").put("object", new JsonObject()
          .put("kind", visible.kinds().get(0).kind()).put("apiVersion", groupVersion(target.group(), target.version()))
          .put("metadata", new JsonObject().put("resourceVersion", FleetVersion.encode(position)))));
    }

    private void write(JsonObject event) {
      HttpServerResponse response = ctx.response();
      if (response.ended() || response.closed()) {
        return;
      }
      if (response.writeQueueFull()) {
        // A reader that does not keep up is let go rather than buffered without bound; it resumes from its
        // last resourceVersion.
        response.end();
        finish();
        return;
      }
      response.write(event.encode() + "\n");
    }

    private void finish() {
      if (finished.compareAndSet(false, true)) {
        if (consumer != null) {
          consumer.unregister();
        }
        ctx.vertx().cancelTimer(timer);
        ctx.vertx().cancelTimer(bookmarkTimer);
        streaming.decrementAndGet();
      }
    }
  }

  private static long parseTimeout(String value) {
    try {
      return value == null ? 0 : Long.parseLong(value);
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private static Map<String, String> labels(JsonObject labels) {
    Map<String, String> map = new HashMap<>();
    if (labels != null) {
      labels.forEach(e -> map.put(e.getKey(), String.valueOf(e.getValue())));
    }
    return map;
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
                            FleetIndex.Page page, Map<String, FleetAccess.ClusterState> states,
                            String resourceVersion) {
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
          page.more() ? SearchApi.continueToken(query.offset() + query.limit()) : null, resourceVersion);
    }
    if (target.name() != null) {
      return objects.get(0);
    }
    JsonObject metadata = new JsonObject().put("resourceVersion", resourceVersion);
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
                         boolean wholeObjects, String continueToken, String resourceVersion) {
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
      JsonObject metadata = new JsonObject().put("resourceVersion", resourceVersion);
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
