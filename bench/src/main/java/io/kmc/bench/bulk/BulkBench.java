package io.kmc.bench.bulk;

import io.kmc.bench.fleet.Fleet;
import io.kmc.bench.load.JvmProcess;
import io.kmc.bench.load.ProcessCpu;
import io.kmc.bench.load.Target;
import io.kmc.bench.report.Flags;
import io.kmc.bench.report.MachineInfo;
import io.kmc.hub.api.KubePassthrough;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A list of many large ConfigMaps (by default 3,000 of 4 KB, about 13 MB of JSON), fetched one at a
 * time on a keep-alive connection, as {@code kubectl get cm -A} or a controller's first list would:
 * straight from the simulator, through the bare proxy, through the hub node holding the agent and
 * across two nodes, with protocol v2 agents and (for comparison) a v1 agent, in the same run. The
 * agents run in JVMs of their own, so that the CPU of the hub can be told apart: for every target
 * the CPU of everything (this JVM, its children, PostgreSQL) per list, minus the agents' processes,
 * minus what the direct target cost (client and simulator, which every target pays the same) is
 * what the hub (or the bare proxy) spent.
 */
public final class BulkBench {

  public static final String USAGE = """
      bulk [--objects N] [--object-kb N] [--requests N] [--rounds N] [--warmup N] [--v1 true|false]
        --objects N     ConfigMaps in the listed namespace (default 3000)
        --object-kb N   size of each ConfigMap's data in KiB (default 4)
        --requests N    lists per target and round, one at a time (default 5)
        --rounds N      rounds; the order of targets rotates (default 5)
        --warmup N      unmeasured lists per target before the first round, for the JIT (default 10)
        --v1 B          also measure through a v1 agent (default true)""";

  public static final Map<String, String> DEFAULTS = Map.of("--objects", "3000", "--object-kb", "4", "--requests", "5",
      "--rounds", "5", "--warmup", "10", "--v1", "true");

  private static final String NAMESPACE = "bulk";
  private static final String CLUSTER = "bench";
  private static final String CLUSTER_V1 = "bench-v1";
  private static final String LIST_PATH = "/api/v1/namespaces/" + NAMESPACE + "/configmaps";

  private final Flags flags;
  private final PrintStream out;

  public BulkBench(Flags flags, PrintStream out) {
    this.flags = flags;
    this.out = out;
  }

  public void run() throws Exception {
    int objects = flags.integer("--objects", 1, 100_000);
    int objectKb = flags.integer("--object-kb", 0, 512);
    int requests = flags.integer("--requests", 1, 1000);
    int rounds = flags.integer("--rounds", 1, 100);
    int warmup = flags.integer("--warmup", 0, 1000);
    boolean v1 = flags.bool("--v1");
    long began = System.nanoTime();
    MachineInfo.printHeader(out, "bulk-list", flags.describe());

    List<Fleet.AgentSpec> agents = new ArrayList<>();
    agents.add(new Fleet.AgentSpec(CLUSTER, List.of(2), List.of(Fleet.NODE_A), true, 0));
    if (v1) {
      agents.add(new Fleet.AgentSpec(CLUSTER_V1, List.of(1), List.of(Fleet.NODE_A), true, 0));
    }
    Vertx clientVertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(1));
    try (Fleet fleet = Fleet.start(new Fleet.Spec(agents))) {
      seed(fleet, objects, objectKb);
      String hubPath = KubePassthrough.PREFIX + CLUSTER + LIST_PATH;
      String hubPathV1 = KubePassthrough.PREFIX + CLUSTER_V1 + LIST_PATH;
      List<Target> targets = new ArrayList<>(List.of(
          new Target("direct", "127.0.0.1", fleet.sim().port(), LIST_PATH, fleet.simToken()),
          new Target("bare proxy", "127.0.0.1", fleet.bareProxyPort(), LIST_PATH, fleet.simToken()),
          new Target("one node (v2)", "127.0.0.1", fleet.nodeA().port(), hubPath, fleet.adminToken()),
          new Target("two nodes (v2)", "127.0.0.1", fleet.nodeB().port(), hubPath, fleet.adminToken())));
      if (v1) {
        targets.add(new Target("one node (v1)", "127.0.0.1", fleet.nodeA().port(), hubPathV1, fleet.adminToken()));
        targets.add(new Target("two nodes (v1)", "127.0.0.1", fleet.nodeB().port(), hubPathV1, fleet.adminToken()));
      }
      Map<String, JvmProcess> agentProcesses = new LinkedHashMap<>();
      agentProcesses.put(CLUSTER, new JvmProcess(fleet.agentProcess(CLUSTER).pid()));
      if (v1) {
        agentProcesses.put(CLUSTER_V1, new JvmProcess(fleet.agentProcess(CLUSTER_V1).pid()));
      }
      ProcessCpu everything = new ProcessCpu(fleet.processMarkers());
      HttpClient client = clientVertx.createHttpClient(new HttpClientOptions().setKeepAlive(true)
          .setMaxInitialLineLength(8192), new PoolOptions().setHttp1MaxSize(1));

      Buffer expected = null;
      for (Target target : targets) {
        Buffer body = awaitList(client, target);
        if (expected == null) {
          expected = body;
        } else if (!expected.equals(body)) {
          throw new IllegalStateException(target.name() + " answered " + body.length() + " bytes, not the "
              + expected.length() + " bytes direct gave (or different ones)");
        }
      }
      out.printf("fleet started; every target lists the same %d ConfigMaps: %d bytes (%.1f MB)%n", objects,
          expected.length(), expected.length() / 1e6);
      out.printf("warming up: %d lists per target%n", warmup);
      for (Target target : targets) {
        for (int i = 0; i < warmup; i++) {
          list(client, target, expected);
        }
      }

      Map<String, BulkReport.Samples> samples = new LinkedHashMap<>();
      targets.forEach(t -> samples.put(t.name(), new BulkReport.Samples()));
      for (int round = 0; round < rounds; round++) {
        out.printf("round %d of %d (load average %s)%n", round + 1, rounds,
            MachineInfo.currentLoadAverage().orElse("unknown"));
        List<Target> order = new ArrayList<>(targets);
        java.util.Collections.rotate(order, -(round % targets.size()));
        for (Target target : order) {
          BulkReport.Samples s = samples.get(target.name());
          long cpuBefore = everything.getAsLong();
          long agentsBefore = agentCpu(agentProcesses);
          List<Long> walls = new ArrayList<>();
          for (int i = 0; i < requests; i++) {
            walls.add(list(client, target, expected));
          }
          long cpu = everything.getAsLong() - cpuBefore;
          long agentCpu = agentCpu(agentProcesses) - agentsBefore;
          s.add(walls, cpu / requests, agentCpu / requests);
          out.printf("  %tT %-15s median %.3f s  CPU %.0f ms/list (agents %.0f ms)%n", System.currentTimeMillis(),
              target.name(), BulkReport.medianNanos(walls) / 1e9, cpu / 1e6 / requests, agentCpu / 1e6 / requests);
        }
      }
      BulkReport report = new BulkReport(expected.length(), samples);
      out.println();
      out.printf("## Listing %d × %d KiB ConfigMaps (%.1f MB), one at a time; %d lists per target in each of %d "
          + "round(s)%n%n", objects, objectKb, expected.length() / 1e6, requests, rounds);
      out.print(report.table());
      out.println();
      report.verdicts().forEach(line -> out.println("- " + line));
      out.println();
      client.close().await(10, TimeUnit.SECONDS);
    } finally {
      clientVertx.close().await(30, TimeUnit.SECONDS);
    }
    out.printf("total time %.0f s%n", (System.nanoTime() - began) / 1e9);
  }

  private static long agentCpu(Map<String, JvmProcess> agents) {
    return agents.values().stream().mapToLong(JvmProcess::cpuNanos).sum();
  }

  /** {@code objects} ConfigMaps in their own namespace, each with {@code objectKb} KiB of printable data. */
  private void seed(Fleet fleet, int objects, int objectKb) {
    await(fleet.sim().create(new JsonObject().put("apiVersion", "v1").put("kind", "Namespace")
        .put("metadata", new JsonObject().put("name", NAMESPACE))));
    ThreadLocalRandom random = ThreadLocalRandom.current();
    List<Future<JsonObject>> created = new ArrayList<>();
    for (int i = 0; i < objects; i++) {
      StringBuilder payload = new StringBuilder(objectKb * 1024);
      while (payload.length() < objectKb * 1024) {
        payload.append((char) ('a' + random.nextInt(26)));
      }
      created.add(fleet.sim().create(new JsonObject().put("apiVersion", "v1").put("kind", "ConfigMap")
          .put("metadata", new JsonObject().put("name", String.format("bulk-%05d", i)).put("namespace", NAMESPACE))
          .put("data", new JsonObject().put("payload", payload.toString()))));
      if (created.size() == 200) {
        await(Future.all(created));
        created.clear();
      }
    }
    await(Future.all(created));
  }

  /** Retries for a while: node B learns where the agents are through Hazelcast, a moment after node A. */
  private static Buffer awaitList(HttpClient client, Target target) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    String last;
    do {
      try {
        Answer answer = get(client, target);
        if (answer.status() == 200) {
          return answer.body();
        }
        last = "HTTP " + answer.status() + ": " + answer.body().getString(0, Math.min(500, answer.body().length()));
      } catch (IllegalStateException e) {
        last = e.getMessage();
      }
      Fleet.sleep(100);
    } while (System.nanoTime() < deadline);
    throw new IllegalStateException(target.name() + " (" + target.url() + ") did not answer 200 within 30 s: " + last);
  }

  /** One list; its wall time in nanoseconds, from sending to the last byte. Anything but the expected body fails. */
  private static long list(HttpClient client, Target target, Buffer expected) {
    long start = System.nanoTime();
    Answer answer = get(client, target);
    long wall = System.nanoTime() - start;
    if (answer.status() != 200 || !expected.equals(answer.body())) {
      throw new IllegalStateException(target.name() + " answered " + answer.status() + " with " + answer.body().length()
          + " bytes instead of the expected " + expected.length());
    }
    return wall;
  }

  private record Answer(int status, Buffer body) {
  }

  private static Answer get(HttpClient client, Target target) {
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.GET).setHost(target.host())
        .setPort(target.port()).setURI(target.path()).setTimeout(120_000)
        .putHeader("Accept", "application/json")
        .putHeader("Authorization", "Bearer " + target.bearerToken());
    return await(client.request(options).compose(HttpClientRequest::send)
        .compose(response -> response.body().map(body -> new Answer(response.statusCode(), body))));
  }

  private static <T> T await(Future<T> future) {
    try {
      return future.await(5, TimeUnit.MINUTES);
    } catch (Exception e) {
      throw new IllegalStateException(e.getMessage(), e);
    }
  }
}
