package io.kmc.agent;

import io.kmc.agent.kube.KubeAccess;
import io.kmc.common.config.ConfigException;
import io.kmc.common.config.ConfigReader;
import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code java -jar kmc-agent.jar [agent.yaml]}: reads the configuration (file, then
 * {@code KMC_...} environment overrides), connects to the hub, and stops cleanly on SIGTERM.
 */
public final class AgentMain {

  static {
    // Before the first logger exists: each application ships its own logging setup.
    if (System.getProperty("logback.configurationFile") == null) {
      System.setProperty("logback.configurationFile", "kmc-agent-logback.xml");
    }
  }

  private static final Logger LOG = LoggerFactory.getLogger(AgentMain.class);

  private AgentMain() {
  }

  public static void main(String[] args) throws InterruptedException {
    AgentConfig config;
    KubeAccess kube;
    try {
      config = readConfig(args);
      kube = Agent.kubeAccess(config);
    } catch (ConfigException e) {
      System.err.println(e.getMessage());
      System.exit(2);
      return;
    } catch (RuntimeException e) {
      System.err.println("cannot reach the Kubernetes API: " + e.getMessage());
      System.exit(2);
      return;
    }
    Vertx vertx = Vertx.vertx();
    Agent agent;
    try {
      agent = Agent.start(vertx, config, kube).await(1, TimeUnit.MINUTES);
    } catch (Exception e) {
      LOG.error("the agent could not start: {}", e.getMessage(), e);
      System.exit(1);
      return;
    }
    LOG.info("agent for cluster {} started; hub URLs {}", config.cluster(), config.hubUrls());
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        agent.stop().compose(v -> vertx.close()).await(30, TimeUnit.SECONDS);
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
