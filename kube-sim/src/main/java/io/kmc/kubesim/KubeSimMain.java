package io.kmc.kubesim;

import io.vertx.core.Vertx;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Runs one simulator from the command line, for trying kubectl by hand:
 * {@code java -cp ... io.kmc.kubesim.KubeSimMain --port 8080 --seed [--token secret] [--host 127.0.0.1]}.
 * Prints the kubeconfig to use and serves until interrupted.
 */
public final class KubeSimMain {

  private KubeSimMain() {
  }

  public static void main(String[] args) throws InterruptedException {
    KubeSimOptions options = new KubeSimOptions().port(8080);
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--port" -> options.port(Integer.parseInt(value(args, ++i, "--port")));
        case "--host" -> options.host(value(args, ++i, "--host"));
        case "--token" -> options.token(value(args, ++i, "--token"));
        case "--seed" -> options.seed(true);
        default -> {
          System.err.println("unknown argument " + args[i] + "; usage: [--port N] [--host H] [--seed] [--token T]");
          System.exit(2);
        }
      }
    }
    Vertx vertx = Vertx.vertx();
    KubeSim sim = KubeSim.start(vertx, options).await();
    System.out.println("kube-sim serving " + sim.url() + "; kubeconfig:\n" + sim.kubeconfig("kube-sim"));
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      awaitBriefly(sim.close());
      awaitBriefly(vertx.close());
    }));
    new CountDownLatch(1).await();
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

  private static String value(String[] args, int index, String flag) {
    if (index >= args.length) {
      System.err.println(flag + " needs a value");
      System.exit(2);
    }
    return args[index];
  }
}
