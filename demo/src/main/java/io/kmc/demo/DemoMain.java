package io.kmc.demo;

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
        case "--port" -> port = Integer.parseInt(value(args, ++i, "--port"));
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
      LOG.error("the demo could not start: {}", e.getMessage(), e);
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

  private static String value(String[] args, int index, String option) {
    if (index >= args.length) {
      System.err.println(option + " needs a value");
      System.exit(2);
    }
    return args[index];
  }
}
