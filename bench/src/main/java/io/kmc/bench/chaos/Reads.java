package io.kmc.bench.chaos;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Steady GETs at a fixed rate, each on its own schedule whatever the others are waiting for (a
 * client that gives up after 60 s), and what became of every one: its status (0 when the
 * connection failed) and when it started and ended.
 */
final class Reads implements AutoCloseable {

  private record Read(long startedAt, long endedAt, int status, String body) {
  }

  /**
   * @param failedStatuses statuses of the failed reads, with their counts
   * @param failingSeconds from the fault to the end of the last failed read, or "—"
   */
  record Summary(long ok, long failed, Map<Integer, Long> failedStatuses, long longestMillis, String longestStarted,
                 String failingSeconds, Map<Integer, String> firstFailures) {

    String failedWith() {
      return failedStatuses.isEmpty() ? "—" : failedStatuses.entrySet().stream()
          .map(e -> (e.getKey() == 0 ? "no answer" : String.valueOf(e.getKey())) + " ×" + e.getValue())
          .collect(Collectors.joining(", "));
    }
  }

  private final Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(1));
  private final io.vertx.core.Context context = vertx.getOrCreateContext();
  /** Touched on {@link #context}'s event loop only. */
  private final List<Read> reads = new ArrayList<>();
  private long started;
  private long timer;
  private boolean stopped;

  Reads(int port, String bearer, String path, double perSecond) {
    HttpClient client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true),
        new PoolOptions().setHttp1MaxSize(4096));
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.GET).setHost("127.0.0.1").setPort(port)
        .setURI(path).putHeader("Authorization", "Bearer " + bearer).setIdleTimeout(60_000);
    long periodMillis = Math.max(1, Math.round(1000 / perSecond));
    context.runOnContext(v -> timer = vertx.setPeriodic(periodMillis, t -> read(client, options)));
  }

  private void read(HttpClient client, RequestOptions options) {
    if (stopped) {
      return;
    }
    this.started++;
    long started = System.nanoTime();
    client.request(options).compose(HttpClientRequest::send)
        .compose(response -> response.body().map(body -> new Read(started, System.nanoTime(),
            response.statusCode(), response.statusCode() == 200 ? "" : body.toString())))
        .otherwise(e -> new Read(started, System.nanoTime(), 0, String.valueOf(e)))
        .onSuccess(reads::add);
  }

  /** No more reads are started; those under way finish (up to 60 s). */
  void stop() {
    onLoop(() -> stopped = true);
    long deadline = System.currentTimeMillis() + 60_000;
    while (System.currentTimeMillis() < deadline && underWay()) {
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private boolean underWay() {
    return onLoop(() -> started - reads.size()) > 0;
  }

  Summary summary(long faultAt) {
    return onLoop(() -> {
      long ok = 0;
      Map<Integer, Long> failed = new TreeMap<>();
      long longest = 0;
      long longestStarted = 0;
      long lastFailureEnd = 0;
      Map<Integer, String> first = new TreeMap<>();
      for (Read read : reads) {
        if (read.endedAt() - read.startedAt() > longest) {
          longest = read.endedAt() - read.startedAt();
          longestStarted = read.startedAt();
        }
        if (read.status() == 200) {
          ok++;
          continue;
        }
        failed.merge(read.status(), 1L, Long::sum);
        lastFailureEnd = Math.max(lastFailureEnd, read.endedAt());
        first.putIfAbsent(read.status(), read.body().length() > 300 ? read.body().substring(0, 300) + "…"
            : read.body());
      }
      long failedCount = failed.values().stream().mapToLong(Long::longValue).sum();
      return new Summary(ok, failedCount, failed, TimeUnit.NANOSECONDS.toMillis(longest),
          (longestStarted >= faultAt ? "+" : "") + ChaosBench.seconds(longestStarted - faultAt), lastFailureEnd == 0 ? "—" : ChaosBench.seconds(lastFailureEnd - faultAt), first);
    });
  }

  private <T> T onLoop(java.util.function.Supplier<T> read) {
    io.vertx.core.Promise<T> result = io.vertx.core.Promise.promise();
    context.runOnContext(v -> result.complete(read.get()));
    try {
      return result.future().await(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e.getMessage(), e);
    }
  }

  @Override
  public void close() throws Exception {
    onLoop(() -> vertx.cancelTimer(timer));
    vertx.close().await(30, TimeUnit.SECONDS);
  }
}
