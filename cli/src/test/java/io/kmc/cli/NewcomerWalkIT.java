package io.kmc.cli;

import io.kmc.common.config.ConfigReader;
import io.kmc.hub.Hub;
import io.kmc.hub.config.HubConfig;
import io.kmc.kubesim.Kubectl;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A newcomer's first hour, scripted: a hub as {@code java -jar kmc-hub.jar} starts it (embedded
 * database, self-signed certificate, generated admin password), then exactly the command lines of
 * the README, in two "terminals": the user's (kmc login, clusters add --wait, kubeconfig --merge,
 * kubectl through the hub) and the simulated cluster's (the runnable simulator, the printed install
 * command pasted as it is, the agent the simulator cannot run itself, configured from what the install
 * put into the cluster). Only the hub's port differs from the README (the test binds port 0).
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class NewcomerWalkIT {

  static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  static final String HUB = "localhost:8080";

  /** The user's terminal, in README order. */
  static final String LOGIN = "kmc login https://localhost:8080 -u admin";
  static final String ADD = "kmc clusters add my-cluster --wait";
  static final String KUBECONFIG = "kmc kubeconfig my-cluster --merge && kubectl --context my-cluster get ns";

  /** The simulated cluster's terminal, in README order; the install command is pasted between the second and third. */
  static final String SIMULATOR = "java -jar kube-sim/target/kmc-kube-sim.jar &";
  static final String SIMULATOR_KUBECONFIG = "export KUBECONFIG=$PWD/kube-sim.kubeconfig";
  static final String TOKEN = "kubectl -n kmc-system get secret kmc-agent -o jsonpath='{.data.token}' | base64 -d > sim.token";
  static final String AGENT = "KMC_HUB_URLS=wss://localhost:8080 KMC_HUB_CLUSTER=my-cluster KMC_HUB_TOKEN_FILE=sim.token "
      + "KMC_HUB_CA_FILE=kmc-data/tls/hub.crt KMC_KUBERNETES_MODE=kubeconfig KMC_KUBERNETES_KUBECONFIG=$KUBECONFIG "
      + "java -jar agent/target/kmc-agent.jar &";

  static final List<String> README_LINES = List.of(LOGIN, ADD, KUBECONFIG, SIMULATOR, SIMULATOR_KUBECONFIG, TOKEN,
      AGENT);

  private final List<Process> background = new ArrayList<>();
  private Hub hub;

  @AfterEach
  void stop() throws Exception {
    for (Process process : background) {
      process.destroy();
      if (!process.waitFor(15, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
    if (hub != null) {
      hub.close().await(60, TimeUnit.SECONDS);
    }
  }

  @Test
  void aNewcomerConnectsASimulatedClusterAndUsesKubectlThroughTheHub(@TempDir Path dir) throws Exception {
    // The hub, as the README's first command starts it (but on a free port).
    ConfigReader reader = ConfigReader.fromYaml("", Map.of("KMC_DATA_DIR", dir.resolve("kmc-data").toString(),
        "KMC_SERVER_PORT", "0", "KMC_SERVER_HOST", "127.0.0.1", "KMC_METRICS_PORT", "0", "KMC_METRICS_HOST", "127.0.0.1"));
    HubConfig config = HubConfig.read(reader);
    reader.finish();
    hub = Hub.start(config).await(120, TimeUnit.SECONDS);
    String password = Files.readString(dir.resolve("kmc-data").resolve("initial-admin-password")).trim();

    Path user = Files.createDirectories(dir.resolve("user-home"));
    Map<String, String> userTerminal = terminal(user);
    Map<String, String> clusterTerminal = terminal(Files.createDirectories(dir.resolve("cluster-home")));

    // kmc login: the user confirms the self-signed hub's fingerprint, then types the password.
    String login = run(LOGIN, dir, userTerminal, "y\n" + password + "\n");
    assertTrue(login.contains("SHA-256 fingerprint") && login.contains("Logged in to https://localhost:"), login);
    assertEquals("rw-------", PosixFilePermissions.toString(
        Files.getPosixFilePermissions(user.resolve(".kmc").resolve("config"))), "credentials readable by their owner only");

    // The simulated cluster, in its own terminal.
    start(SIMULATOR, dir, clusterTerminal, dir.resolve("simulator.log"));
    awaitFile(dir.resolve("kube-sim.kubeconfig"), dir.resolve("simulator.log"));
    run(SIMULATOR_KUBECONFIG, dir, clusterTerminal, "");
    clusterTerminal.put("KUBECONFIG", dir.resolve("kube-sim.kubeconfig").toString());

    // kmc clusters add --wait prints the install command and waits for the agent.
    Path addLog = dir.resolve("add.log");
    Process add = start(ADD, dir, userTerminal, addLog);
    String printed = awaitOutput(addLog, out -> out.contains("| kubectl apply -f -"), add);
    String install = printed.lines().filter(line -> line.contains("| kubectl apply -f -")).findFirst().orElseThrow()
        .strip();
    assertTrue(install.startsWith("curl -fsSk --pinnedpubkey 'sha256//"), install);
    assertTrue(printed.contains("access 'manage'"), printed);

    // Pasted as it is where kubectl reaches the cluster: the manifest is applied, with the right env.
    String applied = run(install, dir, clusterTerminal, "");
    assertTrue(applied.contains("deployment.apps/kmc-agent created") && applied.contains("secret/kmc-agent created"),
        applied);
    Kubectl kubectl = new Kubectl(Kubectl.available().get(0), dir.resolve("kube-sim.kubeconfig"),
        Files.createDirectories(dir.resolve("kubectl")));
    String env = kubectl.ok("-n", "kmc-system", "get", "deployment", "kmc-agent",
        "-o", "jsonpath={.spec.template.spec.containers[0].env}");
    assertTrue(env.contains("\"KMC_HUB_CLUSTER\",\"value\":\"my-cluster\"") && env.contains("wss://localhost:" + hub.port()),
        env);

    // The simulator runs no containers: the agent runs beside it, configured from what the install put there.
    run(TOKEN, dir, clusterTerminal, "");
    Map<String, String> agentTerminal = new HashMap<>(clusterTerminal);
    agentTerminal.put("KMC_METRICS_PORT", "0"); // the README's agent takes 9091; this machine may hold it
    start(AGENT, dir, agentTerminal, dir.resolve("agent.log"));

    assertTrue(add.waitFor(90, TimeUnit.SECONDS), "kmc clusters add --wait returns once the agent is connected:\n"
        + Files.readString(addLog) + "\nagent:\n" + Files.readString(dir.resolve("agent.log")));
    assertEquals(0, add.exitValue(), Files.readString(addLog));
    assertTrue(Files.readString(addLog).contains("Cluster my-cluster is connected"), Files.readString(addLog));
    assertTrue(run("kmc clusters list", dir, userTerminal, "").contains("Connected"));
    // The same, as a kubectl plugin and as JSON for scripts.
    assertTrue(run("kubectl kmc clusters list", dir, userTerminal, "").contains("my-cluster"));
    assertTrue(run("kmc clusters get my-cluster -o json", dir, userTerminal, "")
        .contains("\"connected\" : true"));

    // kubectl through the hub, with the merged context, next to a context the user had before.
    Path kubeconfig = user.resolve(".kube").resolve("config");
    Files.createDirectories(kubeconfig.getParent());
    Files.writeString(kubeconfig, """
        apiVersion: v1
        kind: Config
        clusters:
        - name: mine
          cluster: {server: "https://192.0.2.1:6443"}
        contexts:
        - name: mine
          context: {cluster: mine, user: mine}
        users:
        - name: mine
          user: {token: not-kmc}
        current-context: mine
        """);
    String namespaces = run(KUBECONFIG, dir, userTerminal, "");
    assertTrue(namespaces.contains("kube-system") && namespaces.contains("kmc-system"), namespaces);
    String merged = Files.readString(kubeconfig);
    assertTrue(merged.contains("https://192.0.2.1:6443") && merged.contains("current-context: mine"), merged);
    // What was done through the hub is in its audit log.
    assertTrue(run("kmc audit --cluster my-cluster", dir, userTerminal, "").contains("/k8s/clusters/my-cluster/"));
  }

  /** A shell's environment: its own HOME, kmc on the PATH, no KUBECONFIG or KMC_ settings from outside. */
  private static Map<String, String> terminal(Path home) {
    Map<String, String> env = new HashMap<>(System.getenv());
    env.keySet().removeIf(name -> name.startsWith("KMC_") || name.equals("KUBECONFIG"));
    env.put("HOME", home.toString());
    env.put("PATH", ROOT.resolve("cli").resolve("bin") + ":" + Path.of(System.getProperty("java.home"), "bin") + ":"
        + System.getenv("PATH"));
    return env;
  }

  /** The README's line, on this hub's port, with the repository's jars where the README (run from its root) has them. */
  private String asHere(String line) {
    return line.replace(HUB, "localhost:" + hub.port())
        .replace("kube-sim/target/", ROOT.resolve("kube-sim/target") + "/")
        .replace("agent/target/", ROOT.resolve("agent/target") + "/");
  }

  private String run(String line, Path dir, Map<String, String> env, String input) throws Exception {
    ProcessBuilder builder = new ProcessBuilder("sh", "-c", asHere(line)).directory(dir.toFile())
        .redirectErrorStream(true);
    builder.environment().clear();
    builder.environment().putAll(env);
    Process process = builder.start();
    process.getOutputStream().write(input.getBytes(StandardCharsets.UTF_8));
    process.getOutputStream().close();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
      throw new AssertionError("'" + asHere(line) + "' failed:\n" + output);
    }
    return output;
  }

  private Process start(String line, Path dir, Map<String, String> env, Path log) throws IOException {
    String command = asHere(line);
    // The process to stop later is the program itself, not a shell around it.
    command = command.endsWith("&") ? command.substring(0, command.length() - 1).strip() : command;
    command = (command.matches("^[A-Z_]+=.*") ? "exec env " : "exec ") + command;
    ProcessBuilder builder = new ProcessBuilder("sh", "-c", command).directory(dir.toFile())
        .redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().clear();
    builder.environment().putAll(env);
    Process process = builder.start();
    background.add(process);
    return process;
  }

  private static String awaitOutput(Path log, Predicate<String> done, Process process) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      String output = Files.readString(log);
      if (done.test(output)) {
        return output;
      }
      assertFalse(!process.isAlive() && !done.test(Files.readString(log)), "exited early:\n" + output);
      Thread.sleep(50);
    }
    throw new AssertionError("not printed within 60 s:\n" + Files.readString(log));
  }

  private static void awaitFile(Path file, Path log) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!Files.exists(file) || !Files.readString(file).contains("users:")) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(file + " not written within 60 s:\n" + Files.readString(log));
      }
      Thread.sleep(50);
    }
  }
}
