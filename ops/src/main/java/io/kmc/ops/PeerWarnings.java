package io.kmc.ops;

import org.slf4j.Logger;

/**
 * Warnings about what one peer (an agent connection) sends, at most {@link #PER_MINUTE} a minute: a
 * peer that floods bad frames costs a counter, not a log line each. At the start of the next minute
 * one line says how many were left out. Arguments are logged as given: escape peer text with
 * {@link Texts#forLog} first. Not thread-safe: one per connection, used on its context.
 */
public final class PeerWarnings {

  public static final int PER_MINUTE = 10;
  private static final long MINUTE_MILLIS = 60_000;

  private final Logger log;
  private final String peer;
  private final Runnable suppressedCounter;
  private long windowStart;
  private int logged;
  private long suppressed;

  /** @param suppressedCounter counts each warning left out (a metric) */
  public PeerWarnings(Logger log, String peer, Runnable suppressedCounter) {
    this.log = log;
    this.peer = peer;
    this.suppressedCounter = suppressedCounter;
  }

  public void warn(String format, Object... arguments) {
    long now = System.currentTimeMillis();
    if (now - windowStart >= MINUTE_MILLIS) {
      if (suppressed > 0) {
        log.warn("{} more warnings about {} were not logged in the last minute", suppressed, peer);
      }
      windowStart = now;
      logged = 0;
      suppressed = 0;
    }
    if (logged < PER_MINUTE) {
      logged++;
      log.warn(format, arguments);
    } else {
      suppressed++;
      suppressedCounter.run();
    }
  }
}
