package io.kmc.hub.policy;

import io.kmc.common.KmcException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The engine on its own: the shipped policies, matching, messages, the cost limit, bad input. */
class PolicyEngineTest {

  private final PolicyEngine engine = new PolicyEngine(100_000, 4096);

  static JsonObject yaml(String text) {
    return JsonObject.mapFrom(new Yaml().load(text));
  }

  static List<JsonObject> shippedPolicies() throws IOException {
    List<JsonObject> manifests = new ArrayList<>();
    try (Stream<Path> files = Files.list(Path.of("..", "config", "policies"))) {
      for (Path file : files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
        manifests.add(yaml(Files.readString(file)));
      }
    }
    return manifests;
  }

  static JsonObject deployment(String name, String image, int replicas, Map<String, String> labels) {
    JsonObject container = new JsonObject().put("name", "app").put("image", image);
    return new JsonObject().put("apiVersion", "apps/v1").put("kind", "Deployment")
        .put("metadata", new JsonObject().put("name", name).put("namespace", "shop").put("labels", new JsonObject(
            new java.util.LinkedHashMap<>(labels))))
        .put("spec", new JsonObject().put("replicas", replicas).put("template", new JsonObject()
            .put("spec", new JsonObject().put("containers", new JsonArray().add(container)))));
  }

  private PolicyEngine.Request create(JsonObject object, Map<String, String> clusterLabels) {
    JsonObject metadata = object.getJsonObject("metadata");
    String apiVersion = object.getString("apiVersion");
    return new PolicyEngine.Request("CREATE", "prod", clusterLabels, object.getString("kind"),
        apiVersion.contains("/") ? apiVersion.split("/")[0] : "", "v1", "deployments", null,
        metadata.getString("namespace"), metadata.getString("name"), "alice", List.of("dev"), false, object, null);
  }

  private List<PolicyEngine.Compiled> shipped() throws IOException {
    List<PolicyEngine.Compiled> compiled = new ArrayList<>();
    for (JsonObject manifest : shippedPolicies()) {
      compiled.add(engine.compile(manifest));
    }
    return compiled;
  }

  @Test
  void theShippedPoliciesCompileAndLetACompliantDeploymentThrough() throws IOException {
    List<PolicyEngine.Compiled> policies = shipped();
    assertEquals(6, policies.size());
    JsonObject good = deployment("web", "registry.example.com/web:1.4.2", 3,
        Map.of("team", "shop", "app.kubernetes.io/name", "web"));
    good.getJsonObject("spec").getJsonObject("template").getJsonObject("spec").getJsonArray("containers")
        .getJsonObject(0).put("resources", new JsonObject().put("limits",
            new JsonObject().put("cpu", "500m").put("memory", "256Mi")));
    PolicyEngine.Verdict verdict = engine.evaluate(policies, create(good, Map.of("env", "test")));
    assertEquals(List.of(), verdict.violations());
    assertEquals(6, verdict.evaluated());
  }

  @Test
  void aNonCompliantDeploymentViolatesEachShippedPolicyWithItsMessage() throws IOException {
    JsonObject bad = deployment("web", "docker.io/nginx:latest", 50, Map.of());
    bad.getJsonObject("spec").getJsonObject("template").getJsonObject("spec").getJsonArray("containers")
        .getJsonObject(0).put("securityContext", new JsonObject().put("privileged", true));
    PolicyEngine.Verdict verdict = engine.evaluate(shipped(), create(bad, Map.of("env", "test")));
    Map<String, PolicyEngine.Violation> byPolicy = new java.util.HashMap<>();
    verdict.violations().forEach(v -> byPolicy.put(v.policy(), v));
    assertEquals(6, byPolicy.size(), verdict.toString());
    assertEquals("Deployment web must have the labels team and app.kubernetes.io/name",
        byPolicy.get("required-labels").message());
    assertEquals("images must come from registry.example.com/ or ghcr.io/example/; not allowed: docker.io/nginx:latest",
        byPolicy.get("image-registries").message());
    assertEquals("pin the image to a version or digest (no tag means latest): app=docker.io/nginx:latest",
        byPolicy.get("no-latest-tag").message());
    assertEquals("containers without cpu and memory limits: app", byPolicy.get("resource-limits").message());
    assertEquals(Policy.Action.WARN, byPolicy.get("resource-limits").action());
    assertEquals("replicas 50 is more than the 10 allowed in cluster prod", byPolicy.get("max-replicas").message());
    assertEquals("privileged containers are not allowed", byPolicy.get("no-privileged").message());
    assertTrue(verdict.denied());
  }

  @Test
  void matchRulesSelectKindsClustersAndNamespaces() throws IOException {
    JsonObject tooMany = deployment("web", "registry.example.com/web:1", 50,
        Map.of("team", "shop", "app.kubernetes.io/name", "web"));
    List<PolicyEngine.Compiled> policies = shipped();
    // max-replicas selects clusters labelled env=test only.
    assertTrue(engine.evaluate(policies, create(tooMany, Map.of("env", "prod"))).violations().stream()
        .noneMatch(v -> v.policy().equals("max-replicas")));
    // An image without a tag is latest; a digest is pinned.
    JsonObject untagged = deployment("web", "registry.example.com/web", 1, Map.of("team", "a",
        "app.kubernetes.io/name", "web"));
    assertTrue(engine.evaluate(policies, create(untagged, Map.of())).violations().stream()
        .anyMatch(v -> v.policy().equals("no-latest-tag")));
    JsonObject digest = deployment("web", "registry.example.com:5000/web@sha256:abc", 1, Map.of("team", "a",
        "app.kubernetes.io/name", "web"));
    assertTrue(engine.evaluate(policies, create(digest, Map.of())).violations().stream()
        .noneMatch(v -> v.policy().equals("no-latest-tag")));
    // A ConfigMap is no kind any shipped policy looks at.
    JsonObject configMap = new JsonObject().put("apiVersion", "v1").put("kind", "ConfigMap")
        .put("metadata", new JsonObject().put("name", "c").put("namespace", "shop"));
    assertEquals(0, engine.evaluate(policies, create(configMap, Map.of())).evaluated());
  }

  @Test
  void variablesAreThoseOfAValidatingAdmissionPolicy() {
    PolicyEngine.Compiled policy = engine.compile(yaml("""
        apiVersion: kmc.io/v1alpha1
        kind: Policy
        metadata: {name: variables}
        spec:
          validations:
            - expression: >-
                oldObject == null && request.operation == 'CREATE' && request.userInfo.username == 'alice' &&
                request.namespace == 'shop' && request.kind.group == 'apps' && cluster.name == 'prod' &&
                cluster.labels.env == 'test' && object.spec.replicas == 2 && 'dev' in request.userInfo.groups
        """));
    JsonObject object = deployment("web", "x:1", 2, Map.of());
    assertEquals(List.of(), engine.evaluate(List.of(policy), create(object, Map.of("env", "test"))).violations());
    assertEquals(1, engine.evaluate(List.of(policy), create(object, Map.of("env", "prod"))).violations().size());
  }

  @Test
  void aRunawayExpressionIsStoppedByTheCostLimit() {
    PolicyEngine small = new PolicyEngine(10_000, 4096);
    PolicyEngine.Compiled runaway = small.compile(yaml("""
        apiVersion: kmc.io/v1alpha1
        kind: Policy
        metadata: {name: runaway}
        spec:
          validations:
            - expression: >-
                object.spec.template.spec.containers.all(a, object.spec.template.spec.containers.all(b,
                  object.spec.template.spec.containers.all(c, a.name + b.name + c.name != '')))
        """));
    JsonObject object = deployment("web", "x:1", 1, Map.of());
    JsonArray containers = object.getJsonObject("spec").getJsonObject("template").getJsonObject("spec")
        .getJsonArray("containers");
    for (int i = 0; i < 200; i++) {
      containers.add(new JsonObject().put("name", "c" + i).put("image", "x:1"));
    }
    long started = System.nanoTime();
    List<PolicyEngine.Violation> violations = small.evaluate(List.of(runaway), create(object, Map.of())).violations();
    long millis = (System.nanoTime() - started) / 1_000_000;
    assertEquals(1, violations.size());
    assertTrue(violations.get(0).message().contains("the cost limit of 10000 (policy.cost_limit) was exceeded"),
        violations.get(0).message());
    assertTrue(millis < 1_000, "stopped after " + millis + " ms");

    PolicyEngine.Compiled ignored = small.compile(yaml("""
        apiVersion: kmc.io/v1alpha1
        kind: Policy
        metadata: {name: runaway}
        spec:
          failurePolicy: Ignore
          validations:
            - expression: >-
                object.spec.template.spec.containers.all(a, object.spec.template.spec.containers.all(b,
                  object.spec.template.spec.containers.all(c, a.name + b.name + c.name != '')))
        """));
    assertEquals(List.of(), small.evaluate(List.of(ignored), create(object, Map.of())).violations());
  }

  @Test
  void badPoliciesAreRefusedWithTheReason() {
    KmcException invalid = assertThrows(KmcException.class, () -> engine.compile(yaml("""
        apiVersion: kmc.io/v1alpha1
        kind: Policy
        metadata: {name: bad}
        spec:
          validations:
            - expression: "object.spec.replicas <="
        """)));
    assertEquals(400, invalid.status());
    assertTrue(invalid.getMessage().startsWith("spec.validations[0].expression is not valid CEL: "),
        invalid.getMessage());

    KmcException notBool = assertThrows(KmcException.class, () -> engine.compile(yaml("""
        apiVersion: kmc.io/v1alpha1
        kind: Policy
        metadata: {name: bad}
        spec:
          validations:
            - expression: "'a string'"
        """)));
    assertTrue(notBool.getMessage().contains("spec.validations[0].expression"), notBool.getMessage());

    KmcException unknown = assertThrows(KmcException.class, () -> engine.compile(yaml("""
        apiVersion: kmc.io/v1alpha1
        kind: Policy
        metadata: {name: bad}
        spec:
          validations:
            - expression: "true"
              mesage: typo
        """)));
    assertEquals("unknown field spec.validations[0].mesage (allowed here: expression, message, messageExpression)",
        unknown.getMessage());

    KmcException tooLong = assertThrows(KmcException.class, () -> engine.compile(new JsonObject()
        .put("apiVersion", "kmc.io/v1alpha1").put("kind", "Policy").put("metadata", new JsonObject().put("name", "x"))
        .put("spec", new JsonObject().put("validations", new JsonArray().add(new JsonObject()
            .put("expression", "true || " + "true || ".repeat(1000) + "true"))))));
    assertTrue(tooLong.getMessage().contains("at most 4096 are allowed"), tooLong.getMessage());

    KmcException action = assertThrows(KmcException.class, () -> engine.compile(yaml("""
        apiVersion: kmc.io/v1alpha1
        kind: Policy
        metadata: {name: bad}
        spec:
          action: block
          validations: [{expression: "true"}]
        """)));
    assertEquals("spec.action must be one of Deny, Warn, Audit", action.getMessage());
    assertFalse(invalid.getMessage().isBlank());
  }

  /**
   * The measure: evaluation cost per object with 50 policies (the shipped six, repeated under
   * other names), all matching a Deployment. Both numbers are printed; only the median is bounded, and
   * loosely: a p99 on a shared, loaded machine measures its scheduler more than the engine.
   */
  @Test
  void fiftyPoliciesEvaluateInWellUnderAMillisecond() throws IOException {
    List<PolicyEngine.Compiled> fifty = new ArrayList<>();
    List<JsonObject> manifests = shippedPolicies();
    for (int i = 0; fifty.size() < 50; i++) {
      JsonObject manifest = manifests.get(i % manifests.size()).copy();
      manifest.getJsonObject("metadata").put("name", "p" + i);
      fifty.add(engine.compile(manifest));
    }
    JsonObject object = deployment("web", "registry.example.com/web:1.4.2", 3,
        Map.of("team", "shop", "app.kubernetes.io/name", "web"));
    PolicyEngine.Request request = create(object, Map.of("env", "test"));
    for (int i = 0; i < 2_000; i++) {
      engine.evaluate(fifty, request);
    }
    int runs = 5_000;
    long[] nanos = new long[runs];
    for (int i = 0; i < runs; i++) {
      long started = System.nanoTime();
      PolicyEngine.Verdict verdict = engine.evaluate(fifty, request);
      nanos[i] = System.nanoTime() - started;
      assertEquals(50, verdict.evaluated());
    }
    java.util.Arrays.sort(nanos);
    long p50 = nanos[runs / 2] / 1_000;
    long p99 = nanos[runs * 99 / 100] / 1_000;
    System.out.printf("policy evaluation, 50 policies, one Deployment: p50 %d us, p99 %d us%n", p50, p99);
    assertTrue(p50 < 5_000, "p50 " + p50 + " us");
  }
}
