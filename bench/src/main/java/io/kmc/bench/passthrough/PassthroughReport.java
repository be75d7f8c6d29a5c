package io.kmc.bench.passthrough;

import io.kmc.bench.load.RunResult;
import io.kmc.bench.report.Table;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Turns the (median) results of the pass-through benchmark into tables and a verdict on the goals:
 * p50 overhead of at most 1 ms through one hub node and 2 ms across two, and at least 70 % of the
 * direct throughput. The first row is the baseline every other row is compared with; a row without
 * a p50 budget is a reference, shown but not judged.
 */
final class PassthroughReport {

  static final double MIN_THROUGHPUT_SHARE = 0.70;
  /** Tunnel v2's goals for one node against the reference (the bare proxy): CPU per request and requests/s. */
  static final double MAX_CPU_VS_REFERENCE = 2.5;
  static final double MIN_THROUGHPUT_VS_REFERENCE = 0.50;

  /**
   * One target's results.
   *
   * @param latency          at one request at a time
   * @param throughput       at the throughput concurrency
   * @param p50BudgetMillis  the p50 overhead allowed over the baseline; NaN for the baseline and references
   */
  record Row(String target, RunResult latency, RunResult throughput, double p50BudgetMillis) {
    boolean judged() {
      return !Double.isNaN(p50BudgetMillis);
    }
  }

  private final List<Row> rows;

  PassthroughReport(List<Row> rows) {
    if (rows.isEmpty()) {
      throw new IllegalArgumentException("no results");
    }
    this.rows = List.copyOf(rows);
  }

  /** Latency at concurrency 1 with the throughput, and both compared with the baseline. */
  String summaryTable() {
    Row direct = rows.get(0);
    Table table = new Table("target", "p50 ms", "p90 ms", "p99 ms", "max ms", "req/s", "CPU µs/req", "p50 Δ ms",
        "req/s % of direct", "errors");
    for (Row row : rows) {
      boolean baseline = row == direct;
      table.row(row.target(), millis(row.latency().p50Nanos()), millis(row.latency().p90Nanos()),
          millis(row.latency().p99Nanos()), millis(row.latency().maxNanos()),
          rate(row.throughput().requestsPerSecond()), micros(row.throughput().cpuMicrosPerRequest()),
          baseline ? "—" : signedMillis(p50OverheadNanos(row)),
          baseline ? "—" : percent(throughputShare(row)),
          Long.toString(row.latency().errors() + row.throughput().errors()));
    }
    return table.render();
  }

  /** Latency while the throughput was measured, i.e. with requests queueing. */
  String underLoadTable() {
    Table table = new Table("target", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms");
    for (Row row : rows) {
      RunResult t = row.throughput();
      table.row(row.target(), rate(t.requestsPerSecond()), millis(t.p50Nanos()), millis(t.p90Nanos()),
          millis(t.p99Nanos()), millis(t.maxNanos()));
    }
    return table.render();
  }

  /** One line per goal, saying whether it was met; and any errors, which void the run. */
  List<String> verdicts() {
    List<String> lines = new ArrayList<>();
    for (Row row : rows.stream().filter(Row::judged).toList()) {
      long overhead = p50OverheadNanos(row);
      lines.add(String.format(Locale.ROOT, "%s: p50 overhead %s ms (goal ≤ %.0f ms): %s", row.target(),
          signedMillis(overhead), row.p50BudgetMillis(), verdict(overhead / 1e6 <= row.p50BudgetMillis())));
      double share = throughputShare(row);
      lines.add(String.format(Locale.ROOT, "%s: throughput %s of direct (goal ≥ %s): %s", row.target(),
          percent(share), percent(MIN_THROUGHPUT_SHARE), verdict(share >= MIN_THROUGHPUT_SHARE)));
    }
    for (Row row : rows) {
      long errors = row.latency().errors() + row.throughput().errors();
      if (errors > 0) {
        String first = row.latency().firstError() != null ? row.latency().firstError() : row.throughput().firstError();
        lines.add(row.target() + ": " + errors + " ERRORS, the numbers of this run do not count; first: " + first);
      }
    }
    // The reference is the first row after the baseline that is not judged (the bare proxy); the goals
    // against it are those of the first judged row (one node); further judged rows get the figures only.
    Row reference = rows.stream().skip(1).filter(row -> !row.judged()).findFirst().orElse(null);
    if (reference != null) {
      boolean first = true;
      for (Row row : rows.stream().filter(Row::judged).toList()) {
        double cpu = row.throughput().cpuMicrosPerRequest() / reference.throughput().cpuMicrosPerRequest();
        double share = row.throughput().requestsPerSecond() / reference.throughput().requestsPerSecond();
        lines.add(String.format(Locale.ROOT, "%s: CPU per request %.1f× the %s's%s", row.target(), cpu,
            reference.target(), first ? String.format(Locale.ROOT, " (goal ≤ %.1f×): %s", MAX_CPU_VS_REFERENCE,
                verdict(cpu <= MAX_CPU_VS_REFERENCE)) : ""));
        lines.add(String.format(Locale.ROOT, "%s: requests/s %s of the %s's%s", row.target(), percent(share),
            reference.target(), first ? String.format(Locale.ROOT, " (goal ≥ %s): %s",
                percent(MIN_THROUGHPUT_VS_REFERENCE), verdict(share >= MIN_THROUGHPUT_VS_REFERENCE)) : ""));
        first = false;
      }
    }
    return lines;
  }

  private static String verdict(boolean met) {
    return met ? "met" : "NOT met";
  }

  private long p50OverheadNanos(Row row) {
    return row.latency().p50Nanos() - rows.get(0).latency().p50Nanos();
  }

  private double throughputShare(Row row) {
    double direct = rows.get(0).throughput().requestsPerSecond();
    return direct == 0 ? 0 : row.throughput().requestsPerSecond() / direct;
  }

  static String millis(long nanos) {
    return String.format(Locale.ROOT, "%.3f", nanos / 1e6);
  }

  static String signedMillis(long nanos) {
    return String.format(Locale.ROOT, "%+.3f", nanos / 1e6);
  }

  static String micros(double micros) {
    return String.format(Locale.ROOT, "%.0f", micros);
  }

  static String rate(double perSecond) {
    return String.format(Locale.ROOT, "%.0f", perSecond);
  }

  static String percent(double share) {
    return String.format(Locale.ROOT, "%.0f %%", share * 100);
  }
}
