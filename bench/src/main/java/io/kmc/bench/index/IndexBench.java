package io.kmc.bench.index;

import io.kmc.bench.fleet.Fleet;
import io.kmc.bench.report.Flags;
import io.kmc.bench.report.MachineInfo;
import io.kmc.bench.report.Table;
import io.kmc.common.protocol.Frame;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.json.JsonObject;
import org.HdrHistogram.Histogram;

import java.io.PrintStream;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * The fleet index at fleet scale: light stand-in agents that speak the index protocol (no
 * informers, no simulated clusters: what is measured is the hub) feed {@code --clusters} clusters of
 * {@code --objects} objects each; then label queries through the search API, the time for a change
 * to become searchable, and the index's size per object in PostgreSQL.
 */
public final class IndexBench {

  public static final String USAGE = """
      index [--clusters N] [--objects N] [--queries N] [--changes N] [--fanout N]
        --clusters N    stand-in agents, one cluster each (default 100)
        --fanout N      also answer the label query by fanning it out through the hub to N simulated
                        clusters with real agents (indexing off) of --objects objects each (default 0: skip)
        --objects N     objects (ConfigMaps) per cluster (default 1000)
        --queries N     measured label queries (default 300)
        --changes N     measured changes, each polled until searchable (default 50)""";

  public static final Map<String, String> DEFAULTS = Map.of("--clusters", "100", "--objects", "1000",
      "--queries", "300", "--changes", "50", "--fanout", "0");

  private static final int BATCH = 500;
  private static final int APPS = 50;
  private static final int RESYNC_OBJECTS = 10_000;

  private final Flags flags;
  private final PrintStream out;

  public IndexBench(Flags flags, PrintStream out) {
    this.flags = flags;
    this.out = out;
  }

  public void run() throws Exception {
    int clusters = flags.integer("--clusters", 1, 10_000);
    int objects = flags.integer("--objects", 1, 1_000_000);
    int queries = flags.integer("--queries", 1, 100_000);
    int changes = flags.integer("--changes", 1, 10_000);
    int fanout = flags.integer("--fanout", 0, 1_000);
    MachineInfo.printHeader(out, "fleet-index", flags.describe());
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1));
    try (Fleet fleet = Fleet.start(new Fleet.Spec(List.of()))) {
      // One websocket per stand-in, all to one host: more than the default 50 at once.
      WebSocketClient client = vertx.createWebSocketClient(new WebSocketClientOptions()
          .setMaxMessageSize(64 * 1024 * 1024).setMaxConnections(clusters + 10));
      List<StandInAgent> standIns = new ArrayList<>();
      Random random = new Random(42);
      long loadStarted = System.nanoTime();
      for (int c = 0; c < clusters; c++) {
        String cluster = String.format("c%04d", c);
        JsonObject created = new JsonObject(fleet.api("POST", "/api/v1/clusters",
            new JsonObject().put("name", cluster).put("labels", new JsonObject().put("region", "r" + (c % 5)))));
        StandInAgent standIn = StandInAgent.connect(fleet, client, cluster, created.getString("token"));
        standIns.add(standIn);
        relist(standIn, objects, random);
      }
      double loadSeconds = (System.nanoTime() - loadStarted) / 1e9;

      Histogram labelQuery = new Histogram(3);
      Histogram twoLabels = new Histogram(3);
      long matched = 0;
      for (int i = 0; i < 30; i++) {
        search(fleet, "labelSelector=app%3Dapp-" + random.nextInt(APPS) + "&limit=100");
      }
      for (int i = 0; i < queries; i++) {
        long started = System.nanoTime();
        JsonObject page = search(fleet, "labelSelector=app%3Dapp-" + random.nextInt(APPS) + "&limit=100");
        labelQuery.recordValue((System.nanoTime() - started) / 1000);
        matched += page.getLong("total");
        started = System.nanoTime();
        search(fleet, "kind=configmaps&labelSelector=app%3Dapp-" + random.nextInt(APPS)
            + ",tier%20in%20(front,edge)&clusterSelector=region%3Dr1&sort=-created&limit=50");
        twoLabels.recordValue((System.nanoTime() - started) / 1000);
      }

      Histogram searchable = new Histogram(3);
      for (int i = 0; i < changes; i++) {
        StandInAgent standIn = standIns.get(random.nextInt(standIns.size()));
        String label = "change-" + i;
        long started = System.nanoTime();
        standIn.send(batch(standIn, 1_000_000L + i, List.of(object("changed-" + i, Map.of("probe", label))), false,
            false, "bench:" + (objects + i)));
        while (search(fleet, "labelSelector=probe%3D" + label).getLong("total") == 0) {
          Thread.sleep(2);
        }
        searchable.recordValue((System.nanoTime() - started) / 1000);
        standIn.next();
      }

      // A cluster of 10,000 objects resyncing after a reconnect (relist, the hub reconciling deletions).
      String big = "c-big";
      JsonObject bigCluster = new JsonObject(fleet.api("POST", "/api/v1/clusters", new JsonObject().put("name", big)));
      StandInAgent first = StandInAgent.connect(fleet, client, big, bigCluster.getString("token"));
      relist(first, RESYNC_OBJECTS, random);
      first.ws().close();
      Thread.sleep(500);
      StandInAgent again = StandInAgent.connect(fleet, client, big, bigCluster.getString("token"));
      long resyncStarted = System.nanoTime();
      relist(again, RESYNC_OBJECTS, random);
      double resyncSeconds = (System.nanoTime() - resyncStarted) / 1e9;

      Histogram fanned = fanout == 0 ? null : fanOut(fleet, fanout, objects, Math.min(queries, 50), random);

      long rows;
      long tableBytes;
      try (Connection db = fleet.database(); Statement statement = db.createStatement();
           ResultSet result = statement.executeQuery("select count(*), pg_total_relation_size('fleet_objects') "
               + "from fleet_objects")) {
        result.next();
        rows = result.getLong(1);
        tableBytes = result.getLong(2);
      }

      out.println("## Fleet index: " + clusters + " clusters × " + objects + " objects");
      out.println();
      out.println(new Table("measure", "p50", "p99", "max", "n")
          .row("label query, whole fleet (`app=app-K`, 100 per page, total and per-cluster counts)",
              ms(labelQuery.getValueAtPercentile(50)), ms(labelQuery.getValueAtPercentile(99)),
              ms(labelQuery.getMaxValue()), String.valueOf(labelQuery.getTotalCount()))
          .row("kind + two labels + cluster selector, sorted by creation", ms(twoLabels.getValueAtPercentile(50)),
              ms(twoLabels.getValueAtPercentile(99)), ms(twoLabels.getMaxValue()),
              String.valueOf(twoLabels.getTotalCount()))
          .row("a change searchable (agent batch sent → search finds it)", ms(searchable.getValueAtPercentile(50)),
              ms(searchable.getValueAtPercentile(99)), ms(searchable.getMaxValue()),
              String.valueOf(searchable.getTotalCount()))
          .render());
      out.println();
      if (fanned != null) {
        out.println();
        out.println(new Table("same label query fanned out through the hub", "p50", "p99", "max", "n")
            .row(fanout + " clusters × " + objects + " objects, one list per cluster in parallel, all answered",
                ms(fanned.getValueAtPercentile(50)), ms(fanned.getValueAtPercentile(99)), ms(fanned.getMaxValue()),
                String.valueOf(fanned.getTotalCount()))
            .render());
      }
      long loaded = (long) clusters * objects;
      out.printf("loaded %,d objects in %.1f s (%,.0f objects/s through the protocol, relists of %d-object "
          + "batches); %,d matches per label query on average%n", loaded, loadSeconds, loaded / loadSeconds, BATCH,
          matched / Math.max(1, queries));
      out.printf("resync of one cluster of %,d objects after a reconnect (a full relist, reconciled): %.2f s%n",
          RESYNC_OBJECTS, resyncSeconds);
      out.printf("index in PostgreSQL: %,d bytes for %,d rows (table, GIN and B-tree indexes, TOAST) = %,d bytes "
          + "per object%n", tableBytes, rows, tableBytes / Math.max(1, rows));
      client.close();
    } finally {
      vertx.close();
    }
  }

  /**
   * The query without an index: simulated clusters with real agents (indexing off), the same label
   * selector listed in every cluster at once through the hub's pass-through, timed until the last
   * answer.
   */
  private Histogram fanOut(Fleet fleet, int clusters, int objects, int queries, Random random) throws Exception {
    Vertx members = Vertx.vertx();
    List<io.kmc.agent.Agent> agents = new ArrayList<>();
    List<io.kmc.kubesim.KubeSim> sims = new ArrayList<>();
    List<String> names = new ArrayList<>();
    java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("kmc-index-bench");
    try {
      for (int c = 0; c < clusters; c++) {
        String name = String.format("f%04d", c);
        io.kmc.kubesim.KubeSim sim = io.kmc.kubesim.KubeSim.start(members, new io.kmc.kubesim.KubeSimOptions()
            .seed(true)).await(60, TimeUnit.SECONDS);
        sims.add(sim);
        List<io.vertx.core.Future<JsonObject>> created = new ArrayList<>();
        for (int i = 0; i < objects; i++) {
          created.add(sim.create(new JsonObject().put("apiVersion", "v1").put("kind", "ConfigMap")
              .put("metadata", new JsonObject().put("name", "cm-" + i).put("namespace", "default")
                  .put("labels", new JsonObject().put("app", "app-" + random.nextInt(APPS))
                      .put("tier", List.of("front", "back", "edge").get(random.nextInt(3)))))));
        }
        io.vertx.core.Future.all(created).await(60, TimeUnit.SECONDS);
        String token = new JsonObject(fleet.api("POST", "/api/v1/clusters", new JsonObject().put("name", name)))
            .getString("token");
        java.nio.file.Path kubeconfig = dir.resolve(name + ".kubeconfig");
        java.nio.file.Files.writeString(kubeconfig, sim.kubeconfig(name));
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
            """.formatted(fleet.nodeA().port(), name, token, kubeconfig), Map.of());
        io.kmc.agent.AgentConfig config = io.kmc.agent.AgentConfig.read(reader);
        reader.finish();
        agents.add(io.kmc.agent.Agent.start(members, config, io.kmc.agent.Agent.kubeAccess(config))
            .await(60, TimeUnit.SECONDS));
        names.add(name);
      }
      for (String name : names) {
        fleet.awaitConnected(name, fleet.nodeA());
      }
      io.vertx.core.http.HttpClient client = members.createHttpClient(new io.vertx.core.http.HttpClientOptions(),
          new io.vertx.core.http.PoolOptions().setHttp1MaxSize(clusters));
      Histogram latency = new Histogram(3);
      for (int q = -5; q < queries; q++) {
        String selector = "app%3Dapp-" + random.nextInt(APPS);
        long started = System.nanoTime();
        List<io.vertx.core.Future<Integer>> answers = new ArrayList<>();
        for (String name : names) {
          answers.add(client.request(io.vertx.core.http.HttpMethod.GET, fleet.nodeB().port(), "127.0.0.1",
                  "/k8s/clusters/" + name + "/api/v1/configmaps?labelSelector=" + selector)
              .compose(request -> request.putHeader("Authorization", "Bearer " + fleet.adminToken()).send())
              .compose(response -> response.body().map(body -> response.statusCode())));
        }
        io.vertx.core.Future.all(answers).await(120, TimeUnit.SECONDS);
        for (io.vertx.core.Future<Integer> answer : answers) {
          if (answer.result() != 200) {
            throw new IllegalStateException("a fanned-out list answered " + answer.result());
          }
        }
        if (q >= 0) {
          latency.recordValue((System.nanoTime() - started) / 1000);
        }
      }
      return latency;
    } finally {
      for (io.kmc.agent.Agent agent : agents) {
        agent.stop().await(30, TimeUnit.SECONDS);
      }
      for (io.kmc.kubesim.KubeSim sim : sims) {
        sim.close().await(30, TimeUnit.SECONDS);
      }
      members.close().await(30, TimeUnit.SECONDS);
    }
  }

  /** Every object of the cluster, as an agent relists: batches between a relist start and end. */
  private void relist(StandInAgent standIn, int objects, Random random) throws InterruptedException {
    int batches = (objects + BATCH - 1) / BATCH;
    for (int b = 0; b < batches; b++) {
      List<Frame.IndexedObject> upserts = new ArrayList<>();
      for (int i = b * BATCH; i < Math.min(objects, (b + 1) * BATCH); i++) {
        Map<String, String> labels = new HashMap<>();
        labels.put("app", "app-" + random.nextInt(APPS));
        labels.put("tier", List.of("front", "back", "edge").get(random.nextInt(3)));
        labels.put("pod-template-hash", Long.toHexString(random.nextLong()).substring(0, 10));
        upserts.add(object("cm-" + i, labels));
      }
      standIn.send(batch(standIn, b + 1, upserts, b == 0, b == batches - 1, b == batches - 1 ? "bench:" + objects
          : null));
    }
    for (int b = 0; b < batches; b++) {
      if (!(standIn.next() instanceof Frame.IndexAck ack) || ack.error() != null) {
        throw new IllegalStateException("a batch was refused");
      }
    }
  }

  private static Frame.Index batch(StandInAgent standIn, long seq, List<Frame.IndexedObject> upserts, boolean start,
                                   boolean end, String watermark) {
    return new Frame.Index(seq, "", "v1", "configmaps", "ConfigMap", true, watermark, start, end, upserts, List.of());
  }

  private static Frame.IndexedObject object(String name, Map<String, String> labels) {
    return new Frame.IndexedObject(java.util.UUID.randomUUID().toString(), "ns-" + (name.hashCode() & 7), name,
        "1", labels, null, "2026-12-01T10:00:00Z", Map.of());
  }

  private JsonObject search(Fleet fleet, String query) throws Exception {
    return new JsonObject(fleet.api("GET", "/api/v1/search?" + query, null));
  }


  private static String ms(long micros) {
    return String.format("%.1f ms", micros / 1000.0);
  }
}
