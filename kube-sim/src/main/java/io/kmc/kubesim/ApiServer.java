package io.kmc.kubesim;

import io.kmc.common.KubeQuery;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP face of the simulator: authenticates, routes discovery/OpenAPI/resource paths, turns
 * each resource request into a Kubernetes verb on the {@link Registry}, negotiates the answer's
 * shape (object, Table, PartialObjectMetadata) and turns every failure into a {@code Status}.
 */
final class ApiServer {

  private static final Logger LOG = LoggerFactory.getLogger(ApiServer.class);
  /** Go's mime parser rejects the "@" of the Accept form (spec.v2@v1.0), so answer with the dotted form. */
  private static final String PROTOBUF_OPENAPI_V2 = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

  private final Vertx vertx;
  private final KubeSimOptions options;
  private final Registry registry;
  private final Discovery discovery;
  private final OpenApi openApi;
  private final RequestCounter counter;
  private final Supplier<String> serverAddress;
  private final Set<SimStream> openStreams = new HashSet<>();
  private final PodStreaming podStreaming;
  private long http2Requests;

  ApiServer(Vertx vertx, KubeSimOptions options, Registry registry, RequestCounter counter,
      Supplier<String> serverAddress, ContainerRuntime containers) {
    this.vertx = vertx;
    this.options = options;
    this.registry = registry;
    this.discovery = new Discovery(registry.catalog(), options.gitVersion());
    this.openApi = new OpenApi(vertx, registry.catalog(), options.gitVersion());
    this.counter = counter;
    this.serverAddress = serverAddress;
    this.podStreaming = new PodStreaming(vertx, options, registry, containers);
  }

  Router router() {
    Router router = Router.router(vertx);
    router.route().handler(this::authenticate);
    router.route().handler(BodyHandler.create(false).setBodyLimit(options.maxBodyBytes()));
    router.route().handler(this::handle);
    router.route().failureHandler(this::fail);
    return router;
  }

  /** Ends every watch and followed log, so clients see their streams close rather than hang. */
  void endStreams() {
    for (SimStream stream : List.copyOf(openStreams)) {
      stream.end();
    }
  }

  /** Open streams whose client stopped reading: their connection's write queue is full. */
  int backedUpStreams() {
    int backedUp = 0;
    for (SimStream stream : openStreams) {
      if (stream.backedUp()) {
        backedUp++;
      }
    }
    return backedUp;
  }

  /** Requests that came over HTTP/2. */
  long http2Requests() {
    return http2Requests;
  }

  private void authenticate(RoutingContext ctx) {
    if (ctx.request().version() == HttpVersion.HTTP_2) {
      http2Requests++;
    }
    String token = options.token();
    if (token != null && !("Bearer " + token).equals(ctx.request().getHeader("Authorization"))) {
      sendError(ctx, KubeApiException.unauthorized());
      return;
    }
    ctx.next();
  }

  private void fail(RoutingContext ctx) {
    if (ctx.failure() instanceof KubeApiException error) {
      sendError(ctx, error);
    } else if (ctx.statusCode() == 413) {
      // The rest of an oversized body is never read, so this connection cannot be reused.
      ctx.response().putHeader("Connection", "close");
      sendError(ctx, KubeApiException.tooLarge(options.maxBodyBytes()));
    } else {
      LOG.warn("request {} {} failed", ctx.request().method(), ctx.request().uri(), ctx.failure());
      sendError(ctx, KubeApiException.internal(ctx.failure() == null ? "status " + ctx.statusCode()
          : String.valueOf(ctx.failure().getMessage())));
    }
  }

  private void handle(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    String path = request.path();
    LOG.debug("{} {}", request.method(), request.uri());
    try {
      if (!serveFixedPath(ctx, path)) {
        ApiPath apiPath = ApiPath.parse(path);
        if (apiPath == null) {
          throw KubeApiException.notFoundPath(path);
        }
        serveResource(ctx, apiPath);
      }
    } catch (KubeApiException error) {
      sendError(ctx, error);
    }
  }

  /** Discovery, version, health and OpenAPI paths (GET only); false when the path is a resource path. */
  private boolean serveFixedPath(RoutingContext ctx, String path) {
    String trimmed = path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    Runnable answer = fixedPathAnswer(ctx, trimmed);
    if (answer == null) {
      return false;
    }
    if (ctx.request().method() != HttpMethod.GET) {
      throw KubeApiException.methodNotAllowed();
    }
    answer.run();
    counter.count("get", trimmed);
    return true;
  }

  private Runnable fixedPathAnswer(RoutingContext ctx, String path) {
    String[] segments = path.substring(1).split("/");
    switch (path) {
      case "/version":
        return () -> sendJson(ctx, 200, discovery.version());
      case "/api":
        return () -> sendJson(ctx, 200, discovery.coreVersions(serverAddress.get()));
      case "/apis":
        return () -> sendJson(ctx, 200, discovery.groupList());
      case "/healthz", "/livez", "/readyz":
        return () -> ctx.response().putHeader("Content-Type", "text/plain").end("ok");
      case "/openapi/v2":
        return () -> serveOpenApiV2(ctx);
      case "/openapi/v3":
        return () -> sendJson(ctx, 200, openApi.v3Root());
      default:
        break;
    }
    if (path.startsWith("/openapi/v3/")) {
      String[] gv = path.substring("/openapi/v3/".length()).split("/");
      Future<Buffer> document = gv.length == 2 && gv[0].equals("api") ? openApi.v3GroupVersion("", gv[1])
          : gv.length == 3 && gv[0].equals("apis") ? openApi.v3GroupVersion(gv[1], gv[2]) : null;
      if (document == null) {
        throw KubeApiException.notFoundPath(path);
      }
      return () -> sendDocument(ctx, document, MediaTypes.JSON);
    }
    if (segments.length == 2 && segments[0].equals("apis")) {
      return found(discovery.group(segments[1]), path, ctx);
    }
    boolean coreVersion = segments.length == 2 && segments[0].equals("api");
    if (coreVersion || segments.length == 3 && segments[0].equals("apis")) {
      String group = coreVersion ? "" : segments[1];
      String version = segments[segments.length - 1];
      return found(registry.catalog().servesGroupVersion(group, version) ? discovery.resources(group, version) : null,
          path, ctx);
    }
    return null;
  }

  private static Runnable found(JsonObject document, String path, RoutingContext ctx) {
    if (document == null) {
      throw KubeApiException.notFoundPath(path);
    }
    return () -> sendJson(ctx, 200, document);
  }

  private void serveOpenApiV2(RoutingContext ctx) {
    String accept = ctx.request().getHeader("Accept");
    if (accept != null && accept.contains("protobuf")) {
      sendDocument(ctx, openApi.v2Protobuf(), PROTOBUF_OPENAPI_V2);
    } else {
      sendDocument(ctx, openApi.v2Json(), MediaTypes.JSON);
    }
  }

  /** Answers with a document built off the event loop, once it is ready. */
  private static void sendDocument(RoutingContext ctx, Future<Buffer> document, String contentType) {
    document.onComplete(built -> {
      if (ctx.response().ended() || ctx.response().closed()) {
        return;
      }
      if (built.succeeded()) {
        ctx.response().putHeader("Content-Type", contentType).end(built.result());
      } else {
        LOG.warn("building an OpenAPI document failed", built.cause());
        sendError(ctx, KubeApiException.internal("OpenAPI document: " + built.cause()));
      }
    });
  }

  private void serveResource(RoutingContext ctx, ApiPath path) {
    ResourceType type = registry.catalog().find(path.group(), path.version(), path.resource())
        .orElseThrow(() -> KubeApiException.notFoundPath(ctx.request().path()));
    if (path.namespace() != null && !type.namespaced()) {
      throw KubeApiException.notFoundPath(ctx.request().path());
    }
    String subresource = path.subresource();
    if (subresource != null && !type.subresources().contains(subresource)) {
      throw KubeApiException.notFoundPath(ctx.request().path());
    }
    HttpMethod method = ctx.request().method();
    if (subresource != null && PodStreaming.SUBRESOURCES.contains(subresource) && path.name() != null) {
      // "connect" requests: the apiserver authorizes POST as create and GET as get on pods/<subresource>.
      counter.count(method == HttpMethod.POST ? "create" : "get", ctx.request().path());
      podStreaming.serve(ctx, type, path);
      return;
    }
    boolean watch = path.legacyWatch() || isTrue(ctx.queryParams().get("watch"));
    String verb = verb(method, path, watch);
    counter.count(verb, ctx.request().path());
    if (!type.verbs().contains(verb) && subresource == null) {
      throw KubeApiException.methodNotAllowed();
    }
    Request request = new Request(ctx, type, path);
    switch (verb) {
      case "get" -> request.get();
      case "list" -> request.list();
      case "watch" -> request.watch();
      case "create" -> whenSchemasReady(ctx, type, request::create);
      case "update" -> whenSchemasReady(ctx, type, request::update);
      case "patch" -> whenSchemasReady(ctx, type, request::patch);
      case "delete" -> request.delete();
      case "deletecollection" -> request.deleteCollection();
      default -> throw KubeApiException.methodNotAllowed();
    }
  }

  /**
   * Writes are checked against the kind's schema ({@link FieldValidation}), which the first time takes
   * a moment. The schema is shared by every simulator in the JVM and may be ready on another's thread,
   * so the write goes back to this simulator's context.
   */
  private void whenSchemasReady(RoutingContext ctx, ResourceType type, Runnable write) {
    Future<?> ready = FieldValidation.ready(vertx, type);
    if (ready.isComplete()) {
      write.run();
      return;
    }
    Context context = vertx.getOrCreateContext();
    ready.onComplete(done -> context.runOnContext(v -> {
      try {
        write.run();
      } catch (KubeApiException error) {
        sendError(ctx, error);
      } catch (RuntimeException error) {
        ctx.fail(error);
      }
    }));
  }

  private static String verb(HttpMethod method, ApiPath path, boolean watch) {
    boolean named = path.name() != null;
    if (method == HttpMethod.GET) {
      return watch ? "watch" : named ? "get" : "list";
    }
    if (method == HttpMethod.POST && !named) {
      return "create";
    }
    if (method == HttpMethod.PUT && named) {
      return "update";
    }
    if (method == HttpMethod.PATCH && named) {
      return "patch";
    }
    if (method == HttpMethod.DELETE) {
      return named ? "delete" : "deletecollection";
    }
    return "unsupported";
  }

  /** One resource request; holds what every verb needs so the verb methods stay short. */
  private final class Request {
    private final RoutingContext ctx;
    private final ResourceType type;
    private final ApiPath path;

    Request(RoutingContext ctx, ResourceType type, ApiPath path) {
      this.ctx = ctx;
      this.type = type;
      this.path = path;
    }

    void get() {
      if ("log".equals(path.subresource())) {
        streamLog();
        return;
      }
      JsonObject object = registry.get(type, path.namespace(), path.name());
      if ("scale".equals(path.subresource())) {
        sendJson(ctx, 200, Scale.of(type, object));
        return;
      }
      sendShaped(object);
    }

    void list() {
      Registry.Page page = registry.list(type, path.namespace(), labels(), fields(), limit(), param("continue"));
      JsonObject metadata = new JsonObject().put("resourceVersion", page.resourceVersion());
      if (page.continueToken() != null) {
        metadata.put("continue", page.continueToken());
        metadata.put("remainingItemCount", page.remainingItemCount());
      }
      MediaTypes.Negotiated shape = MediaTypes.negotiate(ctx.request().getHeader("Accept"));
      switch (shape.shape()) {
        case TABLE -> sendJson(ctx, 200, Tables.table(type, page.items(), metadata,
            Tables.IncludeObject.parse(param("includeObject")), shape.apiVersion(), true));
        case PARTIAL_METADATA -> {
          JsonArray items = new JsonArray();
          page.items().forEach(item -> items.add(Tables.partialMetadata(item)));
          sendJson(ctx, 200, new JsonObject().put("kind", "PartialObjectMetadataList")
              .put("apiVersion", shape.apiVersion()).put("metadata", metadata).put("items", items));
        }
        default -> sendJson(ctx, 200, new JsonObject()
            .put("kind", type.listKind())
            .put("apiVersion", type.groupVersion())
            .put("metadata", metadata)
            .put("items", new JsonArray(List.copyOf(page.items()))));
      }
    }

    void watch() {
      FieldSelector fields = fields();
      if (path.name() != null) {
        fields = FieldSelector.parse(join(param("fieldSelector"), "metadata.name=" + path.name()));
      }
      MediaTypes.Negotiated shape = MediaTypes.negotiate(ctx.request().getHeader("Accept"));
      Tables.IncludeObject include = Tables.IncludeObject.parse(param("includeObject"));
      boolean[] firstTable = {true};
      UnaryOperator<JsonObject> render = switch (shape.shape()) {
        case TABLE -> object -> {
          boolean withColumns = firstTable[0];
          firstTable[0] = false;
          return Tables.table(type, List.of(object), new JsonObject().put("resourceVersion",
              Json.stringAt(object, "metadata.resourceVersion")), include, shape.apiVersion(), withColumns);
        };
        case PARTIAL_METADATA -> Tables::partialMetadata;
        default -> UnaryOperator.identity();
      };
      String namespace = type.namespaced() ? path.namespace() : null;
      WatchStream stream = new WatchStream(vertx, registry.store(), ctx.response(),
          new WatchStream.Spec(type, namespace, labels(), fields, render), openStreams::remove);
      openStreams.add(stream);
      String sendInitial = param("sendInitialEvents");
      stream.start(param("resourceVersion"), sendInitial == null ? null : isTrue(sendInitial),
          isTrue(param("allowWatchBookmarks")), longParam("timeoutSeconds", 0), options.bookmarkIntervalMillis());
    }

    void create() {
      if (path.subresource() != null) {
        throw KubeApiException.methodNotAllowed();
      }
      JsonObject body = objectBody();
      if (type.is("authentication.k8s.io", "SelfSubjectReview")) {
        sendJson(ctx, 201, selfSubjectReview(body));
        return;
      }
      validateFields(body);
      JsonObject created = registry.create(type, path.namespace(), body, writeOptions());
      sendJson(ctx, 201, created);
    }

    /**
     * "Who am I" ({@code kubectl auth whoami}): the impersonated user and groups when the request
     * impersonates, the simulator's own admin otherwise. Answered, never stored.
     */
    private JsonObject selfSubjectReview(JsonObject body) {
      String user = ctx.request().getHeader("Impersonate-User");
      JsonArray groups = new JsonArray();
      ctx.request().headers().getAll("Impersonate-Group").forEach(groups::add);
      if (user == null) {
        user = "kube-sim-admin";
        groups.add("system:masters");
      }
      groups.add("system:authenticated");
      return body.put("status", new JsonObject().put("userInfo",
          new JsonObject().put("username", user).put("groups", groups)));
    }

    void update() {
      JsonObject body = objectBody();
      if ("scale".equals(path.subresource())) {
        sendJson(ctx, 200, Scale.update(registry, type, path.namespace(), path.name(), body, writeOptions()));
        return;
      }
      validateFields(body);
      sendJson(ctx, 200, registry.update(type, path.namespace(), path.name(), body, path.writtenSubresource(),
          writeOptions()));
    }

    void patch() {
      String contentType = MediaTypes.baseType(ctx.request().getHeader("Content-Type"));
      Buffer body = ctx.body().buffer();
      if (contentType.equals(MediaTypes.APPLY_PATCH)) {
        serverSideApply(body);
        return;
      }
      if (contentType.equals(MediaTypes.STRATEGIC_MERGE_PATCH) && !type.builtIn()) {
        throw KubeApiException.unsupportedMediaType(MediaTypes.JSON_PATCH, MediaTypes.MERGE_PATCH,
            MediaTypes.APPLY_PATCH);
      }
      if (!List.of(MediaTypes.JSON_PATCH, MediaTypes.MERGE_PATCH, MediaTypes.STRATEGIC_MERGE_PATCH)
          .contains(contentType)) {
        throw KubeApiException.unsupportedMediaType(MediaTypes.JSON_PATCH, MediaTypes.MERGE_PATCH,
            MediaTypes.STRATEGIC_MERGE_PATCH, MediaTypes.APPLY_PATCH);
      }
      JsonObject existing = registry.get(type, path.namespace(), path.name());
      boolean scale = "scale".equals(path.subresource());
      JsonObject current = scale ? Scale.of(type, existing) : existing;
      JsonObject patched = switch (contentType) {
        case MediaTypes.JSON_PATCH -> JsonPatches.jsonPatch(current, MediaTypes.jsonArray(body));
        case MediaTypes.MERGE_PATCH -> JsonPatches.mergePatch(current, MediaTypes.jsonObject(body));
        default -> StrategicMergePatch.apply(current, MediaTypes.jsonObject(body));
      };
      if (scale) {
        sendJson(ctx, 200, Scale.update(registry, type, path.namespace(), path.name(), patched, writeOptions()));
        return;
      }
      validateFields(patched);
      sendJson(ctx, 200, registry.update(type, path.namespace(), path.name(), patched, path.writtenSubresource(),
          writeOptions()));
    }

    private void serverSideApply(Buffer body) {
      String manager = param("fieldManager");
      if (manager == null || manager.isEmpty()) {
        throw new KubeApiException(422, "Invalid",
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
            null);
      }
      JsonObject config = MediaTypes.yamlObject(body);
      validateFields(config);
      Json.metadata(config).put("name", Json.metadata(config).getString("name", path.name()));
      if (!path.name().equals(Json.name(config))) {
        throw KubeApiException.badRequest("the name of the object (" + Json.name(config)
            + ") does not match the name on the URL (" + path.name() + ")");
      }
      Registry.WriteOptions noUpdateEntry = new Registry.WriteOptions(dryRun(), null);
      JsonObject existing = registry.find(type, path.namespace(), path.name());
      if (existing == null) {
        JsonObject object = ServerSideApply.apply(null, config, manager, type.groupVersion());
        sendJson(ctx, 201, registry.create(type, path.namespace(), object, noUpdateEntry));
        return;
      }
      List<ServerSideApply.Conflict> conflicts = ServerSideApply.conflicts(existing, config, manager);
      boolean force = "true".equals(param("force"));
      if (!conflicts.isEmpty() && !force) {
        throw ServerSideApply.conflictError(type, path.name(), conflicts);
      }
      JsonObject applied = ServerSideApply.apply(existing, config, manager, type.groupVersion(), conflicts);
      Json.metadata(applied).put("resourceVersion", Json.metadata(existing).getString("resourceVersion"));
      sendJson(ctx, 200, registry.update(type, path.namespace(), path.name(), applied, path.writtenSubresource(),
          noUpdateEntry));
    }

    void delete() {
      JsonObject deleted = registry.delete(type, path.namespace(), path.name(), deleteOptions(), dryRun());
      sendJson(ctx, 200, deleted);
    }

    void deleteCollection() {
      List<JsonObject> deleted = registry.deleteCollection(type, path.namespace(), labels(), fields(),
          deleteOptions(), dryRun());
      sendJson(ctx, 200, new JsonObject()
          .put("kind", type.listKind())
          .put("apiVersion", type.groupVersion())
          .put("metadata", new JsonObject().put("resourceVersion", Long.toString(registry.store().revision())))
          .put("items", new JsonArray(deleted)));
    }

    private void streamLog() {
      JsonObject pod = registry.get(type, path.namespace(), path.name());
      JsonArray containers = Json.arrayAt(pod, "spec", "containers");
      String container = param("container");
      if (container == null) {
        container = containers.isEmpty() ? "main" : containers.getJsonObject(0).getString("name");
      } else if (containers.stream().noneMatch(c -> c instanceof JsonObject json
          && param("container").equals(json.getString("name")))) {
        throw KubeApiException.badRequest("container " + container + " is not valid for pod " + path.name());
      }
      long tail = longParam("tailLines", -1);
      Instant since = null;
      if (param("sinceTime") != null) {
        try {
          since = Instant.parse(param("sinceTime"));
        } catch (DateTimeParseException e) {
          throw KubeApiException.badRequest("sinceTime: invalid value " + param("sinceTime"));
        }
      } else if (param("sinceSeconds") != null) {
        since = Instant.now().minusSeconds(Math.max(1, longParam("sinceSeconds", 1)));
      }
      String created = Json.stringAt(pod, "metadata.creationTimestamp");
      long start = created == null ? System.currentTimeMillis() : Instant.parse(created).toEpochMilli();
      PodLogStream stream = new PodLogStream(vertx, registry.store(), ctx.response(), path.namespace(), path.name(),
          container, isTrue(param("timestamps")), start, options.logLineIntervalMillis(), openStreams::remove);
      openStreams.add(stream);
      stream.start(since, tail, options.defaultLogLines(), isTrue(param("follow")));
    }

    /** Answers a single object as the object itself, a one-row Table, or its metadata. */
    private void sendShaped(JsonObject object) {
      MediaTypes.Negotiated shape = MediaTypes.negotiate(ctx.request().getHeader("Accept"));
      switch (shape.shape()) {
        case TABLE -> sendJson(ctx, 200, Tables.table(type, List.of(object), new JsonObject()
            .put("resourceVersion", Json.stringAt(object, "metadata.resourceVersion")),
            Tables.IncludeObject.parse(param("includeObject")), shape.apiVersion(), true));
        case PARTIAL_METADATA -> sendJson(ctx, 200, Tables.partialMetadata(object));
        default -> sendJson(ctx, 200, object);
      }
    }

    /** Drops fields the kind does not know, warning about them or failing under fieldValidation=Strict. */
    private void validateFields(JsonObject object) {
      for (String field : FieldValidation.apply(type, object, FieldValidation.Directive.parse(param("fieldValidation")))) {
        ctx.response().headers().add("Warning", "299 - \"unknown field \\\"" + field + "\\\"\"");
      }
    }

    private JsonObject objectBody() {
      String contentType = MediaTypes.baseType(ctx.request().getHeader("Content-Type"));
      Buffer body = ctx.body().buffer();
      return switch (contentType) {
        case MediaTypes.JSON -> MediaTypes.jsonObject(body);
        case MediaTypes.YAML -> MediaTypes.yamlObject(body);
        case MediaTypes.PROTOBUF -> ProtobufBodies.decode(body);
        default -> throw KubeApiException.unsupportedMediaType(MediaTypes.JSON, MediaTypes.YAML,
            MediaTypes.PROTOBUF);
      };
    }

    private JsonObject deleteOptions() {
      Buffer body = ctx.body().buffer();
      boolean protobuf = MediaTypes.PROTOBUF.equals(MediaTypes.baseType(ctx.request().getHeader("Content-Type")));
      JsonObject deleteOptions = body == null || body.length() == 0 ? new JsonObject()
          : protobuf ? ProtobufBodies.decode(body) : MediaTypes.jsonObject(body);
      if (param("propagationPolicy") != null) {
        deleteOptions.put("propagationPolicy", param("propagationPolicy"));
      }
      if (param("orphanDependents") != null) {
        deleteOptions.put("orphanDependents", isTrue(param("orphanDependents")));
      }
      String policy = deleteOptions.getString("propagationPolicy");
      if (policy != null && !List.of("Orphan", "Background", "Foreground").contains(policy)) {
        throw KubeApiException.badRequest("Unsupported value: \"" + policy
            + "\": supported values: \"Foreground\", \"Background\", \"Orphan\"");
      }
      JsonArray dryRun = deleteOptions.getJsonArray("dryRun");
      if (dryRun != null && dryRun.contains("All")) {
        ctx.put("dryRun", true);
      }
      return deleteOptions;
    }

    private Registry.WriteOptions writeOptions() {
      return new Registry.WriteOptions(dryRun(), manager());
    }

    /** The field manager: the query parameter, else what the apiserver derives from the User-Agent. */
    private String manager() {
      String manager = param("fieldManager");
      if (manager != null && !manager.isEmpty()) {
        return manager;
      }
      String agent = ctx.request().getHeader("User-Agent");
      if (agent == null || agent.isEmpty()) {
        return "unknown";
      }
      int slash = agent.indexOf('/');
      return slash > 0 ? agent.substring(0, slash) : agent;
    }

    private boolean dryRun() {
      List<String> values = ctx.queryParams().getAll("dryRun");
      for (String value : values) {
        if (!value.equals("All")) {
          throw KubeApiException.badRequest("Unsupported value: \"" + value + "\": supported values: \"All\"");
        }
      }
      return !values.isEmpty() || Boolean.TRUE.equals(ctx.get("dryRun"));
    }

    private LabelSelector labels() {
      return LabelSelector.parse(param("labelSelector"));
    }

    private FieldSelector fields() {
      return FieldSelector.parse(param("fieldSelector"));
    }

    private long limit() {
      return longParam("limit", 0);
    }

    private String param(String name) {
      return ctx.queryParams().get(name);
    }

    private long longParam(String name, long fallback) {
      String value = param(name);
      if (value == null || value.isEmpty()) {
        return fallback;
      }
      try {
        return Long.parseLong(value);
      } catch (NumberFormatException e) {
        throw KubeApiException.badRequest("invalid " + name + ": " + value);
      }
    }
  }

  private static String join(String selector, String term) {
    return selector == null || selector.isEmpty() ? term : selector + "," + term;
  }

  /** Boolean query parameters as the kube-apiserver reads them ({@code watch=True} is a watch). */
  private static boolean isTrue(String value) {
    return KubeQuery.isTrue(value);
  }

  static void sendJson(RoutingContext ctx, int code, JsonObject body) {
    if (ctx.response().ended()) {
      return;
    }
    ctx.response().setStatusCode(code).putHeader("Content-Type", MediaTypes.JSON).end(body.encode());
  }

  private static void sendError(RoutingContext ctx, KubeApiException error) {
    sendJson(ctx, error.code(), error.toStatus());
  }
}
