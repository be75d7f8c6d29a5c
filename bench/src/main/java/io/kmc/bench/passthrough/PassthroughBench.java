package io.kmc.bench.passthrough;

import io.kmc.bench.load.LoadGenerator;
import io.kmc.bench.load.ProcessCpu;
import io.kmc.bench.load.RunResult;
import io.kmc.bench.load.Target;
import io.kmc.bench.fleet.Fleet;
import io.kmc.bench.report.MachineInfo;
import io.kmc.hub.api.KubePassthrough;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * GET of one ConfigMap four ways, in the same run: straight to the simulated API server, through a
 * bare reverse proxy (the reference for what any extra hop costs), through the hub node holding the
 * agent, and through the other hub node (across the clustered event bus).
 * For each, latency one request at a time and throughput at a fixed concurrency; the rounds are
 * repeated and the median kept, and the order of targets rotates from round to round so that a
 * slow spell on a shared machine does not always hit the same one.
 */
public final class PassthroughBench {

  private static final String CLUSTER = "bench";
  private static final String DIRECT = "direct";
  private static final String BARE_PROXY = "bare proxy";
  private static final String ONE_NODE = "one node";
  private static final String TWO_NODES = "two nodes";

  private final PassthroughOptions options;
  private final PrintStream out;

  public PassthroughBench(PassthroughOptions options, PrintStream out) {
    this.options = options;
    this.out = out;
  }

  public void run() throws Exception {
    long began = System.nanoTime();
    MachineInfo.printHeader(out, "pass-through", options.describe());

    try (Fleet fleet = Fleet.start(new Fleet.Spec(List.of(Fleet.AgentSpec.inJvm(CLUSTER))));
         LoadGenerator load = new LoadGenerator(new ProcessCpu(fleet.processMarkers()))) {
      out.printf("fleet started: kube-sim %s, hub node A :%d (agent connected), hub node B :%d, "
          + "PostgreSQL and Redis%n", fleet.sim().url(), fleet.nodeA().port(), fleet.nodeB().port());
      String hubPath = KubePassthrough.PREFIX + CLUSTER + Fleet.CONFIG_MAP_PATH;
      List<Target> targets = List.of(
          new Target(DIRECT, "127.0.0.1", fleet.sim().port(), Fleet.CONFIG_MAP_PATH, fleet.simToken()),
          new Target(BARE_PROXY, "127.0.0.1", fleet.bareProxyPort(), Fleet.CONFIG_MAP_PATH,
              fleet.simToken()),
          new Target(ONE_NODE, "127.0.0.1", fleet.nodeA().port(), hubPath, fleet.adminToken()),
          new Target(TWO_NODES, "127.0.0.1", fleet.nodeB().port(), hubPath, fleet.adminToken()));
      Buffer expected = expectedBody(load, targets);
      out.printf("every target answers 200 with the same %d-byte ConfigMap%n", expected.length());

      Duration firstWarmup = options.warmup().multipliedBy(3);
      out.printf("warming up: %.1f s per target%n", firstWarmup.toMillis() / 1000.0);
      for (Target target : targets) {
        await(load.run(target, expected, options.inFlight(), options.connections(), firstWarmup, Duration.ZERO));
      }

      Map<String, List<RunResult>> latency = new LinkedHashMap<>();
      Map<String, List<RunResult>> throughput = new LinkedHashMap<>();
      targets.forEach(t -> {
        latency.put(t.name(), new ArrayList<>());
        throughput.put(t.name(), new ArrayList<>());
      });
      for (int round = 0; round < options.rounds(); round++) {
        out.printf("round %d of %d (load average %s)%n", round + 1, options.rounds(),
            MachineInfo.currentLoadAverage().orElse("unknown"));
        List<Target> order = rotated(targets, round);
        for (Target target : order) {
          RunResult result = await(load.run(target, expected, 1, 1, options.warmup(), options.measure()));
          latency.get(target.name()).add(result);
          progress("latency", target, result);
        }
        for (Target target : order) {
          RunResult result = await(load.run(target, expected, options.inFlight(), options.connections(),
              options.warmup(), options.measure()));
          throughput.get(target.name()).add(result);
          progress("throughput", target, result);
        }
      }

      List<PassthroughReport.Row> rows = List.of(
          row(DIRECT, latency, throughput, Double.NaN),
          row(BARE_PROXY, latency, throughput, Double.NaN),
          row(ONE_NODE, latency, throughput, 1),
          row(TWO_NODES, latency, throughput, 2));
      PassthroughReport report = new PassthroughReport(rows);
      out.println();
      out.printf("## Median of %d round(s): latency at 1 request in flight, throughput at %d in flight over %d "
          + "connection(s)%n%n", options.rounds(), options.inFlight(), options.connections());
      out.print(report.summaryTable());
      out.println();
      out.printf("## Latency under load (%d in flight over %d connection(s), median of rounds)%n%n",
          options.inFlight(), options.connections());
      out.print(report.underLoadTable());
      out.println();
      report.verdicts().forEach(line -> out.println("- " + line));
      out.println();
    }
    out.printf("total time %.0f s%n", (System.nanoTime() - began) / 1e9);
  }

  /** GETs every target once; they must all answer 200 with the same body, which every later answer must match. */
  private static Buffer expectedBody(LoadGenerator load, List<Target> targets) {
    Buffer expected = null;
    for (Target target : targets) {
      LoadGenerator.Answer answer = awaitAnswer(load, target);
      if (expected == null) {
        expected = answer.body();
      } else if (!expected.equals(answer.body())) {
        throw new IllegalStateException(target.name() + " answered a different body than " + targets.get(0).name()
            + ":\n" + answer.body() + "\nvs\n" + expected);
      }
    }
    return expected;
  }

  /** Retries for a while: node B learns where the agent is through Hazelcast, a moment after node A. */
  private static LoadGenerator.Answer awaitAnswer(LoadGenerator load, Target target) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    String last;
    do {
      try {
        LoadGenerator.Answer answer = await(load.get(target));
        if (answer.status() == 200) {
          return answer;
        }
        last = "HTTP " + answer.status() + ": " + answer.body();
      } catch (IllegalStateException e) {
        last = e.getMessage();
      }
      Fleet.sleep(100);
    } while (System.nanoTime() < deadline);
    throw new IllegalStateException(target.name() + " (" + target.url() + ") did not answer 200 within 30 s: " + last);
  }

  private void progress(String mode, Target target, RunResult result) {
    out.printf("  %tT %-10s %-9s %8.0f req/s %5.0f CPU µs/req  p50 %s ms  p99 %s ms  max %s ms%s%n",
        System.currentTimeMillis(), mode, target.name(), result.requestsPerSecond(), result.cpuMicrosPerRequest(),
        PassthroughReport.millis(result.p50Nanos()),
        PassthroughReport.millis(result.p99Nanos()), PassthroughReport.millis(result.maxNanos()),
        result.errors() == 0 ? "" : "  " + result.errors() + " ERRORS, first: " + result.firstError());
  }

  private static PassthroughReport.Row row(String target, Map<String, List<RunResult>> latency,
                                           Map<String, List<RunResult>> throughput, double p50BudgetMillis) {
    return new PassthroughReport.Row(target, RunResult.medianOf(latency.get(target)),
        RunResult.medianOf(throughput.get(target)), p50BudgetMillis);
  }

  static <T> List<T> rotated(List<T> items, int by) {
    List<T> rotated = new ArrayList<>(items);
    Collections.rotate(rotated, -(by % items.size()));
    return rotated;
  }

  private static <T> T await(Future<T> future) {
    try {
      return future.await(10, TimeUnit.MINUTES);
    } catch (Exception e) {
      throw new IllegalStateException(e.getMessage(), e);
    }
  }
}
