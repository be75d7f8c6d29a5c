package io.kmc.kubesim;

import io.kmc.ops.LogSettings;
import io.kmc.ops.Logging;
import io.vertx.core.Vertx;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code java -jar kube-sim/target/kmc-kube-sim.jar}: one simulated Kubernetes API server, for
 * trying kubectl or a kmc agent without a real cluster. Writes a kubeconfig that reaches it and
 * serves until interrupted; everything it holds is in memory.
 */
public final class KubeSimMain {

  static final String USAGE = """
      usage: java -jar kmc-kube-sim.jar [--port 0] [--host 127.0.0.1] [--kubeconfig kube-sim.kubeconfig]
                                        [--token TOKEN] [--no-seed]
        --port        port to listen on; 0 (the default) picks a free one, written into the kubeconfig
        --host        address to listen on (default 127.0.0.1)
        --kubeconfig  where to write the kubeconfig that reaches the simulator (default kube-sim.kubeconfig)
        --token       require this bearer token; the simulator then serves HTTPS with a self-signed
                      certificate (kubectl sends tokens only over TLS), trusted by the kubeconfig
        --no-seed     start with only the default namespaces (else also kube-system's coredns and a few objects)
      """;

  private KubeSimMain() {
  }

  public static void main(String[] args) throws InterruptedException {
    Logging.configure(LogSettings.textToConsole(), "kube-sim");
    KubeSimOptions options = new KubeSimOptions().seed(true).gitVersion("v1.32.0");
    Path kubeconfig = Path.of("kube-sim.kubeconfig");
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--port" -> options.port(port(value(args, ++i, "--port")));
        case "--host" -> options.host(value(args, ++i, "--host"));
        case "--token" -> options.token(value(args, ++i, "--token"));
        case "--kubeconfig" -> kubeconfig = Path.of(value(args, ++i, "--kubeconfig"));
        case "--seed" -> options.seed(true);
        case "--no-seed" -> options.seed(false);
        case "-h", "--help" -> {
          System.out.print(USAGE);
          return;
        }
        default -> fail("unknown argument " + args[i]);
      }
    }
    if (options.token() != null) {
      options.certificate(SimCertificate.selfSigned(options.host()));
    }
    Vertx vertx = Vertx.vertx();
    KubeSim sim;
    try {
      sim = KubeSim.start(vertx, options).await(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      vertx.close();
      fail("cannot listen on " + options.host() + ":" + options.port() + ": " + e.getMessage()
          + "; choose another port with --port (0 picks a free one)");
      return;
    }
    try {
      writePrivately(kubeconfig, sim.kubeconfig("kube-sim"));
    } catch (IOException e) {
      fail("cannot write the kubeconfig " + kubeconfig + ": " + e.getMessage() + "; choose another with --kubeconfig");
    }
    System.out.println("""
        kube-sim is serving %1$s: a simulated Kubernetes API server (no nodes run containers;
        Deployments get pretend pods). Its kubeconfig is %2$s:

          kubectl --kubeconfig %2$s get ns

        To try a kmc agent against it, apply the install command `kmc clusters add` prints with
        KUBECONFIG=%2$s, or give the agent KMC_KUBERNETES_MODE=kubeconfig and
        KMC_KUBERNETES_KUBECONFIG=%2$s. Ctrl-C stops it; everything it holds is in memory.
        """.formatted(sim.url(), kubeconfig));
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      awaitBriefly(sim.close());
      awaitBriefly(vertx.close());
      stopped.countDown();
    }, "kube-sim-shutdown"));
    stopped.await();
  }

  /** The kubeconfig may hold a token: readable by its owner only, as kubectl writes its own. */
  private static void writePrivately(Path file, String content) throws IOException {
    Path absolute = file.toAbsolutePath();
    if (absolute.getParent() != null) {
      Files.createDirectories(absolute.getParent());
    }
    Files.writeString(absolute, content);
    try {
      Files.setPosixFilePermissions(absolute, PosixFilePermissions.fromString("rw-------"));
    } catch (UnsupportedOperationException e) {
      // not a POSIX file system
    }
  }

  /** Bounded: once Vert.x's event loops have stopped, a completion may never be delivered. */
  private static void awaitBriefly(io.vertx.core.Future<?> future) {
    CountDownLatch done = new CountDownLatch(1);
    future.onComplete(result -> done.countDown());
    try {
      done.await(3, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static int port(String text) {
    try {
      int port = Integer.parseInt(text);
      if (port >= 0 && port <= 65535) {
        return port;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    fail("--port must be a number from 0 to 65535, not '" + text + "'");
    return 0;
  }

  private static String value(String[] args, int index, String flag) {
    if (index >= args.length) {
      fail(flag + " needs a value");
    }
    return args[index];
  }

  private static void fail(String message) {
    System.err.println("kube-sim: " + message + "\n" + USAGE);
    System.exit(2);
  }
}
