package io.kmc.agent;

import java.time.Duration;
import java.time.format.DateTimeParseException;

/**
 * The agent's wall clock: every time of day the agent reads or sends. For tests and the chaos bench
 * only, the system property {@value #OFFSET_PROPERTY} (an ISO-8601 duration: {@code PT10M},
 * {@code -PT10M}) shifts it, standing for a host whose clock is wrong, since this machine has no
 * libfaketime. Silences and deadlines are not on this clock but on a monotonic one
 * ({@code System.nanoTime}), which a wrong or corrected wall clock does not move. The JDK's own TLS
 * certificate check reads the real clock, not this one.
 */
public final class AgentClock {

  public static final String OFFSET_PROPERTY = "kmc.agent.test.clock_offset";

  private static final long OFFSET_MILLIS = parse(System.getProperty(OFFSET_PROPERTY)).toMillis();

  private AgentClock() {
  }

  /** Milliseconds since the epoch as this agent believes them. */
  public static long currentTimeMillis() {
    return System.currentTimeMillis() + OFFSET_MILLIS;
  }

  /** How far this agent's clock is set from the host's: zero unless a test set {@value #OFFSET_PROPERTY}. */
  public static Duration offset() {
    return Duration.ofMillis(OFFSET_MILLIS);
  }

  static Duration parse(String value) {
    if (value == null || value.isBlank()) {
      return Duration.ZERO;
    }
    try {
      return Duration.parse(value.trim());
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException(OFFSET_PROPERTY + " must be an ISO-8601 duration such as PT10M or -PT10M, not '"
          + value + "'", e);
    }
  }
}
