package io.kmc.hub.cache;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Redis shared state whose per-request check ({@link #admit}) is answered on this node, without a
 * round trip to Redis per request. The first request of a credential goes to Redis as before; after
 * that, this node
 * <ul>
 *   <li>counts requests against the rate limit locally and adds its counts to Redis's in one batch
 *       every sync interval, learning the other nodes' share of each window from the answer (so a
 *       client spread over N nodes can overrun its limit by at most what it sends in one interval);</li>
 *   <li>keeps what it learnt about the revocation marks a request depends on, refreshed in the same
 *       batch while they are in use, and asks Redis again per request once that is older than
 *       {@link #STALE_AFTER_SYNCS} intervals (Redis gone: requests fail as they did before);</li>
 *   <li>sets and clears marks on every node before {@link #mark}/{@link #unmark} complete: a revocation
 *       answered to its caller is in force on every live node.</li>
 * </ul>
 * Everything else is Redis's, unchanged.
 */
public final class NodeAdmission implements SharedState {

  private static final Logger LOG = LoggerFactory.getLogger(NodeAdmission.class);
  private static final String ADDRESS = "kmc.hub.admission-marks.";
  /** A mark learnt longer ago than this many sync intervals is asked of Redis again, per request. */
  static final int STALE_AFTER_SYNCS = 10;
  /** Marks and windows not used for this long are forgotten. */
  private static final long FORGET_AFTER_NANOS = Duration.ofMinutes(2).toNanos();
  private static final long TELL_NODES_TIMEOUT_MILLIS = 2_000;

  /** What this node knows of one mark: set or not, as of when. */
  private record Mark(boolean set, long learntAt, long usedAt) {
    Mark used(long now) {
      return new Mark(set, learntAt, now);
    }
  }

  /** One rate-limit window as this node sees it. */
  private static final class Window {
    final long lengthMillis;
    /** The window's count in Redis at the last answer (every node's share). */
    long shared;
    /** Counted here and being added to Redis now. */
    long sending;
    /** Counted here since. */
    long pending;
    long resetsAt;
    long usedAt;

    Window(long lengthMillis, long nowNanos) {
      this.lengthMillis = lengthMillis;
      this.usedAt = nowNanos;
    }

    synchronized WindowCount count(long nowMillis, long nowNanos) {
      if (nowMillis >= resetsAt) {
        shared = 0;
        resetsAt = nowMillis + lengthMillis;
      }
      pending++;
      usedAt = nowNanos;
      return new WindowCount(shared + sending + pending, resetsAt - nowMillis);
    }

    synchronized long take() {
      long taken = pending;
      pending = 0;
      sending += taken;
      return taken;
    }

    synchronized void learnt(long sent, WindowCount answer, long nowMillis) {
      sending -= sent;
      shared = answer.count();
      resetsAt = nowMillis + answer.resetMillis();
    }

    synchronized void notSent(long sent) {
      sending -= sent;
      pending += sent;
    }

    synchronized boolean idle(long nowNanos) {
      return pending == 0 && sending == 0 && nowNanos - usedAt > FORGET_AFTER_NANOS;
    }
  }

  private final Vertx vertx;
  private final RedisSharedState redis;
  private final String nodeId;
  private final Supplier<Set<String>> nodes;
  private final long syncNanos;
  private final Map<String, Mark> marks = new ConcurrentHashMap<>();
  private final Map<String, Window> windows = new ConcurrentHashMap<>();
  private final MessageConsumer<JsonObject> told;
  private final long timer;
  private boolean syncing;

  /**
   * @param nodes the ids of the hub's live nodes (this one included), told of every mark set or cleared
   * @param interval how often counts are added to Redis and marks in use are read again
   */
  public NodeAdmission(Vertx vertx, RedisSharedState redis, String nodeId, Supplier<Set<String>> nodes,
                       Duration interval) {
    this.vertx = vertx;
    this.redis = redis;
    this.nodeId = nodeId;
    this.nodes = nodes;
    this.syncNanos = interval.toNanos();
    this.told = vertx.eventBus().consumer(ADDRESS + nodeId, message -> {
      learn(message.body().getString("key"), message.body().getBoolean("set"));
      message.reply(null);
    });
    this.timer = vertx.setPeriodic(interval.toMillis(), t -> sync());
  }

  @Override
  public Future<Admission> admit(List<String> keys, String counter, Duration window) {
    long now = System.nanoTime();
    for (String key : keys) {
      Mark mark = marks.get(key);
      if (mark == null || now - mark.learntAt() > STALE_AFTER_SYNCS * syncNanos) {
        return admitInRedis(keys, counter, window, now);
      }
      if (mark.set()) {
        return Future.succeededFuture(new Admission(true, null));
      }
      if (now - mark.usedAt() > syncNanos) {
        marks.put(key, mark.used(now));
      }
    }
    Window counted = windows.get(counter);
    if (counted == null) {
      return admitInRedis(keys, counter, window, now);
    }
    return Future.succeededFuture(new Admission(false, counted.count(System.currentTimeMillis(), now)));
  }

  /** The first request of a credential (or one whose marks are stale): checked and counted in Redis. */
  private Future<Admission> admitInRedis(List<String> keys, String counter, Duration window, long now) {
    return redis.admit(keys, counter, window).onSuccess(admission -> {
      if (admission.marked()) {
        return; // which of them is set is not known: the next request asks again
      }
      // Unless the node was told of a change while Redis was asked: that is newer.
      keys.forEach(key -> marks.compute(key, (k, mark) -> mark != null && mark.learntAt() - now > 0 ? mark
          : new Mark(false, now, now)));
      Window counted = windows.computeIfAbsent(counter, c -> new Window(window.toMillis(), now));
      counted.learnt(0, admission.window(), System.currentTimeMillis());
    });
  }

  /** Adds this node's counts to Redis and reads again the marks in use, in one round trip. */
  private void sync() {
    if (syncing) {
      return;
    }
    long now = System.nanoTime();
    marks.entrySet().removeIf(e -> now - e.getValue().usedAt() > FORGET_AFTER_NANOS);
    windows.entrySet().removeIf(e -> e.getValue().idle(now));
    List<String> markKeys = new ArrayList<>();
    marks.forEach((key, mark) -> {
      if (mark.usedAt() - mark.learntAt() > 0) {
        markKeys.add(key);
      }
    });
    List<RedisSharedState.Count> counts = new ArrayList<>();
    List<Window> sent = new ArrayList<>();
    windows.forEach((key, window) -> {
      long taken = window.take();
      if (taken > 0) {
        counts.add(new RedisSharedState.Count(key, taken, Duration.ofMillis(window.lengthMillis)));
        sent.add(window);
      }
    });
    if (markKeys.isEmpty() && counts.isEmpty()) {
      return;
    }
    syncing = true;
    redis.sync(counts, markKeys).onComplete(ar -> {
      syncing = false;
      if (ar.failed()) {
        LOG.debug("cannot add this node's request counts to Redis: {}", ar.cause().getMessage());
        for (int i = 0; i < sent.size(); i++) {
          sent.get(i).notSent(counts.get(i).amount());
        }
        return;
      }
      long nowMillis = System.currentTimeMillis();
      for (int i = 0; i < sent.size(); i++) {
        sent.get(i).learnt(counts.get(i).amount(), ar.result().windows().get(i), nowMillis);
      }
      for (int i = 0; i < markKeys.size(); i++) {
        String key = markKeys.get(i);
        boolean set = ar.result().marked().get(i);
        // Unless the node was told of a change after this read began: that is newer.
        marks.computeIfPresent(key, (k, mark) -> mark.learntAt() - now > 0 ? mark : new Mark(set, now, mark.usedAt()));
      }
    });
  }

  /**
   * A mark was set or cleared (here or on another node): known at once, also when no request here
   * has used it yet (one may be asking Redis right now, and must not cache the older answer).
   */
  private void learn(String key, boolean set) {
    long now = System.nanoTime();
    marks.compute(key, (k, mark) -> new Mark(set, now, mark == null ? now : mark.usedAt()));
  }

  @Override
  public Future<Void> mark(String key, Duration ttl) {
    return redis.mark(key, ttl).compose(v -> tellNodes(key, true));
  }

  @Override
  public Future<Void> unmark(String key) {
    return redis.unmark(key).compose(v -> tellNodes(key, false));
  }

  /**
   * Tells every live node (this one at once) that a mark changed, and waits for their answers: a node
   * that does not answer in time reads the mark again within its staleness bound anyway.
   */
  private Future<Void> tellNodes(String key, boolean set) {
    learn(key, set);
    JsonObject change = new JsonObject().put("key", key).put("set", set);
    DeliveryOptions options = new DeliveryOptions().setSendTimeout(TELL_NODES_TIMEOUT_MILLIS);
    List<Future<?>> answers = new ArrayList<>();
    for (String node : nodes.get()) {
      if (!node.equals(nodeId)) {
        answers.add(vertx.eventBus().request(ADDRESS + node, change, options)
            .onFailure(e -> LOG.warn("hub node {} was not told that {} is {}: {}", node, key,
                set ? "set" : "cleared", e.getMessage())));
      }
    }
    return Future.join(answers).otherwiseEmpty().mapEmpty();
  }

  @Override
  public Future<WindowCount> increment(String key, Duration window) {
    return redis.increment(key, window);
  }

  @Override
  public Future<Long> count(String key) {
    return redis.count(key);
  }

  @Override
  public Future<Void> delete(String key) {
    return redis.delete(key);
  }

  @Override
  public Future<Void> put(String key, String value, Duration ttl) {
    return redis.put(key, value, ttl);
  }

  @Override
  public Future<String> take(String key) {
    return redis.take(key);
  }

  @Override
  public Future<Void> ping() {
    return redis.ping();
  }

  @Override
  public Future<Void> close() {
    vertx.cancelTimer(timer);
    return told.unregister().eventually(redis::close);
  }
}
