package io.kmc.hub.api;

import io.kubernetes.client.util.KubeConfig;
import org.junit.jupiter.api.Test;

import java.io.StringReader;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

class KubeconfigsTest {

  @Test
  void renderedKubeconfigLoadsWithClientJava() {
    Map<String, String> servers = new LinkedHashMap<>();
    servers.put("demo-a", "https://127.0.0.1:8080/k8s/clusters/demo-a");
    servers.put("demo-b", "https://127.0.0.1:8080/k8s/clusters/demo-b");
    String yaml = Kubeconfigs.render(servers, "kmc-admin", "t0ken", "demo-a", "Q0EK");

    KubeConfig config = KubeConfig.loadKubeConfig(new StringReader(yaml));
    assertEquals("demo-a", config.getCurrentContext());
    assertEquals("https://127.0.0.1:8080/k8s/clusters/demo-a", config.getServer());
    assertEquals("t0ken", config.getCredentials().get(KubeConfig.CRED_TOKEN_KEY));
    config.setContext("demo-b");
    assertEquals("https://127.0.0.1:8080/k8s/clusters/demo-b", config.getServer());
  }
}
