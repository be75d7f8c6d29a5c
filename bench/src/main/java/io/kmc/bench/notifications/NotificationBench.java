package io.kmc.bench.notifications;

import io.kmc.bench.fleet.Fleet;
import io.kmc.bench.report.Flags;
import io.kmc.bench.report.MachineInfo;
import io.kmc.bench.report.Table;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.HdrHistogram.Histogram;

import java.io.PrintStream;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Notifications through the real hub to a webhook receiver (a Vert.x server in this JVM) that
 * answers 500 to every other request: {@code --events} events (token rotations of one cluster, a
 * type that is not de-duplicated) written as fast as the API takes them, timed from each event's
 * {@code time} to the receiver accepting it, and until all are delivered.
 */
public final class NotificationBench {

  public static final String USAGE = """
      notifications [--events N] [--initial-backoff-ms N] [--fail-every N]
        --events N              events, each one delivery to the webhook (default 500)
        --fail-every N          the receiver answers 500 to every N-th request (default 2; 0: never)
        --initial-backoff-ms N  notifications.initial_backoff for the run (default 100)""";

  public static final Map<String, String> DEFAULTS = Map.of("--events", "500", "--initial-backoff-ms", "100",
      "--fail-every", "2");

  private final Flags flags;
  private final PrintStream out;

  public NotificationBench(Flags flags, PrintStream out) {
    this.flags = flags;
    this.out = out;
  }

  public void run() throws Exception {
    int events = flags.integer("--events", 1, 1_000_000);
    int backoff = flags.integer("--initial-backoff-ms", 10, 3_600_000);
    int failEvery = flags.integer("--fail-every", 0, 1_000_000);
    MachineInfo.printHeader(out, "notifications", flags.describe());
    Vertx vertx = Vertx.vertx();
    AtomicLong requests = new AtomicLong();
    AtomicLong refused = new AtomicLong();
    AtomicLong duplicates = new AtomicLong();
    Set<String> delivered = ConcurrentHashMap.newKeySet();
    Histogram latency = new Histogram(3);
    HttpServer server = vertx.createHttpServer().requestHandler(request -> request.body().onSuccess(body -> {
      if (requests.incrementAndGet() % Math.max(1, failEvery) == 0 && failEvery > 0) {
        refused.incrementAndGet();
        request.response().setStatusCode(500).end();
        return;
      }
      long now = System.currentTimeMillis();
      JsonObject event = new JsonObject(body).getJsonObject("event");
      if (delivered.add(event.getString("id"))) {
        synchronized (latency) {
          latency.recordValue(Math.max(0, now - Instant.parse(event.getString("time")).toEpochMilli()));
        }
      } else {
        duplicates.incrementAndGet();
      }
      request.response().setStatusCode(200).end();
    })).listen(0, "127.0.0.1").await(30, TimeUnit.SECONDS);
    try (Fleet fleet = Fleet.start(new Fleet.Spec(java.util.List.of()), Map.of(
        "KMC_NOTIFICATIONS_INITIAL_BACKOFF", backoff + "ms", "KMC_NOTIFICATIONS_MAX_BACKOFF", "10s",
        "KMC_NOTIFICATIONS_MAX_ATTEMPTS", "30", "KMC_NOTIFICATIONS_RATE_PER_MINUTE", "1000000",
        "KMC_NOTIFICATIONS_POLL_INTERVAL", "100ms", "KMC_NOTIFICATIONS_DEDUP_WINDOW", "0s"))) {
      fleet.api("POST", "/api/v1/clusters", new JsonObject().put("name", "noisy"));
      fleet.api("POST", "/api/v1/notifications/channels", new JsonObject().put("name", "hook")
          .put("type", "webhook").put("config", new JsonObject()
              .put("url", "http://127.0.0.1:" + server.actualPort() + "/hook")
              .put("secret", "a-webhook-secret-of-enough-length")));
      fleet.api("POST", "/api/v1/notifications/subscriptions", new JsonObject().put("name", "rotations")
          .put("channels", new JsonArray().add("hook"))
          .put("eventTypes", new JsonArray().add("cluster.token_rotated")));
      Thread.sleep(1_000);
      long started = System.nanoTime();
      for (int i = 0; i < events; i++) {
        fleet.api("POST", "/api/v1/clusters/noisy/token", null);
      }
      double writeSeconds = (System.nanoTime() - started) / 1e9;
      while (delivered.size() < events) {
        if (System.nanoTime() - started > TimeUnit.SECONDS.toNanos(150)) {
          break;
        }
        Thread.sleep(20);
      }
      double allSeconds = (System.nanoTime() - started) / 1e9;
      out.println("## Notifications: " + events + " events to a webhook that answers 500 to "
          + (failEvery == 0 ? "no request" : "every " + failEvery + ". request"));
      out.println();
      out.println(new Table("measure", "p50", "p90", "p99", "max", "n")
          .row("event `time` → receiver accepted it (2xx)", latency.getValueAtPercentile(50) + " ms",
              latency.getValueAtPercentile(90) + " ms", latency.getValueAtPercentile(99) + " ms",
              latency.getMaxValue() + " ms", String.valueOf(latency.getTotalCount()))
          .render());
      out.println();
      out.printf("%d of %d events delivered in %.2f s from the first write (%.1f deliveries/s); the %d writes "
              + "(token rotations through node B's API, one at a time) took %.2f s (%.1f events/s)%n",
          delivered.size(), events, allSeconds, delivered.size() / allSeconds, events, writeSeconds,
          events / writeSeconds);
      out.printf("receiver: %d requests, %d answered 500, %d duplicates of accepted deliveries; "
          + "notifications.initial_backoff %d ms, poll_interval 100 ms%n", requests.get(), refused.get(),
          duplicates.get(), backoff);
    } finally {
      vertx.close().await(30, TimeUnit.SECONDS);
    }
  }

}
