package io.kmc.agent;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AgentClockTest {

  @Test
  void theOffsetIsAnIsoDurationEitherWayAndNoneByDefault() {
    assertEquals(Duration.ZERO, AgentClock.parse(null));
    assertEquals(Duration.ZERO, AgentClock.parse(" "));
    assertEquals(Duration.ofMinutes(10), AgentClock.parse("PT10M"));
    assertEquals(Duration.ofMinutes(-10), AgentClock.parse("-PT10M"));
    IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> AgentClock.parse("10 minutes"));
    assertTrue(bad.getMessage().contains(AgentClock.OFFSET_PROPERTY), bad.getMessage());
  }

  @Test
  void withoutTheTestPropertyTheAgentsClockIsTheHosts() {
    assertEquals(Duration.ZERO, AgentClock.offset());
    long before = System.currentTimeMillis();
    long agent = AgentClock.currentTimeMillis();
    assertTrue(agent >= before && agent <= System.currentTimeMillis(), "agent " + agent + ", host " + before);
  }
}
