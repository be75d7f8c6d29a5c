package io.kmc.bench.policy;

import io.kmc.bench.fleet.Fleet;
import io.kmc.bench.report.Flags;
import io.kmc.bench.report.MachineInfo;
import io.kmc.bench.report.Table;
import io.kmc.hub.policy.PolicyEngine;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.HdrHistogram.Histogram;
import org.yaml.snakeyaml.Yaml;

import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The CEL policies' cost: the engine alone evaluating one Deployment against {@code --policies}
 * policies (copies of the shipped config/policies, all matching, all passing), then the same
 * server-side apply of a Deployment through the hub's pass-through with 0 policies, with them, and
 * with 0 again, in one run.
 */
public final class PolicyBench {

  public static final String USAGE = """
      policy [--policies N] [--evaluations N] [--writes N] [--policy-dir DIR]
        --policies N     policies, copies of the shipped ones renamed (default 50)
        --evaluations N  measured engine evaluations, one object each (default 20000)
        --writes N       measured pass-through applies per phase (default 300)
        --policy-dir DIR the shipped policies (default config/policies)""";

  public static final Map<String, String> DEFAULTS = Map.of("--policies", "50", "--evaluations", "20000",
      "--writes", "300", "--policy-dir", "config/policies");

  private final Flags flags;
  private final PrintStream out;
  private final HttpClient http = HttpClient.newHttpClient();

  public PolicyBench(Flags flags, PrintStream out) {
    this.flags = flags;
    this.out = out;
  }

  public void run() throws Exception {
    int count = flags.integer("--policies", 1, 1_000);
    int evaluations = flags.integer("--evaluations", 1, 10_000_000);
    int writes = flags.integer("--writes", 1, 100_000);
    Path dir = Path.of(flags.string("--policy-dir"));
    MachineInfo.printHeader(out, "policy", flags.describe());
    List<JsonObject> shipped = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
        shipped.add(JsonObject.mapFrom(new Yaml().load(Files.readString(file))));
      }
    }
    if (shipped.isEmpty()) {
      throw new IllegalArgumentException("no policies in " + dir.toAbsolutePath());
    }
    List<JsonObject> manifests = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      JsonObject copy = shipped.get(i % shipped.size()).copy();
      copy.getJsonObject("metadata").put("name", copy.getJsonObject("metadata").getString("name") + "-" + i);
      manifests.add(copy);
    }

    // The engine on its own.
    PolicyEngine engine = new PolicyEngine(100_000, 4096);
    List<PolicyEngine.Compiled> compiled = new ArrayList<>();
    for (JsonObject manifest : manifests) {
      compiled.add(engine.compile(manifest));
    }
    Histogram perObject = new Histogram(3);
    int evaluated = 0;
    for (int i = -Math.min(evaluations, 20_000); i < evaluations; i++) {
      JsonObject object = deployment("web-" + (i & 1023), 3);
      PolicyEngine.Request request = new PolicyEngine.Request("CREATE", "member", Map.of("env", "test"),
          "Deployment", "apps", "v1", "deployments", null, "shop", "web-" + (i & 1023), "admin", List.of(), false,
          object, null);
      long started = System.nanoTime();
      PolicyEngine.Verdict verdict = engine.evaluate(compiled, request);
      long nanos = System.nanoTime() - started;
      if (!verdict.violations().isEmpty()) {
        throw new IllegalStateException("the bench object violates: " + verdict.violations());
      }
      if (i >= 0) {
        perObject.recordValue(Math.max(1, nanos / 100)); // 0.1 µs units
        evaluated = verdict.evaluated();
      }
    }

    // Through the hub: server-side apply (kubectl apply --server-side) of a Deployment, 0 / N / 0 policies.
    Histogram none = new Histogram(3);
    Histogram with = new Histogram(3);
    Histogram noneAgain = new Histogram(3);
    try (Fleet fleet = Fleet.start(new Fleet.Spec(List.of(Fleet.AgentSpec.inJvm("member"))))) {
      String base = "http://127.0.0.1:" + fleet.nodeA().port();
      call(fleet, base, "POST", "/k8s/clusters/member/api/v1/namespaces", "application/json",
          new JsonObject().put("apiVersion", "v1").put("kind", "Namespace")
              .put("metadata", new JsonObject().put("name", "shop")).encode(), true);
      applies(fleet, base, writes / 3, null);
      applies(fleet, base, writes, none);
      for (JsonObject manifest : manifests) {
        call(fleet, base, "POST", "/api/v1/policies", "application/json", manifest.encode(), false);
      }
      Thread.sleep(2_000); // every node has them (and the write below proves this node does)
      applies(fleet, base, writes / 3, null);
      applies(fleet, base, writes, with);
      for (JsonObject manifest : manifests) {
        call(fleet, base, "DELETE", "/api/v1/policies/" + manifest.getJsonObject("metadata").getString("name"),
            null, null, false);
      }
      Thread.sleep(2_000);
      applies(fleet, base, writes / 3, null);
      applies(fleet, base, writes, noneAgain);
    }

    out.println("## Policy evaluation: " + count + " policies (copies of the " + shipped.size()
        + " shipped ones), a compliant Deployment");
    out.println();
    out.println(new Table("measure", "p50", "p99", "max", "n")
        .row("engine alone: one object against " + count + " policies (" + evaluated + " matched and evaluated)",
            us(perObject.getValueAtPercentile(50) / 10.0), us(perObject.getValueAtPercentile(99) / 10.0),
            us(perObject.getMaxValue() / 10.0), String.valueOf(perObject.getTotalCount()))
        .row("server-side apply through the hub, 0 policies", ms(none.getValueAtPercentile(50)),
            ms(none.getValueAtPercentile(99)), ms(none.getMaxValue()), String.valueOf(none.getTotalCount()))
        .row("same, " + count + " policies", ms(with.getValueAtPercentile(50)), ms(with.getValueAtPercentile(99)),
            ms(with.getMaxValue()), String.valueOf(with.getTotalCount()))
        .row("same, 0 policies again (after deleting them)", ms(noneAgain.getValueAtPercentile(50)),
            ms(noneAgain.getValueAtPercentile(99)), ms(noneAgain.getMaxValue()),
            String.valueOf(noneAgain.getTotalCount()))
        .render());
    out.println();
    double baseline = (none.getValueAtPercentile(50) + noneAgain.getValueAtPercentile(50)) / 2.0;
    out.printf("engine p50 %.1f µs = %.1f%% of the 0-policy write's p50 (%.2f ms, mean of both 0-policy phases); "
            + "measured write p50 difference with %d policies: %+.2f ms (%+.1f%%)%n",
        perObject.getValueAtPercentile(50) / 10.0, perObject.getValueAtPercentile(50) / 10.0 / baseline * 100,
        baseline / 1000, count, (with.getValueAtPercentile(50) - baseline) / 1000,
        (with.getValueAtPercentile(50) - baseline) / baseline * 100);
  }

  private void applies(Fleet fleet, String base, int n, Histogram into) throws Exception {
    for (int i = 0; i < n; i++) {
      String name = "web-" + (i % 20);
      String body = deployment(name, 1 + (i % 3)).encode();
      long started = System.nanoTime();
      call(fleet, base, "PATCH", "/k8s/clusters/member/apis/apps/v1/namespaces/shop/deployments/" + name
          + "?fieldManager=kubectl&force=true", "application/apply-patch+yaml", body, false);
      if (into != null) {
        into.recordValue((System.nanoTime() - started) / 1000);
      }
    }
  }

  /** Passes every shipped policy: pinned image from the allowed registry, owner labels, limits, few replicas. */
  static JsonObject deployment(String name, int replicas) {
    JsonObject container = new JsonObject().put("name", "app").put("image", "registry.example.com/web:1.4.2")
        .put("resources", new JsonObject().put("limits", new JsonObject().put("cpu", "500m").put("memory", "256Mi")));
    return new JsonObject().put("apiVersion", "apps/v1").put("kind", "Deployment")
        .put("metadata", new JsonObject().put("name", name).put("namespace", "shop")
            .put("labels", new JsonObject().put("team", "shop").put("app.kubernetes.io/name", "web")))
        .put("spec", new JsonObject().put("replicas", replicas)
            .put("selector", new JsonObject().put("matchLabels", new JsonObject().put("app", name)))
            .put("template", new JsonObject()
                .put("metadata", new JsonObject().put("labels", new JsonObject().put("app", name)))
                .put("spec", new JsonObject().put("containers", new JsonArray().add(container)))));
  }

  private String call(Fleet fleet, String base, String method, String path, String contentType, String body,
                      boolean tolerateConflict) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path))
        .header("Authorization", "Bearer " + fleet.adminToken())
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (contentType != null) {
      request.header("Content-Type", contentType);
    }
    HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() / 100 != 2 && !(tolerateConflict && response.statusCode() == 409)) {
      throw new IllegalStateException(method + " " + path + ": " + response.statusCode() + " " + response.body());
    }
    return response.body();
  }

  private static String us(double micros) {
    return String.format("%.1f µs", micros);
  }

  private static String ms(long micros) {
    return String.format("%.2f ms", micros / 1000.0);
  }
}
