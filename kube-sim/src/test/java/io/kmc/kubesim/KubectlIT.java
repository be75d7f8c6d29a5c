package io.kmc.kubesim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Unmodified kubectl against the simulator: every kubectl found on this machine (see
 * {@link Kubectl#available()}) runs the same matrix. The 1.20 binary exercises protobuf
 * /openapi/v2, the current one aggregated-discovery fallback, /openapi/v3 and fieldValidation.
 */
@ExtendWith(VertxExtension.class)
class KubectlIT {

  private static final String DEPLOYMENT = """
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: web
        labels:
          app: web
      spec:
        replicas: 2
        selector:
          matchLabels:
            app: web
        template:
          metadata:
            labels:
              app: web
          spec:
            containers:
            - name: nginx
              image: nginx:1.25
              ports:
              - containerPort: 80
              env:
              - name: MODE
                value: slow
            - name: sidecar
              image: busybox:1
      """;

  private static final String CONFIG_MAP = """
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: settings
      data:
        color: blue
        size: small
      """;

  private static final String CRD = """
      apiVersion: apiextensions.k8s.io/v1
      kind: CustomResourceDefinition
      metadata:
        name: widgets.example.com
      spec:
        group: example.com
        scope: Namespaced
        names:
          plural: widgets
          singular: widget
          kind: Widget
          shortNames: [wd]
        versions:
        - name: v1
          served: true
          storage: true
          schema:
            openAPIV3Schema:
              type: object
              properties:
                spec:
                  type: object
                  description: What the widget should be.
                  properties:
                    size:
                      type: integer
                      description: How big the widget is, in sprockets.
          additionalPrinterColumns:
          - name: Size
            type: integer
            jsonPath: .spec.size
      """;

  private static final String CUSTOM_RESOURCE = """
      apiVersion: example.com/v1
      kind: Widget
      metadata:
        name: sprocket
      spec:
        size: 7
      """;

  static List<Path> kubectls() {
    return Kubectl.available();
  }

  @Test
  void kubectlIsInstalled() {
    assertFalse(Kubectl.available().isEmpty(), "no kubectl found (looked at $KMC_KUBECTL, PATH and "
        + "/opt/kubectl-1.20/usr/bin/kubectl): CI installs it with `apt-get install -y kubernetes-client`");
  }

  @ParameterizedTest
  @MethodSource("kubectls")
  @Timeout(value = 120, timeUnit = TimeUnit.SECONDS)
  void kubectlWorksAgainstTheSimulator(Path binary, Vertx vertx, @TempDir Path workDir) throws Exception {
    // gcloud's kubectl on PATH dispatches to the kubectl.1.NN matching the server's minor version.
    KubeSim sim = KubeSim.start(vertx, new KubeSimOptions().gitVersion("v1.32.0").seed(true)
        .controllerDelayMillis(20).logLineIntervalMillis(50)).await();
    try {
      Path kubeconfig = Files.writeString(workDir.resolve("kubeconfig"), sim.kubeconfig("sim"));
      Kubectl kubectl = new Kubectl(binary, kubeconfig, workDir);

      String namespaces = kubectl.ok("get", "ns");
      assertTrue(namespaces.contains("kube-system") && namespaces.contains("Active"), namespaces);
      assertEquals("yes", kubectl.ok("auth", "can-i", "create", "deployments").strip());
      // Current kubectl sends `create <kind>` bodies as protobuf.
      kubectl.ok("create", "namespace", "scratch");
      kubectl.ok("create", "configmap", "made", "-n", "scratch", "--from-literal=k=v");
      assertEquals("v", sim.get("v1", "ConfigMap", "scratch", "made").await().getJsonObject("data").getString("k"));
      assertTrue(kubectl.ok("delete", "namespace", "scratch").contains("deleted"));

      clientSideApply(sim, kubectl);
      serverSideApply(sim, kubectl);
      patches(sim, kubectl);
      scaleAndWatch(sim, kubectl);
      followLogs(kubectl);
      rollouts(kubectl);
      events(kubectl);
      explainAndValidate(kubectl);
      top(kubectl);

      assertTrue(kubectl.ok("delete", "deployment", "web").contains("deleted"));
      assertNull(sim.get("apps/v1", "Deployment", "default", "web").await());

      customResources(kubectl);
    } finally {
      sim.close().await();
    }
  }

  private static void clientSideApply(KubeSim sim, Kubectl kubectl) throws Exception {
    Path manifest = kubectl.write("deployment.yaml", DEPLOYMENT);
    assertTrue(kubectl.ok("apply", "-f", manifest.toString()).contains("created"));
    // The second apply computes a three-way strategic merge patch, with $setElementOrder directives.
    kubectl.write("deployment.yaml", DEPLOYMENT.replace("nginx:1.25", "nginx:1.26").replace("slow", "fast"));
    assertTrue(kubectl.ok("apply", "-f", manifest.toString()).contains("configured"));
    JsonObject deployment = sim.get("apps/v1", "Deployment", "default", "web").await();
    JsonObject nginx = deployment.getJsonObject("spec").getJsonObject("template").getJsonObject("spec")
        .getJsonArray("containers").getJsonObject(0);
    assertEquals("nginx:1.26", nginx.getString("image"));
    assertEquals("fast", nginx.getJsonArray("env").getJsonObject(0).getString("value"));
    assertEquals(2, deployment.getJsonObject("spec").getJsonObject("template").getJsonObject("spec")
        .getJsonArray("containers").size(), "the sidecar survived the merge");
    assertEquals(2L, deployment.getJsonObject("metadata").getLong("generation"));
  }

  private static void serverSideApply(KubeSim sim, Kubectl kubectl) throws Exception {
    Path manifest = kubectl.write("configmap.yaml", CONFIG_MAP);
    assertTrue(kubectl.ok("apply", "--server-side", "-f", manifest.toString()).contains("serverside-applied"));
    kubectl.write("configmap.yaml", CONFIG_MAP.replace("blue", "green").replace("  size: small\n", ""));
    assertTrue(kubectl.ok("apply", "--server-side", "-f", manifest.toString()).contains("serverside-applied"));
    JsonObject data = sim.get("v1", "ConfigMap", "default", "settings").await().getJsonObject("data");
    assertEquals(new JsonObject().put("color", "green"), data, "a field no longer applied is removed");

    // Another field manager changing kubectl's field: the apiserver's conflict, until forced.
    kubectl.write("configmap.yaml", CONFIG_MAP.replace("blue", "red"));
    Kubectl.Result refused = kubectl.run("apply", "--server-side", "--field-manager=ops", "-f", manifest.toString());
    assertTrue(refused.exitCode() != 0 && refused.output().contains("conflict with \"kubectl\"")
        && refused.output().contains(".data.color"), refused.output());
    assertEquals("green", sim.get("v1", "ConfigMap", "default", "settings").await().getJsonObject("data").getString("color"));
    assertTrue(kubectl.ok("apply", "--server-side", "--field-manager=ops", "--force-conflicts", "-f", manifest.toString())
        .contains("serverside-applied"));
    assertEquals("red", sim.get("v1", "ConfigMap", "default", "settings").await().getJsonObject("data").getString("color"));
  }

  private static void patches(KubeSim sim, Kubectl kubectl) throws Exception {
    kubectl.ok("patch", "deployment", "web", "-p", "{\"metadata\":{\"labels\":{\"by\":\"strategic\"}}}");
    kubectl.ok("patch", "deployment", "web", "--type", "merge", "-p", "{\"metadata\":{\"labels\":{\"m\":\"merge\"}}}");
    kubectl.ok("patch", "deployment", "web", "--type", "json", "-p",
        "[{\"op\":\"add\",\"path\":\"/metadata/labels/j\",\"value\":\"json\"}]");
    JsonObject labels = sim.get("apps/v1", "Deployment", "default", "web").await().getJsonObject("metadata")
        .getJsonObject("labels");
    assertEquals(new JsonObject().put("app", "web").put("by", "strategic").put("m", "merge").put("j", "json"), labels);
  }

  private static void scaleAndWatch(KubeSim sim, Kubectl kubectl) throws Exception {
    assertTrue(kubectl.ok("scale", "deployment", "web", "--replicas=3").contains("scaled"));
    // The apply of nginx:1.26 may still be rolling out: wait until the old ReplicaSet's pods are gone.
    assertTrue(kubectl.ok("rollout", "status", "deployment/web", "--timeout=20s").contains("successfully rolled out"));
    String pods = kubectl.ok("get", "pods", "-l", "app=web");
    assertEquals(3, pods.lines().filter(line -> line.contains("Running")).count(), pods);

    Process watch = kubectl.start("get", "deployment", "web", "-w");
    waitFor(() -> kubectl.output(watch).contains("3/3"));
    kubectl.ok("scale", "deployment", "web", "--replicas=4");
    String watched = kubectl.readUntil(watch, output -> output.contains("4/4"), 10);
    assertTrue(watched.startsWith("NAME"), watched);
  }

  private static void followLogs(Kubectl kubectl) throws Exception {
    Process logs = kubectl.start("logs", "-f", "deployment/web", "-c", "nginx");
    String lines = kubectl.readUntil(logs, output -> output.lines().filter(l -> l.contains(" line ")).count() >= 13,
        10);
    // The container's one log: the last lines written so far, then new ones as they come, numbered on.
    long[] numbers = lines.lines().filter(l -> l.contains(" line "))
        .mapToLong(l -> Long.parseLong(l.substring(l.lastIndexOf(' ') + 1))).toArray();
    for (int i = 1; i < numbers.length; i++) {
      assertEquals(numbers[i - 1] + 1, numbers[i], lines);
    }
  }

  /** Deployments roll out through ReplicaSets, with a history that {@code rollout undo} goes back in. */
  private static void rollouts(Kubectl kubectl) throws Exception {
    String replicaSets = kubectl.ok("get", "rs", "-l", "app=web");
    assertTrue(replicaSets.startsWith("NAME") && replicaSets.contains("DESIRED"), replicaSets);
    assertEquals(2, replicaSets.lines().filter(line -> line.startsWith("web-")).count(),
        "one ReplicaSet per pod template (nginx:1.25, then nginx:1.26):\n" + replicaSets);
    String history = kubectl.ok("rollout", "history", "deployment/web");
    assertTrue(history.contains("REVISION") && history.lines().anyMatch(line -> line.startsWith("1 "))
        && history.lines().anyMatch(line -> line.startsWith("2 ")), history);
    String revisionOne = kubectl.ok("rollout", "history", "deployment/web", "--revision=1");
    assertTrue(revisionOne.contains("nginx:1.25"), revisionOne);

    assertTrue(kubectl.ok("rollout", "undo", "deployment/web").contains("rolled back"));
    assertTrue(kubectl.ok("rollout", "status", "deployment/web", "--timeout=20s").contains("successfully rolled out"));
    assertEquals("nginx:1.25", kubectl.ok("get", "deployment", "web", "-o",
        "jsonpath={.spec.template.spec.containers[0].image}").strip());
    String afterUndo = kubectl.ok("rollout", "history", "deployment/web");
    assertTrue(afterUndo.lines().anyMatch(line -> line.startsWith("3 "))
        && afterUndo.lines().noneMatch(line -> line.startsWith("1 ")), "revision 1 came back as 3:\n" + afterUndo);
    String images = kubectl.ok("get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].spec.containers[0].image}");
    assertEquals(List.of("nginx:1.25"), List.of(images.strip().split(" ")).stream().distinct().toList(), images);
    String owners = kubectl.ok("get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].metadata.ownerReferences[0].kind}");
    assertTrue(owners.strip().matches("ReplicaSet( ReplicaSet)*"), owners);
  }

  /** What the controllers did shows in {@code get events} and in {@code describe}. */
  private static void events(Kubectl kubectl) throws Exception {
    String events = kubectl.ok("get", "events", "-A");
    for (String reason : List.of("ScalingReplicaSet", "SuccessfulCreate", "Scheduled", "Pulled", "Created",
        "Started", "Killing")) {
      assertTrue(events.contains(reason), reason + " missing from:\n" + events);
    }
    String pod = kubectl.ok("get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}").strip();
    String described = kubectl.ok("describe", "pod", pod);
    assertTrue(described.contains("Events:") && described.contains("Successfully assigned default/" + pod)
        && described.contains("Started container nginx"), described);
    String deployment = kubectl.ok("describe", "deployment", "web");
    assertTrue(deployment.contains("NewReplicaSet:") && deployment.contains("ScalingReplicaSet"), deployment);
    String newer = kubectl.ok("get", "events.v1.events.k8s.io", "--field-selector", "regarding.name=" + pod);
    assertTrue(newer.contains("Scheduled"), newer);
  }

  /** The OpenAPI documents carry real schemas: explain reads them, and unknown fields are refused. */
  private static void explainAndValidate(Kubectl kubectl) throws Exception {
    String replicas = kubectl.ok("explain", "deployment.spec.replicas");
    assertTrue(replicas.contains("Number of desired pods") && replicas.contains("<integer>"), replicas);
    String containers = kubectl.ok("explain", "pods.spec.containers");
    assertTrue(containers.contains("imagePullPolicy") && containers.contains("readinessProbe"), containers);
    String metadata = kubectl.ok("explain", "configmap.metadata.ownerReferences");
    assertTrue(metadata.contains("blockOwnerDeletion"), metadata);

    Path bad = kubectl.write("bad.yaml", DEPLOYMENT.replace("name: web", "name: typo")
        .replace("  image: nginx:1.25\n", "  image: nginx:1.25\n        imagePullPolcy: Always\n"));
    Kubectl.Result refused = kubectl.run("apply", "-f", bad.toString());
    // Older kubectl validates against /openapi/v2 itself, current kubectl lets the server do it (fieldValidation).
    assertTrue(refused.exitCode() != 0 && refused.output().contains("unknown field")
        && refused.output().contains("imagePullPolcy"), refused.output());
    assertFalse(kubectl.run("get", "deployment", "typo").exitCode() == 0, "nothing was created");
  }

  /** metrics.k8s.io serves usage for the nodes and the running pods. */
  private static void top(Kubectl kubectl) throws Exception {
    String nodes = kubectl.ok("top", "nodes");
    assertTrue(nodes.contains("CPU(cores)") && nodes.lines().anyMatch(line -> line.startsWith("kube-sim-node ")),
        nodes);
    String pods = kubectl.ok("top", "pods", "-l", "app=web");
    // scaleAndWatch left four replicas.
    assertEquals(4, pods.lines().filter(line -> line.matches("web-\\S+\\s+\\d+m\\s+\\d+Mi\\s*")).count(), pods);
    String containers = kubectl.ok("top", "pods", "-l", "app=web", "--containers");
    assertEquals(4, containers.lines().filter(line -> line.contains(" sidecar ")).count(), containers);
  }

  private static void customResources(Kubectl kubectl) throws Exception {
    Path crd = kubectl.write("crd.yaml", CRD);
    assertTrue(kubectl.ok("apply", "-f", crd.toString()).contains("created"));
    waitFor(() -> {
      try {
        return kubectl.run("get", "widgets").exitCode() == 0;
      } catch (Exception e) {
        return false;
      }
    });
    Path custom = kubectl.write("widget.yaml", CUSTOM_RESOURCE);
    assertTrue(kubectl.ok("apply", "-f", custom.toString()).contains("created"));
    kubectl.write("widget.yaml", CUSTOM_RESOURCE.replace("size: 7", "size: 8"));
    assertTrue(kubectl.ok("apply", "-f", custom.toString()).contains("configured"),
        "a second apply of a custom resource is a JSON merge patch");
    String table = kubectl.ok("get", "wd");
    assertTrue(table.contains("SIZE") && table.contains("sprocket") && table.contains("8"), table);
    // The CRD's openAPIV3Schema is published, so its fields can be explained too.
    String size = kubectl.ok("explain", "widgets.spec.size");
    assertTrue(size.contains("How big the widget is, in sprockets."), size);
    assertTrue(kubectl.ok("delete", "-f", crd.toString()).contains("deleted"));
  }

  private static void waitFor(BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not met within 10 s");
      }
      Thread.sleep(20);
    }
  }
}
