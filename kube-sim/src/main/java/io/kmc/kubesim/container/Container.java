package io.kmc.kubesim.container;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;

/**
 * The inside of one simulated container: a small filesystem, an environment, and the programs that
 * {@code kubectl exec}, {@code attach} and {@code cp} run in it (see {@code docs/kube-sim.md} for the
 * list). There is no real process: each exec is interpreted by a {@link Shell} on the event-loop
 * context of the simulator that owns the container; only tar and checksums of big files run on a
 * worker thread.
 */
public final class Container {

  /**
   * What the pod says about the container.
   *
   * @param environment the container's own variables, already resolved (valueFrom included), in order
   */
  public record Spec(String namespace, String pod, String name, String podIp, String image,
      Map<String, String> environment, String workingDir) {
  }

  private final Spec spec;
  private final FileTree fs;
  private final Vertx vertx;
  private final WorkerExecutor workers;

  /**
   * A container with a freshly seeded filesystem of at most {@code diskBytes}; {@code workers} runs
   * what must not run on an event loop.
   */
  public Container(Spec spec, long diskBytes, Vertx vertx, WorkerExecutor workers) {
    this.spec = spec;
    this.vertx = vertx;
    this.workers = workers;
    this.fs = new FileTree(diskBytes, System::currentTimeMillis);
    seed();
  }

  public Spec spec() {
    return spec;
  }

  public FileTree fs() {
    return fs;
  }

  Vertx vertx() {
    return vertx;
  }

  /** What {@code hostname} says: the pod's name, as in Kubernetes. */
  public String hostname() {
    return spec.pod();
  }

  /** The environment a process starts with: the image's defaults, what the kubelet adds, the pod's own. */
  public Map<String, String> environment(boolean tty) {
    Map<String, String> environment = new LinkedHashMap<>();
    environment.put("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    environment.put("HOSTNAME", hostname());
    if (tty) {
      environment.put("TERM", "xterm");
    }
    environment.putAll(spec.environment());
    environment.putIfAbsent("HOME", "/root");
    return environment;
  }

  /**
   * Runs an argv as {@code kubectl exec} does; the status is the exit code. With a terminal, Ctrl-C
   * stops the program (an interactive shell handles it itself).
   */
  public Future<Integer> exec(List<String> argv, Stdio io, Cancellation cancellation) {
    Runnable stopListening = io.terminal() == null ? () -> { } : io.terminal().onInterrupt(cancellation::cancel);
    String cwd = spec.workingDir() == null || spec.workingDir().isEmpty() ? "/" : spec.workingDir();
    Shell shell = new Shell(this, environment(io.terminal() != null), cwd, cancellation);
    return shell.execute(argv, io).onComplete(done -> stopListening.run());
  }

  /**
   * The container's main process, as {@code kubectl attach} sees it: with stdin it echoes what it
   * reads until stdin ends; without, it prints a log line every {@code intervalMillis} until the
   * client goes away.
   */
  public Future<Integer> attach(Stdio io, boolean stdin, Supplier<String> logLine, long intervalMillis,
      Cancellation cancellation) {
    if (stdin) {
      return Streams.copy(io.stdin(), io.stdout(), cancellation, data -> data).map(v -> 0);
    }
    Promise<Integer> done = Promise.promise();
    long timer = vertx.setPeriodic(intervalMillis, id -> io.stdout().write(logLine.get())
        .onFailure(error -> cancellation.cancel()));
    cancellation.onCancel(() -> {
      vertx.cancelTimer(timer);
      done.tryComplete(0);
    });
    return done.future();
  }

  /** Runs blocking work (tar, checksums of big files) off the event loop; completes on the caller's context. */
  <T> Future<T> blocking(Callable<T> work) {
    return workers.executeBlocking(work, false);
  }

  private void seed() {
    for (String dir : List.of("/bin", "/dev", "/etc", "/home", "/lib", "/proc", "/run", "/sbin", "/srv", "/sys",
        "/usr/bin", "/usr/local/bin", "/usr/sbin", "/var/log", "/var/run/secrets/kubernetes.io/serviceaccount")) {
      fs.mkdirs(dir, 0755);
    }
    for (String program : Commands.names()) {
      fs.writeFile("/bin/" + program, List.of(), 0755);
    }
    fs.symlink("/usr/bin/env", "/bin/env");
    fs.mkdir("/root", 0700);
    fs.mkdir("/tmp", 01777);
    text("/dev/null", "", 0666);
    text("/etc/hostname", hostname() + "\n", 0644);
    text("/etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        + (spec.podIp() == null || spec.podIp().isEmpty() ? "" : spec.podIp() + "\t" + hostname() + "\n"), 0644);
    text("/etc/os-release", """
        NAME="kube-sim"
        ID=kube-sim
        VERSION_ID=1.0
        PRETTY_NAME="kube-sim simulated container (image %s)"
        """.formatted(spec.image()), 0644);
    text("/etc/resolv.conf", "search " + spec.namespace() + ".svc.cluster.local svc.cluster.local cluster.local\n"
        + "nameserver 10.96.0.10\noptions ndots:5\n", 0644);
    text("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n", 0644);
    text("/etc/group", "root:x:0:root\nnogroup:x:65534:\n", 0644);
    text("/var/run/secrets/kubernetes.io/serviceaccount/namespace", spec.namespace(), 0644);
    if (spec.workingDir() != null && !spec.workingDir().isEmpty()) {
      fs.mkdirs(FileTree.absolute("/", spec.workingDir()), 0755);
    }
  }

  private void text(String path, String content, int mode) {
    fs.writeFile(path, List.of(content.getBytes(StandardCharsets.UTF_8)), mode);
  }
}
