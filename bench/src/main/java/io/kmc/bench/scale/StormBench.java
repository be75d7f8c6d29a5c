package io.kmc.bench.scale;

import io.kmc.bench.load.JvmProcess;
import io.kmc.bench.report.Flags;
import io.kmc.bench.report.MachineInfo;
import io.kmc.bench.report.Table;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.HdrHistogram.Histogram;
import redis.embedded.RedisServer;

import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code storm}: two hub nodes, each a process of its own, clustered with Hazelcast and sharing one
 * PostgreSQL and one Redis (both started here from the Maven artifacts the tests use), with
 * {@code --agents} light agents over TLS spread over both; then node B is killed (SIGKILL) and every
 * agent it held redials node A. Reports how long until all are on A, how many are stuck, how many
 * dials A told to come back later (503 + Retry-After, {@code tunnel.admission_rate}), and the latency
 * of routed GETs through A while it happens.
 */
public final class StormBench {

  public static final String USAGE = """
      storm [--agents N] [--hub-heap-mb N] [--max-dialing N] [--sim-event-loops N] [--deadline-seconds N]
            [--hub-env K=V,...]
        --agents N            simulated agents, spread evenly over the two nodes (default 5000)
        --hub-heap-mb N       each node's -Xms/-Xmx (default 512)
        --max-dialing N       the simulator's dials in flight at once (default 64)
        --sim-event-loops N   the simulator's event loops (default: its cores)
        --deadline-seconds N  how long to wait for all to be back on the survivor (default 300)
        --hub-env K=V,...     environment settings for both nodes (KMC_...)
      The simulator needs one file descriptor per agent, and so does each node: ulimit -n 20000 (or more).""";

  public static final Map<String, String> DEFAULTS = Map.of("--agents", "5000", "--hub-heap-mb", "512",
      "--max-dialing", "64", "--sim-event-loops", String.valueOf(Runtime.getRuntime().availableProcessors()),
      "--deadline-seconds", "300", "--hub-env", "");

  private static final String ROUTED_PATH = "/api/v1/namespaces/default/configmaps/bench";

  private final Flags flags;
  private final PrintStream out;

  public StormBench(Flags flags, PrintStream out) {
    this.flags = flags;
    this.out = out;
  }

  public void run() throws Exception {
    int agents = flags.integer("--agents", 2, 100_000);
    int heapMb = flags.integer("--hub-heap-mb", 64, 65_536);
    int maxDialing = flags.integer("--max-dialing", 1, 100_000);
    int loops = flags.integer("--sim-event-loops", 1, 256);
    int deadlineSeconds = flags.integer("--deadline-seconds", 10, 3_600);
    Map<String, String> env = FleetSimBench.settings(flags.string("--hub-env"));
    MachineInfo.printHeader(out, "storm", flags.describe());
    Path work = Files.createTempDirectory("kmc-storm");
    List<AutoCloseable> toClose = new ArrayList<>();
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(loops));
    try {
      long started = System.nanoTime();
      EmbeddedPostgres postgres = EmbeddedPostgres.builder().setDataDirectory(work.resolve("postgres"))
          .setCleanDataDirectory(true).start();
      toClose.add(postgres);
      int[] ports = freePorts(3);
      RedisServer redis = new RedisServer(ports[0]);
      redis.start();
      toClose.add(0, redis::stop);
      String hazelcast = "kmc-storm-" + UUID.randomUUID();
      String join = "kmc-storm-join-" + UUID.randomUUID();
      String admin = "kmc-storm-admin-" + UUID.randomUUID();
      List<HubProcess> nodes = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        String shared = """
            cluster:
              enabled: true
              name: %s
              host: 127.0.0.1
              port: %d
              members: ["127.0.0.1:%d", "127.0.0.1:%d"]
            database:
              host: 127.0.0.1
              port: %d
              name: postgres
              user: postgres
            redis:
              url: redis://127.0.0.1:%d
            """.formatted(hazelcast, ports[1 + i], ports[1], ports[2], postgres.getPort(), ports[0]);
        HubProcess node = HubProcess.startNode(vertx, FleetSimBench.ownJar(), heapMb, agents, env, join, admin, shared);
        nodes.add(node);
        toClose.add(0, node);
      }
      HubProcess a = nodes.get(0);
      HubProcess b = nodes.get(1);
      out.printf("PostgreSQL %d, Redis %d, node A pid %d, node B pid %d: started in %.1f s, %d clusters registered%n%n",
          postgres.getPort(), ports[0], a.jvm().pid(), b.jvm().pid(), (System.nanoTime() - started) / 1e9, agents);

      SimAgents fleet = new SimAgents(vertx, List.of(a.agentUrl(), b.agentUrl()), a.joinToken(), false, loops,
          maxDialing, true);
      toClose.add(0, fleet);
      long connectStart = System.nanoTime();
      List<Future<Void>> welcomed = new ArrayList<>();
      for (int i = 0; i < agents; i++) {
        welcomed.add(fleet.add(HubProcess.cluster(i)));
      }
      Future.all(welcomed).await(15, TimeUnit.MINUTES);
      double connectSeconds = (System.nanoTime() - connectStart) / 1e9;
      long onA = fleet.connectedTo(0);
      long onB = fleet.connectedTo(1);
      out.printf("connected %d agents over TLS in %.1f s (%.0f/s): %d on node A, %d on node B; dials %d, told to come "
              + "back later %d, errors %d%n%n", agents, connectSeconds, agents / connectSeconds, onA, onB,
          fleet.dials.get(), fleet.refusals.get(), fleet.errors.get());
      Thread.sleep(5_000);

      Histogram before = new Histogram(3);
      Map<String, Long> failedBefore = new java.util.concurrent.ConcurrentHashMap<>();
      routed(a, agents, 200, before, failedBefore, null);

      long refusedBefore = fleet.refusals.get();
      long errorsBefore = fleet.errors.get();
      long dialsBefore = fleet.dials.get();
      long cpuBefore = a.jvm().cpuNanos();
      Histogram during = new Histogram(3);
      Map<String, Long> failedDuring = new java.util.concurrent.ConcurrentHashMap<>();
      AtomicBoolean storming = new AtomicBoolean(true);
      Thread load = new Thread(() -> {
        try {
          routed(a, agents, Integer.MAX_VALUE, during, failedDuring, storming);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
      long killed = System.nanoTime();
      b.kill();
      load.start();
      long deadline = killed + TimeUnit.SECONDS.toNanos(deadlineSeconds);
      long halfBack = -1;
      while (fleet.connectedTo(0) < agents && System.nanoTime() < deadline) {
        if (halfBack < 0 && fleet.connectedTo(0) - onA >= onB / 2) {
          halfBack = System.nanoTime();
        }
        Thread.sleep(100);
      }
      double seconds = (System.nanoTime() - killed) / 1e9;
      double cpu = 100.0 * (a.jvm().cpuNanos() - cpuBefore) / (System.nanoTime() - killed);
      storming.set(false);
      load.join();
      long back = fleet.connectedTo(0);

      Table table = new Table("", "value");
      table.row("agents on B when it was killed", String.valueOf(onB));
      table.row("all " + agents + " on A after the kill (s)", back == agents ? String.format("%.1f", seconds)
          : "not within " + deadlineSeconds + " s");
      table.row("half of B's back on A after (s)", halfBack < 0 ? "-" : String.format("%.1f", (halfBack - killed) / 1e9));
      table.row("agents stuck (not back)", String.valueOf(agents - back));
      table.row("dials during the storm", String.valueOf(fleet.dials.get() - dialsBefore));
      table.row("dials told to back off (503 + Retry-After)", String.valueOf(fleet.refusals.get() - refusedBefore));
      table.row("dials failed otherwise (B gone, TLS)", String.valueOf(fleet.errors.get() - errorsBefore));
      table.row("A's CPU during the storm (% of a core)", String.format("%.0f", cpu));
      table.row("routed GET via A before: p50 / p99 ms", FleetSimBench.ms(before, 50) + " / " + FleetSimBench.ms(before, 99));
      table.row("routed GET via A during: p50 / p99 ms", FleetSimBench.ms(during, 50) + " / " + FleetSimBench.ms(during, 99));
      table.row("routed GETs during: answered / failed", during.getTotalCount() + " / "
          + failedDuring.values().stream().mapToLong(Long::longValue).sum() + " " + failedDuring);
      out.println(table.render());
      out.println("(a GET during the storm to a cluster whose agent has not redialled yet waits in A's queue for it, "
          + "up to its deadline, and is timed with the rest; one that fails (503/504) is counted as failed)");
    } finally {
      for (AutoCloseable c : toClose) {
        try {
          c.close();
        } catch (Exception e) {
          System.err.println("closing: " + e.getMessage());
        }
      }
      vertx.close().await(30, TimeUnit.SECONDS);
      try (var paths = Files.walk(work)) {
        paths.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
      }
    }
  }

  /** GETs routed through {@code node} to random clusters, 4 at a time, until {@code count} or {@code until} ends. */
  private static void routed(HubProcess node, int agents, int count, Histogram histogram, Map<String, Long> failed,
                             AtomicBoolean until) throws InterruptedException {
    AtomicLong left = new AtomicLong(count);
    List<Thread> workers = new ArrayList<>();
    for (int w = 0; w < 4; w++) {
      Thread worker = new Thread(() -> {
        while (left.decrementAndGet() >= 0 && (until == null || until.get())) {
          String cluster = HubProcess.cluster(ThreadLocalRandom.current().nextInt(agents));
          long start = System.nanoTime();
          try {
            node.get("/k8s/clusters/" + cluster + ROUTED_PATH).await(30, TimeUnit.SECONDS);
            synchronized (histogram) {
              histogram.recordValue((System.nanoTime() - start) / 1000);
            }
          } catch (Exception e) {
            failed.merge(status(e), 1L, Long::sum);
          }
        }
      });
      worker.start();
      workers.add(worker);
    }
    for (Thread worker : workers) {
      worker.join();
    }
  }

  /** The status of a failed call ({@code HubProcess.call}: "GET /path: 503 {...}"), or what went wrong. */
  static String status(Exception e) {
    String message = String.valueOf(e.getMessage());
    java.util.regex.Matcher m = java.util.regex.Pattern.compile(": (\\d{3}) ").matcher(message);
    return m.find() ? m.group(1) : e.getClass().getSimpleName();
  }

  private static int[] freePorts(int n) throws IOException {
    List<ServerSocket> sockets = new ArrayList<>();
    try {
      for (int i = 0; i < n; i++) {
        sockets.add(new ServerSocket(0));
      }
      return sockets.stream().mapToInt(ServerSocket::getLocalPort).toArray();
    } finally {
      for (ServerSocket s : sockets) {
        s.close();
      }
    }
  }
}
