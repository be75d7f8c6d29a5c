package io.kmc.bench.bulk;

import io.kmc.bench.report.Table;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The bulk-list table: per target the median wall time of a list, its rate, its ratio to direct,
 * and the CPU per list: of everything, of the agent's JVM, and of the hub (or bare proxy) alone,
 * estimated as everything minus the agent minus what the direct target cost; and from that the
 * MB of list a hub CPU-second carries.
 */
final class BulkReport {

  static final String DIRECT = "direct";
  static final String ONE_NODE = "one node (v2)";
  static final double ONE_NODE_BUDGET = 2.0;

  /** Every wall time of a target, and its CPU per list in each round. */
  static final class Samples {
    final List<Long> walls = new ArrayList<>();
    final List<Long> cpuPerList = new ArrayList<>();
    final List<Long> agentCpuPerList = new ArrayList<>();

    void add(List<Long> roundWalls, long cpu, long agentCpu) {
      walls.addAll(roundWalls);
      cpuPerList.add(cpu);
      agentCpuPerList.add(agentCpu);
    }
  }

  private final long bytes;
  private final Map<String, Samples> samples;

  BulkReport(long bytes, Map<String, Samples> samples) {
    this.bytes = bytes;
    this.samples = samples;
  }

  String table() {
    Table table = new Table("target", "median s", "min s", "max s", "MB/s", "× direct", "CPU ms/list",
        "agent CPU ms/list", "hub CPU ms/list", "MB per hub CPU-s");
    double direct = medianNanos(samples.get(DIRECT).walls);
    double directCpu = medianNanos(samples.get(DIRECT).cpuPerList);
    samples.forEach((name, s) -> {
      double wall = medianNanos(s.walls);
      double cpu = medianNanos(s.cpuPerList);
      double agentCpu = medianNanos(s.agentCpuPerList);
      double hubCpu = cpu - agentCpu - directCpu;
      boolean hubRow = !DIRECT.equals(name);
      table.row(name, seconds(wall), seconds(min(s.walls)), seconds(max(s.walls)),
          format("%.0f", bytes / 1e6 / (wall / 1e9)), format("%.2f", wall / direct), format("%.0f", cpu / 1e6),
          name.contains("node") ? format("%.0f", agentCpu / 1e6) : "—",
          hubRow ? format("%.0f", hubCpu / 1e6) : "—",
          hubRow && hubCpu > 0 ? format("%.0f", bytes / 1e6 / (hubCpu / 1e9)) : "—");
    });
    return table.render();
  }

  List<String> verdicts() {
    List<String> lines = new ArrayList<>();
    double direct = medianNanos(samples.get(DIRECT).walls);
    Samples oneNode = samples.get(ONE_NODE);
    if (oneNode != null) {
      double ratio = medianNanos(oneNode.walls) / direct;
      lines.add(format("one node (v2): %.2f× direct (goal ≤ %.0f×): %s", ratio, ONE_NODE_BUDGET,
          ratio <= ONE_NODE_BUDGET ? "met" : "NOT met"));
    }
    lines.add("hub CPU = CPU of everything per list − the agents' JVMs − the direct row's CPU (client and simulator);"
        + " for the bare proxy, the proxy's");
    return lines;
  }

  static double medianNanos(List<Long> values) {
    if (values.isEmpty()) {
      return Double.NaN;
    }
    long[] sorted = values.stream().mapToLong(Long::longValue).sorted().toArray();
    int middle = sorted.length / 2;
    return sorted.length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2.0;
  }

  private static double min(List<Long> values) {
    return values.stream().mapToLong(Long::longValue).min().orElse(0);
  }

  private static double max(List<Long> values) {
    return values.stream().mapToLong(Long::longValue).max().orElse(0);
  }

  private static String seconds(double nanos) {
    return format("%.3f", nanos / 1e9);
  }

  private static String format(String format, Object... args) {
    return String.format(Locale.ROOT, format, args);
  }
}
