package io.kmc.kubesim;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The simulator as a newcomer runs it: {@code java -jar kube-sim/target/kmc-kube-sim.jar}, no
 * hand-built classpath, a kubeconfig file kubectl accepts as written (with a token too), and a
 * quiet console.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class KubeSimMainIT {

  private static final Path JAR = Path.of("target", "kmc-kube-sim.jar");
  private final List<Process> processes = new ArrayList<>();

  @AfterEach
  void stop() throws InterruptedException {
    for (Process process : processes) {
      process.destroy();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void theRunnableJarWritesAKubeconfigKubectlUsesAsIsEvenWithAToken(@TempDir Path dir) throws Exception {
    Path kubeconfig = dir.resolve("kube-sim.kubeconfig");
    Path log = dir.resolve("kube-sim.log");
    start(log, "--port", "0", "--token", "t0ken:with#signs", "--kubeconfig", kubeconfig.toString());
    awaitFile(kubeconfig, log);
    String written = Files.readString(kubeconfig);
    assertTrue(written.contains("server: https://127.0.0.1:") && written.contains("certificate-authority-data"),
        written);

    List<Path> binaries = Kubectl.available();
    assertFalse(binaries.isEmpty(), "no kubectl found; CI installs it with: apt-get install -y kubernetes-client");
    Kubectl kubectl = new Kubectl(binaries.get(0), kubeconfig, Files.createDirectories(dir.resolve("kubectl")));
    assertTrue(kubectl.ok("get", "ns").contains("kube-system"));

    String said = Files.readString(log);
    assertFalse(said.contains("DEBUG"), said);
    assertTrue(said.lines().count() < 20, "a few lines, not a library's debug log:\n" + said);
    assertTrue(said.contains("kubectl --kubeconfig " + kubeconfig + " get ns"), said);
  }

  @Test
  void aTakenPortIsNamedWithTheOptionThatMovesIt(@TempDir Path dir) throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Path log = dir.resolve("kube-sim.log");
      Process process = start(log, "--port", String.valueOf(taken.getLocalPort()), "--kubeconfig",
          dir.resolve("kc").toString());
      assertTrue(process.waitFor(60, TimeUnit.SECONDS));
      assertEquals(2, process.exitValue());
      String said = Files.readString(log);
      assertTrue(said.contains("cannot listen on 127.0.0.1:" + taken.getLocalPort()) && said.contains("--port"), said);
    }
  }

  private Process start(Path log, String... args) throws IOException {
    assertTrue(Files.isRegularFile(JAR), JAR.toAbsolutePath() + " is missing: build it with mvn package");
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx128m", "-jar", JAR.toString()));
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    processes.add(process);
    return process;
  }

  private static void awaitFile(Path file, Path log) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!Files.exists(file) || !Files.readString(file).contains("users:")) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("no kubeconfig written within 60 s; the simulator said:\n" + Files.readString(log));
      }
      Thread.sleep(50);
    }
  }
}
