package io.kmc.bench.load;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import org.HdrHistogram.Histogram;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * A closed-loop HTTP load generator on its own Vert.x instance with a single event loop: each of
 * {@code inFlight} loops sends a GET, waits for the whole answer, checks it, and sends the next, over
 * a pool of keep-alive HTTP/1.1 connections. One thread and no locks keep the client's share of the
 * CPU small and the same for every target.
 */
public final class LoadGenerator implements AutoCloseable {

  /** Requests that take longer than this count as errors, so a stuck target cannot hang a run. */
  private static final long REQUEST_TIMEOUT_MILLIS = 10_000;

  private final Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(1));
  private final Context context = vertx.getOrCreateContext();
  private final LongSupplier cpuClock;

  /** @param cpuClock CPU time used so far by what is being measured, in nanoseconds */
  public LoadGenerator(LongSupplier cpuClock) {
    this.cpuClock = cpuClock;
  }

  /** What a single GET answered. */
  public record Answer(int status, Buffer body) {
  }

  /** One GET on a fresh connection, for checking a target before measuring it. */
  public Future<Answer> get(Target target) {
    HttpClient client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(false));
    Promise<Answer> answer = Promise.promise();
    context.runOnContext(v -> send(client, target)
        .compose(response -> response.body().map(body -> new Answer(response.statusCode(), body)))
        .eventually(client::close)
        .onComplete(answer));
    return answer.future();
  }

  /**
   * Loads {@code target} for {@code warmup} and then {@code measure}; only answers completed in the
   * measurement window count towards the rate and the percentiles. Every answer must be 200 with
   * {@code expectedBody}.
   */
  public Future<RunResult> run(Target target, Buffer expectedBody, int inFlight, int connections, Duration warmup,
                               Duration measure) {
    if (inFlight < 1 || connections < 1) {
      throw new IllegalArgumentException("in-flight requests and connections must be at least 1");
    }
    HttpClient client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setPipelining(false),
        new PoolOptions().setHttp1MaxSize(connections));
    Promise<RunResult> result = Promise.promise();
    context.runOnContext(v -> new Run(vertx, client, target, expectedBody, inFlight, warmup, measure, cpuClock, result)
        .start());
    return result.future().eventually(client::close);
  }

  private static Future<HttpClientResponse> send(HttpClient client, Target target) {
    RequestOptions options = new RequestOptions()
        .setMethod(HttpMethod.GET)
        .setHost(target.host())
        .setPort(target.port())
        .setURI(target.path())
        .setTimeout(REQUEST_TIMEOUT_MILLIS)
        .putHeader("Accept", "application/json")
        .putHeader("Authorization", "Bearer " + target.bearerToken());
    return client.request(options).compose(HttpClientRequest::send);
  }

  @Override
  public void close() {
    vertx.close().await();
  }

  /** One run; everything here happens on the generator's single event loop. */
  private static final class Run {
    private final Vertx vertx;
    private final HttpClient client;
    private final Target target;
    private final Buffer expectedBody;
    private final int inFlight;
    private final LongSupplier cpuClock;
    private final Promise<RunResult> result;
    private final long measureStart;
    private final long measureEnd;
    private final double seconds;
    private final Histogram latencies = new Histogram(3);
    private long errors;
    private String firstError;
    private int loopsRunning;
    private Future<Long> cpuAtStart;
    private Future<Long> cpuAtEnd;

    Run(Vertx vertx, HttpClient client, Target target, Buffer expectedBody, int inFlight, Duration warmup,
        Duration measure, LongSupplier cpuClock, Promise<RunResult> result) {
      this.vertx = vertx;
      this.client = client;
      this.cpuClock = cpuClock;
      this.target = target;
      this.expectedBody = expectedBody;
      this.inFlight = inFlight;
      this.result = result;
      this.measureStart = System.nanoTime() + warmup.toNanos();
      this.measureEnd = measureStart + measure.toNanos();
      this.seconds = measure.toNanos() / 1e9;
    }

    void start() {
      cpuAtStart = cpuAt(measureStart);
      cpuAtEnd = cpuAt(measureEnd);
      loopsRunning = inFlight;
      for (int i = 0; i < inFlight; i++) {
        next();
      }
    }

    /**
     * The CPU clock read at {@code nanoTime}, on a worker: reading /proc takes a while, and on the
     * event loop it would delay the answers arriving meanwhile and so count as their latency.
     */
    private Future<Long> cpuAt(long nanoTime) {
      long delay = Math.max(1, TimeUnit.NANOSECONDS.toMillis(nanoTime - System.nanoTime()));
      return vertx.timer(delay).compose(v -> vertx.executeBlocking(cpuClock::getAsLong));
    }

    private void next() {
      long sentAt = System.nanoTime();
      if (sentAt >= measureEnd) {
        if (--loopsRunning == 0) {
          Future.all(cpuAtStart, cpuAtEnd).map(cpu -> RunResult.of(latencies, errors, seconds,
              Math.max(0, cpuAtEnd.result() - cpuAtStart.result()), firstError)).onComplete(result);
        }
        return;
      }
      send(client, target)
          .compose(response -> response.body().map(body -> problem(response.statusCode(), body)))
          .onComplete(answered -> {
            long doneAt = System.nanoTime();
            String problem = answered.failed() ? "request failed: " + answered.cause() : answered.result();
            if (problem != null) {
              errors++;
              if (firstError == null) {
                firstError = problem;
              }
            } else if (doneAt >= measureStart && doneAt < measureEnd) {
              latencies.recordValue(doneAt - sentAt);
            }
            if (answered.failed()) {
              // A refused connection fails at once; going round through the event loop keeps the stack flat.
              Vertx.currentContext().runOnContext(v -> next());
            } else {
              next();
            }
          });
    }

    private String problem(int status, Buffer body) {
      if (status != 200) {
        return "HTTP " + status + ": " + abbreviate(body.toString());
      }
      if (!body.equals(expectedBody)) {
        return "unexpected body (" + body.length() + " bytes): " + abbreviate(body.toString());
      }
      return null;
    }

    private static String abbreviate(String text) {
      return text.length() > 200 ? text.substring(0, 200) + "…" : text;
    }
  }
}
