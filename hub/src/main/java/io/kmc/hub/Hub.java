package io.kmc.hub;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.NetworkConfig;
import io.kmc.common.Addresses;
import io.kmc.common.protocol.CloseCodes;
import io.kmc.common.protocol.Limits;
import io.kmc.hub.api.AgentManifest;
import io.kmc.hub.api.ApiVerticle;
import io.kmc.hub.api.AuditApi;
import io.kmc.hub.api.AuthApi;
import io.kmc.hub.api.ClustersApi;
import io.kmc.hub.api.FleetView;
import io.kmc.hub.api.SearchApi;
import io.kmc.hub.api.HealthApi;
import io.kmc.hub.api.KubePassthrough;
import io.kmc.hub.api.NotificationsApi;
import io.kmc.hub.api.PoliciesApi;
import io.kmc.hub.api.OpenApiDoc;
import io.kmc.hub.api.PolicyAdmission;
import io.kmc.hub.api.PropagationsApi;
import io.kmc.hub.api.TunnelLists;
import io.kmc.hub.api.TypedApi;
import io.kmc.hub.api.RbacApi;
import io.kmc.hub.api.UsersApi;
import io.kmc.hub.audit.AuditLog;
import io.kmc.hub.audit.Audits;
import io.kmc.hub.audit.SessionRecorder;
import io.kmc.hub.auth.AdminAccount;
import io.kmc.hub.auth.Authenticator;
import io.kmc.hub.auth.LoginGuard;
import io.kmc.hub.auth.OidcSignIn;
import io.kmc.hub.auth.TokenService;
import io.kmc.hub.cache.LocalSharedState;
import io.kmc.hub.cache.NodeAdmission;
import io.kmc.hub.cache.RedisSharedState;
import io.kmc.hub.cache.SharedState;
import io.kmc.hub.config.HubConfig;
import io.kmc.hub.console.ConsoleAssets;
import io.kmc.hub.config.Resources;
import io.kmc.hub.direct.DirectClusters;
import io.kmc.hub.gateway.Admission;
import io.kmc.hub.gateway.AgentGateway;
import io.kmc.hub.index.FleetIndex;
import io.kmc.hub.metrics.HubMetrics;
import io.kmc.hub.notify.NotificationService;
import io.kmc.hub.plugin.Plugins;
import io.kmc.hub.policy.PolicyEngine;
import io.kmc.hub.policy.PolicyService;
import io.kmc.hub.propagation.DriftSource;
import io.kmc.hub.propagation.Kube;
import io.kmc.hub.propagation.Lease;
import io.kmc.hub.propagation.PropagationController;
import io.kmc.hub.propagation.PropagationService;
import io.kmc.hub.propagation.PropagationStore;
import io.kmc.hub.rbac.Authorizer;
import io.kmc.hub.rbac.Rbac;
import io.kmc.hub.rbac.RbacService;
import io.kmc.hub.routing.ClusterRouter;
import io.kmc.hub.routing.FrameMessage;
import io.kmc.hub.routing.HubNodes;
import io.kmc.hub.routing.NodeChannel;
import io.kmc.hub.routing.Presence;
import io.kmc.hub.routing.ResourceCounts;
import io.kmc.hub.routing.SessionRegistry;
import io.kmc.hub.stream.StreamEndpoint;
import io.kmc.hub.stream.StreamService;
import io.kmc.hub.store.ClusterRecord;
import io.kmc.hub.store.ClusterRegistry;
import io.kmc.hub.store.Database;
import io.kmc.hub.store.IdentityStore;
import io.kmc.hub.store.InstallLinks;
import io.kmc.hub.tls.HandshakeGate;
import io.kmc.hub.tls.TlsEngine;
import io.kmc.hub.tls.TlsMaterial;
import io.kmc.ops.Concern;
import io.kmc.ops.Deadlines;
import io.kmc.ops.HealthChecks;
import io.kmc.ops.ManagementServer;
import io.kmc.ops.Metrics;
import io.kmc.plugin.PluginContext;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.ext.web.Route;
import io.vertx.spi.cluster.hazelcast.ConfigUtil;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * One hub node: creates Vert.x (clustered when configured), then deploys one verticle per concern,
 * in a fixed order, and stops them in reverse:
 *
 * <ol>
 *   <li>the management port ({@code /healthz} answers at once; {@code /ready} says "starting" until
 *       the node serves), so that health and a shutdown hook exist from the first second;</li>
 *   <li>the certificate and the database (migrations), then the shared state (Redis or in-process);</li>
 *   <li>the cluster registry, authentication (tokens, keys, the first admin), RBAC, the audit log, the
 *       plugins (jars of the plugins directory), the policies, the notifications (outbox dispatcher);</li>
 *   <li>routing: the node channel (one lane per verticle, over the event loops), the agent sessions,
 *       the router, the cluster gauges;</li>
 *   <li>directly served clusters, then the API and agent endpoint (one instance per core).</li>
 * </ol>
 *
 * Each concern's consumers and timers belong to its verticle's context and go when it is undeployed.
 * {@link HubMain} runs one node; tests run several in one JVM.
 */
public final class Hub {

  private static final Logger LOG = LoggerFactory.getLogger(Hub.class);
  /** How often the per-cluster gauges are refreshed from the presence map. */
  private static final long GAUGE_REFRESH_MILLIS = 5_000;

  private final HubConfig config;
  private final Vertx vertx;
  private final HubNodes nodes;
  private final PrometheusMeterRegistry registry;
  private final HubMetrics metrics;
  private final SessionRegistry sessions;
  private final NodeChannel channel;
  private final Presence presence;
  private final AtomicBoolean serving = new AtomicBoolean();
  private final List<String> deployments = new ArrayList<>();
  /** The HTTP API's instances, one per event loop, all serving the same routes. */
  private final List<ApiVerticle> apiVerticles = new CopyOnWriteArrayList<>();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger streaming = new AtomicInteger();
  private int port;
  private TlsMaterial tls;
  private TlsEngine tlsEngine;
  private final HandshakeGate handshakes;
  private Database database;
  private SharedState shared;
  private ClusterRegistry clusters;
  private IdentityStore identities;
  private TokenService tokens;
  private OidcSignIn oidcSignIn;
  private RbacService rbac;
  private AuditLog audit;
  private SessionRecorder recordings;
  private PolicyService policies;
  private NotificationService notifications;
  private volatile Plugins plugins = Plugins.none();
  private ClusterRouter router;
  private FleetIndex index;
  private PropagationService propagations;
  private PropagationController controller;
  private StreamService streams;
  private ManagementServer management;

  private Hub(HubConfig config, Created created) {
    this.config = config;
    this.vertx = created.vertx();
    this.nodes = created.nodes();
    this.registry = created.registry();
    this.metrics = new HubMetrics(registry, config.management().perClusterDetail());
    this.sessions = new SessionRegistry(vertx);
    FrameMessage.register(vertx.eventBus());
    this.channel = new NodeChannel(vertx, nodes, sessions);
    this.presence = new Presence(vertx, nodes);
    metrics.agentSessions(sessions::agentSessions);
    this.handshakes = new HandshakeGate(config.server().tls().maxConcurrentHandshakes());
    metrics.tlsHandshakes(handshakes::running, handshakes::waiting, handshakes::closedWaiting);
  }

  public static Future<Hub> start(HubConfig config) {
    // Not tied to the new Vert.x instance: a failed start closes it, and the caller must still hear why.
    Promise<Hub> started = Promise.promise();
    createVertx(config).onComplete(created -> {
      if (created.failed()) {
        started.fail(created.cause());
        return;
      }
      Hub hub = new Hub(config, created.result());
      hub.deploy().onComplete(deployed -> {
        if (deployed.succeeded()) {
          started.complete(hub);
        } else {
          started.fail(deployed.cause());
          hub.vertx.close();
        }
      });
    });
    return started.future();
  }

  private record Created(Vertx vertx, HubNodes nodes, PrometheusMeterRegistry registry) {
  }

  private static Future<Created> createVertx(HubConfig config) {
    PrometheusMeterRegistry registry = Metrics.newRegistry();
    // Linux epoll where its native library loads (netty-transport-native-epoll), else NIO: Vert.x falls back
    // by itself and says so with isNativeTransportEnabled(), which start() logs.
    VertxOptions options = new VertxOptions().setPreferNativeTransport(config.server().nativeTransport());
    if (!config.cluster().enabled()) {
      Vertx vertx = Metrics.instrument(Vertx.builder(), options, registry).build();
      return Future.succeededFuture(new Created(vertx, HubNodes.standalone(), registry));
    }
    HubConfig.Clustering c = config.cluster();
    HazelcastClusterManager manager = new HazelcastClusterManager(hazelcastConfig(c));
    String publicHost = c.publicHost() == null ? c.host() : c.publicHost();
    options.setEventBusOptions(new EventBusOptions().setHost(c.host()).setPort(c.eventBusPort())
        .setClusterPublicHost(publicHost));
    return Metrics.instrument(Vertx.builder(), options, registry).withClusterManager(manager).buildClustered()
        .map(vertx -> new Created(vertx, HubNodes.clustered(vertx, manager), registry));
  }

  /**
   * Hazelcast on top of the settings Vert.x needs for its maps (from {@link ConfigUtil}), joining
   * by TCP-IP member list or through the Kubernetes API; never multicast.
   */
  static Config hazelcastConfig(HubConfig.Clustering c) {
    Config hz = ConfigUtil.loadConfig();
    hz.setClusterName(c.name());
    hz.setProperty("hazelcast.phone.home.enabled", "false");
    hz.setProperty("hazelcast.wait.seconds.before.join", "0");
    hz.setProperty("hazelcast.logging.type", "slf4j");
    hz.setProperty("hazelcast.shutdownhook.enabled", "false");
    // A member that stops answering (frozen, cut off) holds partitions nobody else can write until it is
    // dropped: Hazelcast's 60 s default kept presence writes, hence agents that moved, waiting that long.
    long timeout = Math.max(3, c.memberTimeout().toSeconds());
    hz.setProperty("hazelcast.max.no.heartbeat.seconds", String.valueOf(timeout));
    hz.setProperty("hazelcast.heartbeat.interval.seconds", String.valueOf(Math.max(1, timeout / 5)));
    // A dropped member that is heard again merges back soon, instead of after Hazelcast's 300 s.
    hz.setProperty("hazelcast.merge.first.run.delay.seconds", "10");
    hz.setProperty("hazelcast.merge.next.run.delay.seconds", "10");
    NetworkConfig network = hz.getNetworkConfig();
    network.setPort(c.port()).setPortAutoIncrement(c.port() == 0 || c.members().isEmpty());
    if (c.publicHost() != null) {
      network.setPublicAddress(c.publicHost());
    }
    if (!"0.0.0.0".equals(c.host())) {
      network.getInterfaces().setEnabled(true).addInterface(c.host());
      hz.setProperty("hazelcast.local.localAddress", c.host());
      // Without this Hazelcast binds every interface and only advertises the chosen one.
      hz.setProperty("hazelcast.socket.bind.any", "false");
    }
    JoinConfig join = network.getJoin();
    join.getMulticastConfig().setEnabled(false);
    join.getAutoDetectionConfig().setEnabled(false);
    if (c.kubernetesDiscovery()) {
      join.getTcpIpConfig().setEnabled(false);
      var kubernetes = join.getKubernetesConfig().setEnabled(true).setProperty("service-name", c.kubernetesServiceName());
      if (c.kubernetesNamespace() != null) {
        kubernetes.setProperty("namespace", c.kubernetesNamespace());
      }
    } else {
      join.getTcpIpConfig().setEnabled(true).setMembers(c.members().isEmpty() ? List.of(c.host()) : c.members());
    }
    return hz;
  }

  private Future<Void> deploy() {
    return deployManagement()
        .compose(v -> vertx.<TlsMaterial>executeBlocking(this::tlsMaterial, false))
        .compose(material -> {
          tls = material;
          // Loading the native TLS library unpacks and links it: not on an event loop either.
          return material != null && material.serves()
              ? vertx.executeBlocking(() -> TlsEngine.of(config.server().tls().engine()).gated(handshakes), false)
              : Future.<TlsEngine>succeededFuture(null);
        })
        .compose(engine -> {
          tlsEngine = engine;
          return Database.start(vertx, config.database(), config.dataDir());
        })
        .compose(db -> {
          database = db;
          return startSharedState();
        })
        .compose(v -> concern("registry", this::startRegistry, () -> {
          clusters.stop();
          return Future.succeededFuture();
        }))
        .compose(v -> concern("auth", this::startAuth, () -> {
          tokens.close();
          if (oidcSignIn != null) {
            oidcSignIn.close();
          }
          return Future.succeededFuture();
        }))
        .compose(v -> concern("rbac", this::startRbac, Future::succeededFuture))
        .compose(v -> concern("audit", () -> {
          audit = new AuditLog(vertx, database.pool(), config.audit());
          metrics.auditQueue(audit::pending, audit::dropped, audit::rejected);
          audit.start();
          recordings = new SessionRecorder(database.pool(), config.audit());
          recordings.start(vertx);
          return Future.succeededFuture();
        }, () -> audit.close()))
        .compose(v -> concern("plugins", () -> {
          long timeout = config.notifications().requestTimeout().toMillis();
          PluginContext context = new PluginContext() {
            @Override
            public Vertx vertx() {
              return vertx;
            }

            @Override
            public long requestTimeoutMillis() {
              return timeout;
            }
          };
          // Jar files and class loading: on a worker.
          return vertx.executeBlocking(() -> Plugins.load(config.plugins().dir(), context,
              NotificationService.builtInTypes()), false).onSuccess(loaded -> plugins = loaded);
        }, () -> {
          plugins.close();
          return Future.succeededFuture();
        }))
        .compose(v -> concern("policies", () -> {
          HubConfig.Policies p = config.policies();
          // Building the CEL environments loads a good many classes: not on an event loop.
          return vertx.executeBlocking(() -> new PolicyEngine(p.costLimit(), p.maxExpressionChars(),
                  plugins.functions()), false)
              .compose(engine -> {
                policies = new PolicyService(vertx, database.pool(), engine, p.maxPolicies());
                return policies.start();
              });
        }, () -> policies.stop()))
        .compose(v -> concern("notifications", () -> {
          notifications = new NotificationService(vertx, database.pool(), shared, clusters, metrics,
              config.notifications(), nodes.nodeId());
          plugins.channels().forEach(notifications.types()::add);
          return notifications.start();
        }, () -> notifications.stop()))
        .compose(v -> deployRouting())
        .compose(v -> deploy(new DirectClusters(directClusters(), nodes, channel, sessions, presence,
            config.tunnel().limits(), config.tunnel().maxQueuedRequests(), metrics, index), new DeploymentOptions()))
        .compose(v -> concern("propagation", this::startPropagation, () -> controller.stop()))
        .compose(v -> deployApi())
        .onSuccess(v -> {
          serving.set(true);
          if (config.server().nativeTransport() && !vertx.isNativeTransportEnabled()) {
            Throwable cause = vertx.unavailableNativeTransportCause();
            LOG.info("native transport (epoll) unavailable here, using Java NIO: {}",
                cause == null ? "unknown" : cause.getMessage());
          }
          LOG.info("hub node {} serving {} on {}:{} ({} cluster(s) registered, {}, {} database, {}, {} sockets)",
              HubNodes.shortId(nodes.nodeId()),
              tls == null || !tls.serves() ? "plain HTTP" : "HTTPS (TLS by " + tlsEngine.description() + ")",
              config.server().host(), port, clusters.list().size(), nodes.clustered() ? "clustered" : "single node",
              config.database().embedded() ? "embedded" : "external",
              config.redis().configured() ? "Redis" : "in-process shared state",
              vertx.isNativeTransportEnabled() ? "epoll" : "NIO");
        });
  }

  /** Reads or generates the certificate (file I/O and key generation: not on an event loop). */
  private TlsMaterial tlsMaterial() {
    HubConfig.Tls settings = config.server().tls();
    return switch (settings.mode()) {
      // Behind a proxy that terminates TLS: no certificate here, but clients may need the proxy's CA.
      case "off" -> settings.caFile() == null ? null : TlsMaterial.trustOnly(Resources.read(settings.caFile(), null));
      case "files" -> TlsMaterial.fromFiles(settings.certFile(), settings.keyFile(), settings.caFile());
      default -> {
        List<String> hosts = new ArrayList<>(settings.hosts());
        if (config.server().publicUrl() != null) {
          hosts.add(URI.create(config.server().publicUrl()).getHost());
        }
        yield TlsMaterial.selfSigned(config.dataDir().resolve("tls"), hosts);
      }
    };
  }

  /** Deploys one concern as a verticle of its own; it is undeployed (and stopped) in reverse order. */
  private Future<Void> concern(String name, Supplier<Future<?>> start, Supplier<Future<?>> stop) {
    return deploy(Concern.of(name, start, stop), new DeploymentOptions());
  }

  private Future<Void> deploy(io.vertx.core.Deployable verticle, DeploymentOptions options) {
    return vertx.deployVerticle(verticle, options).onSuccess(deployments::add).mapEmpty();
  }

  private Future<Void> startSharedState() {
    HubConfig.Redis redis = config.redis();
    if (!redis.configured()) {
      shared = new LocalSharedState(vertx);
    } else {
      RedisSharedState inRedis = RedisSharedState.create(vertx, redis.url(), redis.password(), redis.keyPrefix());
      shared = redis.admissionSync().isZero() ? inRedis
          : new NodeAdmission(vertx, inRedis, nodes.nodeId(), nodes::members, redis.admissionSync());
    }
    return shared.ping()
        .recover(e -> Future.failedFuture("Redis at " + redis.url() + " does not answer: " + e.getMessage()));
  }

  private Future<?> startRegistry() {
    clusters = new ClusterRegistry(vertx, database.pool());
    clusters.onRevoked((cluster, reason) -> sessions.closeCluster(cluster, CloseCodes.REVOKED, reason));
    return clusters.start().compose(v -> clusters.upsert(config.clusters()));
  }

  /**
   * The propagations: the service the API uses on every node, and the controller, which every node
   * runs and only the holder of the lease acts on. Its requests go through the router, as the
   * pass-through's do.
   */
  private Future<?> startPropagation() {
    HubConfig.Propagation p = config.propagation();
    PropagationStore store = new PropagationStore(database.pool());
    // Every node's stream follows every node's writes (the API's on any node, the controller's on one).
    store.onChange(name -> vertx.eventBus().publish(PropagationStore.STATUS_CHANGED,
        new io.vertx.core.json.JsonObject().put("name", name)));
    Kube kube = new Kube(vertx, router);
    propagations = new PropagationService(vertx, store, clusters, policies, kube);
    Lease lease = new Lease(database.pool(), nodes.nodeId() + "/" + java.util.UUID.randomUUID(),
        p.leaseTtl().toMillis());
    controller = new PropagationController(vertx, store, clusters, policies, kube, new DriftSource.Polling(kube),
        lease, presence, metrics, notifications, new PropagationController.Settings(p.resyncInterval().toMillis(),
        p.driftInterval().toMillis(), p.leaseTtl().toMillis(), config.tunnel().limits().pingTimeoutMillis()));
    return controller.start();
  }

  private Future<?> startAuth() {
    identities = new IdentityStore(database.pool());
    return TokenService.start(vertx, identities, shared, config.auth()).compose(started -> {
      tokens = started;
      oidcSignIn = OidcSignIn.configured(config.auth().oidc())
          ? new OidcSignIn(vertx, config.auth().oidc(), shared, tokens) : null;
      return AdminAccount.ensure(vertx, identities, tokens, config.auth().adminPassword(), config.dataDir());
    });
  }

  private Future<?> startRbac() {
    return vertx.executeBlocking(() -> new String[] {
            Resources.read(config.rbac().modelFile(), Rbac.MODEL_RESOURCE),
            Resources.read(config.rbac().policiesFile(), Rbac.POLICIES_RESOURCE)}, false)
        .compose(files -> {
          rbac = new RbacService(vertx, database.pool(), files[0]);
          return rbac.start(files[1]);
        });
  }

  /** The node channel's lanes, one verticle each, then sessions, the router and the gauges that read them. */
  private Future<Void> deployRouting() {
    AtomicInteger lanes = new AtomicInteger();
    router = new ClusterRouter(vertx, nodes, channel, sessions, presence, clusters, config.tunnel().limits());
    index = config.index().enabled() ? new FleetIndex(vertx, database.pool(), config.index(), metrics) : null;
    ResourceCounts resourceCounts = new ResourceCounts(vertx, metrics, this::localClusters,
        clusters -> index == null ? Future.succeededFuture(Map.of()) : index.counts(clusters));
    return vertx.deployVerticle(() -> {
      int lane = lanes.getAndIncrement();
      return Concern.of("node-channel-" + lane, () -> channel.listen(lane), Future::succeededFuture);
    }, new DeploymentOptions().setInstances(Addresses.NODE_LANES)).onSuccess(deployments::add)
        .compose(v -> concern("sessions", () -> sessions.start().compose(x -> router.start()).onSuccess(x -> {
          vertx.setPeriodic(GAUGE_REFRESH_MILLIS, t -> refreshClusterGauges());
          resourceCounts.start(config.management().resourceCountInterval().toMillis());
        }), () -> {
          resourceCounts.stop();
          return Future.succeededFuture();
        }));
  }

  /** The clusters this node serves: the agents it holds, and the directly served ones. */
  private Set<String> localClusters() {
    Set<String> local = new HashSet<>();
    sessions.all().forEach(session -> local.add(session.session().cluster()));
    directClusters().forEach(entry -> local.add(entry.name()));
    return local;
  }

  /** Direct clusters from the configuration that are still registered and enabled. */
  private List<HubConfig.ClusterEntry> directClusters() {
    return config.clusters().stream().filter(HubConfig.ClusterEntry::direct).toList();
  }

  private Future<Void> deployApi() {
    // The console's files are read from the jar once, off the event loop.
    return vertx.executeBlocking(ConsoleAssets::load, false).compose(this::deployApi);
  }

  private Future<Void> deployApi(ConsoleAssets console) {
    Limits limits = config.tunnel().limits();
    Authorizer authorizer = new Authorizer(rbac);
    AgentGateway gateway = new AgentGateway(vertx, nodes, channel, presence, sessions, clusters, limits, metrics,
        config.tunnel().helloTimeout().toMillis(), notifications, config.notifications().disconnectGrace().toMillis(),
        index, new Admission(config.tunnel().admissionRate()), config.tunnel().maxQueuedRequests());
    String caPem = tls == null ? null : tls.clientTrustPem();
    KubePassthrough passthrough = new KubePassthrough(router, streaming, recordings,
        new PolicyAdmission(policies, clusters, router, metrics, notifications));
    SearchApi search = index == null ? null : SearchApi.create(index, authorizer, clusters, presence,
        limits.pingTimeoutMillis(), config.index().maxPageSize());
    Authenticator authenticator = new Authenticator(tokens, shared, config.auth().requestsPerMinute(),
        config.streams().ticketLifetime());
    streams = index == null ? null : new StreamService(vertx, index, authorizer, clusters, presence,
        config.streams(), limits.pingTimeoutMillis(), metrics, propagations);
    ApiVerticle.Routes routes = new ApiVerticle.Routes(gateway,
        authenticator, authorizer, Audits.recorder(audit),
        passthrough,
        new ClustersApi(clusters, presence, authorizer, tokens, limits.pingTimeoutMillis(),
            config.server().publicUrl(), caPem, config.auth().kubeconfigTokenLifetime(),
            new AgentManifest(config.server().agentImage(), caPem), config.rbac().impersonate(),
            new ClustersApi.Install(new InstallLinks(database.pool()), config.auth().installLinkLifetime(),
                tls == null || tls.clientTrustPem() == null ? null : tls.publicKeyPin()), notifications),
        new AuthApi(tokens, identities, new LoginGuard(vertx, shared, config.auth().loginAttempts(),
            config.auth().loginWindow(), notifications), authorizer, audit, config.auth().oidc(), oidcSignIn,
            config.server().publicUrl()),
        new UsersApi(identities, tokens), new RbacApi(rbac), new AuditApi(audit, recordings), new HealthApi(readiness()), metrics,
        inFlight, config.server().maxBodyBytes(), limits.maxFrameBytes(), tls, config.server().accessLog(),
        new PoliciesApi(policies, clusters), new NotificationsApi(notifications),
        new TypedApi(authorizer, passthrough, new TunnelLists(passthrough), TypedApi.DISCOVERY_TTL), new OpenApiDoc(),
        search, search == null ? null : new FleetView(search, streaming, router,
            config.streams().maxReplay(), config.streams().bookmarkInterval().toMillis()), new PropagationsApi(propagations),
        streams == null ? null : new StreamEndpoint(streams, authenticator), console);
    int instances = Math.max(1, Runtime.getRuntime().availableProcessors());
    // Port 0 becomes -1: Vert.x then binds one random port that all instances share.
    int requested = config.server().port() == 0 ? -1 : config.server().port();
    List<ApiVerticle> started = new ArrayList<>();
    Future<Void> streamsStarted = streams == null ? Future.succeededFuture()
        : concern("streams", streams::start, streams::stop);
    return streamsStarted.compose(x -> vertx.deployVerticle(() -> {
      ApiVerticle verticle = new ApiVerticle(routes, config.server().host(), requested, tlsEngine);
      started.add(verticle);
      apiVerticles.add(verticle);
      return verticle;
    }, new DeploymentOptions().setInstances(instances))).map(id -> {
      deployments.add(id);
      port = started.get(0).actualPort();
      return null;
    });
  }

  /** One readiness check per dependency; the same on the API port and on the management port. */
  private HealthChecks readiness() {
    return new HealthChecks()
        .add("server", () -> serving.get() ? Future.succeededFuture("accepting requests")
            : Future.failedFuture("starting or shutting down"))
        .add("cluster", () -> !nodes.clustered() || nodes.members().contains(nodes.nodeId())
            ? Future.succeededFuture(nodes.members().size() + " hub node(s)")
            : Future.failedFuture("not a member of the hub cluster"))
        .add("database", () -> database == null ? Future.failedFuture("starting") : database.ping().map("ok"))
        .add(config.redis().configured() ? "redis" : "shared-state",
            () -> shared == null ? Future.failedFuture("starting") : shared.ping().map("ok"))
        // A broken plugin jar does not keep the node from serving: it is named here, and logged.
        .add("plugins", () -> Future.succeededFuture(plugins.describe()));
  }

  private Future<Void> deployManagement() {
    HubConfig.Management m = config.management();
    if (!m.enabled()) {
      return Future.succeededFuture();
    }
    // Port 0 becomes -2: a random port of its own (-1 is the API's, shared by its instances).
    management = new ManagementServer(m.host(), m.port() == 0 ? -2 : m.port(), readiness(), registry);
    return deploy(management, new DeploymentOptions());
  }

  private void refreshClusterGauges() {
    long pingTimeout = config.tunnel().limits().pingTimeoutMillis();
    presence.all().onSuccess(entries -> {
      long now = System.currentTimeMillis();
      Map<String, HubMetrics.ClusterGauge> gauges = new HashMap<>();
      for (ClusterRecord cluster : clusters.list()) {
        Presence.Entry entry = entries.get(cluster.name());
        gauges.put(cluster.name(), new HubMetrics.ClusterGauge(presence.live(entry, pingTimeout, now),
            entry == null ? 0 : entry.lastSeen(), entry == null ? -1 : entry.latencyMillis()));
      }
      metrics.clusters(gauges);
    });
  }

  /**
   * Stops gracefully, within {@code server.shutdown_grace}: the node reports not ready (load
   * balancers stop sending), asks its agents to finish and reconnect to another node, lets requests
   * in flight finish, then stops serving, leaves the cluster and closes what it holds.
   */
  public Future<Void> close() {
    serving.set(false);
    long deadline = System.currentTimeMillis() + config.server().shutdownGrace().toMillis();
    List<Future<Void>> drained = new ArrayList<>();
    sessions.all().forEach(local -> drained.add(local.session().drain("hub node " + HubNodes.shortId(nodes.nodeId())
        + " is shutting down")));
    // Requests in flight are waited for; streams are not (they never finish by themselves): closing the
    // server ends them, and their clients resume through another node.
    return Future.join(drained)
        .transform(ar -> Deadlines.waitUntil(vertx, deadline, 50,
            () -> sessions.agentSessions() == 0 && inFlight.get() - streaming.get() <= 0))
        .transform(ar -> {
          if (sessions.agentSessions() > 0 || inFlight.get() - streaming.get() > 0) {
            LOG.warn("shutdown grace ({}) over with {} agent session(s) and {} request(s) still in flight; stopping anyway",
                config.server().shutdownGrace(), sessions.agentSessions(), inFlight.get() - streaming.get());
          }
          return undeployAll();
        })
        .eventually(() -> shared == null ? Future.succeededFuture() : shared.close())
        .eventually(() -> database == null ? Future.succeededFuture() : database.close())
        .eventually(vertx::close);
  }

  /**
   * Stops as a process killed with SIGKILL would, for tests of node loss: no drain, no goodbye to
   * the hub cluster; its sockets just close.
   */
  Future<Void> halt() {
    serving.set(false);
    if (controller != null) {
      controller.abandon();
    }
    nodes.terminate();
    return vertx.close().recover(e -> Future.succeededFuture());
  }

  private Future<Void> undeployAll() {
    List<String> reversed = new ArrayList<>(deployments);
    Collections.reverse(reversed);
    Future<Void> chain = Future.succeededFuture();
    for (String id : reversed) {
      chain = chain.compose(v -> vertx.undeploy(id).recover(e -> Future.succeededFuture()));
    }
    return chain;
  }

  /** The management port actually bound (when configured as 0), or -1 if there is none. */
  public int managementPort() {
    return management == null ? -1 : management.actualPort();
  }

  /** The routes of the HTTP API, as registered on its router (every instance has the same). */
  public List<Route> apiRoutes() {
    return apiVerticles.get(0).routeTable();
  }

  public int port() {
    return port;
  }

  public String nodeId() {
    return nodes.nodeId();
  }

  public Vertx vertx() {
    return vertx;
  }

  /** Node ids of the hub cluster's members as this node sees them now, its own included. */
  public java.util.Set<String> clusterMembers() {
    return nodes.members();
  }

  /** The node's live streams, or null without a fleet index. */
  public StreamService streams() {
    return streams;
  }

  public SessionRegistry sessions() {
    return sessions;
  }

  /** Whether this node is the propagation controller now (holds the lease). */
  public boolean propagationController() {
    return controller != null && controller.leading();
  }
}
