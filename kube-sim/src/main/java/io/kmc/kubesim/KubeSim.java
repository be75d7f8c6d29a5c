package io.kmc.kubesim;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemKeyCertOptions;
import java.util.List;
import java.util.function.Function;

/**
 * An in-JVM Kubernetes API server for tests, the demo and benchmarks: discovery, CRUD with
 * resourceVersions, selectors and paging, watches over chunked HTTP, JSON/merge/strategic merge
 * patches, server-side apply, status/scale/log subresources, CRDs, Tables, OpenAPI v2/v3 with
 * schemas and field validation, Events, the metrics API, exec/attach/port-forward into simulated
 * containers, and controllers that roll Deployments out through ReplicaSets and pods. Good enough for unmodified kubectl and client-java (informers
 * included); {@code docs/kube-sim.md} says what it does and does not do.
 *
 * <p>Each instance is one verticle on the caller's {@link Vertx}: its state lives on that
 * verticle's event-loop context, it owns no threads, and starting or closing one takes
 * milliseconds, so hundreds can share a JVM.
 */
public final class KubeSim {

  private final Vertx vertx;
  private final String deploymentId;
  private final SimVerticle verticle;
  private final KubeSimOptions options;

  private KubeSim(Vertx vertx, String deploymentId, SimVerticle verticle, KubeSimOptions options) {
    this.vertx = vertx;
    this.deploymentId = deploymentId;
    this.verticle = verticle;
    this.options = options;
  }

  /** Binds the server (port 0 picks a free one) and seeds it if asked. */
  public static Future<KubeSim> start(Vertx vertx, KubeSimOptions options) {
    SimVerticle verticle = new SimVerticle(options);
    return vertx.deployVerticle(verticle).map(id -> new KubeSim(vertx, id, verticle, options));
  }

  public int port() {
    return verticle.server.actualPort();
  }

  /** The base URL, e.g. {@code http://127.0.0.1:40123} ({@code https} with a certificate). */
  public String url() {
    return (options.certificate() == null ? "http" : "https") + "://" + options.host() + ":" + port();
  }

  /** The gitVersion served at /version. */
  public String version() {
    return options.gitVersion();
  }

  /** A kubeconfig whose current context (named {@code contextName}) points at {@link #url()}. */
  public String kubeconfig(String contextName) {
    return Kubeconfig.render(contextName, url(), options.token(),
        options.certificate() == null ? null : options.certificate().certificatePem());
  }

  /**
   * From now on every request must carry this bearer token (null: none is needed), as after the
   * service-account token of the caller was rotated; kubeconfigs rendered later carry it.
   */
  public void acceptToken(String token) {
    options.token(token);
  }

  /**
   * How many open watches and followed logs cannot write because their client stopped reading
   * (the connection's write queue is full): what a client's back-pressure looks like from here.
   */
  public Future<Integer> streamsBackedUp() {
    return onContext(registry -> verticle.api.backedUpStreams());
  }

  /** How many requests came over HTTP/2 (see {@link KubeSimOptions#http2}). */
  public Future<Long> requestsOverHttp2() {
    return onContext(registry -> verticle.api.http2Requests());
  }

  /** Stops the server; open watches and followed logs end, controller timers stop. */
  public Future<Void> close() {
    return vertx.undeploy(deploymentId);
  }

  /** How many requests with this Kubernetes verb (get, list, watch, create, update, patch, delete...) hit the path. */
  public long requestCount(String verb, String path) {
    return verticle.counter.get(verb, path);
  }

  /**
   * Creates an object directly (no HTTP), as a test fixture would; its apiVersion and kind pick
   * the resource. Fails with the same errors the API gives (e.g. AlreadyExists).
   */
  public Future<JsonObject> create(JsonObject object) {
    return onContext(registry -> {
      ResourceType type = typeOf(registry, object);
      return registry.create(type, Json.namespace(object), object, Registry.WriteOptions.internal("kube-sim"));
    });
  }

  /** Reads an object directly (no HTTP); completes with null when it does not exist. */
  public Future<JsonObject> get(String apiVersion, String kind, String namespace, String name) {
    return onContext(registry -> {
      ResourceType type = registry.catalog().findByKind(apiVersion, kind)
          .orElseThrow(() -> new IllegalArgumentException("not served: " + apiVersion + " " + kind));
      return registry.find(type, namespace, name);
    });
  }

  private static ResourceType typeOf(Registry registry, JsonObject object) {
    String apiVersion = object.getString("apiVersion", "");
    String kind = object.getString("kind", "");
    return registry.catalog().findByKind(apiVersion, kind)
        .orElseThrow(() -> new IllegalArgumentException("not served: " + apiVersion + " " + kind));
  }

  /** Runs on the simulator's context, where all state lives; API errors fail the future with their Status message. */
  private <T> Future<T> onContext(Function<Registry, T> action) {
    Promise<T> promise = Promise.promise();
    verticle.context().runOnContext(v -> {
      try {
        promise.complete(action.apply(verticle.registry));
      } catch (KubeApiException e) {
        promise.fail(new IllegalStateException(e.code() + " " + e.reason() + ": " + e.getMessage()));
      } catch (RuntimeException e) {
        promise.fail(e);
      }
    });
    return promise.future();
  }

  /** The simulator as a verticle, so that undeploying it closes the server and cancels its timers. */
  private static final class SimVerticle extends VerticleBase {
    /**
     * Websocket frames a client may send (Vert.x's default is 64 KiB; Go's websocket servers take far
     * more, and exec stdin streams frame by frame, so a big frame costs no more than its own size).
     */
    private static final int MAX_WEBSOCKET_FRAME_BYTES = 1024 * 1024;
    /** Whole messages, which only the base64 channel protocols read at once. */
    private static final int MAX_WEBSOCKET_MESSAGE_BYTES = 4 * 1024 * 1024;
    /** Shared by every simulator in the JVM (Vert.x counts the users of a named pool). */
    private static final String EXEC_WORKER_POOL = "kube-sim-exec";
    private final KubeSimOptions options;
    private final RequestCounter counter = new RequestCounter();
    private volatile HttpServer server;
    private Registry registry;
    private ApiServer api;
    private WorkloadController controller;
    private EventExpiry eventExpiry;
    private WorkerExecutor execWorkers;

    SimVerticle(KubeSimOptions options) {
      this.options = options;
    }

    Context context() {
      return context;
    }

    @Override
    public Future<?> start() {
      registry = new Registry(new ResourceCatalog(), new ObjectStore(options.watchHistory()));
      controller = new WorkloadController(vertx, context, registry, new EventRecorder(registry),
          options.controllerDelayMillis(), options.podsPerDeployment());
      registry.store().addListener(controller);
      eventExpiry = new EventExpiry(vertx, registry.store(), options.eventTtlMillis());
      registry.store().addListener(eventExpiry);
      if (options.metricsApi()) {
        new MetricsApi(registry, System::currentTimeMillis).serve();
      } else {
        registry.catalog().withdrawGroup("metrics.k8s.io");
      }
      execWorkers = vertx.createSharedWorkerExecutor(EXEC_WORKER_POOL, options.execWorkerThreads());
      ContainerRuntime containers = new ContainerRuntime(vertx, registry, options.containerDiskBytes(), execWorkers);
      registry.store().addListener(containers);
      Seed.namespaces(registry, List.of("default", "kube-system", "kube-public", "kube-node-lease"));
      if (options.seed()) {
        Seed.cluster(registry, options.gitVersion());
      }
      api = new ApiServer(vertx, options, registry, counter, () -> options.host() + ":" + server.actualPort(),
          containers);
      HttpServerOptions serverOptions = new HttpServerOptions().setHost(options.host()).setPort(options.port())
          .setCompressionSupported(false)
          .setMaxWebSocketFrameSize(MAX_WEBSOCKET_FRAME_BYTES)
          .setMaxWebSocketMessageSize(MAX_WEBSOCKET_MESSAGE_BYTES)
          .setHttp2ClearTextEnabled(false); // like the kube-apiserver, no h2c upgrade
      if (options.certificate() != null) {
        serverOptions.setSsl(true).setKeyCertOptions(new PemKeyCertOptions()
            .addCertValue(Buffer.buffer(options.certificate().certificatePem()))
            .addKeyValue(Buffer.buffer(options.certificate().privateKeyPem())));
        if (options.http2()) {
          serverOptions.setUseAlpn(true).setAlpnVersions(List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1));
        }
      }
      return vertx.createHttpServer(serverOptions)
          .requestHandler(api.router())
          .listen()
          .onSuccess(bound -> server = bound);
    }

    @Override
    public Future<?> stop() {
      controller.stop();
      eventExpiry.stop();
      api.endStreams();
      return server.close().onComplete(closed -> execWorkers.close());
    }
  }
}
