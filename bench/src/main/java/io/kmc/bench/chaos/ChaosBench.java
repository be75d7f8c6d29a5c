package io.kmc.bench.chaos;

import io.kmc.bench.fleet.Fleet;
import io.kmc.bench.fleet.FaultyLink;
import io.kmc.bench.load.Target;
import io.kmc.bench.report.Flags;
import io.kmc.bench.report.MachineInfo;
import io.kmc.bench.report.Table;
import io.kmc.bench.watch.EventLedger;
import io.kmc.bench.watch.Watches;
import io.kmc.hub.api.KubePassthrough;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Faults of the kinds operators meet, one scenario at a time on a fleet of its own (two clustered
 * hub nodes, a real agent dialling them through {@link FaultyLink}s, PostgreSQL and Redis), each
 * under the same load: steady reads and watches entering at the node that survives, while the
 * watched namespace changes. For each: how long until the agent was back and reads succeeded again,
 * which reads failed and with which status, and whether any watch lost, repeated or ended.
 */
public final class ChaosBench {

  public static final String USAGE = """
      chaos [--scenarios LIST] [--watches N] [--streams N] [--rate N] [--reads N] [--seconds N] [--fault-after N]
        --scenarios LIST  comma-separated, of kill-node, sigstop, blackhole, reset, delay, postgres, redis, clock-skew
                          (default: all)
        --watches N       watches entering at the surviving node (default 50)
        --streams N       /api/v1/stream subscriptions entering there too, one socket each (default 5)
        --rate N          changes per second in the watched namespace (default 20)
        --reads N         GETs per second through the surviving node (default 50)
        --seconds N       seconds of changes per scenario (default 45)
        --fault-after N   seconds into the changes when the fault starts (default 8)
        --skew-minutes N  clock-skew: how far ahead and behind the two agents' clocks are (default 10; 0 for a
                          control run: the same two agent processes and cut connections, clocks right)""";

  public static final Map<String, String> DEFAULTS = Map.of("--scenarios",
      "kill-node,sigstop,blackhole,reset,delay,postgres,redis,clock-skew", "--watches", "50", "--streams", "5", "--rate", "20", "--reads", "50",
      "--seconds", "45", "--fault-after", "8", "--skew-minutes", "10");

  static final String CLUSTER = "chaos";
  /** clock-skew: the cluster whose agent's clock is behind (CLUSTER's is ahead). */
  static final String BEHIND = "chaos-behind";
  /** How long the delay, PostgreSQL and Redis faults last. */
  private static final long OUTAGE_MILLIS = 10_000;
  /** How long node C stays frozen: longer than tunnel.ping_timeout (20 s), so that the agent gives up on it. */
  private static final long FROZEN_MILLIS = 30_000;
  private static final Set<Integer> EXPECTED_FAILURES = Set.of(503, 504);

  private final Flags flags;
  private final PrintStream out;
  /** clock-skew: CLUSTER's agent this far ahead, BEHIND's this far behind. */
  private java.time.Duration skew = java.time.Duration.ofMinutes(10);

  public ChaosBench(Flags flags, PrintStream out) {
    this.flags = flags;
    this.out = out;
  }

  /** One fault: where the agent dials first, where the load enters, and what breaks. */
  private enum Scenario {
    KILL_NODE("kill-node", "node B, holding the agent, is killed (kill -9: no drain, no goodbye)", Fleet.NODE_B,
        Fleet.NODE_A),
    SIGSTOP("sigstop", "node C, a process holding the agent, is frozen (SIGSTOP) for 30 s, longer than the ping "
        + "timeout, then let run again (SIGCONT) with what it held", Fleet.NODE_C, Fleet.NODE_A),
    BLACKHOLE("blackhole", "the agent's connection to node A goes silent both ways, nobody told (an idle flow "
        + "dropped by a load balancer); new connections pass", Fleet.NODE_A, Fleet.NODE_B),
    RESET("reset", "the agent's connection to node A is cut", Fleet.NODE_A, Fleet.NODE_B),
    DELAY("delay", "300 ms added each way between agent and node A, for 10 s", Fleet.NODE_A, Fleet.NODE_B),
    POSTGRES("postgres", "PostgreSQL stopped for 10 s, then started again", Fleet.NODE_A, Fleet.NODE_B),
    REDIS("redis", "Redis stopped for 10 s, then started again (empty)", Fleet.NODE_A, Fleet.NODE_B),
    CLOCK_SKEW("clock-skew", "the agent's clock is --skew-minutes (10) ahead and a second cluster's agent's as "
        + "much behind (each a process of its own); their connections to node A are cut, so that both dial and say hello again",
        Fleet.NODE_A, Fleet.NODE_B);

    final String id;
    final String fault;
    final int agentNode;
    final int entryNode;

    Scenario(String id, String fault, int agentNode, int entryNode) {
      this.id = id;
      this.fault = fault;
      this.agentNode = agentNode;
      this.entryNode = entryNode;
    }

    static Scenario named(String id) {
      return Arrays.stream(values()).filter(s -> s.id.equals(id)).findFirst()
          .orElseThrow(() -> new IllegalArgumentException("no chaos scenario named " + id));
    }
  }

  private record Outcome(Scenario scenario, String agentBack, String hubNoticed, Reads.Summary reads, long expected,
                         long delivered, long lost, long duplicated, long outOfOrder, int watchesEnded,
                         String firstEnd, boolean complete, Streams.Summary streams, String afterwards,
                         boolean afterwardsOk) {

    boolean passed() {
      return afterwardsOk && lost == 0 && duplicated == 0 && outOfOrder == 0 && watchesEnded == 0 && complete
          && streams.lost() == 0 && streams.duplicates() == 0
          && reads.failedStatuses().keySet().stream().allMatch(EXPECTED_FAILURES::contains);
    }
  }

  public void run() throws Exception {
    List<Scenario> scenarios = new ArrayList<>();
    for (String id : flags.string("--scenarios").split(",")) {
      scenarios.add(Scenario.named(id.trim()));
    }
    int watches = flags.integer("--watches", 1, 5_000);
    skew = java.time.Duration.ofMinutes(flags.integer("--skew-minutes", 0, 24 * 60));
    int streams = flags.integer("--streams", 0, 1_000);
    double rate = flags.number("--rate", 0.1, 1_000);
    double readRate = flags.number("--reads", 1, 1_000);
    double seconds = flags.number("--seconds", 5, 3600);
    double faultAfter = flags.number("--fault-after", 1, seconds - 1);
    long began = System.nanoTime();
    MachineInfo.printHeader(out, "chaos", flags.describe());

    List<Outcome> outcomes = new ArrayList<>();
    for (Scenario scenario : scenarios) {
      out.printf("%n## %s: %s%n%n", scenario.id, scenario.fault);
      outcomes.add(run(scenario, watches, streams, rate, readRate, seconds, faultAfter));
    }

    out.printf("%n## Verdicts%n%n");
    Table table = new Table("scenario", "agent back after s", "hub noticed after s", "reads ok", "reads failed",
        "failed with", "longest read ms", "it started at s", "reads failing for s", "watch events expected", "lost", "duplicated",
        "watches ended", "streams resumed", "stream events lost", "stream duplicates", "afterwards", "verdict");
    for (Outcome o : outcomes) {
      table.row(o.scenario().id, o.agentBack(), o.hubNoticed(), String.valueOf(o.reads().ok()),
          String.valueOf(o.reads().failed()), o.reads().failedWith(), String.valueOf(o.reads().longestMillis()),
          o.reads().longestStarted(), o.reads().failingSeconds(), String.valueOf(o.expected()), String.valueOf(o.lost()),
          String.valueOf(o.duplicated() + o.outOfOrder()), String.valueOf(o.watchesEnded()),
          o.streams().resumed() + " of " + o.streams().subscriptions(), String.valueOf(o.streams().lost()),
          String.valueOf(o.streams().duplicates()), o.afterwards(), o.passed() ? "pass" : "FAIL");
    }
    out.print(table.render());
    out.println();
    out.println("pass: no watch event lost, repeated, out of order or missing at the end, no watch ended, and every "
        + "failed read a 503 or 504 (with a reason), and no stream subscription lost or repeated a change; reads, "
        + "watches and stream subscriptions enter at the node that survives. Times are from the start of the fault. "
        + "\"streams resumed\": subscriptions sent again with their resume token after their socket closed.");
    for (Outcome o : outcomes) {
      if (o.streams().firstError() != null) {
        out.println("- " + o.scenario().id + ": first stream error: " + o.streams().firstError());
      }
      if (o.firstEnd() != null) {
        out.println("- " + o.scenario().id + ": first watch end: " + o.firstEnd());
      }
      o.reads().firstFailures().forEach((status, body) ->
          out.println("- " + o.scenario().id + ": first read failed with " + status + ": " + body));
    }
    out.printf("%ntotal time %.0f s%n", (System.nanoTime() - began) / 1e9);
  }

  private Outcome run(Scenario scenario, int watches, int streamCount, double rate, double readRate, double seconds,
                      double faultAfter) throws Exception {
    int changes = (int) Math.round(rate * seconds);
    int faultAtChange = (int) Math.round(rate * faultAfter);
    List<Integer> dials = switch (scenario.agentNode) {
      case Fleet.NODE_A -> List.of(Fleet.NODE_A, Fleet.NODE_B);
      case Fleet.NODE_C -> List.of(Fleet.NODE_C, Fleet.NODE_A);
      default -> List.of(Fleet.NODE_B, Fleet.NODE_A);
    };
    List<Fleet.AgentSpec> agents = scenario == Scenario.CLOCK_SKEW
        ? List.of(new Fleet.AgentSpec(CLUSTER, List.of(), dials, true, 256, skew),
            new Fleet.AgentSpec(BEHIND, List.of(), dials, true, 256, skew.negated()))
        : List.of(new Fleet.AgentSpec(CLUSTER, List.of(), dials, false, 0));
    Fleet.Spec spec = new Fleet.Spec(agents, Math.max(512, watches + 64), scenario == Scenario.SIGSTOP);
    try (Fleet fleet = Fleet.startThroughLinks(spec, Map.of());
         Watches client = new Watches(watches, changes, 0);
         Streams streams = new Streams(fleet.node(scenario.entryNode).port(), fleet.adminToken(), CLUSTER,
             Watches.NAMESPACE, EventLedger.PREFIX, changes, false)) {
      Watches.prepare(fleet);
      String resourceVersion = Watches.mark(fleet, "start");
      int entryPort = fleet.node(scenario.entryNode).port();
      streams.open(streamCount);
      client.open(new Target("entry", "127.0.0.1", entryPort, KubePassthrough.PREFIX + CLUSTER + Watches.LIST_PATH,
          fleet.adminToken()), resourceVersion, 0, watches, 50);
      JsonObject before = fleet.connection(CLUSTER);
      out.printf("agent on node %s; %d watches, %d stream subscriptions and %.0f reads/s entering at node %s; %d "
          + "changes at %.0f/s, the fault after %.0f s%n", "ABC".charAt(scenario.agentNode), watches, streamCount,
          readRate, "ABC".charAt(scenario.entryNode), changes, rate, faultAfter);

      AtomicLong faultAt = new AtomicLong();
      AtomicLong changesMade = new AtomicLong();
      String[] agentBack = {"—"};
      String[] hubNoticed = {"—"};
      Thread fault = new Thread(() -> {
        while (changesMade.get() < faultAtChange) {
          Fleet.sleep(5);
        }
        FaultyLink link = fleet.link(scenario.agentNode);
        int dialsBefore = dials(fleet);
        faultAt.set(System.nanoTime());
        try {
          switch (scenario) {
            case KILL_NODE -> fleet.halt(Fleet.NODE_B);
            case SIGSTOP -> fleet.stopNodeC();
            case BLACKHOLE -> link.blackhole();
            case RESET, CLOCK_SKEW -> link.reset();
            case DELAY -> {
              link.delay(300);
              Fleet.sleep(OUTAGE_MILLIS);
              link.delay(0);
            }
            case POSTGRES -> {
              fleet.stopPostgres();
              Fleet.sleep(OUTAGE_MILLIS);
              fleet.startPostgres();
            }
            case REDIS -> {
              fleet.stopRedis();
              Fleet.sleep(OUTAGE_MILLIS);
              fleet.startRedis();
            }
          }
        } catch (IOException e) {
          throw new IllegalStateException(scenario.id + ": " + e.getMessage(), e);
        }
        if (scenario == Scenario.POSTGRES || scenario == Scenario.REDIS || scenario == Scenario.DELAY) {
          return; // the agent's connection is not the point
        }
        // The agent is back when it has dialled again and the hub shows it connected on a new session.
        long deadline = System.nanoTime() + 120_000_000_000L;
        long noticed = 0;
        while (System.nanoTime() < deadline) {
          JsonObject now = connectionOrNull(fleet);
          boolean newSession = now != null && !Objects.equals(now.getString("connectedSince"),
              before.getString("connectedSince"));
          if (noticed == 0 && now != null && (!Boolean.TRUE.equals(now.getBoolean("connected")) || newSession)) {
            noticed = System.nanoTime();
            hubNoticed[0] = seconds(noticed - faultAt.get());
          }
          int dialled = dials(fleet);
          if (newSession && Boolean.TRUE.equals(now.getBoolean("connected")) && dialled > dialsBefore) {
            agentBack[0] = seconds(Math.max(fleet.link(Fleet.NODE_A).lastAcceptedAt(),
                fleet.link(Fleet.NODE_B).lastAcceptedAt()) - faultAt.get());
            if (scenario == Scenario.SIGSTOP) {
              // Frozen for its whole time whatever happens meanwhile, then let run again.
              Fleet.sleep(Math.max(0, FROZEN_MILLIS - (System.nanoTime() - faultAt.get()) / 1_000_000));
              resume(fleet);
            }
            return;
          }
          Fleet.sleep(100);
        }
        agentBack[0] = "never (120 s)";
        if (scenario == Scenario.SIGSTOP) {
          resume(fleet);
        }
      }, "kmc-chaos-fault");
      fault.setDaemon(true);

      try (Reads reads = new Reads(entryPort, fleet.adminToken(), KubePassthrough.PREFIX + CLUSTER
          + Fleet.CONFIG_MAP_PATH, readRate)) {
        fault.start();
        Watches.await(client.change(fleet, changes, rate, number -> changesMade.set(number + 1)));
        fault.join(180_000);
        String[] afterwards = {"—"};
        boolean afterwardsOk = true;
        if (scenario == Scenario.SIGSTOP) {
          afterwardsOk = afterResume(fleet, afterwards);
        } else if (scenario == Scenario.CLOCK_SKEW) {
          afterwardsOk = afterSkew(fleet, entryPort, afterwards);
        }
        Fleet.sleep(1_000);
        reads.stop();
        boolean complete = client.awaitComplete(watches, changes, 60_000);
        long streamsDeadline = System.nanoTime() + 30_000_000_000L;
        while (!streams.complete(changes) && System.nanoTime() < streamsDeadline) {
          Fleet.sleep(100);
        }
        EventLedger ledger = client.ledger();
        Outcome outcome = new Outcome(scenario, agentBack[0], hubNoticed[0], reads.summary(faultAt.get()),
            (long) watches * changes, client.read(ledger::delivered), client.read(() -> ledger.lost(changes)),
            client.read(ledger::duplicated), client.read(ledger::outOfOrder), client.read(client::ended),
            client.read(client::firstEnd), complete, streams.summary(changes), afterwards[0], afterwardsOk);
        out.printf("agent back after %s s, hub noticed after %s s; reads: %d ok, %d failed (%s); watch events: %d of %d,"
            + " lost %d, duplicated %d; watches ended %d; stream subscriptions: %d, resumed %d times (%d sockets "
            + "reopened), clusters restarted %d, changes lost %d, duplicated %d%n", outcome.agentBack(),
            outcome.hubNoticed(), outcome.reads().ok(), outcome.reads().failed(), outcome.reads().failedWith(),
            outcome.delivered(), outcome.expected(), outcome.lost(), outcome.duplicated(), outcome.watchesEnded(),
            outcome.streams().subscriptions(), outcome.streams().resumed(), outcome.streams().reconnects(),
            outcome.streams().restarts(), outcome.streams().lost(), outcome.streams().duplicates());
        return outcome;
      }
    }
  }

  private static int dials(Fleet fleet) {
    int dials = fleet.link(Fleet.NODE_A).accepted() + fleet.link(Fleet.NODE_B).accepted();
    try {
      dials += fleet.link(Fleet.NODE_C).accepted();
    } catch (IllegalStateException e) {
      // no node C in this fleet
    }
    return dials;
  }

  private static void resume(Fleet fleet) {
    try {
      fleet.continueNodeC();
    } catch (IOException e) {
      throw new IllegalStateException("cannot let node C run again: " + e.getMessage(), e);
    }
  }

  /**
   * After node C ran again: it must not serve the session it held when it froze. The agent must still
   * be where it moved (node A), and reads entering at node C must reach it there.
   */
  private static boolean afterResume(Fleet fleet, String[] note) {
    Fleet.sleep(3_000);
    JsonObject connection = connectionOrNull(fleet);
    boolean onA = connection != null && Boolean.TRUE.equals(connection.getBoolean("connected"))
        && fleet.nodeA().nodeId().equals(connection.getString("node"));
    TwentyReads reads = twentyReads(fleet, fleet.port(Fleet.NODE_C), CLUSTER);
    if (reads == null) {
      return false;
    }
    note[0] = "agent " + (onA ? "on node A" : "NOT on node A (" + connection + ")") + "; reads via node C " + reads.ok()
        + "/20 ok" + (reads.failed().isEmpty() ? "" : " " + reads.failed() + ", first: " + reads.firstFailure());
    return onA && reads.ok() == 20;
  }

  /**
   * After both skewed agents said hello again: the one behind must be connected too, and reads of its
   * cluster must succeed; what the hub refused, if anything, is reported with its reason.
   */
  private boolean afterSkew(Fleet fleet, int entryPort, String[] note) {
    JsonObject behind;
    try {
      behind = fleet.connection(BEHIND);
    } catch (RuntimeException e) {
      note[0] = "the agent " + skew.toMinutes() + " min behind: cluster unreadable: " + e.getMessage();
      return false;
    }
    boolean connected = behind != null && Boolean.TRUE.equals(behind.getBoolean("connected"));
    TwentyReads reads = twentyReads(fleet, entryPort, BEHIND);
    if (reads == null) {
      return false;
    }
    note[0] = "agent +" + skew.toMinutes() + " min back; agent -" + skew.toMinutes() + " min "
        + (connected ? "connected" : "NOT connected (" + behind + ")") + ", reads of its cluster " + reads.ok()
        + "/20 ok" + (reads.failed().isEmpty() ? "; nothing refused" : " " + reads.failed() + ", first: "
        + reads.firstFailure());
    return connected && reads.ok() == 20;
  }

  /** Twenty reads of a cluster's ConfigMap entering at one node: how many succeeded, the others by status (-1: none). */
  private record TwentyReads(int ok, Map<Integer, Integer> failed, String firstFailure) {
  }

  /** The twenty reads, one after another; null when interrupted. */
  private static TwentyReads twentyReads(Fleet fleet, int entryPort, String cluster) {
    int ok = 0;
    Map<Integer, Integer> failed = new java.util.TreeMap<>();
    String firstFailure = null;
    java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    for (int i = 0; i < 20; i++) {
      try {
        java.net.http.HttpResponse<String> response = http.send(java.net.http.HttpRequest.newBuilder(
                java.net.URI.create("http://127.0.0.1:" + entryPort + KubePassthrough.PREFIX + cluster
                    + Fleet.CONFIG_MAP_PATH)).header("Authorization", "Bearer " + fleet.adminToken())
                .timeout(java.time.Duration.ofSeconds(30)).GET().build(),
            java.net.http.HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() == 200) {
          ok++;
        } else {
          failed.merge(response.statusCode(), 1, Integer::sum);
          firstFailure = firstFailure == null ? response.body() : firstFailure;
        }
      } catch (IOException e) {
        failed.merge(-1, 1, Integer::sum);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return null;
      }
    }
    return new TwentyReads(ok, failed, firstFailure);
  }

  private static JsonObject connectionOrNull(Fleet fleet) {
    try {
      return fleet.connection(CLUSTER);
    } catch (RuntimeException e) {
      return null;
    }
  }

  static String seconds(long nanos) {
    return String.format(java.util.Locale.ROOT, "%.1f", nanos / 1e9);
  }
}
