package io.kmc.hub;

import io.kmc.hub.support.Fleet;
import io.kmc.kubesim.Kubectl;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The shipped policies, loaded through the API on one hub node, enforced on writes that unmodified
 * kubectl sends through the other: a refusal kubectl prints with every violated policy's message, a
 * warning kubectl shows, patches checked by their result, the audit record and the metric.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class PolicyIT {

  private static Fleet fleet;
  private static Hub nodeA;
  private static Hub nodeB;
  private static Kubectl kubectl;

  @BeforeAll
  static void start() throws IOException, InterruptedException {
    fleet = new Fleet().tls();
    fleet.cluster("prod");
    List<Hub> hubs = fleet.hubs(2);
    nodeA = hubs.get(0);
    nodeB = hubs.get(1);
    fleet.agent("prod", nodeB);
    fleet.awaitConnected(nodeA, "prod");
    Path kubeconfig = fleet.kubeconfig(nodeA, "prod");
    List<Path> binaries = Kubectl.available();
    assertFalse(binaries.isEmpty(), "no kubectl found; CI installs it with: apt-get install -y kubernetes-client");
    kubectl = new Kubectl(binaries.get(0), kubeconfig, Files.createTempDirectory(fleet.workDir(), "kubectl"));

    // The shipped examples, as YAML, through node B; node A hears of them on the event bus.
    try (Stream<Path> files = Files.list(Path.of("..", "config", "policies"))) {
      for (Path file : files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
        HttpResponse<String> created = yaml(nodeB, "POST", "/api/v1/policies", Files.readString(file));
        assertEquals(201, created.statusCode(), file + ": " + created.body());
      }
    }
    Fleet.eventually(Duration.ofSeconds(10), () -> new JsonObject(evaluate(nodeA, new JsonObject()
        .put("object", deployment("probe", "r/x:1", 1)).put("cluster", "prod")).body())
        .getInteger("evaluated") == 6, "node A enforces the six shipped policies");
    kubectl.ok("create", "namespace", "shop");
  }

  @AfterAll
  static void stop() {
    fleet.close();
  }

  @Test
  void kubectlApplyOfAViolatingManifestIsRefusedWithEveryPolicysMessage() throws Exception {
    Instant since = Instant.now().minusSeconds(1);
    Path manifest = kubectl.write("bad.yaml", manifest("bad", "docker.io/nginx:latest", 50, ""));
    Kubectl.Result refused = kubectl.run("apply", "-f", manifest.toString());
    String output = refused.output();
    assertNotEquals(0, refused.exitCode(), output);
    assertTrue(output.contains("Error from server (Forbidden)"), output);
    assertTrue(output.contains("Deployment \"bad\" was refused by 4 kmc policies"), output);
    assertTrue(output.contains("[required-labels] Deployment bad must have the labels team and app.kubernetes.io/name"),
        output);
    assertTrue(output.contains("[no-latest-tag] pin the image to a version or digest (no tag means latest): "
        + "web=docker.io/nginx:latest"), output);
    assertTrue(output.contains("[max-replicas] replicas 50 is more than the 10 allowed in cluster prod"), output);
    assertTrue(output.contains("[image-registries] images must come from"), output);
    assertFalse(output.contains("resource-limits"), "a warning is no reason for a refusal: " + output);
    Kubectl.Result missing = kubectl.run("-n", "shop", "get", "deployment", "bad");
    assertTrue(missing.exitCode() != 0 && missing.output().contains("NotFound"), missing.output());

    JsonObject record = awaitAuditRecord(since, r -> r.getInteger("status") == 403
        && "deployments".equals(r.getString("resource")) && r.getString("detail", "").contains("no-latest-tag"));
    String detail = record.getString("detail");
    assertTrue(detail.startsWith("policy violations: "), detail);
    assertTrue(detail.contains("deny max-replicas: replicas 50 is more than the 10 allowed in cluster prod"), detail);
    assertTrue(detail.contains("warn resource-limits: containers without cpu and memory limits: web"), detail);
    assertEquals("admin", record.getString("user"));
    assertEquals("prod", record.getString("cluster"));

    String metrics = fleet.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + nodeA.managementPort()
        + "/metrics")).build()).body();
    assertTrue(metrics.lines().anyMatch(line -> line.startsWith("kmc_policy_violations_total{")
        && line.contains("policy=\"no-latest-tag\"") && line.contains("action=\"deny\"")
        && line.contains("cluster=\"prod\"")), metrics);
  }

  @Test
  void aWarningIsShownByKubectlAndTheWriteGoesThrough() throws Exception {
    Instant since = Instant.now().minusSeconds(1);
    Path manifest = kubectl.write("warned.yaml", manifest("warned", "registry.example.com/web:1.4", 2, ""));
    String output = kubectl.ok("apply", "-f", manifest.toString());
    assertTrue(output.contains("Warning: policy resource-limits: containers without cpu and memory limits: web"),
        output);
    assertTrue(output.contains("deployment.apps/warned created"), output);
    JsonObject record = awaitAuditRecord(since, r -> r.getInteger("status") == 201
        && r.getString("detail", "").contains("warn resource-limits"));
    assertEquals("create", record.getString("verb"));
  }

  /** kubectl patch, set image and a second apply are patches: what they would make of the object is checked. */
  @Test
  void aPatchIsCheckedByTheObjectItWouldMake() throws Exception {
    Path manifest = kubectl.write("patched.yaml", manifest("patched", "registry.example.com/web:1.4", 2, limits()));
    String created = kubectl.ok("apply", "-f", manifest.toString());
    assertFalse(created.contains("Warning"), created);

    Kubectl.Result merge = kubectl.run("-n", "shop", "patch", "deployment", "patched", "--type=merge",
        "-p", "{\"spec\":{\"replicas\":50}}");
    assertNotEquals(0, merge.exitCode(), merge.output());
    assertTrue(merge.output().contains("[max-replicas] replicas 50 is more than the 10 allowed in cluster prod"),
        merge.output());

    Kubectl.Result json = kubectl.run("-n", "shop", "patch", "deployment", "patched", "--type=json",
        "-p", "[{\"op\":\"replace\",\"path\":\"/spec/replicas\",\"value\":60}]");
    assertNotEquals(0, json.exitCode(), json.output());
    assertTrue(json.output().contains("replicas 60 is more than the 10 allowed"), json.output());

    // kubectl set image sends a strategic merge patch naming one container.
    Kubectl.Result strategic = kubectl.run("-n", "shop", "set", "image", "deployment/patched",
        "web=registry.example.com/web:latest");
    assertNotEquals(0, strategic.exitCode(), strategic.output());
    assertTrue(strategic.output().contains("[no-latest-tag]"), strategic.output());

    // A second apply is a strategic merge patch computed by kubectl from the last applied configuration.
    kubectl.write("patched.yaml", manifest("patched", "registry.example.com/web:latest", 2, limits()));
    Kubectl.Result reapplied = kubectl.run("apply", "-f", manifest.toString());
    assertNotEquals(0, reapplied.exitCode(), reapplied.output());
    assertTrue(reapplied.output().contains("web=registry.example.com/web:latest"), reapplied.output());

    Kubectl.Result serverSide = kubectl.run("apply", "--server-side", "--force-conflicts", "-f", manifest.toString());
    assertNotEquals(0, serverSide.exitCode(), serverSide.output());
    assertTrue(serverSide.output().contains("[no-latest-tag]"), serverSide.output());

    // kubectl scale patches the Scale subresource: the Deployment with its new replicas is checked.
    Kubectl.Result scaled = kubectl.run("-n", "shop", "scale", "deployment", "patched", "--replicas=40");
    assertNotEquals(0, scaled.exitCode(), scaled.output());
    assertTrue(scaled.output().contains("[max-replicas] replicas 40 is more than the 10 allowed in cluster prod"),
        scaled.output());
    kubectl.ok("-n", "shop", "scale", "deployment", "patched", "--replicas=4");

    // What complies goes through, and nothing refused was written.
    kubectl.ok("-n", "shop", "patch", "deployment", "patched", "--type=merge", "-p", "{\"spec\":{\"replicas\":3}}");
    assertEquals("3 registry.example.com/web:1.4", kubectl.ok("-n", "shop", "get", "deployment", "patched", "-o",
        "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image}").trim());
  }

  /**
   * Writes the hub cannot read itself (protobuf, which newer kubectl sends for kubectl create
   * deployment, and JSON without apiVersion and kind) are checked by what a dry run on the member
   * cluster makes of them.
   */
  @Test
  void writesTheHubCannotReadItselfAreCheckedByADryRun() throws Exception {
    Kubectl.Result refused = kubectl.run("-n", "shop", "create", "deployment", "plain", "--image=nginx");
    assertNotEquals(0, refused.exitCode(), refused.output());
    assertTrue(refused.output().contains("[no-latest-tag] pin the image to a version or digest (no tag means latest): "
        + "nginx=nginx"), refused.output());

    HttpResponse<String> protobuf = fleet.send(HttpRequest.newBuilder(
            fleet.uri(nodeA, "/k8s/clusters/prod/apis/apps/v1/namespaces/shop/deployments"))
        .header("Authorization", "Bearer " + fleet.adminToken())
        .header("Content-Type", "application/vnd.kubernetes.protobuf").header("Accept", "application/json")
        .POST(HttpRequest.BodyPublishers.ofByteArray(protobufDeployment("proto", "nginx"))).build());
    assertEquals(403, protobuf.statusCode(), protobuf.body());
    assertTrue(new JsonObject(protobuf.body()).getString("message").contains(
        "[no-latest-tag] pin the image to a version or digest (no tag means latest): nginx=nginx"), protobuf.body());
    HttpResponse<String> pinned = fleet.send(HttpRequest.newBuilder(
            fleet.uri(nodeA, "/k8s/clusters/prod/apis/apps/v1/namespaces/shop/deployments"))
        .header("Authorization", "Bearer " + fleet.adminToken())
        .header("Content-Type", "application/vnd.kubernetes.protobuf").header("Accept", "application/json")
        .POST(HttpRequest.BodyPublishers.ofByteArray(protobufDeployment("proto", "registry.example.com/web:2")))
        .build());
    assertEquals(403, pinned.statusCode(), "the labels are still missing: " + pinned.body());
    assertFalse(pinned.body().contains("no-latest-tag"), pinned.body());
    for (String name : List.of("plain", "proto")) {
      Kubectl.Result missing = kubectl.run("-n", "shop", "get", "deployment", name);
      assertTrue(missing.exitCode() != 0 && missing.output().contains("NotFound"), missing.output());
    }

    // Without apiVersion and kind the API server takes them from the path; so does the hub, by a dry run.
    JsonObject untyped = deployment("untyped", "nginx", 1);
    untyped.remove("apiVersion");
    untyped.remove("kind");
    HttpResponse<String> answer = fleet.call(nodeA, "POST", "/k8s/clusters/prod/apis/apps/v1/namespaces/shop/deployments",
        fleet.adminToken(), untyped);
    assertEquals(403, answer.statusCode(), answer.body());
    JsonObject status = new JsonObject(answer.body());
    assertEquals("Status", status.getString("kind"));
    assertTrue(status.getString("message").startsWith("Deployment \"untyped\" was refused by"), answer.body());
    assertTrue(status.getJsonObject("details").getJsonArray("causes").stream().map(JsonObject.class::cast)
        .anyMatch(cause -> "policy/no-latest-tag".equals(cause.getString("field"))), answer.body());
    // Kinds no policy looks at go straight through.
    kubectl.ok("-n", "shop", "create", "configmap", "free", "--from-literal=k=v");
  }

  @Test
  void evaluateDryRunsAManifestAgainstThePolicies() throws Exception {
    HttpResponse<String> bare = yaml(nodeA, "POST", "/api/v1/policies/evaluate",
        manifest("dry", "docker.io/nginx:latest", 1, ""));
    assertEquals(200, bare.statusCode(), bare.body());
    JsonObject verdict = new JsonObject(bare.body());
    assertFalse(verdict.getBoolean("allowed"));
    List<String> violated = verdict.getJsonArray("violations").stream()
        .map(v -> ((JsonObject) v).getString("policy")).sorted().toList();
    // No cluster given: max-replicas, which selects clusters by label, does not apply.
    assertEquals(List.of("image-registries", "no-latest-tag", "required-labels", "resource-limits"), violated);

    JsonObject candidate = new JsonObject().put("apiVersion", "kmc.io/v1alpha1").put("kind", "Policy")
        .put("metadata", new JsonObject().put("name", "small"))
        .put("spec", new JsonObject().put("action", "warn").put("validations", new JsonArray()
            .add(new JsonObject().put("expression", "object.spec.replicas < 2").put("messageExpression",
                "'too many in ' + cluster.name + ' (' + cluster.labels.env + ')'"))));
    HttpResponse<String> tried = evaluate(nodeA, new JsonObject().put("object", deployment("dry", "r/x:1", 5))
        .put("cluster", "prod").put("policy", candidate));
    assertEquals(200, tried.statusCode(), tried.body());
    assertEquals(new JsonObject().put("allowed", true).put("evaluated", 1).put("violations", new JsonArray()
        .add(new JsonObject().put("policy", "small").put("action", "warn").put("message", "too many in prod (test)"))),
        new JsonObject(tried.body()));
  }

  @Test
  void aRunawayExpressionIsStoppedByTheCostLimitWithAClearError() throws Exception {
    String policy = """
        apiVersion: kmc.io/v1alpha1
        kind: Policy
        metadata:
          name: runaway
        spec:
          match:
            kinds: [ConfigMap]
            namespaces: [runaway]
          validations:
            - expression: "object.data.all(a, object.data.all(b, object.data.all(c, a + b + c != '')))"
        """;
    assertEquals(201, yaml(nodeA, "POST", "/api/v1/policies", policy).statusCode());
    kubectl.ok("create", "namespace", "runaway");
    StringBuilder configMap = new StringBuilder("""
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: big
          namespace: runaway
        data:
        """);
    for (int i = 0; i < 100; i++) {
      configMap.append("  key").append(i).append(": value\n");
    }
    Path file = kubectl.write("big.yaml", configMap.toString());
    long started = System.nanoTime();
    Kubectl.Result refused = kubectl.run("apply", "-f", file.toString());
    long seconds = (System.nanoTime() - started) / 1_000_000_000;
    assertNotEquals(0, refused.exitCode(), refused.output());
    assertTrue(refused.output().contains("[runaway] expression 'object.data.all(a, object.data.all(b, "
        + "object.data.all(c, a + b + c != '')))' failed: the cost limit of 100000 (policy.cost_limit) was exceeded"),
        refused.output());
    assertTrue(seconds < 10, "kubectl took " + seconds + " s");
    assertEquals(204, fleet.call(nodeA, "DELETE", "/api/v1/policies/runaway", fleet.adminToken(), null).statusCode());
    Fleet.eventually(Duration.ofSeconds(10), () -> {
      try {
        return kubectl.run("apply", "-f", file.toString()).exitCode() == 0;
      } catch (IOException | InterruptedException e) {
        throw new AssertionError(e);
      }
    }, "the configmap is accepted once the policy is deleted");
  }

  @Test
  void badPoliciesAndCallersGetClearAnswers() throws Exception {
    HttpResponse<String> invalid = yaml(nodeA, "POST", "/api/v1/policies", policy("bad-cel",
        "expression: \"object.spec.replicas <= \""));
    assertEquals(400, invalid.statusCode(), invalid.body());
    assertTrue(message(invalid).startsWith("spec.validations[0].expression is not valid CEL: "), invalid.body());

    HttpResponse<String> typo = yaml(nodeA, "POST", "/api/v1/policies", policy("typo",
        "expression: \"true\"\n      mesage: \"typo\""));
    assertEquals(400, typo.statusCode(), typo.body());
    assertEquals("unknown field spec.validations[0].mesage (allowed here: expression, message, messageExpression)",
        message(typo));

    HttpResponse<String> oversized = yaml(nodeA, "POST", "/api/v1/policies", policy("long",
        "expression: \"" + "true && ".repeat(600) + "true\""));
    assertEquals(400, oversized.statusCode(), oversized.body());
    assertTrue(message(oversized).contains("characters long; at most 4096 are allowed"), oversized.body());

    HttpResponse<String> huge = yaml(nodeA, "POST", "/api/v1/policies", policy("huge",
        "expression: \"" + "x".repeat(4 * 1024 * 1024) + "\""));
    assertEquals(413, huge.statusCode());

    HttpResponse<String> notYaml = yaml(nodeA, "POST", "/api/v1/policies", "kind: [unclosed");
    assertEquals(400, notYaml.statusCode(), notYaml.body());
    assertTrue(message(notYaml).startsWith("the request body is not valid YAML"), notYaml.body());

    HttpResponse<String> duplicate = yaml(nodeA, "POST", "/api/v1/policies",
        Files.readString(Path.of("..", "config", "policies", "max-replicas.yaml")));
    assertEquals(409, duplicate.statusCode(), duplicate.body());

    // Only admins write policies.
    assertEquals(201, fleet.call(nodeA, "POST", "/api/v1/users", fleet.adminToken(),
        new JsonObject().put("name", "dora").put("password", "dora-password-123")).statusCode());
    String dora = fleet.login(nodeA, "dora", "dora-password-123");
    HttpResponse<String> forbidden = fleet.call(nodeA, "POST", "/api/v1/policies", dora,
        new JsonObject(policyJson("dora")));
    assertEquals(403, forbidden.statusCode(), forbidden.body());

    // Read back as YAML, replaced (generation 2), deleted.
    HttpResponse<String> read = fleet.send(HttpRequest.newBuilder(fleet.uri(nodeA, "/api/v1/policies/max-replicas"))
        .header("Authorization", "Bearer " + fleet.adminToken()).header("Accept", "application/yaml").build());
    assertEquals(200, read.statusCode(), read.body());
    assertTrue(read.body().contains("kind: Policy") && read.body().contains("name: max-replicas"), read.body());
    assertEquals(201, fleet.call(nodeA, "PUT", "/api/v1/policies/temporary", fleet.adminToken(),
        new JsonObject(policyJson("temporary"))).statusCode());
    HttpResponse<String> replaced = fleet.call(nodeA, "PUT", "/api/v1/policies/temporary", fleet.adminToken(),
        new JsonObject(policyJson("temporary")));
    assertEquals(200, replaced.statusCode(), replaced.body());
    assertEquals(2, new JsonObject(replaced.body()).getJsonObject("metadata").getInteger("generation"));
    assertEquals(204, fleet.call(nodeA, "DELETE", "/api/v1/policies/temporary", fleet.adminToken(), null)
        .statusCode());
    assertEquals(404, fleet.call(nodeA, "GET", "/api/v1/policies/temporary", fleet.adminToken(), null).statusCode());
  }

  private static String message(HttpResponse<String> response) {
    return new JsonObject(response.body()).getString("message");
  }

  private static String policy(String name, String validation) {
    return """
        apiVersion: kmc.io/v1alpha1
        kind: Policy
        metadata:
          name: %s
        spec:
          match:
            kinds: [Secret]
          validations:
            - %s
        """.formatted(name, validation);
  }

  private static String policyJson(String name) {
    return new JsonObject().put("apiVersion", "kmc.io/v1alpha1").put("kind", "Policy")
        .put("metadata", new JsonObject().put("name", name))
        .put("spec", new JsonObject().put("action", "audit").put("match", new JsonObject()
            .put("kinds", new JsonArray().add("Secret"))).put("validations", new JsonArray()
            .add(new JsonObject().put("expression", "true")))).encode();
  }

  private static HttpResponse<String> yaml(Hub via, String method, String path, String body) {
    return fleet.send(HttpRequest.newBuilder(fleet.uri(via, path))
        .header("Authorization", "Bearer " + fleet.adminToken()).header("Content-Type", "application/yaml")
        .method(method, HttpRequest.BodyPublishers.ofString(body)).build());
  }

  private static HttpResponse<String> evaluate(Hub via, JsonObject body) {
    return fleet.call(via, "POST", "/api/v1/policies/evaluate", fleet.adminToken(), body);
  }

  private static JsonObject awaitAuditRecord(Instant since, java.util.function.Predicate<JsonObject> wanted) {
    JsonObject[] found = new JsonObject[1];
    Fleet.eventually(Duration.ofSeconds(10), () -> {
      HttpResponse<String> page = fleet.call(nodeA, "GET", "/api/v1/audit?since=" + since + "&cluster=prod&limit=500",
          fleet.adminToken(), null);
      assertEquals(200, page.statusCode(), page.body());
      found[0] = new JsonObject(page.body()).getJsonArray("items").stream().map(JsonObject.class::cast)
          .filter(wanted).findFirst().orElse(null);
      return found[0] != null;
    }, "the audit record");
    return found[0];
  }

  private static String limits() {
    return """
                  resources:
                    limits: {cpu: 500m, memory: 128Mi}
        """;
  }

  private static JsonObject deployment(String name, String image, int replicas) {
    return new JsonObject().put("apiVersion", "apps/v1").put("kind", "Deployment")
        .put("metadata", new JsonObject().put("name", name).put("namespace", "shop"))
        .put("spec", new JsonObject().put("replicas", replicas).put("template", new JsonObject().put("spec",
            new JsonObject().put("containers", new JsonArray().add(new JsonObject().put("name", "web")
                .put("image", image))))));
  }

  /** A Deployment; labelled as required-labels wants unless its name is "bad". */
  private static String manifest(String name, String image, int replicas, String resources) {
    String labels = "bad".equals(name) || "dry".equals(name) ? "{app: " + name + "}"
        : "{app: " + name + ", team: shop, app.kubernetes.io/name: " + name + "}";
    return """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: %s
          namespace: shop
          labels: %s
        spec:
          replicas: %d
          selector:
            matchLabels: {app: %s}
          template:
            metadata:
              labels: {app: %s}
            spec:
              containers:
                - name: web
                  image: %s
        %s""".formatted(name, labels, replicas, name, name, image, resources);
  }

  /** A Deployment in Kubernetes' protobuf encoding: the magic bytes, then a runtime.Unknown holding the object. */
  private static byte[] protobufDeployment(String name, String image) {
    io.kubernetes.client.proto.Meta.ObjectMeta labelled = io.kubernetes.client.proto.Meta.ObjectMeta.newBuilder()
        .putLabels("app", name).build();
    byte[] raw = io.kubernetes.client.proto.V1Apps.Deployment.newBuilder()
        .setMetadata(io.kubernetes.client.proto.Meta.ObjectMeta.newBuilder().setName(name).setNamespace("shop"))
        .setSpec(io.kubernetes.client.proto.V1Apps.DeploymentSpec.newBuilder().setReplicas(1)
            .setSelector(io.kubernetes.client.proto.Meta.LabelSelector.newBuilder().putMatchLabels("app", name))
            .setTemplate(io.kubernetes.client.proto.V1.PodTemplateSpec.newBuilder().setMetadata(labelled)
                .setSpec(io.kubernetes.client.proto.V1.PodSpec.newBuilder().addContainers(
                    io.kubernetes.client.proto.V1.Container.newBuilder().setName("nginx").setImage(image)))))
        .build().toByteArray();
    byte[] unknown = io.kubernetes.client.proto.Runtime.Unknown.newBuilder()
        .setTypeMeta(io.kubernetes.client.proto.Runtime.TypeMeta.newBuilder().setApiVersion("apps/v1")
            .setKind("Deployment"))
        .setRaw(com.google.protobuf.ByteString.copyFrom(raw)).build().toByteArray();
    byte[] body = new byte[4 + unknown.length];
    System.arraycopy(new byte[] {'k', '8', 's', 0}, 0, body, 0, 4);
    System.arraycopy(unknown, 0, body, 4, unknown.length);
    return body;
  }
}
