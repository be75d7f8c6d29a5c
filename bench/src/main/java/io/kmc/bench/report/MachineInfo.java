package io.kmc.bench.report;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** Where and when a benchmark ran, for the header of its report. */
public record MachineInfo(int processors, String cpuModel, String memory, String java, String os, String loadAverage,
                          String date) {

  public static MachineInfo current() {
    Runtime runtime = Runtime.getRuntime();
    String java = System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version")
        + " (" + System.getProperty("java.vm.vendor") + "), max heap " + runtime.maxMemory() / (1024 * 1024) + " MiB";
    String os = osRelease().orElse(System.getProperty("os.name")) + ", kernel " + System.getProperty("os.version")
        + ", " + System.getProperty("os.arch");
    return new MachineInfo(runtime.availableProcessors(),
        firstValue(Path.of("/proc/cpuinfo"), "model name").orElse("unknown"),
        firstValue(Path.of("/proc/meminfo"), "MemTotal").map(MachineInfo::kibToGib).orElse("unknown"),
        java, os, currentLoadAverage().orElse("unknown"),
        ZonedDateTime.now().format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss z", Locale.ROOT)));
  }

  /** The load average (1, 5, 15 min) now, which tells how busy a shared machine was. */
  public static Optional<String> currentLoadAverage() {
    return lines(Path.of("/proc/loadavg")).stream().findFirst()
        .map(line -> String.join(" ", List.of(line.split(" ")).subList(0, 3)));
  }

  /** The head of every benchmark's report: its title, this machine as it is now, and how it was run. */
  public static void printHeader(PrintStream out, String title, String run) {
    out.println("# kmc " + title + " benchmark");
    out.println();
    current().describe().forEach(line -> out.println("    " + line));
    out.println("    run:     " + run);
    out.println();
  }

  public List<String> describe() {
    return List.of(
        "date:    " + date,
        "cpu:     " + processors + " × " + cpuModel,
        "memory:  " + memory,
        "java:    " + java,
        "os:      " + os,
        "load:    " + loadAverage + " (1, 5, 15 min, at start)");
  }

  /** The value of the first {@code key: value} line of a /proc file. */
  static Optional<String> firstValue(Path file, String key) {
    return lines(file).stream()
        .filter(line -> line.startsWith(key))
        .map(line -> line.substring(line.indexOf(':') + 1).trim())
        .findFirst();
  }

  static String kibToGib(String memTotal) {
    try {
      long kib = Long.parseLong(memTotal.replace("kB", "").trim());
      return String.format(Locale.ROOT, "%.1f GiB", kib / (1024.0 * 1024.0));
    } catch (NumberFormatException e) {
      return memTotal;
    }
  }

  private static Optional<String> osRelease() {
    return lines(Path.of("/etc/os-release")).stream()
        .filter(line -> line.startsWith("PRETTY_NAME="))
        .map(line -> line.substring("PRETTY_NAME=".length()).replace("\"", ""))
        .findFirst();
  }

  private static List<String> lines(Path file) {
    try {
      return Files.readAllLines(file);
    } catch (IOException e) {
      return List.of();
    }
  }
}
