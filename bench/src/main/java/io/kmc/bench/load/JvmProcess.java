package io.kmc.bench.load;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What another JVM of the benchmark (an agent in a process of its own) uses, read from /proc and
 * with {@code jcmd}: CPU time, threads, resident memory, and its live heap after a full GC.
 */
public record JvmProcess(long pid) {

  /** This JVM (the simulator or load generator itself). */
  public static JvmProcess self() {
    return new JvmProcess(ProcessHandle.current().pid());
  }

  private static final long NANOS_PER_TICK = 10_000_000;
  private static final Pattern HISTOGRAM_LINE = Pattern.compile("(?m)^\\s*\\d+:\\s+\\d+\\s+(\\d+)\\s+(\\S+)");
  private static final Pattern HEAP_USED = Pattern.compile("heap\\s+total\\s+(\\d+)K,\\s+used\\s+(\\d+)K");

  /** utime + stime of the process so far, in nanoseconds; -1 if it is gone. */
  public long cpuNanos() {
    try {
      String line = Files.readString(Path.of("/proc", String.valueOf(pid), "stat"), StandardCharsets.US_ASCII);
      String[] fields = line.substring(line.lastIndexOf(')') + 2).split(" ");
      return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) * NANOS_PER_TICK;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** stime alone: what the process spent in the kernel (system calls: socket reads, writes, epoll), in nanoseconds. */
  public long systemCpuNanos() {
    try {
      String line = Files.readString(Path.of("/proc", String.valueOf(pid), "stat"), StandardCharsets.US_ASCII);
      String[] fields = line.substring(line.lastIndexOf(')') + 2).split(" ");
      return Long.parseLong(fields[12]) * NANOS_PER_TICK;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** Whether the process has Netty's native epoll library loaded (else its sockets are Java NIO). */
  public boolean nativeEpoll() {
    return mapped("netty_transport_native_epoll");
  }

  /** Whether the process has Netty's OpenSSL (BoringSSL) library loaded (else its TLS is the JDK's). */
  public boolean openSsl() {
    return mapped("netty_tcnative");
  }

  private boolean mapped(String library) {
    try {
      return Files.readString(Path.of("/proc", String.valueOf(pid), "maps"), StandardCharsets.US_ASCII)
          .contains(library);
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  /** Threads of the process now (every JVM thread: Java threads, GC and JIT threads too). */
  public int threads() {
    return (int) status("Threads:");
  }

  /** Resident memory in KiB. */
  public long rssKib() {
    return status("VmRSS:");
  }

  private long status(String key) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status"))) {
        if (line.startsWith(key)) {
          return Long.parseLong(line.substring(key.length()).replace("kB", "").trim());
        }
      }
    } catch (IOException | RuntimeException e) {
      return -1;
    }
    return -1;
  }

  /** Heap used in bytes as {@code jcmd GC.heap_info} reports it; after {@code GC.run} when {@code collectFirst}. */
  public long heapUsedBytes(boolean collectFirst) {
    if (collectFirst) {
      jcmd("GC.run");
    }
    return parseHeapUsedKib(jcmd("GC.heap_info")) * 1024;
  }

  /** The used KiB of the first heap line of {@code GC.heap_info} (G1: "garbage-first heap total …K, used …K"). */
  static long parseHeapUsedKib(String heapInfo) {
    Matcher matcher = HEAP_USED.matcher(heapInfo);
    if (!matcher.find()) {
      throw new IllegalStateException("no heap figures in: " + heapInfo);
    }
    return Long.parseLong(matcher.group(2));
  }

  /**
   * Bytes of live objects per class ({@code jcmd GC.class_histogram}, which collects first), for the
   * difference between two fleet sizes: what each added agent costs, class by class.
   */
  public java.util.Map<String, Long> classHistogram() {
    return parseClassHistogram(jcmd("GC.class_histogram"));
  }

  /** "  1:   94102   12265128  [B (java.base@17)" lines: class name (module dropped) to bytes. */
  static java.util.Map<String, Long> parseClassHistogram(String histogram) {
    java.util.Map<String, Long> bytes = new java.util.HashMap<>();
    Matcher line = HISTOGRAM_LINE.matcher(histogram);
    while (line.find()) {
      bytes.merge(line.group(2), Long.parseLong(line.group(1)), Long::sum);
    }
    if (bytes.isEmpty()) {
      throw new IllegalStateException("no class histogram in: " + histogram);
    }
    return bytes;
  }

  /**
   * CPU time of each thread so far in nanoseconds, by thread name with trailing numbers folded
   * ("vert.x-eventloop-thread-1" and "-2" count as one), from /proc: where an idle process's CPU goes.
   */
  public java.util.Map<String, Long> cpuNanosByThread() {
    java.util.Map<String, Long> cpu = new java.util.TreeMap<>();
    try (var tasks = Files.list(Path.of("/proc", String.valueOf(pid), "task"))) {
      tasks.forEach(task -> {
        try {
          String name = Files.readString(task.resolve("comm")).trim().replaceAll("[-#]?\\d+$", "");
          String line = Files.readString(task.resolve("stat"), StandardCharsets.US_ASCII);
          String[] fields = line.substring(line.lastIndexOf(')') + 2).split(" ");
          cpu.merge(name, (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) * NANOS_PER_TICK, Long::sum);
        } catch (IOException | RuntimeException e) {
          // the thread ended meanwhile
        }
      });
    } catch (IOException e) {
      return cpu;
    }
    return cpu;
  }

  /** The names of the process's threads, from /proc (15 characters at most each). */
  public List<String> threadNames() {
    try (var tasks = Files.list(Path.of("/proc", String.valueOf(pid), "task"))) {
      return tasks.map(task -> {
        try {
          return Files.readString(task.resolve("comm")).trim();
        } catch (IOException e) {
          return "?";
        }
      }).sorted().toList();
    } catch (IOException e) {
      return List.of();
    }
  }

  /** Every thread's stack ({@code jcmd Thread.print}). */
  public String threadDump() {
    return jcmd("Thread.print");
  }

  private String jcmd(String command) {
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    try {
      Process process = new ProcessBuilder(jcmd.toString(), String.valueOf(pid), command).redirectErrorStream(true)
          .start();
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
        throw new IllegalStateException("jcmd " + pid + " " + command + " failed: " + output);
      }
      return output;
    } catch (IOException e) {
      throw new IllegalStateException("cannot run " + jcmd + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
