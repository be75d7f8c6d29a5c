package io.kmc.kubesim;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Test support: runs a real kubectl against a kubeconfig, always with a deadline (a hung kubectl
 * must never hang the build) and with its cache and HOME inside a temporary directory. Used by this
 * module's tests and by the hub's; CI installs kubectl (Debian package kubernetes-client).
 */
public final class Kubectl {

  /** One finished run. */
  public record Result(int exitCode, String output) {
  }

  private static final long DEADLINE_SECONDS = 30;

  private final Path binary;
  private final Path kubeconfig;
  private final Path workDir;
  private final Map<Process, Path> outputs = new ConcurrentHashMap<>();

  public Kubectl(Path binary, Path kubeconfig, Path workDir) {
    this.binary = binary;
    this.kubeconfig = kubeconfig;
    this.workDir = workDir;
  }

  /**
   * Every kubectl to test: {@code $KMC_KUBECTL}, {@code kubectl} on the PATH, and Debian's 1.20 in
   * /opt if present; duplicates (same real file) once.
   */
  public static List<Path> available() {
    Set<Path> found = new LinkedHashSet<>();
    String configured = System.getenv("KMC_KUBECTL");
    if (configured != null && !configured.isBlank()) {
      addIfExecutable(found, Path.of(configured));
    }
    String path = System.getenv("PATH");
    if (path != null) {
      for (String dir : path.split(File.pathSeparator)) {
        if (!dir.isEmpty() && addIfExecutable(found, Path.of(dir, "kubectl"))) {
          break;
        }
      }
    }
    addIfExecutable(found, Path.of("/opt/kubectl-1.20/usr/bin/kubectl"));
    return List.copyOf(found);
  }

  private static boolean addIfExecutable(Set<Path> found, Path candidate) {
    if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
      try {
        return found.add(candidate.toRealPath());
      } catch (IOException e) {
        return false;
      }
    }
    return false;
  }

  public Path binary() {
    return binary;
  }

  public Path kubeconfig() {
    return kubeconfig;
  }

  public Result run(String... args) throws IOException, InterruptedException {
    return finish(start(args), args);
  }

  /** Runs with the file {@code stdin} as kubectl's standard input (for {@code exec -i}, {@code attach -i}). */
  public Result runWithInput(Path stdin, String... args) throws IOException, InterruptedException {
    return finish(start(stdin, args), args);
  }

  private Result finish(Process process, String... args) throws InterruptedException {
    if (!process.waitFor(DEADLINE_SECONDS, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("kubectl " + String.join(" ", args) + " did not finish within " + DEADLINE_SECONDS
          + " s; output so far:\n" + output(process));
    }
    return new Result(process.exitValue(), output(process));
  }

  /** Runs and fails the test unless kubectl exits 0; returns its output. */
  public String ok(String... args) throws IOException, InterruptedException {
    Result result = run(args);
    if (result.exitCode() != 0) {
      throw new AssertionError("kubectl " + String.join(" ", args) + " exited " + result.exitCode() + ":\n"
          + result.output());
    }
    return result.output();
  }

  /** Starts kubectl in the background; its output goes to a file, read with {@link #output(Process)}. */
  public Process start(String... args) throws IOException {
    return start(null, args);
  }

  /** Like {@link #start(String...)}, reading stdin from a file (null: none). */
  public Process start(Path stdin, String... args) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(binary.toString());
    command.add("--kubeconfig=" + kubeconfig);
    command.add("--cache-dir=" + workDir.resolve("cache"));
    command.addAll(List.of(args));
    Path out = Files.createTempFile(workDir, "kubectl", ".out");
    ProcessBuilder builder = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true)
        .redirectOutput(out.toFile());
    if (stdin != null) {
      builder.redirectInput(stdin.toFile());
    }
    builder.environment().put("HOME", workDir.toString());
    builder.environment().remove("KUBECONFIG");
    Process process = builder.start();
    outputs.put(process, out);
    return process;
  }

  public String output(Process process) {
    try {
      return Files.readString(outputs.get(process), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "<unreadable: " + e + ">";
    }
  }

  /**
   * {@code kubectl exec -it <pod> -- sh} in a terminal (Python's pty module gives kubectl one): waits
   * for the prompt, types {@code echo term=$TERM}, then {@code exit 4}, and returns what the terminal
   * showed and kubectl's exit code; null when python3 is not installed.
   */
  public Result shellInTerminal(String pod) throws IOException, InterruptedException {
    if (!Files.isExecutable(Path.of("/usr/bin/python3"))) {
      return null;
    }
    Path script = Files.writeString(workDir.resolve("terminal_session.py"), """
        import os, pty, sys, time
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(sys.argv[1], sys.argv[1:])
        out = b''
        def read(until, seconds=10):
            global out
            end = time.time() + seconds
            while until not in out and time.time() < end:
                try:
                    out += os.read(fd, 4096)
                except OSError:
                    break
        read(b'# ')
        os.write(fd, b'echo term=$TERM\\r')
        read(b'term=xterm\\r\\n# ')
        os.write(fd, b'exit 4\\r')
        read(b'never', 5)
        _, status = os.waitpid(pid, 0)
        sys.stdout.write(out.decode('utf-8', 'replace'))
        sys.exit(os.waitstatus_to_exitcode(status))
        """);
    ProcessBuilder builder = new ProcessBuilder("/usr/bin/python3", script.toString(), binary.toString(),
        "--kubeconfig=" + kubeconfig, "--cache-dir=" + workDir.resolve("cache"), "exec", "-it", pod, "--", "sh")
        .directory(workDir.toFile()).redirectErrorStream(true);
    builder.environment().put("HOME", workDir.toString());
    Process process = builder.start();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("kubectl exec -it did not end");
    }
    return new Result(process.exitValue(), new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
  }

  /** Waits until the background process, left running, has printed {@code text}; its output so far. */
  public String awaitOutput(Process process, String text, long seconds) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    String output = output(process);
    while (!output.contains(text)) {
      if (!process.isAlive() || System.nanoTime() > deadline) {
        throw new AssertionError("kubectl never printed '" + text + "': " + output);
      }
      Thread.sleep(20);
      output = output(process);
    }
    return output;
  }

  /** Waits until the background process has printed what {@code done} looks for; kills it in any case. */
  public String readUntil(Process process, Predicate<String> done, long seconds)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    try {
      while (System.nanoTime() < deadline) {
        String output = output(process);
        if (done.test(output)) {
          return output;
        }
        Thread.sleep(20);
      }
      throw new AssertionError("kubectl did not print what was expected within " + seconds + " s; output:\n"
          + output(process));
    } finally {
      process.destroyForcibly();
      process.waitFor(5, TimeUnit.SECONDS);
    }
  }

  public Path write(String fileName, String content) throws IOException {
    return Files.writeString(workDir.resolve(fileName), content, StandardCharsets.UTF_8);
  }
}
