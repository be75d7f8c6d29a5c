package io.kmc.hub;

import io.kmc.common.config.ConfigException;
import io.kmc.common.config.ConfigReader;
import io.kmc.hub.config.HubConfig;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HubConfigTest {

  private static final String HASH = "a".repeat(64);

  @Test
  void noConfigurationAtAllIsAWorkingSingleNode() {
    ConfigReader reader = ConfigReader.fromYaml("", Map.of());
    HubConfig config = HubConfig.read(reader);
    reader.finish();
    assertEquals(8080, config.server().port());
    assertFalse(config.cluster().enabled());
    assertEquals("self-signed", config.server().tls().mode());
    assertEquals(30_000, config.tunnel().limits().requestTimeoutMillis());
    assertTrue(config.clusters().isEmpty());
  }

  @Test
  void secretsNeverShowInTheConfigurationsText() {
    ConfigReader reader = ConfigReader.fromYaml("""
        database:
          host: db.example.com
          password: db-secret-1
        redis:
          url: redis://:redis-secret-2@cache:6379
          password: redis-secret-3
        auth:
          admin_password: admin-secret-4
        """, Map.of());
    HubConfig config = HubConfig.read(reader);
    reader.finish();
    String text = config.toString();
    for (String secret : List.of("db-secret-1", "redis-secret-2", "redis-secret-3", "admin-secret-4")) {
      assertFalse(text.contains(secret), "the configuration's text shows " + secret + ": " + text);
    }
    assertTrue(text.contains("db.example.com") && text.contains("cache:6379"), text);
  }

  @Test
  void clustersTunnelAndEnvironmentOverridesAreRead() {
    ConfigReader reader = ConfigReader.fromYaml("""
        tunnel:
          request_timeout: 5s
          chunk_bytes: 32KiB
        clusters:
          - name: prod-eu
            display_name: Production EU
            token_sha256: %s
            labels: {env: prod}
          - name: lab
            kubeconfig: /etc/kmc/lab.kubeconfig
            enabled: false
        """.formatted(HASH), Map.of("KMC_SERVER_PORT", "9443", "KMC_CLUSTER_MEMBERS", "10.0.0.1:5701,10.0.0.2:5701"));
    HubConfig config = HubConfig.read(reader);
    reader.finish();
    assertEquals(9443, config.server().port());
    assertEquals(List.of("10.0.0.1:5701", "10.0.0.2:5701"), config.cluster().members());
    assertEquals(Duration.ofSeconds(5).toMillis(), config.tunnel().limits().requestTimeoutMillis());
    assertEquals(32 * 1024, config.tunnel().limits().chunkBytes());
    assertEquals("Production EU", config.clusters().get(0).displayName());
    assertEquals(Map.of("env", "prod"), config.clusters().get(0).labels());
    assertTrue(config.clusters().get(1).direct());
    assertFalse(config.clusters().get(1).enabled());
  }

  @Test
  void badClustersAreReportedWithTheirPosition() {
    ConfigReader reader = ConfigReader.fromYaml("""
        clusters:
          - name: Bad_Name
            token_sha256: %s
          - name: twice
            token_sha256: nothex
          - name: twice
          - display_name: nameless
        tunnel:
          ping_interval: 30s
          ping_timeout: 10s
        """.formatted(HASH), Map.of());
    HubConfig.read(reader);
    ConfigException e = assertThrows(ConfigException.class, reader::finish);
    List<String> problems = e.problems();
    assertTrue(problems.stream().anyMatch(p -> p.startsWith("clusters[0].name: 'Bad_Name' is not a valid cluster name")), problems.toString());
    assertTrue(problems.contains("clusters[1].token_sha256: must be 64 hexadecimal characters"), problems.toString());
    assertTrue(problems.contains("clusters[2].name: 'twice' is listed twice"), problems.toString());
    assertTrue(problems.contains("clusters[2].token_sha256: is required unless kubeconfig is set (direct mode)"), problems.toString());
    assertTrue(problems.contains("clusters[3].name: is required"), problems.toString());
    assertTrue(problems.contains("tunnel: pingTimeoutMillis must be larger than pingIntervalMillis"), problems.toString());
  }

  @Test
  void theAgentImageIsTheOneTheReferenceNames() throws Exception {
    ConfigReader reader = ConfigReader.fromYaml("", Map.of());
    HubConfig config = HubConfig.read(reader);
    reader.finish();
    String image = config.server().agentImage();
    assertEquals(HubConfig.AGENT_IMAGE_REPOSITORY + ":" + io.kmc.common.KmcVersion.current(), image);
    String row = java.nio.file.Files.readAllLines(java.nio.file.Path.of("..", "docs", "configuration.md")).stream()
        .filter(line -> line.startsWith("| `server.agent_image` |")).findFirst().orElseThrow();
    assertTrue(row.contains(HubConfig.AGENT_IMAGE_REPOSITORY + ":VERSION, VERSION being the hub's own"), row);
    String gitops = java.nio.file.Files.readString(java.nio.file.Path.of("..", "deploy", "kubernetes", "agent",
        "agent.yaml"));
    assertTrue(gitops.contains("image: " + HubConfig.AGENT_IMAGE_REPOSITORY + ":"), "the same repository in deploy/");
  }
}
