package io.kmc.hub.support;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Runs the real kubectl binary with a kubeconfig, always under a deadline so that a hung kubectl
 * cannot hang the build. CI installs kubectl (Debian package kubernetes-client) when it is missing.
 */
public final class Kubectl {

  private final String binary;
  private final Path kubeconfig;
  private final Path cacheDir;

  public Kubectl(String binary, Path kubeconfig) {
    this.binary = binary;
    this.kubeconfig = kubeconfig;
    try {
      this.cacheDir = Files.createTempDirectory("kubectl-cache");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Every kubectl on this machine: $KMC_KUBECTL, kubectl on the PATH, and the Debian 1.20 one if unpacked. */
  public static List<String> binaries() {
    Set<String> found = new LinkedHashSet<>();
    String configured = System.getenv("KMC_KUBECTL");
    if (configured != null && !configured.isBlank()) {
      found.add(configured);
    }
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      Path candidate = Path.of(dir, "kubectl");
      if (Files.isExecutable(candidate)) {
        found.add(candidate.toString());
        break;
      }
    }
    Path debian = Path.of("/opt/kubectl-1.20/usr/bin/kubectl");
    if (Files.isExecutable(debian)) {
      found.add(debian.toString());
    }
    if (found.isEmpty()) {
      throw new AssertionError("kubectl is not installed: set KMC_KUBECTL or put kubectl on the PATH "
          + "(CI installs the Debian package kubernetes-client)");
    }
    return List.copyOf(found);
  }

  public String binary() {
    return binary;
  }

  /** Runs to completion; fails the test on a non-zero exit or after the deadline. */
  public String run(String... args) {
    Result result = tryRun(args);
    if (result.exitCode != 0) {
      throw new AssertionError(binary + " " + String.join(" ", args) + " exited " + result.exitCode + ":\n"
          + result.output);
    }
    return result.output;
  }

  public record Result(int exitCode, String output) {
  }

  public Result tryRun(String... args) {
    try {
      Process process = builder(args).start();
      process.getOutputStream().close();
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new AssertionError(binary + " " + String.join(" ", args) + " did not finish in 60 s");
      }
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      return new Result(process.exitValue(), output);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  /** A long-running kubectl (get -w, logs -f) whose output lines can be awaited. */
  public Running start(String... args) {
    try {
      Process process = builder(args).start();
      process.getOutputStream().close();
      return new Running(process);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private ProcessBuilder builder(String... args) {
    List<String> command = new ArrayList<>();
    command.add(binary);
    command.add("--kubeconfig=" + kubeconfig);
    command.add("--cache-dir=" + cacheDir);
    command.add("--request-timeout=30s");
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().put("HOME", cacheDir.toString());
    builder.environment().remove("KUBECONFIG");
    return builder;
  }

  public static final class Running implements AutoCloseable {
    private final Process process;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final List<String> seen = new ArrayList<>();

    Running(Process process) {
      this.process = process;
      Thread reader = new Thread(() -> {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
          String line;
          while ((line = in.readLine()) != null) {
            lines.add(line);
          }
        } catch (IOException e) {
          // the process was killed
        }
      }, "kubectl-output");
      reader.setDaemon(true);
      reader.start();
    }

    /** Waits for a line containing {@code text}; fails with everything seen so far. */
    public String awaitLine(String text, int seconds) throws InterruptedException {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
      while (System.nanoTime() < deadline) {
        String line = lines.poll(100, TimeUnit.MILLISECONDS);
        if (line != null) {
          seen.add(line);
          if (line.contains(text)) {
            return line;
          }
        }
      }
      throw new AssertionError("no line containing '" + text + "' within " + seconds + " s; saw " + seen);
    }

    public List<String> seen() {
      return seen;
    }

    @Override
    public void close() {
      process.destroyForcibly();
    }
  }
}
