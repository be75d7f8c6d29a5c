package io.kmc.hub.cache;

import io.vertx.core.Future;
import io.vertx.core.Vertx;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** In-process {@link SharedState} for a single hub node without Redis. */
public final class LocalSharedState implements SharedState {

  private record Entry(long value, long expiresAt) {
    boolean expired(long now) {
      return now >= expiresAt;
    }
  }

  private final Vertx vertx;
  private record Value(String text, long expiresAt) {
  }

  private final Map<String, Entry> entries = new ConcurrentHashMap<>();
  private final Map<String, Value> values = new ConcurrentHashMap<>();
  private final long sweeper;

  public LocalSharedState(Vertx vertx) {
    this.vertx = vertx;
    this.sweeper = vertx.setPeriodic(60_000, t -> {
      long now = System.currentTimeMillis();
      entries.entrySet().removeIf(e -> e.getValue().expired(now));
      values.entrySet().removeIf(e -> now >= e.getValue().expiresAt());
    });
  }

  @Override
  public Future<WindowCount> increment(String key, Duration window) {
    long now = System.currentTimeMillis();
    Entry entry = entries.compute(key, (k, old) -> old == null || old.expired(now)
        ? new Entry(1, now + window.toMillis())
        : new Entry(old.value() + 1, old.expiresAt()));
    return Future.succeededFuture(new WindowCount(entry.value(), entry.expiresAt() - now));
  }

  @Override
  public Future<Long> count(String key) {
    Entry entry = entries.get(key);
    return Future.succeededFuture(entry == null || entry.expired(System.currentTimeMillis()) ? 0L : entry.value());
  }

  @Override
  public Future<Void> delete(String key) {
    entries.remove(key);
    return Future.succeededFuture();
  }

  @Override
  public Future<Void> mark(String key, Duration ttl) {
    entries.put(key, new Entry(1, System.currentTimeMillis() + ttl.toMillis()));
    return Future.succeededFuture();
  }

  @Override
  public Future<Void> unmark(String key) {
    return delete(key);
  }

  @Override
  public Future<Void> put(String key, String value, Duration ttl) {
    values.put(key, new Value(value, System.currentTimeMillis() + ttl.toMillis()));
    return Future.succeededFuture();
  }

  @Override
  public Future<String> take(String key) {
    Value value = values.remove(key);
    return Future.succeededFuture(value == null || System.currentTimeMillis() >= value.expiresAt() ? null
        : value.text());
  }

  @Override
  public Future<Admission> admit(List<String> marks, String counter, Duration window) {
    long now = System.currentTimeMillis();
    if (marks.stream().map(entries::get).anyMatch(e -> e != null && !e.expired(now))) {
      return Future.succeededFuture(new Admission(true, null));
    }
    return increment(counter, window).map(count -> new Admission(false, count));
  }

  @Override
  public Future<Void> ping() {
    return Future.succeededFuture();
  }

  @Override
  public Future<Void> close() {
    vertx.cancelTimer(sweeper);
    return Future.succeededFuture();
  }
}
