package io.kmc.bench.watch;

import io.kmc.bench.fleet.Fleet;
import io.kmc.bench.load.Target;
import io.kmc.bench.report.Flags;
import io.kmc.bench.report.MachineInfo;
import io.kmc.bench.report.Table;
import io.kmc.hub.api.KubePassthrough;
import io.vertx.core.json.JsonObject;
import org.HdrHistogram.Histogram;

import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Watches entering at hub node A while the cluster's agent is connected to node B; B is stopped as
 * {@code kill -9} would stop it (the hub's {@code halt()}: no drain, no goodbye; its sockets close)
 * while the watched namespace changes steadily. The agent redials node A, A re-opens every watch on
 * the agent's new session from the last resourceVersion it delivered, and the clients should see
 * neither a gap nor a duplicate: counted against the changes made, with the longest time from a
 * change to its delivery.
 */
public final class NodeLossBench {

  public static final String USAGE = """
      node-loss [--watches N] [--rate N] [--seconds N] [--kill-after N]
        --watches N     watches entering at node A (default 100)
        --rate N        changes per second in the watched namespace (default 20)
        --seconds N     seconds of changes (default 20)
        --kill-after N  seconds into the changes when node B, holding the agent, is killed (default 6)""";

  public static final Map<String, String> DEFAULTS = Map.of("--watches", "100", "--rate", "20", "--seconds", "20",
      "--kill-after", "6");

  private static final String CLUSTER = "bench";

  private final Flags flags;
  private final PrintStream out;

  public NodeLossBench(Flags flags, PrintStream out) {
    this.flags = flags;
    this.out = out;
  }

  public void run() throws Exception {
    int watches = flags.integer("--watches", 1, 20_000);
    double rate = flags.number("--rate", 0.1, 10_000);
    double seconds = flags.number("--seconds", 1, 3600);
    double killAfter = flags.number("--kill-after", 0, seconds);
    int changes = (int) Math.round(rate * seconds);
    int killAtChange = (int) Math.round(rate * killAfter);
    long began = System.nanoTime();
    MachineInfo.printHeader(out, "node-loss", flags.describe());

    Fleet.Spec spec = new Fleet.Spec(List.of(new Fleet.AgentSpec(CLUSTER, List.of(2),
        List.of(Fleet.NODE_B, Fleet.NODE_A), true, 0)), Math.max(512, watches + 64));
    try (Fleet fleet = Fleet.start(spec); Watches client = new Watches(watches, changes, 0)) {
      Watches.prepare(fleet);
      String resourceVersion = Watches.mark(fleet, "start");
      Target viaA = new Target("node A", "127.0.0.1", fleet.nodeA().port(),
          KubePassthrough.PREFIX + CLUSTER + Watches.LIST_PATH, fleet.adminToken());
      client.open(viaA, resourceVersion, 0, watches, 50);
      client.read(() -> {
        client.ledger().split(killAtChange);
        return null;
      });
      out.printf("fleet started; agent (own JVM) on node B; %d watches open through node A%n", watches);

      AtomicLong killedAt = new AtomicLong();
      AtomicLong backAt = new AtomicLong();
      Thread killer = new Thread(() -> {
        // Wait for the change that is due at the kill, then kill.
        while (changesMade.get() < killAtChange) {
          Fleet.sleep(5);
        }
        killedAt.set(System.nanoTime());
        fleet.halt(Fleet.NODE_B);
        fleet.awaitConnected(CLUSTER, fleet.nodeA());
        backAt.set(System.nanoTime());
      }, "kmc-bench-killer");
      killer.setDaemon(true);
      out.printf("making %d changes at %.0f/s; node B is killed after %.1f s (at change %d)%n", changes, rate,
          killAfter, killAtChange);
      long changeStart = System.nanoTime();
      changesMade.set(0);
      killer.start();
      Watches.await(client.change(fleet, changes, rate, number -> changesMade.set(number + 1)));
      killer.join(120_000);
      boolean complete = client.awaitComplete(watches, changes, 60_000);
      double deliveredSeconds = (System.nanoTime() - changeStart) / 1e9;

      EventLedger ledger = client.ledger();
      long expected = (long) watches * changes;
      long delivered = client.read(ledger::delivered);
      long lost = client.read(() -> ledger.lost(changes));
      long duplicated = client.read(ledger::duplicated);
      long outOfOrder = client.read(ledger::outOfOrder);
      long other = client.read(ledger::otherLines);
      Histogram gaps = client.read(() -> ledger.gaps().copy());
      Histogram after = client.read(() -> ledger.gapsFromSplit().copy());
      Histogram before = gaps.copy();
      before.subtract(after);
      int ended = client.read(client::ended);
      JsonObject connection = fleet.connection(CLUSTER);

      out.println();
      out.printf("## %d watches through node A, agent on node B killed after %.1f s of %d changes at %.0f/s%n%n",
          watches, (killedAt.get() - changeStart) / 1e9, changes, rate);
      Table table = new Table("watches", "changes", "events expected", "delivered", "lost", "duplicated",
          "out of order", "other lines", "watches ended", "agent back on A after s", "gap p50 ms", "gap p99 ms",
          "gap max ms");
      table.row(String.valueOf(watches), String.valueOf(changes), String.valueOf(expected), String.valueOf(delivered),
          String.valueOf(lost), String.valueOf(duplicated), String.valueOf(outOfOrder), String.valueOf(other),
          String.valueOf(ended), backAt.get() == 0 ? "never" : WatchBench.format("%.2f",
              (backAt.get() - killedAt.get()) / 1e9),
          WatchBench.millis(gaps.getValueAtPercentile(50)), WatchBench.millis(gaps.getValueAtPercentile(99)),
          WatchBench.millis(gaps.getMaxValue()));
      out.print(table.render());
      out.println();
      Table split = new Table("changes", "deliveries", "gap p50 ms", "gap p90 ms", "gap p99 ms", "gap max ms");
      split.row("before the kill (0 to " + (killAtChange - 1) + ")", String.valueOf(before.getTotalCount()),
          WatchBench.millis(before.getValueAtPercentile(50)), WatchBench.millis(before.getValueAtPercentile(90)),
          WatchBench.millis(before.getValueAtPercentile(99)), WatchBench.millis(before.getMaxValue()));
      split.row("from the kill on (" + killAtChange + " to " + (changes - 1) + ")", String.valueOf(after.getTotalCount()),
          WatchBench.millis(after.getValueAtPercentile(50)), WatchBench.millis(after.getValueAtPercentile(90)),
          WatchBench.millis(after.getValueAtPercentile(99)), WatchBench.millis(after.getMaxValue()));
      out.print(split.render());
      out.println();
      out.printf("gap: time from a change (its create sent to the simulator) to its delivery to a watching client, "
          + "over all %d deliveries; every watch complete %s; the agent's connection now: %s%n", delivered,
          complete ? WatchBench.format("%.1f s after the first change", deliveredSeconds) : "NEVER (60 s timeout)",
          connection);
      out.println();
      out.println("- events lost 0: " + lost + (lost == 0 ? ", met" : ", NOT met"));
      out.println("- events duplicated 0: " + duplicated + (duplicated == 0 ? ", met" : ", NOT met")
          + (outOfOrder > 0 ? " (" + outOfOrder + " out of order)" : ""));
      out.println("- longest gap between a change and its delivery: " + WatchBench.millis(gaps.getMaxValue()) + " ms"
          + (ended > 0 ? "; " + ended + " watches ENDED, first: " + client.read(client::firstEnd) : "")
          + (other > 0 ? "; " + other + " other lines, first: " + client.read(ledger::firstOther) : ""));
      out.println();
    }
    out.printf("total time %.0f s%n", (System.nanoTime() - began) / 1e9);
  }

  private final AtomicLong changesMade = new AtomicLong();
}
