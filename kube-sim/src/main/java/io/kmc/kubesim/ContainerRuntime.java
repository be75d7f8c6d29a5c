package io.kmc.kubesim;

import io.kmc.kubesim.container.Container;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The kubelet's side of the simulated containers: the inside of each one ({@link Container}: files,
 * environment), created the first time something is exec'd, attached or copied into it, and dropped
 * when its pod is deleted. A pod recreated under the same name is a new pod (a new UID), so its
 * containers start afresh, as real ones do.
 *
 * <p>The environment is the kubelet's: the {@code kubernetes} Service's variables, then the
 * container's {@code env} and {@code envFrom}, with {@code valueFrom} resolved against the pod, its
 * ConfigMaps and Secrets at the time the container is first used.
 */
final class ContainerRuntime implements ObjectStore.Listener {

  private final Vertx vertx;
  private final Registry registry;
  private final long diskBytes;
  private final WorkerExecutor workers;
  /** pod UID → container name → container. */
  private final Map<String, Map<String, Container>> containers = new HashMap<>();

  ContainerRuntime(Vertx vertx, Registry registry, long diskBytes, WorkerExecutor workers) {
    this.vertx = vertx;
    this.registry = registry;
    this.diskBytes = diskBytes;
    this.workers = workers;
  }

  /** The container named {@code name} of this pod (which must have it), created on first use. */
  Container container(JsonObject pod, String name) {
    String uid = Json.stringAt(pod, "metadata.uid");
    return containers.computeIfAbsent(uid, key -> new HashMap<>())
        .computeIfAbsent(name, key -> new Container(spec(pod, name), diskBytes, vertx, workers));
  }

  @Override
  public void onChange(ObjectStore.Change change) {
    if (change.type().equals("DELETED") && change.groupResource().equals("pods")) {
      containers.remove(Json.stringAt(change.object(), "metadata.uid"));
    }
  }

  private Container.Spec spec(JsonObject pod, String name) {
    JsonObject container = containerSpec(pod, name);
    Map<String, String> environment = new LinkedHashMap<>(serviceVariables());
    String namespace = Json.namespace(pod);
    for (Object source : container.getJsonArray("envFrom", new JsonArray())) {
      if (source instanceof JsonObject from) {
        String prefix = from.getString("prefix", "");
        data(namespace, from.getJsonObject("configMapRef"), false)
            .forEach((key, value) -> environment.put(prefix + key, value));
        data(namespace, from.getJsonObject("secretRef"), true)
            .forEach((key, value) -> environment.put(prefix + key, value));
      }
    }
    for (Object variable : container.getJsonArray("env", new JsonArray())) {
      if (variable instanceof JsonObject env && env.getString("name") != null) {
        environment.put(env.getString("name"), value(pod, env));
      }
    }
    return new Container.Spec(namespace, Json.name(pod), name, Json.stringAt(pod, "status.podIP"),
        container.getString("image", ""), environment, container.getString("workingDir", ""));
  }

  static JsonObject containerSpec(JsonObject pod, String name) {
    for (Object container : Json.arrayAt(pod, "spec", "containers")) {
      if (container instanceof JsonObject json && name.equals(json.getString("name"))) {
        return json;
      }
    }
    return new JsonObject().put("name", name);
  }

  /** What the kubelet sets for the {@code kubernetes} Service in every container. */
  private Map<String, String> serviceVariables() {
    Map<String, String> variables = new LinkedHashMap<>();
    ResourceType services = registry.catalog().findByGroupKind("", "Service").orElseThrow();
    JsonObject kubernetes = registry.find(services, "default", "kubernetes");
    String ip = kubernetes == null ? "" : Json.stringAt(kubernetes, "spec.clusterIP");
    if (!ip.isEmpty()) {
      variables.put("KUBERNETES_SERVICE_HOST", ip);
      variables.put("KUBERNETES_SERVICE_PORT", "443");
      variables.put("KUBERNETES_SERVICE_PORT_HTTPS", "443");
      variables.put("KUBERNETES_PORT", "tcp://" + ip + ":443");
      variables.put("KUBERNETES_PORT_443_TCP", "tcp://" + ip + ":443");
      variables.put("KUBERNETES_PORT_443_TCP_PROTO", "tcp");
      variables.put("KUBERNETES_PORT_443_TCP_PORT", "443");
      variables.put("KUBERNETES_PORT_443_TCP_ADDR", ip);
    }
    return variables;
  }

  private String value(JsonObject pod, JsonObject env) {
    if (env.containsKey("value")) {
      return String.valueOf(env.getValue("value"));
    }
    JsonObject from = env.getJsonObject("valueFrom", new JsonObject());
    JsonObject field = from.getJsonObject("fieldRef");
    if (field != null) {
      return fieldValue(pod, field.getString("fieldPath", ""));
    }
    String namespace = Json.namespace(pod);
    JsonObject configMapKey = from.getJsonObject("configMapKeyRef");
    if (configMapKey != null) {
      return data(namespace, configMapKey, false).getOrDefault(configMapKey.getString("key", ""), "");
    }
    JsonObject secretKey = from.getJsonObject("secretKeyRef");
    if (secretKey != null) {
      return data(namespace, secretKey, true).getOrDefault(secretKey.getString("key", ""), "");
    }
    return "";
  }

  private static String fieldValue(JsonObject pod, String path) {
    java.util.regex.Matcher keyed = java.util.regex.Pattern.compile("metadata\\.(labels|annotations)\\['(.*)'\\]")
        .matcher(path);
    if (keyed.matches()) {
      return Json.metadata(pod).getJsonObject(keyed.group(1), new JsonObject()).getString(keyed.group(2), "");
    }
    return Json.stringAt(pod, path);
  }

  /** A ConfigMap's or Secret's data (Secrets decoded), empty when it does not exist. */
  private Map<String, String> data(String namespace, JsonObject reference, boolean secret) {
    Map<String, String> data = new LinkedHashMap<>();
    if (reference == null || reference.getString("name") == null) {
      return data;
    }
    ResourceType type = registry.catalog().findByGroupKind("", secret ? "Secret" : "ConfigMap").orElseThrow();
    JsonObject object = registry.find(type, namespace, reference.getString("name"));
    if (object == null) {
      return data;
    }
    object.getJsonObject("data", new JsonObject()).forEach(entry -> {
      String value = String.valueOf(entry.getValue());
      data.put(entry.getKey(), secret ? decode(value) : value);
    });
    if (secret) {
      object.getJsonObject("stringData", new JsonObject()).forEach(entry ->
          data.put(entry.getKey(), String.valueOf(entry.getValue())));
    }
    return data;
  }

  private static String decode(String base64) {
    try {
      return new String(Base64.getDecoder().decode(base64), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return base64;
    }
  }
}
