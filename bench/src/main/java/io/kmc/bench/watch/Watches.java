package io.kmc.bench.watch;

import io.kmc.bench.fleet.Fleet;
import io.kmc.bench.load.Target;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.parsetools.RecordParser;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * The watching side and the changing side of the watch benchmarks, on a Vert.x instance of their
 * own with one event loop: {@code count} concurrent {@code ?watch=true} of the ConfigMaps of one
 * namespace, each on its own keep-alive HTTP/1.1 connection as separate clients would hold them,
 * fed line by line into an {@link EventLedger}; and a steady stream of ConfigMap creations in that
 * namespace, made in the simulator directly at a given rate.
 */
public final class Watches implements AutoCloseable {

  public static final String NAMESPACE = "watched";
  public static final String LIST_PATH = "/api/v1/namespaces/" + NAMESPACE + "/configmaps";

  private final Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(1));
  private final Context context = vertx.getOrCreateContext();
  private final List<HttpClient> clients = new ArrayList<>();
  /** Clients whose watches this side closed: their ends are not counted. */
  private final java.util.Set<HttpClient> closing = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private final EventLedger ledger;
  private final int offset;
  private int ended;
  private String firstEnd;

  /** @param offset the number of the first change this side makes and follows (see {@link EventLedger}) */
  public Watches(int watches, int maxChanges, int offset) {
    ledger = new EventLedger(watches, maxChanges, offset);
    this.offset = offset;
  }

  /** Creates the watched namespace. */
  public static void prepare(Fleet fleet) {
    await(fleet.sim().create(new JsonObject().put("apiVersion", "v1").put("kind", "Namespace")
        .put("metadata", new JsonObject().put("name", NAMESPACE))));
  }

  /** Creates a marker ConfigMap in the watched namespace; returns its resourceVersion, to watch from. */
  public static String mark(Fleet fleet, String name) {
    JsonObject start = await(fleet.sim().create(configMap(name, -1)));
    return start.getJsonObject("metadata").getString("resourceVersion");
  }

  private static JsonObject configMap(String name, int number) {
    return new JsonObject().put("apiVersion", "v1").put("kind", "ConfigMap")
        .put("metadata", new JsonObject().put("name", name).put("namespace", NAMESPACE)
            .put("labels", new JsonObject().put("app", "kmc-bench")))
        .put("data", new JsonObject().put("change", String.valueOf(number)).put("note", "a change made by kmc-bench"));
  }

  /**
   * Opens watches {@code first} … {@code first + count - 1} on {@code target} (whose path is the list path)
   * from {@code resourceVersion}, {@code batch} at a time; completes when every one has answered 200.
   */
  public void open(Target target, String resourceVersion, int first, int count, int batch) {
    HttpClient client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setIdleTimeout(0),
        new PoolOptions().setHttp1MaxSize(count + 1));
    clients.add(client);
    for (int from = first; from < first + count; from += batch) {
      List<Future<Void>> opened = new ArrayList<>();
      for (int watch = from; watch < Math.min(first + count, from + batch); watch++) {
        opened.add(openOne(client, target, resourceVersion, watch));
      }
      await(Future.all(opened));
    }
  }

  private Future<Void> openOne(HttpClient client, Target target, String resourceVersion, int watch) {
    Promise<Void> opened = Promise.promise();
    context.runOnContext(v -> {
      RequestOptions options = new RequestOptions().setMethod(HttpMethod.GET).setHost(target.host())
          .setPort(target.port()).setURI(target.path() + "?watch=true&resourceVersion=" + resourceVersion)
          .putHeader("Accept", "application/json")
          .putHeader("Authorization", "Bearer " + target.bearerToken());
      client.request(options).compose(HttpClientRequest::send).onComplete(sent -> {
        if (sent.failed()) {
          opened.fail("watch " + watch + " on " + target.name() + ": " + sent.cause());
          return;
        }
        var response = sent.result();
        if (response.statusCode() != 200) {
          response.body().onComplete(body -> opened.fail("watch " + watch + " on " + target.name() + " answered "
              + response.statusCode() + ": " + (body.succeeded() ? body.result() : body.cause())));
          return;
        }
        RecordParser lines = RecordParser.newDelimited("\n", response);
        lines.handler(line -> ledger.line(watch, line.toString(StandardCharsets.UTF_8), System.nanoTime()));
        lines.endHandler(end -> streamEnded(client, watch, "ended"));
        lines.exceptionHandler(e -> streamEnded(client, watch, "failed: " + e));
        opened.complete();
      });
    });
    return opened.future();
  }

  private void streamEnded(HttpClient client, int watch, String how) {
    if (closing.contains(client)) {
      return;
    }
    ended++;
    if (firstEnd == null) {
      firstEnd = "watch " + watch + " " + how;
    }
  }

  /** Closes the watches opened so far (their connections), and forgets nothing they received. */
  void closeWatches() {
    closing.addAll(clients);
    for (HttpClient client : clients) {
      await(client.close());
    }
    clients.clear();
  }

  /**
   * Creates ConfigMaps {@code kmcw-0} … {@code kmcw-(changes-1)} at {@code perSecond}, each when it
   * is due (checked every 5 ms); {@code at} is told of each change number as it is made (from the
   * event loop). Completes when all are created.
   */
  public Future<Void> change(Fleet fleet, int changes, double perSecond, java.util.function.IntConsumer at) {
    Promise<Void> done = Promise.promise();
    context.runOnContext(v -> {
      long start = System.nanoTime();
      int[] made = {0};
      List<Future<JsonObject>> created = new ArrayList<>();
      vertx.setPeriodic(1, 5, timer -> {
        long due = Math.min(changes, (long) Math.floor((System.nanoTime() - start) / 1e9 * perSecond) + 1);
        while (made[0] < due) {
          int number = made[0]++;
          at.accept(number);
          ledger.changed(number, System.nanoTime());
          created.add(fleet.sim().create(configMap(EventLedger.PREFIX + (offset + number), offset + number)));
        }
        if (made[0] == changes) {
          vertx.cancelTimer(timer);
          Future.all(created).<Void>mapEmpty().onComplete(done);
        }
      });
    });
    return done.future();
  }

  /** Runs {@code read} on the event loop that records, so that it sees everything recorded so far. */
  public <T> T read(Callable<T> read) {
    Promise<T> result = Promise.promise();
    context.runOnContext(v -> {
      try {
        result.complete(read.call());
      } catch (Exception e) {
        result.fail(e);
      }
    });
    return await(result.future());
  }

  public EventLedger ledger() {
    return ledger;
  }

  public int ended() {
    return ended;
  }

  public String firstEnd() {
    return firstEnd;
  }

  /** Waits up to {@code timeoutMillis} for every watch to have all of the first {@code changes} changes. */
  public boolean awaitComplete(int watches, int changes, long timeoutMillis) {
    long deadline = System.currentTimeMillis() + timeoutMillis;
    while (System.currentTimeMillis() < deadline) {
      if (read(() -> ledger.complete(changes)) == watches) {
        return true;
      }
      Fleet.sleep(100);
    }
    return false;
  }

  @Override
  public void close() {
    closeWatches();
    await(vertx.close());
  }

  public static <T> T await(Future<T> future) {
    try {
      return future.await(5, TimeUnit.MINUTES);
    } catch (Exception e) {
      throw new IllegalStateException(e.getMessage(), e);
    }
  }
}
