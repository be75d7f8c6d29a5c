package io.kmc.bench.watch;

import org.HdrHistogram.Histogram;

import java.util.BitSet;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * What every watch received, checked against the changes made: change number {@code n} (0, 1, 2, …)
 * creates the object {@code kmcw-n}, so each watch must see every number once, in increasing order.
 * Also the time from each change to each of its deliveries. Not thread-safe: one event loop records.
 */
public final class EventLedger {

  /** The prefix of the names of the objects the changes create; the number follows. */
  public static final String PREFIX = "kmcw-";

  private final BitSet[] received;
  private final int[] lastSeen;
  private final AtomicLongArray changedAt;
  private final Histogram gaps = new Histogram(3_600_000_000_000L, 3);
  private final Histogram gapsFromSplit = new Histogram(3_600_000_000_000L, 3);
  private int split = Integer.MAX_VALUE;
  private long delivered;
  private long duplicated;
  private long outOfOrder;
  private long otherLines;
  private String firstOther;

  private final int offset;

  /** @param offset the number of the first change this ledger follows (its objects are kmcw-offset, …) */
  EventLedger(int watches, int maxChanges, int offset) {
    this.offset = offset;
    received = new BitSet[watches];
    lastSeen = new int[watches];
    for (int i = 0; i < watches; i++) {
      received[i] = new BitSet(maxChanges);
      lastSeen[i] = -1;
    }
    changedAt = new AtomicLongArray(maxChanges);
  }

  /** The change {@code number} was sent at {@code nanoTime} (from any thread). */
  void changed(int number, long nanoTime) {
    changedAt.set(number, nanoTime);
  }

  /**
   * One line of watch {@code watch}'s stream, at {@code nanoTime}. An ADDED event of one of our
   * objects is recorded; anything else (a BOOKMARK the client did not ask for, an ERROR) is counted
   * as an other line.
   */
  void line(int watch, String line, long nanoTime) {
    int number = numberOf(line) - offset;
    if (number < 0 || number >= changedAt.length()) {
      otherLines++;
      if (firstOther == null) {
        firstOther = line.length() > 300 ? line.substring(0, 300) + "…" : line;
      }
      return;
    }
    delivered++;
    if (received[watch].get(number)) {
      duplicated++;
    } else {
      received[watch].set(number);
    }
    if (number <= lastSeen[watch]) {
      outOfOrder++;
    } else {
      lastSeen[watch] = number;
    }
    long sent = changedAt.get(number);
    if (sent != 0) {
      gaps.recordValue(Math.max(0, nanoTime - sent));
      if (number >= split) {
        gapsFromSplit.recordValue(Math.max(0, nanoTime - sent));
      }
    }
  }

  /** The change number of an ADDED event of one of our objects, or -1. */
  static int numberOf(String line) {
    if (!line.startsWith("{\"type\":\"ADDED\"")) {
      return -1;
    }
    int at = line.indexOf("\"" + PREFIX);
    if (at < 0) {
      return -1;
    }
    int start = at + 1 + PREFIX.length();
    int end = start;
    while (end < line.length() && Character.isDigit(line.charAt(end))) {
      end++;
    }
    return end == start ? -1 : Integer.parseInt(line, start, end, 10);
  }

  /** Events of the first {@code changes} changes that some watch never received. */
  public long lost(int changes) {
    long lost = 0;
    for (BitSet watch : received) {
      lost += changes - watch.get(0, changes).cardinality();
    }
    return lost;
  }

  /** Watches that have received all of the first {@code changes} changes. */
  int complete(int changes) {
    int complete = 0;
    for (BitSet watch : received) {
      if (watch.get(0, changes).cardinality() == changes) {
        complete++;
      }
    }
    return complete;
  }

  public long delivered() {
    return delivered;
  }

  public long duplicated() {
    return duplicated;
  }

  public long outOfOrder() {
    return outOfOrder;
  }

  public long otherLines() {
    return otherLines;
  }

  public String firstOther() {
    return firstOther;
  }

  /** From now on, the gaps of changes numbered {@code split} and later are also kept apart. */
  void split(int split) {
    this.split = split;
  }

  /** Time from a change to its delivery, over the deliveries of the changes from the split on. */
  Histogram gapsFromSplit() {
    return gapsFromSplit;
  }

  /** Time from a change to its delivery, over every delivery, in nanoseconds. */
  Histogram gaps() {
    return gaps;
  }
}
