package io.kmc.hub;

import io.kmc.common.config.ConfigDocs;
import io.kmc.common.config.ConfigReader;
import io.kmc.hub.config.HubConfig;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** docs/configuration.md lists exactly the keys the hub reads, with their types and defaults. */
class ConfigurationDocTest {

  @Test
  void hubKeysInTheDocumentMatchTheCode() throws Exception {
    ConfigReader reader = ConfigReader.fromYaml("""
        clusters:
          - name: example
            token_sha256: %s
        auth:
          tokens:
            - user: example
              token_sha256: %s
        """.formatted("0".repeat(64), "0".repeat(64)), Map.of());
    HubConfig.read(reader);
    String expected = ConfigDocs.table(reader.keys());
    String documented = ConfigDocs.documented(Path.of("..", "docs", "configuration.md"), "hub-keys", expected);
    assertEquals(expected, documented, "docs/configuration.md is out of date (regenerate it with "
        + "mvn test -Dtest=ConfigurationDocTest -Dkmc.updateDocs=true); the hub reads:\n" + expected);
  }

  @Test
  void exampleConfigurationIsValid() {
    ConfigReader reader = ConfigReader.fromFile(Path.of("..", "config", "hub.yaml"), Map.of());
    HubConfig config = HubConfig.read(reader);
    reader.finish();
    assertEquals("prod-eu", config.clusters().get(0).name());
  }
}
