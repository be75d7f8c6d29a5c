package io.kmc.bench.load;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * CPU time used so far by this JVM and by the processes the benchmark runs beside it: this JVM's
 * children (an embedded Redis) and the process trees whose command line contains one of the given
 * markers (an embedded PostgreSQL, which {@code pg_ctl} detaches from its parent). Read from /proc;
 * elsewhere only this JVM is counted.
 */
public final class ProcessCpu implements LongSupplier {

  /** USER_HZ: the unit of utime and stime in /proc/[pid]/stat, 100 on every Linux this runs on. */
  private static final long NANOS_PER_TICK = 10_000_000;
  private static final Path PROC = Path.of("/proc");

  private final long self = ProcessHandle.current().pid();
  private final List<String> markers;

  public ProcessCpu(List<String> markers) {
    this.markers = List.copyOf(markers);
  }

  /** This JVM only. */
  public static long jvmNanos() {
    return ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
        ? os.getProcessCpuTime() : -1;
  }

  @Override
  public long getAsLong() {
    long jvm = jvmNanos();
    if (!Files.isDirectory(PROC)) {
      return jvm;
    }
    Map<Long, Stat> stats = new HashMap<>();
    Set<Long> roots = new HashSet<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(PROC, "[0-9]*")) {
      for (Path entry : entries) {
        long pid = Long.parseLong(entry.getFileName().toString());
        Stat stat = stat(entry);
        if (stat == null) {
          continue;
        }
        stats.put(pid, stat);
        if (pid != self && !markers.isEmpty() && cmdlineHasMarker(entry)) {
          roots.add(pid);
        }
      }
    } catch (IOException e) {
      return jvm;
    }
    Map<Long, List<Long>> children = new HashMap<>();
    stats.forEach((pid, stat) -> children.computeIfAbsent(stat.parent(), p -> new ArrayList<>()).add(pid));
    Deque<Long> pending = new ArrayDeque<>(roots);
    pending.addAll(children.getOrDefault(self, List.of()));
    Set<Long> counted = new HashSet<>();
    long ticks = 0;
    while (!pending.isEmpty()) {
      long pid = pending.pop();
      if (pid == self || !counted.add(pid)) {
        continue;
      }
      ticks += stats.get(pid).ticks();
      pending.addAll(children.getOrDefault(pid, List.of()));
    }
    return jvm + ticks * NANOS_PER_TICK;
  }

  private record Stat(long parent, long ticks) {
  }

  /** Parent pid and utime + stime; the command name in parentheses may itself hold spaces. */
  private static Stat stat(Path process) {
    try {
      String line = Files.readString(process.resolve("stat"), StandardCharsets.US_ASCII);
      String[] fields = line.substring(line.lastIndexOf(')') + 2).split(" ");
      return new Stat(Long.parseLong(fields[1]), Long.parseLong(fields[11]) + Long.parseLong(fields[12]));
    } catch (IOException | RuntimeException e) {
      return null; // the process ended meanwhile
    }
  }

  private boolean cmdlineHasMarker(Path process) {
    try {
      String cmdline = new String(Files.readAllBytes(process.resolve("cmdline")), StandardCharsets.UTF_8);
      return markers.stream().anyMatch(cmdline::contains);
    } catch (IOException e) {
      return false;
    }
  }
}
