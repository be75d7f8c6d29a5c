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

  @Test
  void theHubsFingerprintIsAcceptedAsOpensslOrKmcPrintsIt() {
    String hex = "27:42:d9:00:2f:08:61:7d:46:10:2b:18:ff:d9:d1:58:90:67:91:9c:29:1a:ab:1b:2a:a1:e5:49:8e:2d:4d:f5";
    ConfigReader reader = ConfigReader.fromYaml("hub: {urls: [wss://hub], cluster: c, token: t}",
        Map.of("KMC_HUB_CA_SHA256", "sha256:" + hex.replace(":", "")));
    AgentConfig config = AgentConfig.read(reader);
    reader.finish();
    assertEquals(hex.toUpperCase(), config.hubCaSha256());

    ConfigReader both = ConfigReader.fromYaml("hub: {urls: [wss://hub], cluster: c, token: t, ca_file: /x, "
        + "ca_sha256: 'not a fingerprint'}", Map.of());
    AgentConfig.read(both);
    String message = assertThrows(ConfigException.class, both::finish).getMessage();
    assertTrue(message.contains("hub.ca_sha256: 'not a fingerprint' is not a SHA-256 fingerprint"), message);
    assertTrue(message.contains("set hub.ca_file or hub.ca_sha256, not both"), message);
  }

  @Test
  void theManagementPortDefaultsAwayFromTheHubs() {
    ConfigReader reader = ConfigReader.fromYaml("hub: {urls: [wss://hub], cluster: c, token: t}", Map.of());
    assertEquals(9091, AgentConfig.read(reader).managementPort(), "the hub's is 9090: both run on one machine");
  }
}
