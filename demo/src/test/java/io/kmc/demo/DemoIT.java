package io.kmc.demo;

import io.kmc.kubesim.Kubectl;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the README promises: start the demo, then kubectl with its kubeconfig reaches both clusters. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class DemoIT {

  @Test
  void kubectlReachesBothDemoClustersThroughTheHub(@TempDir Path dir) throws Exception {
    Path kubeconfig = dir.resolve("kmc-demo.kubeconfig");
    Demo demo = Demo.start(new Demo.Options("127.0.0.1", 0, dir.resolve("kmc-demo-data"), kubeconfig));
    try {
      assertTrue(Files.readString(kubeconfig).contains("certificate-authority-data"));
      assertTrue(Demo.readme(demo).contains("--context demo-a get ns"));
      List<Path> binaries = Kubectl.available();
      assertFalse(binaries.isEmpty(), "no kubectl found; CI installs it with: apt-get install -y kubernetes-client");
      Kubectl kubectl = new Kubectl(binaries.get(0), kubeconfig, Files.createDirectories(dir.resolve("kubectl")));
      for (String cluster : Demo.CLUSTERS) {
        String namespaces = kubectl.ok("--context", cluster, "get", "ns");
        assertTrue(namespaces.contains("kube-system"), cluster + ": " + namespaces);
      }
      assertTrue(kubectl.ok("--context", "demo-b", "get", "deployments", "-A").contains("coredns"));
    } finally {
      demo.stop();
    }
  }
}
