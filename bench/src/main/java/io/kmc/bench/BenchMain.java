package io.kmc.bench;

import io.kmc.bench.bulk.BulkBench;
import io.kmc.bench.passthrough.PassthroughBench;
import io.kmc.bench.passthrough.PassthroughOptions;
import io.kmc.bench.report.Flags;
import io.kmc.bench.sessions.SessionBench;
import io.kmc.bench.watch.NodeLossBench;
import io.kmc.bench.watch.WatchBench;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * {@code java -jar kmc-bench.jar <benchmark> [options]}: runs one benchmark in this JVM and prints
 * its report (Markdown) to stdout. The results worth keeping go into docs/benchmarks.md.
 */
public final class BenchMain {

  static {
    // Before the first logger exists: the hub's and Hazelcast's start-up chatter would bury the tables.
    if (System.getProperty("logback.configurationFile") == null) {
      System.setProperty("logback.configurationFile", "kmc-bench-logback.xml");
    }
  }

  private static final String USAGE = "usage: java -jar kmc-bench.jar <benchmark> [options], one of:\n"
      + String.join("\n", List.of(PassthroughOptions.USAGE, BulkBench.USAGE, WatchBench.USAGE, NodeLossBench.USAGE,
          io.kmc.bench.index.IndexBench.USAGE,
          SessionBench.USAGE, io.kmc.bench.propagation.PropagationBench.USAGE,
          io.kmc.bench.policy.PolicyBench.USAGE,
          io.kmc.bench.notifications.NotificationBench.USAGE, io.kmc.bench.stream.StreamBench.USAGE,
          io.kmc.bench.chaos.ChaosBench.USAGE, io.kmc.bench.scale.FleetSimBench.USAGE, io.kmc.bench.scale.StormBench.USAGE,
          io.kmc.bench.scale.SoakBench.USAGE));

  private BenchMain() {
  }

  public static void main(String[] args) throws Exception {
    if (args.length == 0) {
      System.err.println(USAGE);
      System.exit(2);
      return;
    }
    List<String> rest = Arrays.asList(args).subList(1, args.length);
    // The report is Markdown with a few non-ASCII signs (µ, Δ, ≤): UTF-8 whatever the locale says.
    PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
    Bench bench;
    try {
      bench = switch (args[0]) {
        case "passthrough" -> new PassthroughBench(PassthroughOptions.parse(rest), out)::run;
        case "bulk" -> new BulkBench(Flags.parse(rest, BulkBench.DEFAULTS), out)::run;
        case "watches" -> new WatchBench(Flags.parse(rest, WatchBench.DEFAULTS), out)::run;
        case "node-loss" -> new NodeLossBench(Flags.parse(rest, NodeLossBench.DEFAULTS), out)::run;
        case "sessions" -> new SessionBench(Flags.parse(rest, SessionBench.DEFAULTS), out)::run;
        case "index" -> new io.kmc.bench.index.IndexBench(Flags.parse(rest, io.kmc.bench.index.IndexBench.DEFAULTS),
            out)::run;
        case "propagation" -> new io.kmc.bench.propagation.PropagationBench(
            Flags.parse(rest, io.kmc.bench.propagation.PropagationBench.DEFAULTS), out)::run;
        case "policy" -> new io.kmc.bench.policy.PolicyBench(
            Flags.parse(rest, io.kmc.bench.policy.PolicyBench.DEFAULTS), out)::run;
        case "notifications" -> new io.kmc.bench.notifications.NotificationBench(
            Flags.parse(rest, io.kmc.bench.notifications.NotificationBench.DEFAULTS), out)::run;
        case "streams" -> new io.kmc.bench.stream.StreamBench(
            Flags.parse(rest, io.kmc.bench.stream.StreamBench.DEFAULTS), out)::run;
        case "chaos" -> new io.kmc.bench.chaos.ChaosBench(
            Flags.parse(rest, io.kmc.bench.chaos.ChaosBench.DEFAULTS), out)::run;
        case "fleet-sim" -> new io.kmc.bench.scale.FleetSimBench(
            Flags.parse(rest, io.kmc.bench.scale.FleetSimBench.DEFAULTS), out)::run;
        case "storm" -> new io.kmc.bench.scale.StormBench(
            Flags.parse(rest, io.kmc.bench.scale.StormBench.DEFAULTS), out)::run;
        case "soak" -> new io.kmc.bench.scale.SoakBench(
            Flags.parse(rest, io.kmc.bench.scale.SoakBench.DEFAULTS), out)::run;
        default -> throw new IllegalArgumentException("no benchmark named " + args[0]);
      };
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.err.println(USAGE);
      System.exit(2);
      return;
    }
    bench.run();
    // Daemon threads of the hub nodes' libraries may linger; the report is complete.
    System.exit(0);
  }

  @FunctionalInterface
  private interface Bench {
    void run() throws Exception;
  }
}
