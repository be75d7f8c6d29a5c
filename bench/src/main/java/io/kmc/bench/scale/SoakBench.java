package io.kmc.bench.scale;

import io.kmc.bench.chaos.Streams;
import io.kmc.bench.load.JvmProcess;
import io.kmc.bench.report.Flags;
import io.kmc.bench.report.MachineInfo;
import io.kmc.bench.report.Table;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.ToDoubleFunction;

/**
 * A hub node process left running with agents flapping, index changes flowing and stream
 * subscriptions open; its heap after a full GC, threads, open file descriptors and event-bus
 * handlers are sampled each minute, and each series gets a verdict: flat, or growing (a least-squares
 * slope whose growth over the run exceeds the noise around it). A leak per flap, per request or per
 * stream message shows up as a slope.
 */
public final class SoakBench {

  public static final String USAGE = """
      soak [--minutes N] [--agents N] [--streams N] [--flaps N] [--deltas N] [--heap-mb N]
        --minutes N   how long, sampling once a minute (default 10; the issue's long run is 60)
        --agents N    simulated agents (TLS, protocol v1 with the index) on one hub node process (default 300)
        --streams N   /api/v1/stream subscriptions to every cluster's ConfigMaps, one socket each (default 20)
        --flaps N     agent connections closed per second, each redialling after 0.1–2 s (default 2)
        --deltas N    index changes (one ConfigMap each) per second, which the subscriptions receive (default 20)
        --heap-mb N   the hub process's fixed heap (default 512)""";

  public static final Map<String, String> DEFAULTS = Map.of("--minutes", "10", "--agents", "300", "--streams", "20",
      "--flaps", "2", "--deltas", "20", "--heap-mb", "512");

  private final Flags flags;
  private final PrintStream out;

  public SoakBench(Flags flags, PrintStream out) {
    this.flags = flags;
    this.out = out;
  }

  /** One minute's sample of the hub process. */
  record Sample(int minute, long heapBytes, int threads, long fds, double handlers, long connected, long streamEvents,
                long streamReconnects) {
  }

  public void run() throws Exception {
    int minutes = flags.integer("--minutes", 2, 24 * 60);
    int agents = flags.integer("--agents", 1, 20_000);
    int streamCount = flags.integer("--streams", 0, 1_000);
    double flaps = flags.number("--flaps", 0, 1_000);
    double deltas = flags.number("--deltas", 0, 10_000);
    int heapMb = flags.integer("--heap-mb", 64, 64_000);
    MachineInfo.printHeader(out, "soak", flags.describe());
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2));
    AtomicBoolean running = new AtomicBoolean(true);
    try (HubProcess hub = HubProcess.start(vertx, ownJar(), heapMb, agents, Map.of());
         SimAgents fleet = new SimAgents(vertx, hub.agentUrl(), hub.joinToken(), true)) {
      JvmProcess jvm = hub.jvm();
      // 50 dials a second; one whose TLS handshake times out on a busy machine dials again.
      for (int i = 0; i < agents; i++) {
        fleet.add(HubProcess.cluster(i));
        Thread.sleep(20);
      }
      long connectDeadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
      while (fleet.connected() < agents && System.nanoTime() < connectDeadline) {
        Thread.sleep(200);
      }
      out.printf("hub process %d, %d agents connected%n", jvm.pid(), fleet.connected());

      Thread load = new Thread(() -> churn(fleet, flaps, deltas, running), "kmc-soak-load");
      load.setDaemon(true);
      load.start();
      try (Streams streams = new Streams(hub.port(), hub.adminToken(), null, null, "none-", 1, true)) {
        // With agents flapping, a subscription to every cluster may wait long for each one's initial state:
        // it is kept open either way, and receives changes meanwhile.
        streams.open(streamCount, false);
        out.printf("%d stream subscriptions open (%d with their initial state after up to 60 s); %.1f flaps/s, %.0f index changes/s, for %d minutes%n%n",
            streamCount, streams.initialStatesDone(), flaps, deltas, minutes);
        List<Sample> samples = new ArrayList<>();
        Map<String, Long> firstHistogram = null;
        long start = System.nanoTime();
        for (int minute = 1; minute <= minutes; minute++) {
          long due = start + TimeUnit.MINUTES.toNanos(minute);
          while (System.nanoTime() < due) {
            Thread.sleep(Math.max(1, Math.min(1_000, (due - System.nanoTime()) / 1_000_000)));
          }
          Buffer metrics = hub.metrics(vertx).await(60, TimeUnit.SECONDS);
          Streams.Summary summary = streams.summary(0);
          Sample sample = new Sample(minute, jvm.heapUsedBytes(true), jvm.threads(), fds(jvm.pid()),
              metric(metrics.toString(), "vertx_eventbus_handlers"), fleet.connected(), streams.events(),
              summary.reconnects());
          samples.add(sample);
          out.printf(Locale.ROOT, "minute %d: heap %.1f MiB, %d threads, %d fds, %.0f event-bus handlers, %d agents "
                  + "connected, %d stream events%n", minute, sample.heapBytes() / 1048576.0, sample.threads(),
              sample.fds(), sample.handlers(), sample.connected(), sample.streamEvents());
          if (minute == 1) {
            firstHistogram = jvm.classHistogram();
          } else if (minute == minutes || minute % 10 == 0) {
            // Which classes the heap's growth is made of, against minute 1 (jcmd GC.class_histogram, live objects).
            printHistogramGrowth(minute, firstHistogram, jvm.classHistogram());
          }
        }
        running.set(false);
        report(samples, fleet, streams.summary(0));
      }
    } finally {
      running.set(false);
      vertx.close().await(30, TimeUnit.SECONDS);
    }
  }

  private static void churn(SimAgents fleet, double flaps, double deltas, AtomicBoolean running) {
    long start = System.nanoTime();
    long flapsDone = 0;
    long deltasDone = 0;
    while (running.get()) {
      double seconds = (System.nanoTime() - start) / 1e9;
      while (flapsDone < (long) (seconds * flaps)) {
        fleet.flapOne(ThreadLocalRandom.current().nextLong(100, 2_000));
        flapsDone++;
      }
      while (deltasDone < (long) (seconds * deltas)) {
        fleet.indexDelta();
        deltasDone++;
      }
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  /** The classes whose live bytes grew most between minute 1 and {@code minute}. */
  private void printHistogramGrowth(int minute, Map<String, Long> first, Map<String, Long> now) {
    long total = now.values().stream().mapToLong(Long::longValue).sum()
        - first.values().stream().mapToLong(Long::longValue).sum();
    out.printf(Locale.ROOT, "%n### Live heap by class, minute %d against minute 1: %+.2f MiB in all%n%n", minute,
        total / 1048576.0);
    Table table = new Table("class", "minute 1 KiB", "minute " + minute + " KiB", "growth KiB");
    now.entrySet().stream()
        .map(e -> Map.entry(e.getKey(), e.getValue() - first.getOrDefault(e.getKey(), 0L)))
        .sorted((a, b) -> Long.compare(b.getValue(), a.getValue()))
        .limit(20)
        .forEach(e -> table.row(e.getKey(), String.valueOf(first.getOrDefault(e.getKey(), 0L) / 1024),
            String.valueOf(now.get(e.getKey()) / 1024), String.format(Locale.ROOT, "%+d", e.getValue() / 1024)));
    out.print(table.render());
    out.println();
  }

  private void report(List<Sample> samples, SimAgents fleet, Streams.Summary streams) {
    out.printf("%n## Samples (each minute, the hub process only)%n%n");
    Table table = new Table("minute", "heap after GC MiB", "threads", "open fds", "event-bus handlers",
        "agents connected", "stream events");
    for (Sample s : samples) {
      table.row(String.valueOf(s.minute()), String.format(Locale.ROOT, "%.1f", s.heapBytes() / 1048576.0),
          String.valueOf(s.threads()), String.valueOf(s.fds()), String.format(Locale.ROOT, "%.0f", s.handlers()),
          String.valueOf(s.connected()), String.valueOf(s.streamEvents()));
    }
    out.print(table.render());
    out.printf("%n## Growth%n%n");
    Table growth = new Table("series", "first", "last", "slope per minute", "fitted growth over the run",
        "noise (residual sd)", "allowed", "verdict");
    verdict(growth, "heap after GC (MiB)", samples, s -> s.heapBytes() / 1048576.0, 0.05, 2);
    verdict(growth, "threads", samples, s -> s.threads(), 0.0, 2);
    verdict(growth, "open fds", samples, s -> s.fds(), 0.0, 5);
    verdict(growth, "event-bus handlers", samples, Sample::handlers, 0.0, 5);
    out.print(growth.render());
    out.println();
    out.println("Fitted on minutes 2 onwards (minute 1 is warm-up). A series is flat when the slope's growth over the "
        + "run stays within the allowed amount: the larger of three times the residual standard deviation, a floor "
        + "(2 MiB and 5 % of the mean for heap, 2 threads, 5 fds or handlers, which flapping agents move by as they "
        + "come and go), since a leak grows steadily while noise does not.");
    out.printf(Locale.ROOT, "agents: %d dials, %d refusals, %d errors (last: %s); streams: %d subscriptions, %d sockets "
            + "reopened, first error: %s%n", fleet.dials.get(), fleet.refusals.get(), fleet.errors.get(), fleet.lastError,
        streams.subscriptions(), streams.reconnects(), streams.firstError() == null ? "none" : streams.firstError());
  }

  /** Adds a series' line. */
  private static void verdict(Table table, String name, List<Sample> samples, ToDoubleFunction<Sample> value,
                              double relativeFloor, double absoluteFloor) {
    Fit fit = fit(samples, value, relativeFloor, absoluteFloor);
    table.row(name, fmt(value.applyAsDouble(samples.get(0))), fmt(value.applyAsDouble(samples.get(samples.size() - 1))),
        String.format(Locale.ROOT, "%+.3f", fit.slope()), String.format(Locale.ROOT, "%+.1f", fit.growth()),
        fmt(fit.sd()), fmt(fit.allowed()), fit.flat() ? "flat" : "GROWING");
  }

  /** A series' least-squares line over minutes 2…n and whether its growth stays within the noise. */
  record Fit(double slope, double growth, double sd, double allowed) {
    boolean flat() {
      return growth <= allowed;
    }
  }

  static Fit fit(List<Sample> samples, ToDoubleFunction<Sample> value, double relativeFloor, double absoluteFloor) {
    List<Sample> fitted = samples.size() > 2 ? samples.subList(1, samples.size()) : samples;
    int n = fitted.size();
    double meanX = fitted.stream().mapToDouble(Sample::minute).average().orElse(0);
    double meanY = fitted.stream().mapToDouble(value).average().orElse(0);
    double sxy = 0;
    double sxx = 0;
    for (Sample s : fitted) {
      sxy += (s.minute() - meanX) * (value.applyAsDouble(s) - meanY);
      sxx += (s.minute() - meanX) * (s.minute() - meanX);
    }
    double slope = sxx == 0 ? 0 : sxy / sxx;
    double residuals = 0;
    for (Sample s : fitted) {
      double line = meanY + slope * (s.minute() - meanX);
      residuals += Math.pow(value.applyAsDouble(s) - line, 2);
    }
    double sd = n > 2 ? Math.sqrt(residuals / (n - 2)) : 0;
    double span = fitted.get(n - 1).minute() - fitted.get(0).minute();
    double allowed = Math.max(3 * sd, Math.max(absoluteFloor, relativeFloor * meanY));
    return new Fit(slope, slope * span, sd, allowed);
  }

  private static String fmt(double v) {
    return String.format(Locale.ROOT, "%.1f", v);
  }

  private static long fds(long pid) {
    try (var list = Files.list(Path.of("/proc", String.valueOf(pid), "fd"))) {
      return list.count();
    } catch (IOException e) {
      return -1;
    }
  }

  /** The sum of a metric's samples in a Prometheus text exposition, or NaN when it is absent. */
  static double metric(String exposition, String name) {
    double sum = 0;
    boolean found = false;
    for (String line : exposition.split("\n")) {
      if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
        sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        found = true;
      }
    }
    return found ? sum : Double.NaN;
  }

  private static String ownJar() {
    try {
      return Path.of(SoakBench.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    } catch (java.net.URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }
}
