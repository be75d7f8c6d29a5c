package io.kmc.hub.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A hub node in a JVM of its own ({@code io.kmc.hub.HubMain} on the test's class path), so that a
 * test can do to it what only a process allows: freeze it ({@code kill -STOP}), as a stop-the-world
 * pause or a VM paused by its host would, and let it run again. Started by {@link Fleet#hubProcess()}.
 */
public final class HubNodeProcess implements AutoCloseable {

  private final Process process;
  private final int port;
  private final Path log;
  private volatile boolean frozen;

  private HubNodeProcess(Process process, int port, Path log) {
    this.process = process;
    this.port = port;
    this.log = log;
  }

  static HubNodeProcess start(Path config, int port, Map<String, String> settings, Path log) {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx384m", "-XX:+UseSerialGC", "--add-modules", "java.se",
        "--add-exports", "java.base/jdk.internal.ref=ALL-UNNAMED", "--add-opens", "java.base/java.lang=ALL-UNNAMED",
        "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED", "--add-opens", "java.management/sun.management=ALL-UNNAMED",
        "--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED",
        "-cp", System.getProperty("java.class.path"), "io.kmc.hub.HubMain", config.toString()));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().keySet().removeIf(name -> name.startsWith("KMC_"));
    builder.environment().putAll(settings);
    try {
      return new HubNodeProcess(builder.start(), port, log);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start a hub process: " + e.getMessage(), e);
    }
  }

  public int port() {
    return port;
  }

  public long pid() {
    return process.pid();
  }

  public boolean alive() {
    return process.isAlive();
  }

  public Path log() {
    return log;
  }

  /** {@code kill -STOP}: its sockets stay open, nothing on them is read or answered. */
  public void freeze() {
    signal("STOP");
    frozen = true;
  }

  /** {@code kill -CONT}: it runs again with whatever it held when it froze. */
  public void resume() {
    signal("CONT");
    frozen = false;
  }

  /** By bash's own kill: a fresh Debian has bash but not always procps, which holds /bin/kill. */
  private void signal(String name) {
    try {
      int status = new ProcessBuilder("bash", "-c", "kill -" + name + " " + process.pid()).inheritIO().start().waitFor();
      if (status != 0) {
        throw new IllegalStateException("kill -" + name + " " + process.pid() + " exited with " + status);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /**
   * Ends the process whatever its state: a frozen one at once ({@code SIGKILL} ends a stopped process
   * too, and it must not rejoin the hub cluster while the fleet closes), a running one asked first.
   */
  @Override
  public void close() {
    try {
      if (!frozen) {
        process.destroy();
        if (process.waitFor(20, TimeUnit.SECONDS)) {
          return;
        }
      }
      process.destroyForcibly().waitFor(20, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
