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

  private static WindowCount windowCount(Response response) {
    return new WindowCount(response.get(0).toLong(), Math.max(0, response.get(1).toLong()));
  }

  /**
   * Runs {@link #ADMIT} on prefixed keys by its hash (the script is sent once, not with every
   * request), loading it when Redis lacks it.
   */
  private Future<Response> evalAdmit(List<String> keys, Duration window) {
    List<String> arguments = new ArrayList<>(keys.size() + 3);
    arguments.add(ADMIT_SHA);
    arguments.add(String.valueOf(keys.size()));
    arguments.addAll(keys);
    arguments.add(String.valueOf(window.toMillis()));
    return redis.evalsha(arguments).recover(e -> {
      if (e.getMessage() == null || !e.getMessage().startsWith("NOSCRIPT")) {
        return Future.failedFuture(e);
      }
      arguments.set(0, ADMIT);
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
