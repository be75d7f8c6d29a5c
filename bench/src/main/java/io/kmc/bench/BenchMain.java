package io.kmc.bench;

import io.kmc.bench.passthrough.PassthroughBench;
import io.kmc.bench.passthrough.PassthroughOptions;

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

  private static final String USAGE = "usage: java -jar kmc-bench.jar " + PassthroughOptions.USAGE;

  private BenchMain() {
  }

  public static void main(String[] args) throws Exception {
    if (args.length == 0 || !"passthrough".equals(args[0])) {
      System.err.println(USAGE);
      System.exit(2);
      return;
    }
    List<String> rest = Arrays.asList(args).subList(1, args.length);
    PassthroughOptions options;
    try {
      options = PassthroughOptions.parse(rest);
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.err.println(USAGE);
      System.exit(2);
      return;
    }
    // The report is Markdown with a few non-ASCII signs (µ, Δ, ≤): UTF-8 whatever the locale says.
    PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
    new PassthroughBench(options, out).run();
  }
}
