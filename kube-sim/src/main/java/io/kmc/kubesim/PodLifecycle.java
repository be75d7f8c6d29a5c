package io.kmc.kubesim;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * What the scheduler and the kubelet do to a pod, compressed into one step: bind a Pending pod to a
 * node (round-robin over the Nodes that exist), pull its images (once per node, unless
 * {@code imagePullPolicy: Always}), start its containers and report it Running and Ready, recording
 * the events a real cluster shows ({@code Scheduled}, {@code Pulling}, {@code Pulled},
 * {@code Created}, {@code Started}); and {@code Killing} when a running pod is deleted.
 */
final class PodLifecycle {

  /** The node pods go to when the cluster has no Node objects (the simulator was not seeded). */
  static final String DEFAULT_NODE = "kube-sim-node";
  private static final String SCHEDULER = "default-scheduler";
  private static final String KUBELET = "kubelet";

  private final Registry registry;
  private final EventRecorder events;
  private final Random random = new Random();
  private final Set<String> pulledImages = new HashSet<>();
  private int nextNode;
  private int nextPodIp = 2;

  PodLifecycle(Registry registry, EventRecorder events) {
    this.registry = registry;
    this.events = events;
  }

  /** Schedules (if unscheduled) and starts a Pending pod. */
  void run(String namespace, String name) {
    ResourceType pods = registry.catalog().findByGroupKind("", "Pod").orElseThrow();
    JsonObject pod = registry.find(pods, namespace, name);
    if (pod == null || !"Pending".equals(Json.stringAt(pod, "status.phase")) || Workloads.deleting(pod)) {
      return;
    }
    String node = Json.stringAt(pod, "spec.nodeName");
    if (node.isEmpty()) {
      node = pickNode();
      JsonObject bound = pod.copy();
      Json.child(bound, "spec").put("nodeName", node);
      pod = registry.update(pods, namespace, name, bound, null, Registry.WriteOptions.internal(SCHEDULER));
      events.normal(pod, EventRecorder.SCHEDULER, "Scheduled",
          "Successfully assigned " + namespace + "/" + name + " to " + node);
    }
    EventRecorder.Source kubelet = new EventRecorder.Source(KUBELET, node);
    for (Object o : Json.arrayAt(pod, "spec", "containers")) {
      JsonObject container = (JsonObject) o;
      String containerName = container.getString("name", "main");
      String image = container.getString("image", "");
      boolean always = "Always".equals(container.getString("imagePullPolicy"))
          || image.endsWith(":latest") || !image.contains(":");
      boolean firstOnNode = pulledImages.add(node + " " + image);
      if (always || firstOnNode) {
        int seed = image.hashCode() & 0x7fffffff;
        String took = String.format("%d.%03ds", 1 + seed % 4, seed % 1000);
        events.normal(pod, containerName, kubelet, "Pulling", "Pulling image \"" + image + "\"");
        events.normal(pod, containerName, kubelet, "Pulled", "Successfully pulled image \"" + image + "\" in "
            + took + " (" + took + " including waiting). Image size: " + (5_000_000L + seed % 150_000_000L)
            + " bytes.");
      } else {
        events.normal(pod, containerName, kubelet, "Pulled",
            "Container image \"" + image + "\" already present on machine");
      }
      events.normal(pod, containerName, kubelet, "Created", "Created container: " + containerName);
      events.normal(pod, containerName, kubelet, "Started", "Started container " + containerName);
    }
    Workloads.writeStatus(registry, pods, pod, runningStatus(pod, node), KUBELET);
  }

  /** The kubelet stops the containers of a pod that was deleted while running. */
  void killed(JsonObject pod) {
    String node = Json.stringAt(pod, "spec.nodeName");
    if (node.isEmpty() || !"Running".equals(Json.stringAt(pod, "status.phase"))) {
      return;
    }
    EventRecorder.Source kubelet = new EventRecorder.Source(KUBELET, node);
    for (Object o : Json.arrayAt(pod, "spec", "containers")) {
      String container = ((JsonObject) o).getString("name", "main");
      events.normal(pod, container, kubelet, "Killing", "Stopping container " + container);
    }
  }

  private String pickNode() {
    ResourceType nodes = registry.catalog().findByGroupKind("", "Node").orElseThrow();
    List<String> names = new ArrayList<>();
    for (JsonObject node : registry.list(nodes, null, LabelSelector.parse(null), FieldSelector.parse(null), 0, null)
        .items()) {
      if (!Boolean.TRUE.equals(Json.valueAt(node, "spec.unschedulable"))) {
        names.add(Json.name(node));
      }
    }
    if (names.isEmpty()) {
      return DEFAULT_NODE;
    }
    return names.get(Math.floorMod(nextNode++, names.size()));
  }

  private JsonObject runningStatus(JsonObject pod, String node) {
    String now = Json.now();
    JsonArray containerStatuses = new JsonArray();
    for (Object o : Json.arrayAt(pod, "spec", "containers")) {
      JsonObject container = (JsonObject) o;
      String image = container.getString("image", "");
      containerStatuses.add(new JsonObject()
          .put("name", container.getString("name"))
          .put("image", image)
          .put("imageID", "docker.io/library/" + image + "@sha256:"
              + String.format("%064x", (long) image.hashCode() & 0xffffffffL))
          .put("containerID", "containerd://" + String.format("%08x%08x", random.nextInt(), random.nextInt()))
          .put("ready", true)
          .put("started", true)
          .put("restartCount", 0)
          .put("state", new JsonObject().put("running", new JsonObject().put("startedAt", now))));
    }
    JsonArray conditions = new JsonArray();
    for (String type : List.of("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
        "PodScheduled")) {
      conditions.add(new JsonObject().put("type", type).put("status", "True").put("lastProbeTime", null)
          .put("lastTransitionTime", now));
    }
    int ip = nextPodIp++;
    String podIp = "10.244." + (ip / 250) + "." + (ip % 250 + 1);
    return new JsonObject()
        .put("phase", "Running")
        .put("conditions", conditions)
        .put("hostIP", hostIp(node))
        .put("hostIPs", new JsonArray().add(new JsonObject().put("ip", hostIp(node))))
        .put("podIP", podIp)
        .put("podIPs", new JsonArray().add(new JsonObject().put("ip", podIp)))
        .put("startTime", now)
        .put("containerStatuses", containerStatuses)
        .put("qosClass", qosClass(pod));
  }

  private String hostIp(String node) {
    ResourceType nodes = registry.catalog().findByGroupKind("", "Node").orElseThrow();
    JsonObject stored = registry.find(nodes, null, node);
    if (stored != null) {
      for (Object o : Json.arrayAt(stored, "status", "addresses")) {
        if (o instanceof JsonObject address && "InternalIP".equals(address.getString("type"))) {
          return address.getString("address");
        }
      }
    }
    return "10.0.0.1";
  }

  /** Guaranteed when every container's limits equal its requests for cpu and memory, BestEffort with none. */
  static String qosClass(JsonObject pod) {
    boolean any = false;
    boolean guaranteed = true;
    for (Object o : Json.arrayAt(pod, "spec", "containers")) {
      JsonObject resources = ((JsonObject) o).getJsonObject("resources", new JsonObject());
      JsonObject requests = resources.getJsonObject("requests", new JsonObject());
      JsonObject limits = resources.getJsonObject("limits", new JsonObject());
      any |= !requests.isEmpty() || !limits.isEmpty();
      for (String resource : List.of("cpu", "memory")) {
        Object limit = limits.getValue(resource);
        Object request = requests.getValue(resource, limit);
        guaranteed &= limit != null && String.valueOf(limit).equals(String.valueOf(request));
      }
    }
    return !any ? "BestEffort" : guaranteed ? "Guaranteed" : "Burstable";
  }
}
