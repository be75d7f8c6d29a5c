package io.kmc.hub.cache;

import io.vertx.core.Future;

import java.time.Duration;
import java.util.List;

/**
 * State every hub node must see at once but that can be rebuilt if lost: token revocations and
 * rate-limit counters. Redis when configured ({@link RedisSharedState}); in-process for a single
 * node ({@link LocalSharedState}).
 */
public interface SharedState {

  /** The count of a fixed window after an increment, and how long until the window ends. */
  record WindowCount(long count, long resetMillis) {
  }

  /** What {@link #admit} found: a mark that refuses the event, or else the window after counting it. */
  record Admission(boolean marked, WindowCount window) {
  }

  /** Counts one event in the current window of {@code key}; the window starts with its first event. */
  Future<WindowCount> increment(String key, Duration window);

  /** The current count of a window, without counting. */
  Future<Long> count(String key);

  Future<Void> delete(String key);

  /** Stores a marker that disappears after {@code ttl}. */
  Future<Void> mark(String key, Duration ttl);

  /**
   * The check every API call makes, in one round trip: if any of {@code marks} is set (a revoked
   * session or token, a blocked user) the event is refused and not counted; otherwise it is counted
   * in the window of {@code counter} as by {@link #increment}.
   */
  Future<Admission> admit(List<String> marks, String counter, Duration window);

  /** Removes a marker set by {@link #mark}. */
  Future<Void> unmark(String key);

  /** Stores a value that disappears after {@code ttl}. */
  Future<Void> put(String key, String value, Duration ttl);

  /** The value of {@code key}, removed in the same step (so that only one caller on any node gets it), or null. */
  Future<String> take(String key);

  /** A readiness check. */
  Future<Void> ping();

  Future<Void> close();
}
