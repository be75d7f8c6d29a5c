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

  /** Increments and starts the window's expiry on its first event, in one round trip. */
  private static final String INCREMENT_WINDOW = """
      local count = redis.call('INCR', KEYS[1])
      if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
      return {count, redis.call('PTTL', KEYS[1])}
      """;
  private static final String INCREMENT_WINDOW_SHA = sha1(INCREMENT_WINDOW);

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

  /** Runs the script by its hash (it is sent once, not with every request), loading it when Redis lacks it. */
  @Override
  public Future<WindowCount> increment(String key, Duration window) {
    List<String> arguments = List.of("1", prefix + key, String.valueOf(window.toMillis()));
    List<String> bySha = new ArrayList<>(arguments.size() + 1);
    bySha.add(INCREMENT_WINDOW_SHA);
    bySha.addAll(arguments);
    return redis.evalsha(bySha)
        .recover(e -> {
          if (e.getMessage() == null || !e.getMessage().startsWith("NOSCRIPT")) {
            return Future.failedFuture(e);
          }
          List<String> byText = new ArrayList<>(arguments.size() + 1);
          byText.add(INCREMENT_WINDOW);
          byText.addAll(arguments);
          return redis.eval(byText);
        })
        .map(response -> new WindowCount(response.get(0).toLong(), Math.max(0, response.get(1).toLong())));
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
  public Future<Boolean> anyMarked(List<String> keys) {
    List<String> prefixed = new ArrayList<>(keys.size());
    keys.forEach(key -> prefixed.add(prefix + key));
    return redis.exists(prefixed).map(Response::toLong).map(count -> count > 0);
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
