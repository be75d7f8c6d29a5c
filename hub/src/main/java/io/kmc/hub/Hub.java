package io.kmc.hub;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.NetworkConfig;
import io.kmc.hub.api.ApiVerticle;
import io.kmc.hub.api.ClustersApi;
import io.kmc.hub.api.HealthApi;
import io.kmc.hub.api.KubePassthrough;
import io.kmc.hub.auth.Authenticator;
import io.kmc.hub.direct.DirectClusters;
import io.kmc.hub.gateway.AgentGateway;
import io.kmc.hub.routing.ClusterRouter;
import io.kmc.hub.routing.HubNodes;
import io.kmc.hub.routing.NodeChannel;
import io.kmc.hub.routing.Presence;
import io.kmc.hub.routing.SessionRegistry;
import io.kmc.hub.store.ClusterRegistry;
import io.kmc.hub.tls.TlsMaterial;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.spi.cluster.hazelcast.ConfigUtil;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One hub node: creates Vert.x (clustered when configured), the shared services, and deploys the
 * verticles, then stops them in reverse order. {@link HubMain} runs one; tests run several in one
 * JVM.
 */
public final class Hub {

  private static final Logger LOG = LoggerFactory.getLogger(Hub.class);

  private final HubConfig config;
  private final Vertx vertx;
  private final HubNodes nodes;
  private final SessionRegistry sessions;
  private final NodeChannel channel;
  private final AtomicBoolean serving = new AtomicBoolean();
  private final List<String> deployments = new ArrayList<>();
  private int port;

  private Hub(HubConfig config, Vertx vertx, HubNodes nodes) {
    this.config = config;
    this.vertx = vertx;
    this.nodes = nodes;
    this.sessions = new SessionRegistry(vertx);
    this.channel = new NodeChannel(vertx, nodes);
  }

  public static Future<Hub> start(HubConfig config) {
    // Not tied to the new Vert.x instance: a failed start closes it, and the caller must still hear why.
    Promise<Hub> started = Promise.promise();
    createVertx(config).onComplete(created -> {
      if (created.failed()) {
        started.fail(created.cause());
        return;
      }
      Hub hub = new Hub(config, created.result().vertx, created.result().nodes);
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

  private record Created(Vertx vertx, HubNodes nodes) {
  }

  private static Future<Created> createVertx(HubConfig config) {
    VertxOptions options = new VertxOptions();
    if (!config.cluster().enabled()) {
      Vertx vertx = Vertx.vertx(options);
      return Future.succeededFuture(new Created(vertx, HubNodes.standalone(vertx)));
    }
    HubConfig.Clustering c = config.cluster();
    HazelcastClusterManager manager = new HazelcastClusterManager(hazelcastConfig(c));
    String publicHost = c.publicHost() == null ? c.host() : c.publicHost();
    options.setEventBusOptions(new EventBusOptions().setHost(c.host()).setPort(c.eventBusPort())
        .setClusterPublicHost(publicHost));
    return Vertx.builder().with(options).withClusterManager(manager).buildClustered()
        .map(vertx -> new Created(vertx, HubNodes.clustered(vertx, manager)));
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
    NetworkConfig network = hz.getNetworkConfig();
    network.setPort(c.port()).setPortAutoIncrement(c.port() == 0 || c.members().isEmpty());
    if (c.publicHost() != null) {
      network.setPublicAddress(c.publicHost());
    }
    if (!"0.0.0.0".equals(c.host())) {
      network.getInterfaces().setEnabled(true).addInterface(c.host());
      hz.setProperty("hazelcast.local.localAddress", c.host());
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
    return vertx.executeBlocking(this::tlsMaterial, false).compose(this::deploy);
  }

  /** Reads or generates the certificate (file I/O and key generation: not on an event loop). */
  private TlsMaterial tlsMaterial() {
    HubConfig.Tls tls = config.server().tls();
    return switch (tls.mode()) {
      case "off" -> null;
      case "files" -> TlsMaterial.fromFiles(tls.certFile(), tls.keyFile(), tls.caFile());
      default -> {
        List<String> hosts = new ArrayList<>(tls.hosts());
        if (config.server().publicUrl() != null) {
          hosts.add(java.net.URI.create(config.server().publicUrl()).getHost());
        }
        yield TlsMaterial.selfSigned(config.dataDir().resolve("tls"), hosts);
      }
    };
  }

  private Future<Void> deploy(TlsMaterial tls) {
    ClusterRegistry registry = new ClusterRegistry(config.clusters());
    Presence presence = new Presence(vertx, nodes);
    ClusterRouter router = new ClusterRouter(vertx, nodes, channel, registry, config.tunnel().limits());
    AgentGateway gateway = new AgentGateway(vertx, nodes, channel, presence, sessions, registry,
        config.tunnel().limits(), config.tunnel().helloTimeout().toMillis());
    ApiVerticle.Routes routes = new ApiVerticle.Routes(gateway, new Authenticator(config.tokens()),
        new KubePassthrough(router),
        new ClustersApi(registry, presence, config.tunnel().limits().pingTimeoutMillis(), config.server().publicUrl(),
            tls == null ? null : tls.clientTrustBase64()),
        new HealthApi(nodes, serving::get), config.server().maxBodyBytes(), config.tunnel().limits().maxFrameBytes(),
        tls);
    int instances = Math.max(1, Runtime.getRuntime().availableProcessors());

    return channel.start()
        .compose(v -> sessions.start())
        .compose(v -> vertx.deployVerticle(new DirectClusters(registry.direct(), nodes, channel, presence,
            config.tunnel().limits())).onSuccess(deployments::add))
        .compose(v -> {
          // Port 0 becomes -1: Vert.x then binds one random port that all instances share.
          int requested = config.server().port() == 0 ? -1 : config.server().port();
          List<ApiVerticle> instancesStarted = new ArrayList<>();
          return vertx.deployVerticle(() -> {
            ApiVerticle verticle = new ApiVerticle(routes, config.server().host(), requested);
            instancesStarted.add(verticle);
            return verticle;
          }, new DeploymentOptions().setInstances(instances)).map(id -> {
            deployments.add(id);
            port = instancesStarted.get(0).actualPort();
            return id;
          });
        })
        .onSuccess(v -> {
          serving.set(true);
          LOG.info("hub node {} serving {} on {}:{} ({} cluster(s) configured, {})", HubNodes.shortId(nodes.nodeId()),
              tls == null ? "plain HTTP" : "HTTPS", config.server().host(), port, config.clusters().size(),
              nodes.clustered() ? "clustered" : "single node");
        })
        .mapEmpty();
  }

  /** Stops serving, closes agent sessions (agents reconnect elsewhere), leaves the cluster. */
  public Future<Void> close() {
    serving.set(false);
    List<String> reversed = new ArrayList<>(deployments);
    Collections.reverse(reversed);
    Future<Void> chain = Future.succeededFuture();
    for (String id : reversed) {
      chain = chain.compose(v -> vertx.undeploy(id).recover(e -> Future.succeededFuture()));
    }
    return chain.compose(v -> channel.stop()).eventually(vertx::close);
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

  public SessionRegistry sessions() {
    return sessions;
  }
}
