package io.kmc.hub.gateway;

import java.util.concurrent.ThreadLocalRandom;

/**
 * How fast a node takes new agent connections ({@code tunnel.admission_rate}): a token bucket of one
 * second's worth, and for those it turns away a place in a virtual queue that drains at the same
 * rate. The place becomes the delay the agent is told to wait ({@code Retry-After}), so that after a
 * node dies its thousands of agents come back spread over {@code agents / rate} seconds instead of
 * all at once, and each is told when rather than refused and left to guess.
 */
public final class Admission {

  private final int ratePerSecond;
  private double tokens;
  private double queued;
  private long lastNanos = System.nanoTime();

  /** @param ratePerSecond connections admitted per second; 0 admits everything */
  public Admission(int ratePerSecond) {
    this.ratePerSecond = ratePerSecond;
    this.tokens = ratePerSecond;
  }

  /** Admits everything. */
  public static Admission unlimited() {
    return new Admission(0);
  }

  /** -1 when the connection may go ahead now; otherwise how many milliseconds the agent should wait. */
  public synchronized long admit() {
    if (ratePerSecond <= 0) {
      return -1;
    }
    long now = System.nanoTime();
    double drained = (now - lastNanos) / 1e9 * ratePerSecond;
    lastNanos = now;
    tokens = Math.min(ratePerSecond, tokens + drained);
    queued = Math.max(0, queued - drained);
    if (tokens >= 1) {
      tokens -= 1;
      return -1;
    }
    queued += 1;
    // The place in the queue, and up to a second more: agents told the same second do not all come back at once.
    return (long) (queued * 1000 / ratePerSecond) + ThreadLocalRandom.current().nextLong(1000);
  }

  /** The delay as an HTTP {@code Retry-After} value: whole seconds, at least 1. */
  public static String retryAfterSeconds(long delayMillis) {
    return String.valueOf(Math.max(1, (delayMillis + 999) / 1000));
  }
}
