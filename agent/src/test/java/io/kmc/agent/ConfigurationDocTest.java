package io.kmc.agent;

import io.kmc.common.config.ConfigDocs;
import io.kmc.common.config.ConfigReader;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** docs/configuration.md lists exactly the keys the agent reads, with their types and defaults. */
class ConfigurationDocTest {

  @Test
  void agentKeysInTheDocumentMatchTheCode() throws Exception {
    ConfigReader reader = ConfigReader.fromYaml("", Map.of());
    AgentConfig.read(reader);
    String expected = ConfigDocs.table(reader.keys());
    String documented = ConfigDocs.documented(Path.of("..", "docs", "configuration.md"), "agent-keys", expected);
    assertEquals(expected, documented, "docs/configuration.md is out of date (regenerate it with "
        + "mvn test -Dtest=ConfigurationDocTest -Dkmc.updateDocs=true); the agent reads:\n" + expected);
  }

  @Test
  void exampleConfigurationIsValid() {
    ConfigReader reader = ConfigReader.fromFile(Path.of("..", "config", "agent.yaml"), Map.of());
    AgentConfig config = AgentConfig.read(reader);
    reader.finish();
    assertEquals("prod-eu", config.cluster());
  }
}
