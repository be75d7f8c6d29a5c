package io.kmc.hub;

import io.kmc.common.config.ConfigException;
import io.kmc.common.config.ConfigReader;
import io.kmc.hub.config.HubConfig;
import io.kmc.ops.Logging;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code java -jar kmc-hub.jar [config.yaml]}: reads the configuration (file, then {@code KMC_...}
 * environment overrides), starts one hub node, and stops it cleanly on SIGTERM.
 */
public final class HubMain {

  private static final Logger LOG = LoggerFactory.getLogger(HubMain.class);

  private HubMain() {
  }

  public static void main(String[] args) throws InterruptedException {
    HubConfig config;
    try {
      config = readConfig(args);
    } catch (ConfigException e) {
      System.err.println(e.getMessage());
      System.exit(2);
      return;
    }
    Logging.configure(config.log(), "kmc-hub");
    Hub hub;
    try {
      hub = Hub.start(config).await(5, TimeUnit.MINUTES);
    } catch (Exception e) {
      LOG.error("the hub could not start: {}", e.getMessage(), e);
      System.exit(1);
      return;
    }
    nextSteps(config, hub.port());
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      LOG.info("stopping the hub node (grace {})", config.server().shutdownGrace());
      try {
        hub.close().await(config.server().shutdownGrace().toSeconds() + 15, TimeUnit.SECONDS);
      } catch (Exception e) {
        LOG.warn("the hub did not stop cleanly: {}", e.getMessage());
      }
      stopped.countDown();
    }, "kmc-hub-shutdown"));
    stopped.await();
  }

  /** What a newcomer does next, and the setting remote agents need, said once at start. */
  private static void nextSteps(HubConfig config, int port) {
    String scheme = config.server().tls().enabled() ? "https" : "http";
    String url = config.server().publicUrl() != null ? config.server().publicUrl() : scheme + "://localhost:" + port;
    Path password = config.dataDir().resolve("initial-admin-password");
    LOG.info("next: kmc login {} -u admin{}; Ctrl-C stops the hub, {} keeps its state", url,
        Files.exists(password) ? " (password in " + password + ")" : "", config.dataDir());
    if (config.server().publicUrl() == null) {
      LOG.info("server.public_url is not set: agents and kubeconfigs get the address each request came in on; "
          + "set KMC_SERVER_PUBLIC_URL to an address member clusters can reach");
    }
  }

  static HubConfig readConfig(String[] args) {
    String file = args.length > 0 ? args[0] : System.getenv("KMC_CONFIG");
    Map<String, String> env = new HashMap<>(System.getenv());
    // The documented short name of the first admin's password.
    if (env.containsKey("KMC_ADMIN_PASSWORD")) {
      env.putIfAbsent("KMC_AUTH_ADMIN_PASSWORD", env.get("KMC_ADMIN_PASSWORD"));
    }
    ConfigReader reader;
    if (file != null) {
      reader = ConfigReader.fromFile(Path.of(file), env);
    } else if (Files.exists(Path.of("kmc-hub.yaml"))) {
      reader = ConfigReader.fromFile(Path.of("kmc-hub.yaml"), env);
    } else {
      reader = ConfigReader.fromYaml("", env);
    }
    HubConfig config = HubConfig.read(reader);
    reader.finish();
    return config;
  }
}
