package io.kmc.demo;

import io.kmc.ops.Listening;
import io.kmc.ops.LogSettings;
import io.kmc.ops.Logging;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * {@code java -jar kmc-demo.jar [--port 8080] [--host 127.0.0.1]}: the whole of kmc on one machine,
 * with nothing to install. Writes {@code kmc-demo.kubeconfig} in the working directory.
 */
public final class DemoMain {

  private static final Logger LOG = LoggerFactory.getLogger(DemoMain.class);

  private DemoMain() {
  }

  public static void main(String[] args) throws Exception {
    Logging.configure(LogSettings.textToConsole(), "kmc-demo");
    int port = 8080;
    String host = "127.0.0.1";
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--port" -> port = port(value(args, ++i, "--port"));
        case "--host" -> host = value(args, ++i, "--host");
        case "-h", "--help" -> {
          System.out.println("usage: java -jar kmc-demo.jar [--port 8080] [--host 127.0.0.1]");
          return;
        }
        default -> {
          System.err.println("unknown option " + args[i] + "; usage: java -jar kmc-demo.jar [--port 8080] [--host 127.0.0.1]");
          System.exit(2);
        }
      }
    }
    Demo demo;
    try {
      demo = Demo.start(new Demo.Options(host, port, Path.of("kmc-demo-data"), Path.of("kmc-demo.kubeconfig")));
    } catch (Exception e) {
      String explained = explain(e);
      if (explained != null) {
        System.err.println("the demo could not start: " + explained);
      } else {
        LOG.error("the demo could not start: {}", e.getMessage(), e);
      }
      System.exit(1);
      return;
    }
    System.out.println(Demo.readme(demo));
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        demo.stop();
      } catch (Exception e) {
        LOG.warn("the demo did not stop cleanly: {}", e.getMessage());
      }
      stopped.countDown();
    }, "kmc-demo-shutdown"));
    stopped.await();
  }

  /** A start failure a user fixes with an option of the demo, in one line; null for any other. */
  static String explain(Throwable failure) {
    Listening.BindFailure bind = Listening.find(failure);
    if (bind == null) {
      return null;
    }
    Throwable cause = bind.getCause() == null ? bind : bind.getCause();
    return "cannot listen on " + bind.host() + ":" + bind.port() + " (" + cause.getMessage()
        + "): choose another port with --port (0 picks a free one)";
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
    System.err.println("--port must be a number from 0 to 65535, not '" + text + "'");
    System.exit(2);
    return 0;
  }

  private static String value(String[] args, int index, String option) {
    if (index >= args.length) {
      System.err.println(option + " needs a value");
      System.exit(2);
    }
    return args[index];
  }
}
