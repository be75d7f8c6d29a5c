package io.kmc.bench.watch;

import io.kmc.bench.fleet.Fleet;
import io.kmc.bench.load.JvmProcess;
import io.kmc.bench.load.ProcessCpu;
import io.kmc.bench.load.Target;
import io.kmc.bench.report.Flags;
import io.kmc.bench.report.MachineInfo;
import io.kmc.bench.report.Table;
import io.kmc.hub.api.KubePassthrough;
import org.HdrHistogram.Histogram;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Many concurrent watches through one agent while the watched namespace changes steadily: every
 * watch must receive every event, once and in order; reported with the agent's threads and heap
 * (the agent runs as {@code AgentMain} in a JVM of its own, with the heap limit given) and the hub
 * heap each open watch holds. The watches enter at the node holding the agent.
 *
 * <p>Hub heap per watch: this JVM (hub nodes, simulator, watching client) is measured after a full
 * GC with no watch open, with the watches open straight to the simulator, and with the same number
 * open through the hub; the simulator and the client hold the same per watch either way, so the
 * difference of the two increases, divided by the watches, is what the hub holds for one.
 */
public final class WatchBench {

  public static final String USAGE = """
      watches [--watches N] [--rate N] [--seconds N] [--agent-heap-mb N]
        --watches N        concurrent watches through one agent (default 2000)
        --rate N           changes per second in the watched namespace (default 50)
        --seconds N        seconds of changes at that rate, first straight to the simulator, then through
                           the hub (default 10)
        --agent-heap-mb N  -Xmx of the agent's JVM, 0 for the JVM's default (default 256)""";

  public static final Map<String, String> DEFAULTS = Map.of("--watches", "2000", "--rate", "50", "--seconds", "10",
      "--agent-heap-mb", "256");

  private static final String CLUSTER = "bench";
  private static final int OPEN_BATCH = 100;

  private final Flags flags;
  private final PrintStream out;

  public WatchBench(Flags flags, PrintStream out) {
    this.flags = flags;
    this.out = out;
  }

  public void run() throws Exception {
    int watches = flags.integer("--watches", 1, 20_000);
    double rate = flags.number("--rate", 0.1, 10_000);
    double seconds = flags.number("--seconds", 1, 3600);
    int agentHeapMb = flags.integer("--agent-heap-mb", 0, 65_536);
    int changes = (int) Math.round(rate * seconds);
    long began = System.nanoTime();
    MachineInfo.printHeader(out, "watch", flags.describe());

    Fleet.Spec spec = new Fleet.Spec(List.of(new Fleet.AgentSpec(CLUSTER, List.of(2), List.of(Fleet.NODE_A), true,
        agentHeapMb)), Math.max(512, watches + 64));
    try (Fleet fleet = Fleet.start(spec)) {
      JvmProcess agent = new JvmProcess(fleet.agentProcess(CLUSTER).pid());
      Watches.prepare(fleet);
      out.printf("fleet started; agent pid %d (own JVM, -Xmx %s)%n", agent.pid(),
          agentHeapMb == 0 ? "default" : agentHeapMb + "m");
      // The agent has served nothing yet: what it costs idle.
      int agentThreadsIdle = agent.threads();
      long agentHeapIdle = agent.heapUsedBytes(true);
      Table events = new Table("target", "watches", "changes", "made in s", "events expected", "delivered", "lost",
          "duplicated", "out of order", "other lines", "watches ended", "all delivered after s", "events/s",
          "CPU µs/event", "agent CPU µs/event", "gap p50 ms", "gap p99 ms", "gap max ms");

      // Phase 1, the reference: the same watches and changes straight to the simulator.
      long jvmBase = jvmHeapAfterGc();
      Target direct = new Target("direct", "127.0.0.1", fleet.sim().port(), Watches.LIST_PATH, fleet.simToken());
      Phase directPhase;
      long jvmDirect;
      try (Watches client = new Watches(watches, changes, 0)) {
        String resourceVersion = Watches.mark(fleet, "start-direct");
        client.open(direct, resourceVersion, 0, watches, OPEN_BATCH);
        Fleet.sleep(2_000);
        jvmDirect = jvmHeapAfterGc();
        out.printf("%d watches straight to the simulator: this JVM's heap +%.1f MB%n", watches,
            (jvmDirect - jvmBase) / 1e6);
        directPhase = changes(fleet, client, direct, watches, changes, rate, null);
      }
      directPhase.row(events);
      Fleet.sleep(2_000);
      long jvmBase2 = jvmHeapAfterGc();

      // Phase 2: through the hub node holding the agent.
      Target hub = new Target("one node", "127.0.0.1", fleet.nodeA().port(),
          KubePassthrough.PREFIX + CLUSTER + Watches.LIST_PATH, fleet.adminToken());
      Table agentTable = new Table("agent (own JVM)", "threads", "heap MiB", "");
      agentTable.row("idle, connected", String.valueOf(agentThreadsIdle), mb(agentHeapIdle), "after full GC");
      Phase hubPhase;
      long jvmHub;
      int agentThreadsOpen;
      long agentHeapOpen;
      try (Watches client = new Watches(watches, changes, changes)) {
        String resourceVersion = Watches.mark(fleet, "start-hub");
        long openStart = System.nanoTime();
        client.open(hub, resourceVersion, 0, watches, OPEN_BATCH);
        double openSeconds = (System.nanoTime() - openStart) / 1e9;
        Fleet.sleep(2_000);
        jvmHub = jvmHeapAfterGc();
        agentThreadsOpen = agent.threads();
        agentHeapOpen = agent.heapUsedBytes(true);
        agentTable.row(watches + " watches open", String.valueOf(agentThreadsOpen), mb(agentHeapOpen),
            "after full GC");
        out.printf("%d watches through the hub opened in %.1f s: this JVM's heap +%.1f MB; agent %d threads, heap "
            + "%.1f MiB after GC%n", watches, openSeconds, (jvmHub - jvmBase2) / 1e6, agentThreadsOpen,
            agentHeapOpen / 1048576.0);
        hubPhase = changes(fleet, client, hub, watches, changes, rate, agent);
      }
      hubPhase.row(events);
      agentTable.row("during the changes (max)", String.valueOf(hubPhase.agentMaxThreads), mb(hubPhase.agentMaxHeap),
          "used, no GC forced");
      agentTable.row("after the changes", String.valueOf(hubPhase.agentThreadsAfter), mb(hubPhase.agentHeapAfter),
          "after full GC");
      double hubPerWatch = ((jvmHub - jvmBase2) - (jvmDirect - jvmBase)) / (double) watches;

      out.println();
      out.printf("## %d watches, %d changes at %.0f/s: straight to the simulator, then through one agent%n%n",
          watches, changes, rate);
      out.print(events.render());
      out.println();
      out.print(agentTable.render());
      out.println();
      out.printf("agent: RSS %.0f MB, CPU %.1f s in all; its threads: %s%n", agent.rssKib() / 1024.0,
          agent.cpuNanos() / 1e9, groupThreads(agent.threadNames()));
      out.printf("hub heap per open watch: %.1f KB (this JVM +%.1f MB with %d watches through the hub, +%.1f MB with "
          + "them straight to the simulator)%n", hubPerWatch / 1e3, (jvmHub - jvmBase2) / 1e6, watches,
          (jvmDirect - jvmBase) / 1e6);
      out.println();
      out.println("- direct: " + directPhase.verdict());
      out.println("- one node: " + hubPhase.verdict());
      int agentThreadsMax = Math.max(hubPhase.agentMaxThreads, Math.max(agentThreadsOpen, hubPhase.agentThreadsAfter));
      out.println("- agent threads ≤ 50: " + agentThreadsMax + (agentThreadsMax <= 50 ? ", met" : ", NOT met"));
      long agentHeapLive = Math.max(agentHeapOpen, hubPhase.agentHeapAfter);
      out.println("- agent heap ≤ 256 MiB: " + mb(agentHeapLive) + " MiB live after GC, " + mb(hubPhase.agentMaxHeap)
          + " MiB used at most" + (agentHeapMb > 0 ? " under -Xmx" + agentHeapMb + "m" : "")
          + (agentHeapLive <= 256L * 1024 * 1024 && (agentHeapMb > 0 && agentHeapMb <= 256 || hubPhase.agentMaxHeap
          <= 256L * 1024 * 1024) ? ", met" : ", NOT met"));
      out.println();
    }
    out.printf("total time %.0f s%n", (System.nanoTime() - began) / 1e9);
  }

  /** What one phase (a target with its watches open) gave. */
  private static final class Phase {
    String target;
    int watches;
    int changes;
    double changeSeconds;
    boolean complete;
    double deliveredSeconds;
    long delivered;
    long lost;
    long duplicated;
    long outOfOrder;
    long other;
    String firstOther;
    int ended;
    String firstEnd;
    Histogram gaps;
    long cpuNanos;
    long agentCpuNanos;
    int agentMaxThreads;
    long agentMaxHeap;
    int agentThreadsAfter;
    long agentHeapAfter;

    void row(Table table) {
      long expected = (long) watches * changes;
      table.row(target, String.valueOf(watches), String.valueOf(changes), format("%.1f", changeSeconds),
          String.valueOf(expected), String.valueOf(delivered), String.valueOf(lost), String.valueOf(duplicated),
          String.valueOf(outOfOrder), String.valueOf(other), String.valueOf(ended),
          complete ? format("%.1f", deliveredSeconds) : "never (timeout)",
          format("%.0f", delivered / deliveredSeconds), format("%.1f", cpuNanos / 1e3 / Math.max(1, delivered)),
          agentCpuNanos < 0 ? "—" : format("%.1f", agentCpuNanos / 1e3 / Math.max(1, delivered)),
          millis(gaps.getValueAtPercentile(50)), millis(gaps.getValueAtPercentile(99)), millis(gaps.getMaxValue()));
    }

    String verdict() {
      boolean everyEvent = lost == 0 && duplicated == 0 && outOfOrder == 0 && ended == 0 && complete;
      return "every watch received every event once, in order: " + (everyEvent ? "yes" : "NO")
          + (other > 0 ? " (" + other + " other lines, first: " + firstOther + ")" : "")
          + (ended > 0 ? " (" + ended + " ended, first: " + firstEnd + ")" : "");
    }
  }

  /** Makes the changes with the watches of {@code client} open and waits for them; samples {@code agent} if given. */
  private Phase changes(Fleet fleet, Watches client, Target target, int watches, int changes, double rate,
                        JvmProcess agent) throws InterruptedException {
    Phase phase = new Phase();
    phase.target = target.name();
    phase.watches = watches;
    phase.changes = changes;
    AtomicBoolean changing = new AtomicBoolean(true);
    AtomicInteger maxThreads = new AtomicInteger();
    AtomicLong maxHeap = new AtomicLong();
    // Threads every second from /proc (cheap); the heap every 5 s, since each jcmd is a JVM start on this machine.
    Thread sampler = new Thread(() -> {
      for (int tick = 0; changing.get() && agent != null; tick++) {
        maxThreads.accumulateAndGet(agent.threads(), Math::max);
        if (tick % 5 == 0) {
          try {
            maxHeap.accumulateAndGet(agent.heapUsedBytes(false), Math::max);
          } catch (IllegalStateException e) {
            // the agent is gone; its threads read -1
          }
        }
        Fleet.sleep(1_000);
      }
    }, "kmc-bench-agent-sampler");
    sampler.setDaemon(true);
    out.printf("  %tT %s: making %d changes at %.0f/s%n", System.currentTimeMillis(), target.name(), changes, rate);
    ProcessCpu everything = new ProcessCpu(fleet.processMarkers());
    long cpuBefore = everything.getAsLong();
    long agentCpuBefore = agent == null ? 0 : agent.cpuNanos();
    long changeStart = System.nanoTime();
    sampler.start();
    Watches.await(client.change(fleet, changes, rate, number -> { }));
    phase.changeSeconds = (System.nanoTime() - changeStart) / 1e9;
    phase.complete = client.awaitComplete(watches, changes, 300_000);
    phase.deliveredSeconds = (System.nanoTime() - changeStart) / 1e9;
    phase.cpuNanos = everything.getAsLong() - cpuBefore;
    phase.agentCpuNanos = agent == null ? -1 : agent.cpuNanos() - agentCpuBefore;
    changing.set(false);
    sampler.join();
    out.printf("  %tT %s: changes made in %.1f s, all delivered %s%n", System.currentTimeMillis(), target.name(),
        phase.changeSeconds, phase.complete ? format("after %.1f s", phase.deliveredSeconds) : "NEVER");
    EventLedger ledger = client.ledger();
    phase.delivered = client.read(ledger::delivered);
    phase.lost = client.read(() -> ledger.lost(changes));
    phase.duplicated = client.read(ledger::duplicated);
    phase.outOfOrder = client.read(ledger::outOfOrder);
    phase.other = client.read(ledger::otherLines);
    phase.firstOther = client.read(ledger::firstOther);
    phase.gaps = client.read(() -> ledger.gaps().copy());
    phase.ended = client.read(client::ended);
    phase.firstEnd = client.read(client::firstEnd);
    if (agent != null) {
      phase.agentMaxThreads = maxThreads.get();
      phase.agentMaxHeap = maxHeap.get();
      phase.agentThreadsAfter = agent.threads();
      phase.agentHeapAfter = agent.heapUsedBytes(true);
    }
    return phase;
  }

  /** Thread names grouped by their stem (digits dropped), with counts. */
  static String groupThreads(List<String> names) {
    Map<String, Integer> groups = new TreeMap<>();
    for (String name : names) {
      groups.merge(name.replaceAll("[0-9]+", "#"), 1, Integer::sum);
    }
    StringBuilder out = new StringBuilder();
    groups.forEach((stem, count) -> out.append(out.length() == 0 ? "" : ", ").append(stem)
        .append(count > 1 ? " ×" + count : ""));
    return out.toString();
  }

  /** This JVM's heap in use after two full collections. */
  static long jvmHeapAfterGc() {
    for (int i = 0; i < 2; i++) {
      System.gc();
      Fleet.sleep(300);
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  static String millis(long nanos) {
    return format("%.1f", nanos / 1e6);
  }

  private static String mb(long bytes) {
    return format("%.1f", bytes / 1048576.0);
  }

  static String format(String format, Object... args) {
    return String.format(Locale.ROOT, format, args);
  }
}
