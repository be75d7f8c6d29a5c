package io.kmc.bench.propagation;

import io.kmc.bench.fleet.Fleet;
import io.kmc.bench.load.ProcessCpu;
import io.kmc.bench.report.Flags;
import io.kmc.bench.report.MachineInfo;
import io.kmc.bench.report.Table;
import io.kmc.kubesim.KubeSim;
import io.kmc.kubesim.KubeSimOptions;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.HdrHistogram.Histogram;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One Deployment propagated to {@code --clusters} simulated clusters, each with a real agent in this
 * JVM: time from the POST until each cluster's status says applied (the controller's own
 * {@code appliedAt}), the JVM's CPU time for it against an idle window of the same length, then
 * drift: a field kmc applied changed directly in one cluster, timed until it is back.
 */
public final class PropagationBench {

  public static final String USAGE = """
      propagation [--clusters N] [--drifts N] [--drift-interval-ms N]
        --clusters N           simulated clusters with real in-JVM agents (default 100)
        --drifts N             measured drift repairs, one cluster each (default 10)
        --drift-interval-ms N  the controller's propagation.drift_interval for the run (default 1000)""";

  public static final Map<String, String> DEFAULTS = Map.of("--clusters", "100", "--drifts", "10",
      "--drift-interval-ms", "1000");

  private final Flags flags;
  private final PrintStream out;

  public PropagationBench(Flags flags, PrintStream out) {
    this.flags = flags;
    this.out = out;
  }

  public void run() throws Exception {
    int clusters = flags.integer("--clusters", 1, 1_000);
    int drifts = flags.integer("--drifts", 0, 1_000);
    int driftMillis = flags.integer("--drift-interval-ms", 100, 600_000);
    MachineInfo.printHeader(out, "propagation", flags.describe());
    Vertx members = Vertx.vertx();
    List<io.kmc.agent.Agent> agents = new ArrayList<>();
    Map<String, KubeSim> sims = new HashMap<>();
    try (Fleet fleet = Fleet.start(new Fleet.Spec(List.of()), Map.of(
        "KMC_PROPAGATION_DRIFT_INTERVAL", driftMillis + "ms", "KMC_PROPAGATION_RESYNC_INTERVAL", "10s"))) {
      Path dir = Files.createTempDirectory("kmc-propagation-bench");
      long setUp = System.nanoTime();
      List<String> names = new ArrayList<>();
      for (int c = 0; c < clusters; c++) {
        String name = String.format("p%04d", c);
        KubeSim sim = KubeSim.start(members, new KubeSimOptions().seed(true)).await(60, TimeUnit.SECONDS);
        sims.put(name, sim);
        String token = new JsonObject(fleet.api("POST", "/api/v1/clusters", new JsonObject().put("name", name)
            .put("labels", new JsonObject().put("bench", "propagation")))).getString("token");
        Path kubeconfig = dir.resolve(name + ".kubeconfig");
        Files.writeString(kubeconfig, sim.kubeconfig(name));
        io.kmc.common.config.ConfigReader reader = io.kmc.common.config.ConfigReader.fromYaml("""
            hub:
              urls: ["ws://127.0.0.1:%d"]
              cluster: %s
              token: %s
            kubernetes:
              mode: kubeconfig
              kubeconfig: %s
            metrics:
              enabled: false
            index:
              enabled: false
            """.formatted(c % 2 == 0 ? fleet.nodeA().port() : fleet.nodeB().port(), name, token, kubeconfig),
            Map.of());
        io.kmc.agent.AgentConfig config = io.kmc.agent.AgentConfig.read(reader);
        reader.finish();
        agents.add(io.kmc.agent.Agent.start(members, config, io.kmc.agent.Agent.kubeAccess(config))
            .await(60, TimeUnit.SECONDS));
        names.add(name);
      }
      for (int c = 0; c < clusters; c++) {
        fleet.awaitConnected(names.get(c), c % 2 == 0 ? fleet.nodeA() : fleet.nodeB());
      }
      double setUpSeconds = (System.nanoTime() - setUp) / 1e9;
      // Both nodes idle with every agent connected; let the start-up settle, then the baseline window.
      Thread.sleep(3_000);

      // A propagation to nothing first: it returns once the controller (lease holder) handles it.
      JsonObject warm = propagation("warm", "nobody");
      fleet.api("POST", "/api/v1/propagations", warm);
      Thread.sleep(2_000);

      long idleCpu = ProcessCpu.jvmNanos();
      long idleStart = System.nanoTime();
      Thread.sleep(5_000);
      double idleCpuSeconds = (ProcessCpu.jvmNanos() - idleCpu) / 1e9;
      double idleSeconds = (System.nanoTime() - idleStart) / 1e9;

      long cpuBefore = ProcessCpu.jvmNanos();
      Instant posted = Instant.now();
      long started = System.nanoTime();
      fleet.api("POST", "/api/v1/propagations", propagation("web", "propagation"));
      Map<String, Instant> applied = new HashMap<>();
      long polls = 0;
      while (applied.size() < clusters) {
        if (System.nanoTime() - started > TimeUnit.SECONDS.toNanos(180)) {
          throw new IllegalStateException("only " + applied.size() + " of " + clusters + " applied after 180 s");
        }
        Thread.sleep(100);
        polls++;
        JsonArray perCluster = new JsonObject(fleet.api("GET", "/api/v1/propagations/web", null))
            .getJsonObject("status").getJsonArray("clusters", new JsonArray());
        for (Object o : perCluster) {
          JsonObject entry = (JsonObject) o;
          if ("applied".equals(entry.getString("state")) && entry.getString("appliedAt") != null) {
            applied.putIfAbsent(entry.getString("cluster"), Instant.parse(entry.getString("appliedAt")));
          }
        }
      }
      double seenAllSeconds = (System.nanoTime() - started) / 1e9;
      double cpuSeconds = (ProcessCpu.jvmNanos() - cpuBefore) / 1e9;
      Histogram perCluster = new Histogram(3);
      long lastMicros = 0;
      for (Instant at : applied.values()) {
        long micros = Math.max(0, java.time.Duration.between(posted, at).toNanos() / 1000);
        perCluster.recordValue(micros);
        lastMicros = Math.max(lastMicros, micros);
      }
      for (String name : names) {
        JsonObject deployment = sims.get(name).get("apps/v1", "Deployment", "default", "web")
            .await(10, TimeUnit.SECONDS);
        if (deployment == null) {
          throw new IllegalStateException("status says applied but " + name + " has no deployment");
        }
      }

      // Drift: replicas changed by hand in one cluster (through the hub's pass-through, as kubectl would).
      Histogram repaired = new Histogram(3);
      for (int i = 0; i < drifts; i++) {
        String name = names.get((i * 7) % names.size());
        KubeSim sim = sims.get(name);
        fleet.api("PATCH", "/k8s/clusters/" + name + "/apis/apps/v1/namespaces/default/deployments/web",
            new JsonObject().put("spec", new JsonObject().put("replicas", 5)), "application/merge-patch+json");
        long changed = System.nanoTime();
        while (true) {
          JsonObject now = sim.get("apps/v1", "Deployment", "default", "web").await(10, TimeUnit.SECONDS);
          if (now != null && now.getJsonObject("spec").getInteger("replicas") == 1) {
            break;
          }
          if (System.nanoTime() - changed > TimeUnit.SECONDS.toNanos(60)) {
            throw new IllegalStateException("drift in " + name + " not repaired after 60 s");
          }
          Thread.sleep(10);
        }
        repaired.recordValue((System.nanoTime() - changed) / 1000);
      }

      out.println("## Propagation: one Deployment to " + clusters + " simulated clusters (real agents, one JVM)");
      out.println();
      out.println(new Table("measure", "p50", "p99", "max", "n")
          .row("POST → cluster applied (controller's `appliedAt`)", ms(perCluster.getValueAtPercentile(50)),
              ms(perCluster.getValueAtPercentile(99)), ms(perCluster.getMaxValue()),
              String.valueOf(perCluster.getTotalCount()))
          .row("drift (replicas changed in the cluster) → repaired, drift_interval " + driftMillis + " ms",
              drifts == 0 ? "-" : ms(repaired.getValueAtPercentile(50)),
              drifts == 0 ? "-" : ms(repaired.getValueAtPercentile(99)),
              drifts == 0 ? "-" : ms(repaired.getMaxValue()), String.valueOf(repaired.getTotalCount()))
          .render());
      out.println();
      out.printf("all %d applied %.2f s after the POST (last appliedAt); the status poll (every 100 ms, %d polls) "
          + "saw all at %.2f s%n", clusters, lastMicros / 1e6, polls, seenAllSeconds);
      out.printf("JVM CPU (hub nodes + %d agents + %d kube-sims + this poller) over those %.2f s: %.2f s; idle "
          + "baseline (same JVM, everything connected, nothing to do): %.2f s over %.2f s, i.e. %.2f s for %.2f s "
          + "→ propagation cost ≈ %.2f CPU-s (%.1f ms per cluster)%n", clusters, clusters, seenAllSeconds,
          cpuSeconds, idleCpuSeconds, idleSeconds, idleCpuSeconds / idleSeconds * seenAllSeconds, seenAllSeconds,
          cpuSeconds - idleCpuSeconds / idleSeconds * seenAllSeconds,
          (cpuSeconds - idleCpuSeconds / idleSeconds * seenAllSeconds) * 1000 / clusters);
      out.printf("set-up: %d clusters registered, simulated and connected in %.1f s%n", clusters, setUpSeconds);
    } finally {
      for (io.kmc.agent.Agent agent : agents) {
        agent.stop().await(30, TimeUnit.SECONDS);
      }
      for (KubeSim sim : sims.values()) {
        sim.close().await(30, TimeUnit.SECONDS);
      }
      members.close().await(30, TimeUnit.SECONDS);
    }
  }

  private static JsonObject propagation(String name, String selectorValue) {
    JsonObject deployment = new JsonObject().put("apiVersion", "apps/v1").put("kind", "Deployment")
        .put("metadata", new JsonObject().put("name", name).put("namespace", "default"))
        .put("spec", new JsonObject().put("replicas", 1)
            .put("selector", new JsonObject().put("matchLabels", new JsonObject().put("app", name)))
            .put("template", new JsonObject()
                .put("metadata", new JsonObject().put("labels", new JsonObject().put("app", name)))
                .put("spec", new JsonObject().put("containers", new JsonArray().add(new JsonObject()
                    .put("name", name).put("image", "registry.example.com/" + name + ":1.0"))))));
    return new JsonObject().put("apiVersion", "kmc.io/v1alpha1").put("kind", "Propagation")
        .put("metadata", new JsonObject().put("name", name))
        .put("spec", new JsonObject().put("resources", new JsonArray().add(deployment))
            .put("placement", new JsonObject().put("clusterSelector", new JsonObject()
                .put("matchLabels", new JsonObject().put("bench", selectorValue)))));
  }



  private static String ms(long micros) {
    return String.format("%.1f ms", micros / 1000.0);
  }
}
