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
          max_requests: 0
        workers:
          queue: many
        """, Map.of());
    AgentConfig.read(reader);
    ConfigException e = assertThrows(ConfigException.class, reader::finish);
    String message = e.getMessage();
    assertTrue(message.contains("hub.cluster: is required"), message);
    assertTrue(message.contains("hub.urls: 'ftp://nope' must start with wss://"), message);
    assertTrue(message.contains("kubernetes.kubeconfig: is required when kubernetes.mode is kubeconfig"), message);
    assertTrue(message.contains("kubernetes.max_requests: must be between 1 and 100000"), message);
    assertTrue(message.contains("workers.queue: must be an integer"), message);
    assertFalse(message.contains("very-secret-token"), message);
  }

  @Test
  void tokenFileModeNeedsAnApiUrlAndATokenFile() {
    ConfigReader reader = ConfigReader.fromYaml("""
        hub: {urls: [wss://hub], cluster: c, token: t}
        kubernetes: {mode: token-file, api_url: "https://10.0.0.1:6443", token_file: /tokens/t, ca_file: /tokens/ca.crt}
        """, Map.of());
    AgentConfig config = AgentConfig.read(reader);
    reader.finish();
    assertEquals(URI.create("https://10.0.0.1:6443"), config.kubeApiUrl());
    assertEquals("/tokens/t", config.kubeTokenFile().toString());
    assertEquals("/tokens/ca.crt", config.kubeCaFile().toString());

    ConfigReader missing = ConfigReader.fromYaml("""
        hub: {urls: [wss://hub], cluster: c, token: t}
        kubernetes: {mode: token-file, api_url: "ftp://x"}
        """, Map.of());
    AgentConfig.read(missing);
    String message = assertThrows(ConfigException.class, missing::finish).getMessage();
    assertTrue(message.contains("kubernetes.api_url: 'ftp://x' must be an https:// (or http://) URL"), message);
    assertTrue(message.contains("kubernetes.token_file: is required when kubernetes.mode is token-file"), message);
  }

  @Test
  void theWorkerKeysOfEarlierAgentsStillSetTheLimits() {
    ConfigReader reader = ConfigReader.fromYaml("""
        hub: {urls: [wss://hub], cluster: c, token: t}
        workers: {requests: 16, queue: 100, streams: 300}
        """, Map.of());
    AgentConfig config = AgentConfig.read(reader);
    reader.finish();
    assertEquals(116, config.maxRequests(), "threads and queue both admitted requests");
    assertEquals(300, config.maxStreams());

    ConfigReader both = ConfigReader.fromYaml("""
        hub: {urls: [wss://hub], cluster: c, token: t}
        kubernetes: {max_streams: 1000}
        workers: {streams: 300}
        """, Map.of());
    assertEquals(1000, AgentConfig.read(both).maxStreams(), "the new key wins");

    ConfigReader defaults = ConfigReader.fromYaml("hub: {urls: [wss://hub], cluster: c, token: t}", Map.of());
    AgentConfig plain = AgentConfig.read(defaults);
    assertEquals(256, plain.maxRequests());
    assertEquals(2048, plain.maxStreams());
    assertTrue(plain.http2());
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
