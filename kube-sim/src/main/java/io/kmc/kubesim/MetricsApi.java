package io.kmc.kubesim;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.function.LongSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code metrics.k8s.io/v1beta1}, what metrics-server serves and {@code kubectl top} reads:
 * NodeMetrics and PodMetrics, computed when asked from the pods and nodes in the store.
 *
 * <p>Usage is made up but plausible and deterministic: each container's level is seeded by its
 * namespace, pod and container name (a share of its requests when it has some, else a few
 * millicores and tens of MiB), and moves slowly along a few sine waves of that seed's periods
 * (minutes), never above its limits. Values change once per {@link #WINDOW_MILLIS scrape window},
 * like metrics-server's, so two reads in one window agree. A node reports what its Running pods
 * use plus a seeded system overhead, within its allocatable resources.
 */
final class MetricsApi {

  /** metrics-server's default resolution: usage is sampled once per window. */
  static final long WINDOW_MILLIS = 15_000;
  private static final String WINDOW = (WINDOW_MILLIS / 1000) + "s";
  private static final int CPU = 0;
  private static final int MEMORY = 1;
  private static final double MI = 1024 * 1024;
  private static final Pattern QUANTITY = Pattern.compile("([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)");
  private static final Map<String, Double> SUFFIXES = Map.ofEntries(
      Map.entry("", 1d), Map.entry("n", 1e-9), Map.entry("u", 1e-6), Map.entry("m", 1e-3),
      Map.entry("k", 1e3), Map.entry("M", 1e6), Map.entry("G", 1e9), Map.entry("T", 1e12), Map.entry("P", 1e15),
      Map.entry("E", 1e18), Map.entry("Ki", 1024d), Map.entry("Mi", MI), Map.entry("Gi", MI * 1024),
      Map.entry("Ti", MI * MI), Map.entry("Pi", MI * MI * 1024), Map.entry("Ei", MI * MI * MI));

  /** The schemas published for the two kinds (references in {@link ModelSchemas}' neutral form). */
  static final JsonObject NODE_METRICS_SCHEMA = new JsonObject()
      .put("description", "NodeMetrics sets resource usage metrics of a node.")
      .put("properties", new JsonObject()
          .put("timestamp", timestamp())
          .put("window", window())
          .put("usage", usage("The memory and CPU usage of the node.")));
  static final JsonObject POD_METRICS_SCHEMA = new JsonObject()
      .put("description", "PodMetrics sets resource usage metrics of a pod.")
      .put("required", new JsonArray().add("containers"))
      .put("properties", new JsonObject()
          .put("timestamp", timestamp())
          .put("window", window())
          .put("containers", new JsonObject().put("description", "Metrics for all containers are collected within"
              + " the same time window.").put("type", "array").put("items", new JsonObject()
              .put("description", "ContainerMetrics sets resource usage metrics of a container.")
              .put("type", "object").put("required", new JsonArray().add("name").add("usage"))
              .put("properties", new JsonObject()
                  .put("name", new JsonObject().put("description", "Container name corresponding to the one from"
                      + " pod.spec.containers.").put("type", "string"))
                  .put("usage", usage("The memory and CPU usage of the container."))))));

  private final Registry registry;
  private final LongSupplier clock;

  MetricsApi(Registry registry, LongSupplier clock) {
    this.registry = registry;
    this.clock = clock;
  }

  /** Serves the two kinds from this object (they are never stored). */
  void serve() {
    registry.serveComputed(registry.catalog().findByGroupKind("metrics.k8s.io", "NodeMetrics").orElseThrow(),
        namespace -> nodeMetrics());
    registry.serveComputed(registry.catalog().findByGroupKind("metrics.k8s.io", "PodMetrics").orElseThrow(),
        this::podMetrics);
  }

  /** One PodMetrics per Running pod of the namespace (null: all), keyed like the store. */
  NavigableMap<String, JsonObject> podMetrics(String namespace) {
    long sample = sampleMillis();
    TreeMap<String, JsonObject> metrics = new TreeMap<>();
    for (Map.Entry<String, JsonObject> entry : registry.store().entries("pods", namespace).entrySet()) {
      JsonObject pod = entry.getValue();
      if (!running(pod)) {
        continue;
      }
      JsonArray containers = new JsonArray();
      for (Object o : Json.arrayAt(pod, "spec", "containers")) {
        JsonObject container = (JsonObject) o;
        double[] usage = containerUsage(pod, container, sample);
        containers.add(new JsonObject().put("name", container.getString("name"))
            .put("usage", usageJson(usage[0], usage[1])));
      }
      metrics.put(entry.getKey(), metricsObject("PodMetrics", pod, sample).put("containers", containers));
    }
    return Collections.unmodifiableNavigableMap(metrics);
  }

  /** One NodeMetrics per Node: its pods' usage plus a system overhead. */
  NavigableMap<String, JsonObject> nodeMetrics() {
    long sample = sampleMillis();
    Map<String, double[]> byNode = new HashMap<>();
    for (JsonObject pod : registry.store().entries("pods", null).values()) {
      if (running(pod)) {
        double[] total = byNode.computeIfAbsent(Json.stringAt(pod, "spec.nodeName"), n -> new double[2]);
        for (Object o : Json.arrayAt(pod, "spec", "containers")) {
          double[] usage = containerUsage(pod, (JsonObject) o, sample);
          total[0] += usage[0];
          total[1] += usage[1];
        }
      }
    }
    TreeMap<String, JsonObject> metrics = new TreeMap<>();
    for (JsonObject node : registry.store().entries("nodes", null).values()) {
      String name = Json.name(node);
      Seed seed = new Seed(name);
      double[] pods = byNode.getOrDefault(name, new double[2]);
      double cpu = seed.between(CPU, 0.08, 0.25) * seed.wave(CPU, sample, 0.1) + pods[0];
      double memory = seed.between(MEMORY, 600 * MI, 1100 * MI) * seed.wave(MEMORY, sample, 0.02) + pods[1];
      double allocatableCpu = quantity(Json.stringAt(node, "status.allocatable.cpu"));
      double allocatableMemory = quantity(Json.stringAt(node, "status.allocatable.memory"));
      cpu = allocatableCpu > 0 ? Math.min(cpu, allocatableCpu) : cpu;
      memory = allocatableMemory > 0 ? Math.min(memory, allocatableMemory) : memory;
      metrics.put(name, metricsObject("NodeMetrics", node, sample).put("usage", usageJson(cpu, memory)));
    }
    return Collections.unmodifiableNavigableMap(metrics);
  }

  /** A quantity ("250m", "1.5", "128Mi", "1e3") in base units (cores, bytes); 0 when unparseable or empty. */
  static double quantity(String text) {
    Matcher m = QUANTITY.matcher(text == null ? "" : text.trim());
    if (!m.matches()) {
      return 0;
    }
    Double factor = SUFFIXES.get(m.group(2));
    return factor == null ? 0 : Double.parseDouble(m.group(1)) * factor;
  }

  /** {cpu cores, memory bytes} of one container at the sample time. */
  private static double[] containerUsage(JsonObject pod, JsonObject container, long sample) {
    Seed seed = new Seed(Json.namespace(pod) + "/" + Json.name(pod) + "/" + container.getString("name"));
    double cpuRequest = quantity(Json.stringAt(container, "resources.requests.cpu"));
    double memoryRequest = quantity(Json.stringAt(container, "resources.requests.memory"));
    double cpu = (cpuRequest > 0 ? cpuRequest * seed.between(CPU, 0.15, 0.65) : seed.logBetween(CPU, 0.002, 0.15))
        * seed.wave(CPU, sample, 0.25);
    double memory = (memoryRequest > 0 ? memoryRequest * seed.between(MEMORY, 0.3, 0.8)
        : seed.logBetween(MEMORY, 12 * MI, 256 * MI)) * seed.wave(MEMORY, sample, 0.05);
    double cpuLimit = quantity(Json.stringAt(container, "resources.limits.cpu"));
    double memoryLimit = quantity(Json.stringAt(container, "resources.limits.memory"));
    if (cpuLimit > 0) {
      cpu = Math.min(cpu, cpuLimit * 0.98);
    }
    if (memoryLimit > 0) {
      memory = Math.min(memory, memoryLimit * 0.95);
    }
    return new double[] {Math.max(cpu, 0.0005), Math.max(memory, MI)};
  }

  private long sampleMillis() {
    long now = clock.getAsLong();
    return now - Math.floorMod(now, WINDOW_MILLIS);
  }

  private static boolean running(JsonObject pod) {
    return "Running".equals(Json.stringAt(pod, "status.phase")) && !Json.stringAt(pod, "spec.nodeName").isEmpty()
        && !Workloads.deleting(pod);
  }

  private static JsonObject metricsObject(String kind, JsonObject of, long sample) {
    String time = Instant.ofEpochMilli(sample).toString();
    JsonObject metadata = new JsonObject().put("name", Json.name(of));
    if (Json.namespace(of) != null) {
      metadata.put("namespace", Json.namespace(of));
    }
    metadata.put("creationTimestamp", time);
    JsonObject labels = Json.objectAt(of, "metadata", "labels");
    if (labels != null) {
      metadata.put("labels", labels.copy());
    }
    return new JsonObject().put("apiVersion", "metrics.k8s.io/v1beta1").put("kind", kind).put("metadata", metadata)
        .put("timestamp", time).put("window", WINDOW);
  }

  /** As metrics-server writes usage: nanocores and KiB. */
  private static JsonObject usageJson(double cores, double bytes) {
    return new JsonObject().put("cpu", Math.round(cores * 1e9) + "n").put("memory", Math.round(bytes / 1024) + "Ki");
  }

  private static JsonObject timestamp() {
    return new JsonObject().put("description", "The following fields define time interval from which metrics were"
        + " collected from the interval [Timestamp-Window, Timestamp].").put("type", "string").put("format",
        "date-time");
  }

  private static JsonObject window() {
    return new JsonObject().put("type", "string");
  }

  private static JsonObject usage(String description) {
    return new JsonObject().put("description", description).put("type", "object")
        .put("additionalProperties", new JsonObject().put("$ref", ModelSchemas.QUANTITY));
  }

  /** Deterministic numbers from a name: levels, and a slow wave around 1 of a given relative amplitude. */
  private static final class Seed {
    private final long seed;

    Seed(String name) {
      long hash = 0xcbf29ce484222325L;
      for (byte b : name.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
        hash ^= b & 0xff;
        hash *= 0x100000001b3L;
      }
      this.seed = hash;
    }

    /** The i-th number in [0, 1) of this seed (SplitMix64); each resource draws from its own range of i. */
    double unit(int i) {
      long z = seed + (i + 1) * 0x9E3779B97F4A7C15L;
      z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
      z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
      z ^= z >>> 31;
      return (z >>> 11) * 0x1.0p-53;
    }

    double between(int resource, double low, double high) {
      return low + unit(resource * 8) * (high - low);
    }

    double logBetween(int resource, double low, double high) {
      return Math.exp(Math.log(low) + unit(resource * 8) * (Math.log(high) - Math.log(low)));
    }

    /** 1 ± amplitude, moving over periods of 10 to 30 minutes with a faster ripple. */
    double wave(int resource, long sampleMillis, double amplitude) {
      double seconds = sampleMillis / 1000.0;
      double period = 600 + unit(resource * 8 + 1) * 1200;
      double slow = Math.sin(2 * Math.PI * (seconds / period + unit(resource * 8 + 2)));
      double ripple = Math.sin(2 * Math.PI * (seconds / (period / 3.1) + unit(resource * 8 + 3)));
      return 1 + amplitude * (0.75 * slow + 0.25 * ripple);
    }
  }
}
