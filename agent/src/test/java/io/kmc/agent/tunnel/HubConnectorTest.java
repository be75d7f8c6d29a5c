package io.kmc.agent.tunnel;

import io.kmc.agent.AgentConfig;
import io.kmc.common.config.ConfigReader;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

class HubConnectorTest {

  @Test
  void backoffDoublesWithJitterAndStaysUnderTheCap() {
    ConfigReader reader = ConfigReader.fromYaml("""
        hub:
          urls: [wss://hub]
          cluster: c
          token: t
          reconnect: {initial_backoff: 100ms, max_backoff: 2s}
        """, Map.of());
    AgentConfig config = AgentConfig.read(reader);
    reader.finish();
    HubConnector connector = new HubConnector(config, null, null, null, null, null);
    for (int i = 0; i < 200; i++) {
      long first = connector.backoffMillis(0);
      assertTrue(first >= 50 && first <= 100, "first delay " + first);
      long third = connector.backoffMillis(2);
      assertTrue(third >= 200 && third <= 400, "third delay " + third);
      long late = connector.backoffMillis(40);
      assertTrue(late >= 1000 && late <= 2000, "capped delay " + late);
    }
  }
}
