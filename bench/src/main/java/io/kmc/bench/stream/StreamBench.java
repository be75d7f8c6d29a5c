package io.kmc.bench.stream;

import io.kmc.bench.fleet.Fleet;
import io.kmc.bench.index.StandInAgent;
import io.kmc.bench.load.JvmProcess;
import io.kmc.bench.load.ProcessCpu;
import io.kmc.bench.report.Flags;
import io.kmc.bench.report.MachineInfo;
import io.kmc.bench.report.Table;
import io.kmc.common.protocol.Frame;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.json.JsonObject;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.Writer;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * Live resource streams under load (issue 13, docs/streams.md): one cluster changing at a steady
 * rate, {@code --subscribers} stream sockets spread over both hub nodes, each with one subscription to
 * what changes; per rate, every event checked (none lost, none twice), change → delivery latency, and
 * what the hub nodes spent per 1,000 changes. Then {@code --idle} idle subscriptions on one node and
 * the heap each costs.
 *
 * <p>The changes come from a stand-in agent that speaks the index protocol as an agent does (one
 * batch per {@code --batch-ms}, at most 8 unacknowledged, as {@code index.batch_interval} and
 * {@code index.max_in_flight} default), so what is measured is the hub: index write, change log,
 * event-bus publication to the other node, fan-out to sockets. Each change is stamped with the time
 * it was made, before it waits for its batch: the latency includes the agent's batching, as a user
 * sees it. The subscribers run in a JVM of their own ({@link StreamSubscribers}); this JVM holds the
 * two hub nodes and the stand-in agent, whose heap and CPU are what is reported as the hub's.
 */
public final class StreamBench {

  public static final String USAGE = """
      streams [--subscribers N] [--rates R,R,...] [--seconds N] [--warmup N] [--batch-ms N] [--idle N] [--idle-per-socket N]
        --subscribers N      stream sockets with one subscription each, alternately on node A and B (default 100)
        --rates R,...        changes per second in the one cluster, one measured run each (default 500,1000,2000,5000)
        --seconds N          length of each run (default 20)
        --warmup N           seconds of an unreported run at the first rate before the measured ones (default 10)
        --batch-ms N         the stand-in agent's batch interval (default 200, index.batch_interval)
        --idle N             idle subscriptions on node A (default 10000; 0: skip)
        --idle-per-socket N  subscriptions per idle socket (default 50, at most stream.max_subscriptions)""";

  public static final Map<String, String> DEFAULTS = Map.of("--subscribers", "100", "--rates", "500,1000,2000,5000",
      "--seconds", "20", "--warmup", "10", "--batch-ms", "200", "--idle", "10000", "--idle-per-socket", "50");

  private static final String CLUSTER = "stream-bench";
  /** Objects the changes cycle through: more than one batch holds, so that no batch names one twice. */
  private static final int OBJECTS = 5_000;
  private static final int MAX_IN_FLIGHT = 8;
  private static final long IDLE_MILLIS = 5_000;

  private final Flags flags;
  private final PrintStream out;
  /** The share of one core the idle hub JVM uses. */
  private double idleCoreShare;

  public StreamBench(Flags flags, PrintStream out) {
    this.flags = flags;
    this.out = out;
  }

  private record Run(int rate, double seconds, long changes, JsonObject result, double hubCpuSeconds,
                     double storeCpuSeconds, long allocatedBytes, long heapBefore, long heapAfter, double drainSeconds,
                     double sentRate) {
  }

  public void run() throws Exception {
    int subscribers = flags.integer("--subscribers", 1, 10_000);
    int seconds = flags.integer("--seconds", 1, 3_600);
    int warmup = flags.integer("--warmup", 0, 3_600);
    int batchMs = flags.integer("--batch-ms", 10, 10_000);
    int idle = flags.integer("--idle", 0, 1_000_000);
    int idlePerSocket = flags.integer("--idle-per-socket", 1, 10_000);
    List<Integer> rates = new ArrayList<>();
    for (String rate : flags.string("--rates").split(",")) {
      rates.add(Integer.parseInt(rate.trim()));
    }
    MachineInfo.printHeader(out, "live resource streams", flags.describe());
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
    try (Fleet fleet = Fleet.start(new Fleet.Spec(List.of()),
        Map.of("KMC_STREAM_MAX_SUBSCRIPTIONS", String.valueOf(Math.max(64, idlePerSocket))))) {
      WebSocketClient client = vertx.createWebSocketClient(new WebSocketClientOptions()
          .setMaxMessageSize(64 * 1024 * 1024));
      String joinToken = new JsonObject(fleet.api("POST", "/api/v1/clusters", new JsonObject().put("name", CLUSTER)))
          .getString("token");
      StandInAgent agent = StandInAgent.connect(fleet, client, CLUSTER, joinToken);
      // The kind becomes known to the index (and so to subscriptions) with the agent's first relist.
      agent.send(new Frame.Index(1, "", "v1", "configmaps", "ConfigMap", true, "bench:0", true, true,
          List.of(object("seed", "seed", 0, 0)), List.of()));
      if (!(agent.next() instanceof Frame.IndexAck ack) || ack.error() != null) {
        throw new IllegalStateException("the seed batch was refused");
      }
      long[] batchSeq = {1};
      JvmProcess self = new JvmProcess(ProcessHandle.current().pid());
      ProcessCpu everything = new ProcessCpu(fleet.processMarkers());
      if (warmup > 0) {
        measure(fleet, agent, batchSeq, self, everything, rates.get(0), subscribers, warmup, batchMs);
      }
      // What the two idle nodes spend anyway (Hazelcast, presence, timers): subtracted from each run's figures.
      long idleCpuBefore = ProcessCpu.jvmNanos();
      Thread.sleep(IDLE_MILLIS);
      idleCoreShare = (ProcessCpu.jvmNanos() - idleCpuBefore) / 1e6 / IDLE_MILLIS;
      List<Run> runs = new ArrayList<>();
      for (int rate : rates) {
        runs.add(measure(fleet, agent, batchSeq, self, everything, rate, subscribers, seconds, batchMs));
      }
      long idleBefore = 0;
      long idleAfter = 0;
      if (idle > 0) {
        int sockets = (idle + idlePerSocket - 1) / idlePerSocket;
        idleBefore = self.heapUsedBytes(true);
        Process idlers = subscribers("idle", List.of(fleet.nodeA().port()), fleet.adminToken(), sockets, idlePerSocket,
            "idle");
        BufferedReader lines = reader(idlers);
        expect(lines, "READY");
        idleAfter = self.heapUsedBytes(true);
        finish(idlers, "END");
      }
      report(runs, subscribers, batchMs, idle, idlePerSocket, idleBefore, idleAfter);
      client.close();
    } finally {
      vertx.close();
    }
  }

  private Run measure(Fleet fleet, StandInAgent agent, long[] batchSeq, JvmProcess self, ProcessCpu everything,
                      int rate, int subscribers, int seconds, int batchMs) throws Exception {
    String namespace = "run-" + rate + "-" + UUID.randomUUID().toString().substring(0, 6);
    Process child = subscribers("events", List.of(fleet.nodeA().port(), fleet.nodeB().port()), fleet.adminToken(),
        subscribers, 1, namespace);
    BufferedReader lines = reader(child);
    expect(lines, "READY");
    long heapBefore = self.heapUsedBytes(true);
    long allocatedBefore = allocatedBytes();
    long hubCpuBefore = ProcessCpu.jvmNanos();
    long allCpuBefore = everything.getAsLong();

    long started = System.nanoTime();
    long end = started + TimeUnit.SECONDS.toNanos(seconds);
    long made = 0;
    int inFlight = 0;
    long interval = TimeUnit.MILLISECONDS.toNanos(batchMs);
    long nextBatch = started + interval;
    while (true) {
      long now = System.nanoTime();
      if (now < nextBatch) {
        TimeUnit.NANOSECONDS.sleep(nextBatch - now);
        continue;
      }
      nextBatch += interval;
      inFlight -= acks(agent);
      long due = (long) ((Math.min(now, end) - started) / 1e9 * rate);
      // As an agent does: past max_in_flight unacknowledged batches, changes gather for the next one.
      while (made < due && inFlight < MAX_IN_FLIGHT) {
        List<Frame.IndexedObject> upserts = new ArrayList<>();
        while (made < due && upserts.size() < OBJECTS) {
          made++;
          long madeAt = started + (long) ((made - 1) * 1e9 / rate);
          upserts.add(object(namespace, "o-" + (made % OBJECTS), made, madeAt));
        }
        agent.send(new Frame.Index(++batchSeq[0], "", "v1", "configmaps", "ConfigMap", true, "bench:" + made,
            false, false, upserts, List.of()));
        inFlight++;
      }
      if (now >= end && made >= due) {
        break;
      }
    }
    double sentSeconds = (System.nanoTime() - started) / 1e9;
    while (inFlight > 0) {
      if (!(agent.next() instanceof Frame.IndexAck ack) || ack.error() != null) {
        throw new IllegalStateException("a batch was refused");
      }
      inFlight--;
    }
    long lastSent = System.nanoTime();
    Writer stdin = new OutputStreamWriter(child.getOutputStream(), StandardCharsets.UTF_8);
    stdin.write("END " + made + "\n");
    stdin.flush();
    String resultLine = expect(lines, "RESULT ");
    JsonObject result = new JsonObject(resultLine.substring("RESULT ".length()));
    long hubCpu = ProcessCpu.jvmNanos() - hubCpuBefore;
    long allCpu = everything.getAsLong() - allCpuBefore;
    long allocated = allocatedBytes() - allocatedBefore;
    long heapAfter = self.heapUsedBytes(true);
    child.waitFor(60, TimeUnit.SECONDS);
    double drain = Math.max(0, (result.getLong("lastEventNanos") - lastSent) / 1e9);
    double measuredSeconds = (System.nanoTime() - started) / 1e9;
    long storeCpu = allCpu - hubCpu;
    hubCpu -= (long) (idleCoreShare * measuredSeconds * 1e9);
    return new Run(rate, sentSeconds, made, result, hubCpu / 1e9, storeCpu / 1e9, allocated, heapBefore,
        heapAfter, drain, made / sentSeconds);
  }

  private static int acks(StandInAgent agent) {
    int acked = 0;
    Frame frame;
    while ((frame = agent.received().poll()) != null) {
      if (!(frame instanceof Frame.IndexAck ack) || ack.error() != null) {
        throw new IllegalStateException("the hub refused a batch: " + frame);
      }
      acked++;
    }
    return acked;
  }

  private static Frame.IndexedObject object(String namespace, String name, long resourceVersion, long madeAt) {
    return new Frame.IndexedObject(UUID.nameUUIDFromBytes((namespace + "/" + name).getBytes(StandardCharsets.UTF_8))
        .toString(), namespace, name, String.valueOf(resourceVersion), Map.of("t", String.valueOf(madeAt)), null,
        "2026-12-01T10:00:00Z", Map.of());
  }

  /** Bytes allocated by every thread of this JVM so far (threads that ended included). */
  private static long allocatedBytes() {
    return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getTotalThreadAllocatedBytes();
  }

  private static Process subscribers(String mode, List<Integer> ports, String token, int sockets, int perSocket,
                                     String namespace) throws IOException {
    String javaBinary = ProcessHandle.current().info().command()
        .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    List<String> command = List.of(javaBinary, "-Xmx768m", "-Dlogback.configurationFile=kmc-bench-logback.xml",
        "-cp", ownJar(), StreamSubscribers.class.getName(), mode,
        String.join(",", ports.stream().map(String::valueOf).toList()), token, String.valueOf(sockets),
        String.valueOf(perSocket), CLUSTER, namespace);
    return new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
  }

  private static BufferedReader reader(Process process) {
    return new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
  }

  private static String expect(BufferedReader lines, String prefix) throws IOException {
    String line;
    while ((line = lines.readLine()) != null) {
      if (line.startsWith(prefix)) {
        return line;
      }
    }
    throw new IllegalStateException("the subscribers' process ended before " + prefix.trim());
  }

  private static void finish(Process process, String line) throws IOException, InterruptedException {
    Writer stdin = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
    stdin.write(line + "\n");
    stdin.flush();
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
  }

  private static String ownJar() {
    try {
      return Path.of(StreamBench.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    } catch (java.net.URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  private void report(List<Run> runs, int subscribers, int batchMs, int idle, int idlePerSocket, long idleBefore,
                      long idleAfter) {
    out.println("## Live resource streams: one cluster → " + subscribers + " subscribers on two hub nodes");
    out.println();
    Table table = new Table("changes/s asked", "made/s", "events delivered", "lost", "dup", "failures",
        "p50", "p99", "max", "drain after last ack", "hub CPU ms / 1k changes", "PG+Redis CPU ms / 1k changes",
        "hub alloc MB / 1k changes", "hub heap after GC, before → after", "subscribers' JVM CPU ms / 1k changes");
    for (Run run : runs) {
      JsonObject r = run.result();
      double perK = run.changes() / 1000.0;
      table.row(String.format("%,d", run.rate()), String.format("%,.0f", run.sentRate()),
          String.format("%,d of %,d", r.getLong("received"), run.changes() * subscribers),
          String.valueOf(r.getLong("lost")), String.valueOf(r.getLong("duplicates")),
          r.getJsonArray("failures").isEmpty() ? "0" : r.getJsonArray("failures").encode(),
          ms(r.getLong("p50")), ms(r.getLong("p99")), ms(r.getLong("max")),
          String.format("%.1f s", run.drainSeconds()),
          String.format("%.0f", run.hubCpuSeconds() * 1000 / perK),
          String.format("%.0f", run.storeCpuSeconds() * 1000 / perK),
          String.format("%.1f", run.allocatedBytes() / 1e6 / perK),
          String.format("%.0f → %.0f MB", run.heapBefore() / 1e6, run.heapAfter() / 1e6),
          String.format("%.0f", r.getLong("cpuNanos") / 1e6 / perK));
    }
    out.println(table.render());
    out.println();
    for (Run run : runs) {
      out.printf("%,d changes/s: %,d changes in %.1f s; hub JVM CPU %.1f s above idle (%.0f%% of one core), PostgreSQL + "
              + "Redis %.1f s%n", run.rate(), run.changes(), run.seconds(), run.hubCpuSeconds(),
          run.hubCpuSeconds() / run.seconds() * 100, run.storeCpuSeconds());
    }
    out.printf("hub JVM CPU is net of what the idle nodes use (%.0f%% of one core, measured before the runs); "
        + "allocation includes the stand-in agent's frames%n", idleCoreShare * 100);
    out.printf("batches every %d ms, at most %d unacknowledged; latency = change made (before batching) → event "
        + "parsed by its subscriber%n", batchMs, MAX_IN_FLIGHT);
    if (idle > 0) {
      out.println();
      out.println(new Table("idle subscriptions on node A", "sockets", "heap after GC before → after",
          "heap per subscription")
          .row(String.format("%,d", idle), String.format("%,d × %d", (idle + idlePerSocket - 1) / idlePerSocket,
                  idlePerSocket), String.format("%.0f → %.0f MB", idleBefore / 1e6, idleAfter / 1e6),
              String.format("%,d bytes", (idleAfter - idleBefore) / idle))
          .render());
    }
  }

  private static String ms(long micros) {
    return String.format("%.0f ms", micros / 1000.0);
  }
}
