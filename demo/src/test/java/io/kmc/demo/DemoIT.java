package io.kmc.demo;

import io.kmc.kubesim.Kubectl;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the README promises: start the demo, then kubectl with its kubeconfig reaches both clusters. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class DemoIT {

  @Test
  void kubectlReachesBothDemoClustersThroughTheHub(@TempDir Path dir) throws Exception {
    Path kubeconfig = dir.resolve("kmc-demo.kubeconfig");
    // The hub's default management port is held (by this test, or by whatever else holds it on this
    // machine): the demo must not need it.
    try (ServerSocket holding = holdIfFree(9090)) {
      Demo demo = Demo.start(new Demo.Options("127.0.0.1", 0, dir.resolve("kmc-demo-data"), kubeconfig));
      try {
        assertTrue(Files.readString(kubeconfig).contains("certificate-authority-data"));
        String readme = Demo.readme(demo);
        assertTrue(readme.contains("--context demo-a get ns"));
        assertTrue(readme.contains("console:      https://127.0.0.1:" + demo.port() + "/"), "the console's URL: " + readme);
        assertTrue(readme.contains("--context demo-a get deployments -w")
            && readme.contains("--context demo-a create deployment web"), "watch and create in one cluster: " + readme);
        List<Path> binaries = Kubectl.available();
        assertFalse(binaries.isEmpty(), "no kubectl found; CI installs it with: apt-get install -y kubernetes-client");
        Kubectl kubectl = new Kubectl(binaries.get(0), kubeconfig, Files.createDirectories(dir.resolve("kubectl")));
        for (String cluster : Demo.CLUSTERS) {
          String namespaces = kubectl.ok("--context", cluster, "get", "ns");
          assertTrue(namespaces.contains("kube-system"), cluster + ": " + namespaces);
        }
        assertTrue(kubectl.ok("--context", "demo-b", "get", "deployments", "-A").contains("coredns"));
        assertTrue(readme.contains("--context fleet get deployments -A"), readme);
        // The fleet context: every cluster's deployments at once, from the index the agents feed.
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
        String fleet = kubectl.ok("--context", "fleet", "get", "deployments", "-A");
        while (!(fleet.contains("demo-a") && fleet.contains("demo-b")) && System.nanoTime() < deadline) {
          Thread.sleep(200);
          fleet = kubectl.ok("--context", "fleet", "get", "deployments", "-A");
        }
        assertTrue(fleet.lines().findFirst().orElse("").contains("CLUSTER") && fleet.contains("demo-a") && fleet.contains("demo-b")
            && fleet.contains("coredns"), fleet);
      } finally {
        demo.stop();
      }
    }
  }

  @Test
  void aTakenPortIsNamedWithTheOptionThatMovesIt(@TempDir Path dir) throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Exception failure = assertThrows(Exception.class, () -> Demo.start(new Demo.Options("127.0.0.1",
          taken.getLocalPort(), dir.resolve("kmc-demo-data"), dir.resolve("kmc-demo.kubeconfig"))));
      String explained = DemoMain.explain(failure);
      assertNotNull(explained, "a bind failure, not: " + failure);
      assertTrue(explained.startsWith("cannot listen on 127.0.0.1:" + taken.getLocalPort()) && explained.contains("--port"),
          explained);
      // The hub itself names its own setting.
      String hubSays = io.kmc.ops.Listening.find(failure).getMessage();
      assertTrue(hubSays.contains("127.0.0.1:" + taken.getLocalPort()) && hubSays.contains("server.port (KMC_SERVER_PORT)"),
          hubSays);
    }
  }

  /** Holds the port if nothing else does; null if something already holds it (which serves as well). */
  private static ServerSocket holdIfFree(int port) throws IOException {
    ServerSocket socket = new ServerSocket();
    try {
      socket.bind(new InetSocketAddress(port));
      return socket;
    } catch (BindException e) {
      socket.close();
      return null;
    }
  }
}
