package io.kmc.agent;

import io.kmc.agent.kube.KubeAccess;
import io.kmc.common.config.ConfigException;
import io.kmc.common.config.ConfigReader;
import io.kmc.ops.Logging;
import io.kmc.ops.ManagementServer;
import io.kmc.ops.Metrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code java -jar kmc-agent.jar [agent.yaml]}: reads the configuration (file, then
 * {@code KMC_...} environment overrides), connects to the hub, serves /healthz, /ready and /metrics
 * on the management port, and on SIGTERM lets requests in flight finish before it leaves.
 */
public final class AgentMain {

  private static final Logger LOG = LoggerFactory.getLogger(AgentMain.class);

  private AgentMain() {
  }

  public static void main(String[] args) throws InterruptedException {
    AgentConfig config;
    KubeAccess kube;
    try {
      config = readConfig(args);
      Logging.configure(config.log(), "kmc-agent");
      kube = Agent.kubeAccess(config);
    } catch (ConfigException e) {
      System.err.println(e.getMessage());
      System.exit(2);
      return;
    } catch (RuntimeException e) {
      System.err.println("cannot set up access to the Kubernetes API: " + e.getMessage());
      System.exit(2);
      return;
    }
    PrometheusMeterRegistry registry = Metrics.newRegistry();
    Vertx vertx = Metrics.instrument(Vertx.builder(), new VertxOptions(), registry).build();
    Agent agent;
    try {
      agent = Agent.start(vertx, config, kube, registry).await(1, TimeUnit.MINUTES);
      if (config.managementEnabled()) {
        vertx.deployVerticle(new ManagementServer(config.managementHost(), config.managementPort(), agent.readiness(),
            registry)).await(1, TimeUnit.MINUTES);
      }
    } catch (Exception e) {
      LOG.error("the agent could not start: {}", e.getMessage(), e);
      System.exit(1);
      return;
    }
    LOG.info("agent for cluster {} started; hub URLs {}", config.cluster(), config.hubUrls());
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      LOG.info("stopping the agent (grace {})", config.shutdownGrace());
      try {
        agent.stop(config.shutdownGrace()).compose(v -> vertx.close())
            .await(config.shutdownGrace().toSeconds() + 15, TimeUnit.SECONDS);
      } catch (Exception e) {
        LOG.warn("the agent did not stop cleanly: {}", e.getMessage());
      }
      stopped.countDown();
    }, "kmc-agent-shutdown"));
    stopped.await();
  }

  static AgentConfig readConfig(String[] args) {
    String file = args.length > 0 ? args[0] : System.getenv("KMC_CONFIG");
    ConfigReader reader = file == null
        ? ConfigReader.fromYaml("", System.getenv())
        : ConfigReader.fromFile(Path.of(file), System.getenv());
    AgentConfig config = AgentConfig.read(reader);
    reader.finish();
    return config;
  }
}
