package io.kmc.bench.scale;

import io.kmc.bench.load.JvmProcess;
import io.kmc.bench.report.Flags;
import io.kmc.bench.report.MachineInfo;
import io.kmc.bench.report.Table;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import org.HdrHistogram.Histogram;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * {@code fleet-sim}: one hub node in a process of its own with a fixed heap, and {@code --agents}
 * light agents ({@link SimAgents}) in this JVM over TLS websockets. Measures the hub with
 * {@code --baseline} agents, then with all of them: live heap after a full GC, idle CPU, threads,
 * {@code /metrics} (and what it holds by metric name), the cluster list, and the latency of a routed GET
 * (alone, and beside repeated unpaged lists and scrapes); then, optionally, a storm
 * (every agent's socket dropped at once) and a window of flapping and index deltas.
 */
public final class FleetSimBench {

  public static final String USAGE = """
      fleet-sim [--agents N] [--baseline N] [--hub-heap-mb N] [--connect-rate N] [--idle-seconds N]
                [--requests N] [--storm true|false] [--deltas-per-second N] [--flaps-per-second N]
                [--busy-seconds N] [--hub-jar PATH] [--hub-env K=V,...] [--sim-event-loops N] [--max-dialing N]
                [--sim-tls openssl|jdk] [--stall-ms N]
        --agents N             simulated agents, each its own cluster and TLS websocket (default 2000)
        --baseline N           agents of the first measurement, the comparison (default 10)
        --hub-heap-mb N        the hub process's -Xms/-Xmx (default 512)
        --connect-rate N       new agents dialled per second (default 500)
        --idle-seconds N       the idle CPU window (default 30)
        --requests N           routed GETs timed at each fleet size, after 8 untimed ones (default 400)
        --storm B              drop every agent's socket at once and time the reconnect (default true)
        --deltas-per-second N  index batches per second across the fleet in the busy window (default 0)
        --flaps-per-second N   agents disconnected and redialled per second in the busy window (default 0)
        --busy-seconds N       the busy window, when deltas or flaps are asked for (default 30)
        --hub-jar PATH         the jar to run the hub from (default: this one), e.g. an older build
        --hub-env K=V,...      environment settings for the hub (KMC_...), e.g. KMC_METRICS_PER_CLUSTER_DETAIL=true
        --sim-event-loops N    the simulator's event loops, agents spread over them (default: its cores)
        --max-dialing N        dials (TCP + TLS + upgrade) in flight at once; the rest wait (default 64)
        --sim-tls E            the simulator's TLS: openssl (BoringSSL, where it loads) or jdk (default openssl);
                               the hub's own is its setting server.tls.engine (--hub-env KMC_SERVER_TLS_ENGINE=jdk)
        --stall-ms N           a routed GET waiting this long has both processes' threads dumped, up to 3 times
                               per measurement, into a directory printed at the end (default 2000)
      The simulator needs one file descriptor per agent, and so does the hub: ulimit -n 20000 (or more).""";

  public static final Map<String, String> DEFAULTS = Map.ofEntries(Map.entry("--agents", "2000"),
      Map.entry("--baseline", "10"), Map.entry("--hub-heap-mb", "512"), Map.entry("--connect-rate", "500"),
      Map.entry("--idle-seconds", "30"), Map.entry("--requests", "400"), Map.entry("--storm", "true"),
      Map.entry("--deltas-per-second", "0"), Map.entry("--flaps-per-second", "0"), Map.entry("--busy-seconds", "30"),
      Map.entry("--hub-jar", ""), Map.entry("--hub-env", ""),
      Map.entry("--sim-event-loops", String.valueOf(Runtime.getRuntime().availableProcessors())),
      Map.entry("--max-dialing", "64"), Map.entry("--sim-tls", "openssl"), Map.entry("--stall-ms", "2000"));

  private static final String ROUTED_PATH = "/api/v1/namespaces/default/configmaps/bench";

  private final Flags flags;
  private final PrintStream out;
  /** Where thread dumps of stalled routed GETs go (kept after the run). */
  private Path dumps;
  private int stallMillis;

  public FleetSimBench(Flags flags, PrintStream out) {
    this.flags = flags;
    this.out = out;
  }

  /** What one fleet size cost the hub. */
  record Sample(int agents, long heapBytes, double idleCpuPercent, int threads, long rssKib, int metricsBytes,
                long metricsMillis, int listBytes, long listMillis, Histogram routed, Histogram routedDuringLists,
                int lists, Histogram routedDuringScrapes, int scrapes, Map<String, Long> classes,
                Map<String, Long> threadCpu, double windowSeconds, double idleSystemPercent) {
  }

  public void run() throws Exception {
    int agents = flags.integer("--agents", 1, 100_000);
    int baseline = flags.integer("--baseline", 1, agents);
    int heapMb = flags.integer("--hub-heap-mb", 64, 65_536);
    int connectRate = flags.integer("--connect-rate", 1, 100_000);
    int idleSeconds = flags.integer("--idle-seconds", 1, 3_600);
    int requests = flags.integer("--requests", 1, 1_000_000);
    boolean storm = flags.bool("--storm");
    int deltas = flags.integer("--deltas-per-second", 0, 100_000);
    int flaps = flags.integer("--flaps-per-second", 0, 10_000);
    int busySeconds = flags.integer("--busy-seconds", 1, 3_600);
    int simLoops = flags.integer("--sim-event-loops", 1, 256);
    int maxDialing = flags.integer("--max-dialing", 1, 100_000);
    String simTls = flags.string("--sim-tls");
    stallMillis = flags.integer("--stall-ms", 1, 600_000);
    if (!simTls.equals("openssl") && !simTls.equals("jdk")) {
      throw new IllegalArgumentException("--sim-tls is openssl or jdk, got '" + simTls + "'");
    }
    String jar = flags.string("--hub-jar").isEmpty() ? ownJar() : flags.string("--hub-jar");
    Map<String, String> env = settings(flags.string("--hub-env"));
    MachineInfo.printHeader(out, "fleet-sim", flags.describe());
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(simLoops));
    long started = System.nanoTime();
    try (HubProcess hub = HubProcess.start(vertx, jar, heapMb, agents, env);
         SimAgents fleet = new SimAgents(vertx, hub.agentUrl(), hub.joinToken(), deltas > 0, simLoops,
             maxDialing, simTls.equals("openssl"))) {
      out.printf("hub process %d started in %.1f s (%s), %d clusters registered%n%n", hub.jvm().pid(),
          (System.nanoTime() - started) / 1e9, Path.of(jar).getFileName(), agents);
      connect(fleet, 0, baseline, connectRate);
      Sample small = measure(vertx, hub, fleet, baseline, idleSeconds, requests);
      long connectStart = System.nanoTime();
      long hubCpuBefore = hub.jvm().cpuNanos();
      long simCpuBefore = JvmProcess.self().cpuNanos();
      connect(fleet, baseline, agents, connectRate);
      double connectSeconds = (System.nanoTime() - connectStart) / 1e9;
      double hubCpuSeconds = (hub.jvm().cpuNanos() - hubCpuBefore) / 1e9;
      double simCpuSeconds = (JvmProcess.self().cpuNanos() - simCpuBefore) / 1e9;
      Sample large = measure(vertx, hub, fleet, agents, idleSeconds, requests);

      Table table = new Table("agents", "live heap MiB", "idle CPU % of a core", "threads", "RSS MiB",
          "/metrics KiB", "/metrics ms", "cluster list KiB", "list ms", "routed GET p50 ms", "p99 ms");
      for (Sample s : List.of(small, large)) {
        table.row(String.valueOf(s.agents()), mib(s.heapBytes()), String.format("%.1f", s.idleCpuPercent()),
            String.valueOf(s.threads()), String.format("%.0f", s.rssKib() / 1024.0),
            String.format("%.0f", s.metricsBytes() / 1024.0), String.valueOf(s.metricsMillis()),
            String.format("%.0f", s.listBytes() / 1024.0), String.valueOf(s.listMillis()), ms(s.routed(), 50),
            ms(s.routed(), 99));
      }
      out.println(table.render());
      Table busy = new Table("agents", "routed GET p50 / p99 ms, alone", "while unpaged cluster lists are fetched",
          "lists", "while /metrics is scraped", "scrapes");
      for (Sample s : List.of(small, large)) {
        busy.row(String.valueOf(s.agents()), ms(s.routed(), 50) + " / " + ms(s.routed(), 99),
            ms(s.routedDuringLists(), 50) + " / " + ms(s.routedDuringLists(), 99), String.valueOf(s.lists()),
            ms(s.routedDuringScrapes(), 50) + " / " + ms(s.routedDuringScrapes(), 99), String.valueOf(s.scrapes()));
      }
      out.println(busy.render());
      out.printf("hub sockets: %s; idle CPU in the kernel (system calls): %.1f %% of a core at %d agents, %.1f %% at %d%n",
          hub.jvm().nativeEpoll() ? "epoll (native transport)" : "Java NIO", small.idleSystemPercent(), small.agents(),
          large.idleSystemPercent(), large.agents());
      long perAgent = (large.heapBytes() - small.heapBytes()) / Math.max(1, agents - baseline);
      out.printf("hub heap per idle agent: %.1f KiB ((live heap at %d − at %d) / %d)%n", perAgent / 1024.0,
          agents, baseline, agents - baseline);
      printPerAgent(small, large);
      out.printf("connect %d agents over TLS at up to %d/s: %.1f s (%.0f/s); dials %d, refused %d (Retry-After "
              + "honoured %d), errors %d (last: %s)%n%n", agents - baseline, connectRate, connectSeconds,
          (agents - baseline) / connectSeconds, fleet.dials.get(), fleet.refusals.get(),
          fleet.retryAfterHonoured.get(), fleet.errors.get(), fleet.lastError);
      // Which side limits connecting: CPU each spent per agent connected (TLS handshake, upgrade, hello).
      out.printf("CPU while connecting: hub %.1f s (%.1f ms per agent, %.0f %% of a core), simulator %.1f s "
              + "(%.1f ms per agent, %.0f %% of a core); simulator event loops %d, dials in flight at most %d%n%n",
          hubCpuSeconds, 1000 * hubCpuSeconds / Math.max(1, agents - baseline), 100 * hubCpuSeconds / connectSeconds,
          simCpuSeconds, 1000 * simCpuSeconds / Math.max(1, agents - baseline), 100 * simCpuSeconds / connectSeconds,
          simLoops, maxDialing);
      out.printf("TLS: hub %s; simulator %s%n%n", hub.jvm().openSsl() ? "OpenSSL" : "JDK", simTls.equals("openssl")
          && io.vertx.core.net.OpenSSLEngineOptions.isAvailable() ? "OpenSSL" : "JDK");

      if (deltas > 0 || flaps > 0) {
        busy(vertx, hub, fleet, deltas, flaps, busySeconds, requests);
      }
      if (storm) {
        storm(vertx, hub, fleet, agents, requests);
      }
      if (dumps != null) {
        out.printf("thread dumps of stalled routed GETs: %s%n", dumps);
      }
    } finally {
      vertx.close().await(30, TimeUnit.SECONDS);
    }
  }

  /** Dials agents {@code from}…{@code to}-1 at the given rate, and waits until all are welcomed. */
  private void connect(SimAgents fleet, int from, int to, int perSecond) {
    List<Future<Void>> welcomed = new ArrayList<>();
    long start = System.nanoTime();
    for (int i = from; i < to; i++) {
      long due = start + (long) ((i - from) * (1e9 / perSecond));
      long wait = due - System.nanoTime();
      if (wait > 0) {
        sleepNanos(wait);
      }
      welcomed.add(fleet.add(HubProcess.cluster(i)));
    }
    try {
      Future.all(welcomed).await(10, TimeUnit.MINUTES);
    } catch (Exception e) {
      throw new IllegalStateException("not all agents were welcomed within 10 minutes: " + fleet.connected()
          + " connected", e);
    }
  }

  private Sample measure(Vertx vertx, HubProcess hub, SimAgents fleet, int agents, int idleSeconds, int requests)
      throws Exception {
    JvmProcess jvm = hub.jvm();
    Thread.sleep(5_000); // the connect burst's garbage and timers settle
    long heap = jvm.heapUsedBytes(true);
    Map<String, Long> classes = jvm.classHistogram();
    Map<String, Long> threadsBefore = jvm.cpuNanosByThread();
    long cpuBefore = jvm.cpuNanos();
    long systemBefore = jvm.systemCpuNanos();
    long wallBefore = System.nanoTime();
    Thread.sleep(idleSeconds * 1000L);
    double window = (System.nanoTime() - wallBefore) / 1e9;
    double idle = 100.0 * (jvm.cpuNanos() - cpuBefore) / (window * 1e9);
    double idleSystem = 100.0 * (jvm.systemCpuNanos() - systemBefore) / (window * 1e9);
    Map<String, Long> threadCpu = new LinkedHashMap<>();
    jvm.cpuNanosByThread().forEach((name, nanos) -> threadCpu.put(name, nanos - threadsBefore.getOrDefault(name, 0L)));
    mark("/metrics scrape starts (" + agents + " agents)");
    long metricsStart = System.nanoTime();
    Buffer metrics = hub.metrics(vertx).await(120, TimeUnit.SECONDS);
    long metricsMillis = (System.nanoTime() - metricsStart) / 1_000_000;
    mark("/metrics scrape done: " + metrics.length() + " bytes in " + metricsMillis + " ms");
    printMetricSizes(metrics.toString());
    long listStart = System.nanoTime();
    Buffer list = hub.get("/api/v1/clusters").await(120, TimeUnit.SECONDS);
    long listMillis = (System.nanoTime() - listStart) / 1_000_000;
    mark("unpaged cluster list done: " + list.length() + " bytes in " + listMillis + " ms");
    Histogram routed = routed(hub, agents, requests, agents + " agents");
    // What a dashboard polling the whole list, or Prometheus scraping, does to the tunnel traffic meanwhile.
    AtomicInteger lists = new AtomicInteger();
    Histogram duringLists = routedWhile(hub, agents, requests, agents + " agents, lists fetched meanwhile",
        () -> hub.get("/api/v1/clusters"), lists);
    AtomicInteger scrapes = new AtomicInteger();
    Histogram duringScrapes = routedWhile(hub, agents, requests, agents + " agents, /metrics scraped meanwhile",
        () -> hub.metrics(vertx), scrapes);
    return new Sample(agents, heap, idle, jvm.threads(), jvm.rssKib(), metrics.length(), metricsMillis,
        list.length(), listMillis, routed, duringLists, lists.get(), duringScrapes, scrapes.get(), classes, threadCpu,
        window, idleSystem);
  }

  /** Routed GETs timed while {@code call} runs again and again beside them, each call counted in {@code calls}. */
  private Histogram routedWhile(HubProcess hub, int agents, int requests, String label,
                                Supplier<Future<Buffer>> call,
                                AtomicInteger calls) throws Exception {
    AtomicBoolean done = new AtomicBoolean();
    Thread caller = new Thread(() -> {
      while (!done.get()) {
        try {
          call.get().await(120, TimeUnit.SECONDS);
          calls.incrementAndGet();
        } catch (Exception e) {
          out.println("call beside the routed GETs failed: " + e.getMessage());
          return;
        }
      }
    });
    caller.start();
    try {
      return routed(hub, agents, requests, label);
    } finally {
      done.set(true);
      caller.join();
    }
  }

  /** One routed GET: when it started (wall clock), how long it took, and to which cluster. */
  private record Timed(LocalTime started, long millis, String cluster) {
  }

  /**
   * GETs of one object routed through the hub to a random connected agent, 4 at a time. The slowest
   * are printed with the wall-clock time they started (to line them up with the hub's GC log), and a
   * GET waiting longer than {@code --stall-ms} has both processes' threads dumped while it waits.
   */
  private Histogram routed(HubProcess hub, int agents, int requests, String label) throws Exception {
    Histogram histogram = new Histogram(3);
    int concurrency = 4;
    List<Thread> workers = new ArrayList<>();
    List<Timed> timed = Collections.synchronizedList(new ArrayList<>());
    Map<Thread, Long> waiting = new ConcurrentHashMap<>();
    AtomicInteger left = new AtomicInteger(requests);
    AtomicReference<Exception> failure = new AtomicReference<>();
    // The client's first GETs open its TLS connections to the API port (and, at first, meet a cold JIT):
    // untimed, so that the percentiles are the routing's and not the set-up of a few connections.
    List<Future<Buffer>> warmUp = new ArrayList<>();
    for (int i = 0; i < 2 * concurrency; i++) {
      warmUp.add(hub.get("/k8s/clusters/" + HubProcess.cluster(i % agents) + ROUTED_PATH));
    }
    Future.all(warmUp).await(60, TimeUnit.SECONDS);
    mark("routed GETs start (" + label + ")");
    for (int w = 0; w < concurrency; w++) {
      Thread worker = new Thread(() -> {
        while (left.decrementAndGet() >= 0) {
          String cluster = HubProcess.cluster(ThreadLocalRandom.current().nextInt(agents));
          LocalTime wall = LocalTime.now();
          long start = System.nanoTime();
          waiting.put(Thread.currentThread(), start);
          try {
            hub.get("/k8s/clusters/" + cluster + ROUTED_PATH).await(60, TimeUnit.SECONDS);
            long micros = (System.nanoTime() - start) / 1000;
            synchronized (histogram) {
              histogram.recordValue(micros);
            }
            timed.add(new Timed(wall, micros / 1000, cluster));
          } catch (Exception e) {
            failure.compareAndSet(null, e);
          } finally {
            waiting.remove(Thread.currentThread());
          }
        }
      });
      worker.start();
      workers.add(worker);
    }
    Thread watchdog = new Thread(() -> watchStalls(hub, waiting, label));
    watchdog.setDaemon(true);
    watchdog.start();
    for (Thread worker : workers) {
      worker.join();
    }
    watchdog.interrupt();
    mark("routed GETs done (" + label + ")");
    out.println("slowest routed GETs (" + label + "): " + timed.stream()
        .sorted((a, b) -> Long.compare(b.millis(), a.millis())).limit(8)
        .map(t -> t.started() + " " + t.millis() + " ms " + t.cluster()).toList());
    if (failure.get() != null && histogram.getTotalCount() < requests / 2) {
      throw new IllegalStateException("routed GETs failed: " + failure.get().getMessage(), failure.get());
    }
    return histogram;
  }

  /** Dumps the hub's and this process's threads while a routed GET has waited over --stall-ms (3 times at most). */
  private void watchStalls(HubProcess hub, Map<Thread, Long> waiting, String label) {
    int dumped = 0;
    try {
      while (dumped < 3) {
        Thread.sleep(100);
        long oldest = waiting.values().stream().mapToLong(Long::longValue).min().orElse(Long.MAX_VALUE);
        if (oldest != Long.MAX_VALUE && System.nanoTime() - oldest > stallMillis * 1_000_000L) {
          if (dumps == null) {
            dumps = Files.createTempDirectory("kmc-fleet-sim-stalls");
          }
          String name = label.replace(' ', '-') + "-" + LocalTime.now().toString().replace(':', '-');
          Files.writeString(dumps.resolve(name + "-hub.txt"), hub.jvm().threadDump());
          StringBuilder own = new StringBuilder();
          Thread.getAllStackTraces().forEach((thread, stack) -> {
            own.append('"').append(thread.getName()).append("\" ").append(thread.getState()).append('\n');
            for (StackTraceElement frame : stack) {
              own.append("\tat ").append(frame).append('\n');
            }
            own.append('\n');
          });
          Files.writeString(dumps.resolve(name + "-simulator.txt"), own);
          mark("a routed GET waited over " + stallMillis + " ms: threads dumped (" + name + ")");
          dumped++;
          // One dump per stall: wait for the stalled GETs to finish before looking again.
          while (waiting.values().stream().anyMatch(started -> started <= oldest)) {
            Thread.sleep(50);
          }
        }
      }
    } catch (InterruptedException e) {
      // the GETs are done
    } catch (Exception e) {
      out.println("cannot dump threads: " + e.getMessage());
    }
  }

  /** A moment of the run, by wall clock, to line up with the hub's GC log ({@code -Xlog:gc*:file=...:time}). */
  private void mark(String what) {
    out.printf("%s %s%n", LocalTime.now(), what);
  }

  /** What one scrape holds, by metric name: bytes, series, and how many series carry a cluster label. */
  private void printMetricSizes(String text) {
    Map<String, long[]> byName = new HashMap<>();
    for (String line : text.split("\n")) {
      String name;
      if (line.startsWith("# ")) {
        String[] words = line.split(" ", 4);
        name = words.length > 2 ? words[2] : line;
      } else {
        int end = line.indexOf('{');
        name = end < 0 ? line.substring(0, Math.max(0, line.indexOf(' '))) : line.substring(0, end);
      }
      long[] sizes = byName.computeIfAbsent(name.replaceAll("_(bucket|count|sum|max|total|created)$", ""),
          n -> new long[3]);
      sizes[0] += line.length() + 1;
      if (!line.startsWith("#")) {
        sizes[1]++;
        if (line.contains("cluster=\"")) {
          sizes[2]++;
        }
      }
    }
    Table table = new Table("metric (largest in one /metrics scrape)", "KiB", "series", "with a cluster label");
    byName.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue()[0], a.getValue()[0])).limit(10)
        .forEach(e -> table.row(e.getKey(), String.format("%.1f", e.getValue()[0] / 1024.0),
            String.valueOf(e.getValue()[1]), String.valueOf(e.getValue()[2])));
    out.println(table.render());
  }

  private void busy(Vertx vertx, HubProcess hub, SimAgents fleet, int deltas, int flaps, int seconds, int requests)
      throws Exception {
    JvmProcess jvm = hub.jvm();
    long deltaTimer = deltas == 0 ? -1 : vertx.setPeriodic(100, t -> {
      for (int i = 0; i < Math.max(1, deltas / 10); i++) {
        fleet.indexDelta();
      }
    });
    long flapTimer = flaps == 0 ? -1 : vertx.setPeriodic(1000, t -> {
      for (int i = 0; i < flaps; i++) {
        fleet.flapOne(ThreadLocalRandom.current().nextLong(100, 2_000));
      }
    });
    long cpuBefore = jvm.cpuNanos();
    long wallBefore = System.nanoTime();
    long batchesBefore = fleet.indexBatches.get();
    Thread.sleep(seconds * 1000L);
    double cpu = 100.0 * (jvm.cpuNanos() - cpuBefore) / (System.nanoTime() - wallBefore);
    long batches = fleet.indexBatches.get() - batchesBefore;
    Histogram routed = routed(hub, fleet.size(), requests, "busy window");
    vertx.cancelTimer(deltaTimer);
    vertx.cancelTimer(flapTimer);
    out.printf("busy window (%d s): %d index batches/s asked (%d sent; %d acknowledged, %d refused so far), %d flaps/s:"
            + " hub CPU %.1f %% of a core, routed GET p50 %s ms, p99 %s ms (%d of %d answered)%n%n", seconds, deltas,
        batches, fleet.indexAcked.get(), fleet.indexRefused.get(), flaps, cpu, ms(routed, 50), ms(routed, 99),
        routed.getTotalCount(), requests);
    Thread.sleep(3_000);
  }

  /** Every agent's socket dropped at once (as if a load balancer died); time until all are back. */
  private void storm(Vertx vertx, HubProcess hub, SimAgents fleet, int agents, int requests) throws Exception {
    long welcomedBefore = fleet.welcomed.get();
    long refusedBefore = fleet.refusals.get();
    JvmProcess jvm = hub.jvm();
    long cpuBefore = jvm.cpuNanos();
    long start = System.nanoTime();
    fleet.drop(1.0);
    long deadline = start + TimeUnit.MINUTES.toNanos(5);
    Histogram during = new Histogram(3);
    while (fleet.welcomed.get() - welcomedBefore < agents && System.nanoTime() < deadline) {
      Thread.sleep(200);
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    double cpu = 100.0 * (jvm.cpuNanos() - cpuBefore) / (System.nanoTime() - start);
    long back = fleet.welcomed.get() - welcomedBefore;
    Thread.sleep(3_000);
    Histogram after = routed(hub, agents, requests, "after the storm");
    out.printf("reconnect storm: all %d sockets dropped at once; %d of %d back in %.1f s (%.0f/s), hub CPU %.0f %% "
            + "of a core meanwhile; refused with Retry-After %d times; connected now %d; routed GET after: p99 %s ms%n%n",
        agents, back, agents, seconds, back / seconds, cpu, fleet.refusals.get() - refusedBefore, fleet.connected(),
        ms(after, 99));
  }

  /**
   * Where the heap per agent goes (the classes that grew most between the two fleet sizes) and where
   * the idle CPU went (by thread), so that a change can aim at what the measurement shows.
   */
  private void printPerAgent(Sample small, Sample large) {
    int added = Math.max(1, large.agents() - small.agents());
    Table classes = new Table("class (live heap grown most per added agent)", "bytes per agent");
    large.classes().entrySet().stream()
        .map(e -> Map.entry(e.getKey(), e.getValue() - small.classes().getOrDefault(e.getKey(), 0L)))
        .sorted((a, b) -> Long.compare(b.getValue(), a.getValue())).limit(15)
        .forEach(e -> classes.row(e.getKey(), String.valueOf(e.getValue() / added)));
    out.println(classes.render());
    Table threads = new Table("hub thread (idle window, " + large.agents() + " agents)", "% of a core");
    large.threadCpu().entrySet().stream().filter(e -> e.getValue() > 0)
        .sorted((a, b) -> Long.compare(b.getValue(), a.getValue())).limit(8)
        .forEach(e -> threads.row(e.getKey(), String.format("%.1f", 100.0 * e.getValue() / 1e9 / large.windowSeconds())));
    out.println(threads.render());
  }

  /** {@code --hub-env}: K=V pairs separated by commas. */
  static Map<String, String> settings(String pairs) {
    Map<String, String> env = new LinkedHashMap<>();
    for (String pair : pairs.split(",")) {
      if (!pair.isBlank()) {
        int eq = pair.indexOf('=');
        if (eq < 1) {
          throw new IllegalArgumentException("--hub-env takes K=V pairs separated by commas, got '" + pair + "'");
        }
        env.put(pair.substring(0, eq).trim(), pair.substring(eq + 1).trim());
      }
    }
    return env;
  }

  private static String mib(long bytes) {
    return String.format("%.1f", bytes / 1024.0 / 1024.0);
  }

  static String ms(Histogram histogram, double percentile) {
    return histogram.getTotalCount() == 0 ? "-"
        : String.format("%.2f", histogram.getValueAtPercentile(percentile) / 1000.0);
  }

  private static void sleepNanos(long nanos) {
    try {
      TimeUnit.NANOSECONDS.sleep(nanos);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  static String ownJar() {
    try {
      return Path.of(FleetSimBench.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    } catch (java.net.URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }
}
