package io.kmc.hub;

import io.kmc.hub.support.Fleet;
import io.kmc.hub.support.Kubectl;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Unmodified kubectl, with a kubeconfig downloaded from the hub, against a member cluster whose
 * agent is connected to the other hub node.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class KubectlIT {

  private static Fleet fleet;
  private static Path kubeconfig;

  @BeforeAll
  static void start() throws IOException {
    fleet = new Fleet().tls();
    fleet.cluster("prod");
    List<Hub> hubs = fleet.hubs(2);
    fleet.agent("prod", hubs.get(1));
    fleet.awaitConnected(hubs.get(0), "prod");
    HttpResponse<String> response = fleet.api(hubs.get(0), "/api/v1/clusters/prod/kubeconfig");
    assertEquals(200, response.statusCode(), response.body());
    kubeconfig = fleet.workDir().resolve("prod-via-hub.kubeconfig");
    Files.writeString(kubeconfig, response.body());
  }

  @AfterAll
  static void stop() {
    fleet.close();
  }

  @Test
  void everyKubectlOnThisMachineWorksThroughTheHub() throws Exception {
    for (String binary : Kubectl.binaries()) {
      exercise(new Kubectl(binary, kubeconfig), "k" + Math.abs(binary.hashCode() % 1000));
    }
  }

  private void exercise(Kubectl kubectl, String ns) throws Exception {
    String version = kubectl.binary();
    assertTrue(kubectl.run("get", "namespaces").contains("kube-system"), version);
    kubectl.run("create", "namespace", ns);

    Path manifest = fleet.workDir().resolve(ns + "-web.yaml");
    Files.writeString(manifest, deployment(ns, "nginx:1.25", 1));
    assertTrue(kubectl.run("apply", "-f", manifest.toString()).contains("created"), version);
    // The second apply is a strategic merge patch computed by kubectl.
    Files.writeString(manifest, deployment(ns, "nginx:1.27", 2));
    assertTrue(kubectl.run("apply", "-f", manifest.toString()).contains("configured"), version);
    assertEquals("nginx:1.27", kubectl.run("-n", ns, "get", "deployment", "web",
        "-o", "jsonpath={.spec.template.spec.containers[0].image}").trim(), version);

    kubectl.run("-n", ns, "patch", "deployment", "web", "--type=merge", "-p", "{\"spec\":{\"replicas\":3}}");
    assertEquals("3", kubectl.run("-n", ns, "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}").trim());

    kubectl.run("-n", ns, "create", "configmap", "listed", "--from-literal=k=v");
    try (Kubectl.Running watch = kubectl.start("-n", ns, "get", "configmaps", "-w")) {
      // Once the listed one shows, the watch is on: the next one can only arrive through it.
      watch.awaitLine("listed", 20);
      kubectl.run("-n", ns, "create", "configmap", "watched", "--from-literal=k=v");
      watch.awaitLine("watched", 20);
    }

    String pod = kubectl.run("-n", ns, "get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}")
        .trim();
    assertTrue(pod.startsWith("web-"), version + ": " + pod);
    try (Kubectl.Running logs = kubectl.start("-n", ns, "logs", "-f", pod)) {
      String first = logs.awaitLine("", 20);
      logs.awaitLine("", 20);
      logs.awaitLine("", 20);
      assertTrue(logs.seen().size() >= 3, version + ": " + logs.seen() + " after " + first);
    }

    assertTrue(kubectl.run("-n", ns, "delete", "deployment", "web").contains("deleted"), version);
    Kubectl.Result missing = kubectl.tryRun("-n", ns, "get", "deployment", "web");
    assertTrue(missing.exitCode() != 0 && missing.output().contains("NotFound"), version + ": " + missing.output());
    kubectl.run("delete", "namespace", ns);
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
