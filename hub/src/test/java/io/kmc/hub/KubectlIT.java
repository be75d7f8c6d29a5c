package io.kmc.hub;

import io.kmc.hub.support.Fleet;
import io.kmc.kubesim.Kubectl;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Unmodified kubectl, with a kubeconfig downloaded from the hub, against a member cluster whose
 * agent is connected to the other hub node. Every kubectl on the machine runs the same steps.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class KubectlIT {

  private static Fleet fleet;
  private static Path kubeconfig;

  @BeforeAll
  static void start() {
    fleet = new Fleet().tls();
    fleet.cluster("prod");
    List<Hub> hubs = fleet.hubs(2);
    fleet.agent("prod", hubs.get(1));
    fleet.awaitConnected(hubs.get(0), "prod");
    kubeconfig = fleet.kubeconfig(hubs.get(0), "prod");
  }

  @AfterAll
  static void stop() {
    fleet.close();
  }

  @Test
  void everyKubectlOnThisMachineWorksThroughTheHub() throws Exception {
    List<Path> binaries = Kubectl.available();
    assertFalse(binaries.isEmpty(), "no kubectl found ($KMC_KUBECTL, PATH, /opt/kubectl-1.20); "
        + "CI installs it with: apt-get install -y kubernetes-client");
    for (Path binary : binaries) {
      Path work = Files.createTempDirectory(fleet.workDir(), "kubectl");
      exercise(new Kubectl(binary, kubeconfig, work), "k" + Math.abs(binary.hashCode() % 1000), binary.toString());
    }
  }

  /**
   * What the simulator does beyond CRUD reaches kubectl through the hub unchanged: ReplicaSets and
   * rollout history, events, OpenAPI schemas and the metrics API.
   */
  @Test
  void rolloutsEventsExplainAndTopWorkThroughTheHub() throws Exception {
    for (Path binary : Kubectl.available()) {
      Path work = Files.createTempDirectory(fleet.workDir(), "fidelity");
      fidelity(new Kubectl(binary, kubeconfig, work), "f" + Math.abs(binary.hashCode() % 1000), binary.toString());
    }
  }

  private void fidelity(Kubectl kubectl, String ns, String which) throws Exception {
    kubectl.ok("create", "namespace", ns);
    kubectl.ok("-n", ns, "create", "deployment", "app", "--image=nginx:1.25", "--replicas=2");
    kubectl.ok("-n", ns, "rollout", "status", "deployment/app", "--timeout=30s");
    kubectl.ok("-n", ns, "set", "image", "deployment/app", "nginx=nginx:1.26");
    kubectl.ok("-n", ns, "rollout", "status", "deployment/app", "--timeout=30s");
    String replicaSets = kubectl.ok("-n", ns, "get", "rs");
    assertEquals(2, replicaSets.lines().filter(line -> line.startsWith("app-")).count(), which + ":\n" + replicaSets);
    String history = kubectl.ok("-n", ns, "rollout", "history", "deployment/app");
    assertTrue(history.lines().anyMatch(line -> line.startsWith("2 ")), which + ":\n" + history);

    assertTrue(kubectl.ok("-n", ns, "rollout", "undo", "deployment/app").contains("rolled back"), which);
    kubectl.ok("-n", ns, "rollout", "status", "deployment/app", "--timeout=30s");
    assertEquals("nginx:1.25", kubectl.ok("-n", ns, "get", "deployment", "app",
        "-o", "jsonpath={.spec.template.spec.containers[0].image}").trim(), which);

    String events = kubectl.ok("-n", ns, "get", "events");
    assertTrue(events.contains("ScalingReplicaSet") && events.contains("Started"), which + ":\n" + events);
    String pod = kubectl.ok("-n", ns, "get", "pods", "-o", "jsonpath={.items[0].metadata.name}").trim();
    String described = kubectl.ok("-n", ns, "describe", "pod", pod);
    assertTrue(described.contains("Successfully assigned " + ns + "/" + pod), which + ":\n" + described);

    String explained = kubectl.ok("explain", "deployment.spec.replicas");
    assertTrue(explained.contains("Number of desired pods"), which + ":\n" + explained);

    String nodes = kubectl.ok("top", "nodes");
    assertTrue(nodes.contains("kube-sim-node"), which + ":\n" + nodes);
    String pods = kubectl.ok("-n", ns, "top", "pods");
    assertEquals(2, pods.lines().filter(line -> line.startsWith("app-")).count(), which + ":\n" + pods);
    kubectl.ok("delete", "namespace", ns);
  }

  private void exercise(Kubectl kubectl, String ns, String which) throws Exception {
    assertTrue(kubectl.ok("get", "namespaces").contains("kube-system"), which);
    kubectl.ok("create", "namespace", ns);

    Path manifest = kubectl.write("web.yaml", deployment(ns, "nginx:1.25", 1));
    assertTrue(kubectl.ok("apply", "-f", manifest.toString()).contains("created"), which);
    // The second apply is a strategic merge patch computed by kubectl.
    kubectl.write("web.yaml", deployment(ns, "nginx:1.27", 2));
    assertTrue(kubectl.ok("apply", "-f", manifest.toString()).contains("configured"), which);
    assertEquals("nginx:1.27", kubectl.ok("-n", ns, "get", "deployment", "web",
        "-o", "jsonpath={.spec.template.spec.containers[0].image}").trim(), which);

    kubectl.ok("-n", ns, "patch", "deployment", "web", "--type=merge", "-p", "{\"spec\":{\"replicas\":3}}");
    assertEquals("3", kubectl.ok("-n", ns, "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}").trim());

    kubectl.ok("-n", ns, "create", "configmap", "listed", "--from-literal=k=v");
    Process watch = kubectl.start("-n", ns, "get", "configmaps", "-w");
    // Once the listed one shows, the watch is on: the next one can only arrive through it.
    waitFor(() -> kubectl.output(watch).contains("listed"), which + " get -w lists");
    kubectl.ok("-n", ns, "create", "configmap", "watched", "--from-literal=k=v");
    kubectl.readUntil(watch, output -> output.contains("watched"), 20);

    Process logs = kubectl.start("-n", ns, "logs", "-f", "deployment/web");
    String followed = kubectl.readUntil(logs, output -> output.lines().count() >= 13, 20);
    assertTrue(followed.lines().count() >= 13, which + ": " + followed);

    assertTrue(kubectl.ok("-n", ns, "delete", "deployment", "web").contains("deleted"), which);
    Kubectl.Result missing = kubectl.run("-n", ns, "get", "deployment", "web");
    assertTrue(missing.exitCode() != 0 && missing.output().contains("NotFound"), which + ": " + missing.output());
    kubectl.ok("delete", "namespace", ns);
  }

  private static void waitFor(java.util.function.BooleanSupplier condition, String what) {
    Fleet.eventually(java.time.Duration.ofSeconds(20), condition, what);
  }

  private static String deployment(String ns, String image, int replicas) {
    return """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
          namespace: %s
          labels: {app: web}
        spec:
          replicas: %d
          selector:
            matchLabels: {app: web}
          template:
            metadata:
              labels: {app: web}
            spec:
              containers:
                - name: web
                  image: %s
                  ports:
                    - containerPort: 80
        """.formatted(ns, replicas, image);
  }
}
