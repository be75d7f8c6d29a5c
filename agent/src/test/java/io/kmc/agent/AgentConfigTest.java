package io.kmc.agent;

import io.kmc.common.config.ConfigException;
import io.kmc.common.config.ConfigReader;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AgentConfigTest {

  @Test
  void hubUrlsGetTheConnectPathAndEnvironmentOverrides() {
    ConfigReader reader = ConfigReader.fromYaml("""
        hub:
          urls: ["https://hub.example.com", "wss://hub-2.example.com:8443/agent/v1/connect"]
          cluster: prod
          token_file: /var/run/kmc/token
        """, Map.of("KMC_HUB_CLUSTER", "prod-eu"));
    AgentConfig config = AgentConfig.read(reader);
    reader.finish();
    assertEquals(List.of(URI.create("wss://hub.example.com/agent/v1/connect"),
        URI.create("wss://hub-2.example.com:8443/agent/v1/connect")), config.hubUrls());
    assertEquals("prod-eu", config.cluster());
    assertEquals("in-cluster", config.kubernetesMode());
  }

  @Test
  void missingAndWrongValuesAreReportedTogetherWithoutTheToken() {
    ConfigReader reader = ConfigReader.fromYaml("""
        hub:
          urls: ["ftp://nope"]
          token: very-secret-token
        kubernetes:
          mode: kubeconfig
        workers:
          requests: 0
        """, Map.of());
    AgentConfig.read(reader);
    ConfigException e = assertThrows(ConfigException.class, reader::finish);
    String message = e.getMessage();
    assertTrue(message.contains("hub.cluster: is required"), message);
    assertTrue(message.contains("hub.urls: 'ftp://nope' must start with wss://"), message);
    assertTrue(message.contains("kubernetes.kubeconfig: is required when kubernetes.mode is kubeconfig"), message);
    assertTrue(message.contains("workers.requests: must be between 1 and 1024"), message);
    assertFalse(message.contains("very-secret-token"), message);
  }
}
