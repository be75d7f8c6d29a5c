package io.kmc.hub.cache;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisAPI;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Response;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/** {@link SharedState} in Redis, shared by every hub node. Every key starts with a configured prefix. */
public final class RedisSharedState implements SharedState {

  /**
   * Unless one of the marks is set (then {-1, 0}), counts an event in a fixed window, starting the
   * window's expiry on its first event; returns the count and the milliseconds left. KEYS: the marks
   * (none for a plain count), then the counter; ARGV: the window in ms.
   */
  private static final String ADMIT = """
      if #KEYS > 1 and redis.call('EXISTS', unpack(KEYS, 1, #KEYS - 1)) > 0 then return {-1, 0} end
      local counter = KEYS[#KEYS]
      local count = redis.call('INCR', counter)
      if count == 1 then redis.call('PEXPIRE', counter, ARGV[1]) end
      return {count, redis.call('PTTL', counter)}
      """;
  private static final String ADMIT_SHA = sha1(ADMIT);
  /**
   * Adds several nodes' worth of counts and reads marks, for {@link NodeAdmission}: KEYS are the
   * counters, then the marks; ARGV[1] the number of counters, then an amount and a window in ms per
   * counter. Returns the count and milliseconds left of each counter, then 1 or 0 per mark.
   */
  private static final String SYNC = """
      local counters = tonumber(ARGV[1])
      local out = {}
      for i = 1, counters do
        local count = redis.call('INCRBY', KEYS[i], ARGV[2 * i])
        if redis.call('PTTL', KEYS[i]) < 0 then redis.call('PEXPIRE', KEYS[i], ARGV[2 * i + 1]) end
        out[#out + 1] = count
        out[#out + 1] = redis.call('PTTL', KEYS[i])
      end
      for i = counters + 1, #KEYS do out[#out + 1] = redis.call('EXISTS', KEYS[i]) end
      return out
      """;
  private static final String SYNC_SHA = sha1(SYNC);

  /** An amount to add to a counter whose window is {@code window} long. */
  public record Count(String key, long amount, Duration window) {
  }

  /** What {@link #sync} found: the windows after adding, in order, and whether each mark is set. */
  public record Synced(List<WindowCount> windows, List<Boolean> marked) {
  }

  private final Redis client;
  private final RedisAPI redis;
  private final String prefix;

  private RedisSharedState(Redis client, String prefix) {
    this.client = client;
    this.redis = RedisAPI.api(client);
    this.prefix = prefix;
  }

  public static RedisSharedState create(Vertx vertx, String url, String password, String prefix) {
    RedisOptions options = new RedisOptions().setConnectionString(url).setMaxPoolSize(16).setMaxPoolWaiting(1024);
    if (password != null) {
      options.setPassword(password);
    }
    return new RedisSharedState(Redis.createClient(vertx, options), prefix);
  }

  @Override
  public Future<WindowCount> increment(String key, Duration window) {
    return evalAdmit(List.of(prefix + key), window).map(RedisSharedState::windowCount);
  }

  @Override
  public Future<Admission> admit(List<String> marks, String counter, Duration window) {
    List<String> keys = new ArrayList<>(marks.size() + 1);
    marks.forEach(mark -> keys.add(prefix + mark));
    keys.add(prefix + counter);
    return evalAdmit(keys, window).map(response -> response.get(0).toLong() < 0
        ? new Admission(true, null)
        : new Admission(false, windowCount(response)));
  }

  /** Adds the counts to their windows and reads the marks, in one round trip. */
  public Future<Synced> sync(List<Count> counts, List<String> marks) {
    List<String> keys = new ArrayList<>(counts.size() + marks.size());
    List<String> arguments = new ArrayList<>(1 + 2 * counts.size());
    arguments.add(String.valueOf(counts.size()));
    counts.forEach(count -> {
      keys.add(prefix + count.key());
      arguments.add(String.valueOf(count.amount()));
      arguments.add(String.valueOf(count.window().toMillis()));
    });
    marks.forEach(mark -> keys.add(prefix + mark));
    return eval(SYNC, SYNC_SHA, keys, arguments).map(response -> {
      List<WindowCount> windows = new ArrayList<>(counts.size());
      for (int i = 0; i < counts.size(); i++) {
        windows.add(new WindowCount(response.get(2 * i).toLong(), Math.max(0, response.get(2 * i + 1).toLong())));
      }
      List<Boolean> marked = new ArrayList<>(marks.size());
      for (int i = 0; i < marks.size(); i++) {
        marked.add(response.get(2 * counts.size() + i).toLong() > 0);
      }
      return new Synced(windows, marked);
    });
  }

  private static WindowCount windowCount(Response response) {
    return new WindowCount(response.get(0).toLong(), Math.max(0, response.get(1).toLong()));
  }

  private Future<Response> evalAdmit(List<String> keys, Duration window) {
    return eval(ADMIT, ADMIT_SHA, keys, List.of(String.valueOf(window.toMillis())));
  }

  /**
   * Runs a script on prefixed keys by its hash (the script is sent once, not with every call),
   * loading it when Redis lacks it.
   */
  private Future<Response> eval(String script, String sha, List<String> keys, List<String> values) {
    List<String> arguments = new ArrayList<>(keys.size() + values.size() + 2);
    arguments.add(sha);
    arguments.add(String.valueOf(keys.size()));
    arguments.addAll(keys);
    arguments.addAll(values);
    return redis.evalsha(arguments).recover(e -> {
      if (e.getMessage() == null || !e.getMessage().startsWith("NOSCRIPT")) {
        return Future.failedFuture(e);
      }
      arguments.set(0, script);
      return redis.eval(arguments);
    });
  }

  @Override
  public Future<Long> count(String key) {
    return redis.get(prefix + key).map(response -> response == null ? 0L : response.toLong());
  }

  @Override
  public Future<Void> delete(String key) {
    return redis.del(List.of(prefix + key)).mapEmpty();
  }

  @Override
  public Future<Void> mark(String key, Duration ttl) {
    return redis.set(List.of(prefix + key, "1", "PX", String.valueOf(Math.max(1, ttl.toMillis())))).mapEmpty();
  }

  @Override
  public Future<Void> unmark(String key) {
    return delete(key);
  }

  @Override
  public Future<Void> put(String key, String value, Duration ttl) {
    return redis.set(List.of(prefix + key, value, "PX", String.valueOf(Math.max(1, ttl.toMillis())))).mapEmpty();
  }

  @Override
  public Future<String> take(String key) {
    return redis.getdel(prefix + key).map(response -> response == null ? null : response.toString());
  }

  @Override
  public Future<Void> ping() {
    return redis.ping(List.of()).mapEmpty();
  }

  private static String sha1(String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-1 is not available", e);
    }
  }

  @Override
  public Future<Void> close() {
    client.close();
    return Future.succeededFuture();
  }
}
