package io.kmc.hub;

import io.kmc.agent.AgentConfig;
import io.kmc.common.config.ConfigException;
import io.kmc.common.config.ConfigReader;
import io.kmc.hub.api.AgentManifest;
import io.kmc.hub.config.HubConfig;
import io.kubernetes.client.common.KubernetesObject;
import io.kubernetes.client.custom.IntOrString;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1Container;
import io.kubernetes.client.openapi.models.V1ContainerPort;
import io.kubernetes.client.openapi.models.V1Deployment;
import io.kubernetes.client.openapi.models.V1EnvFromSource;
import io.kubernetes.client.openapi.models.V1EnvVar;
import io.kubernetes.client.openapi.models.V1HTTPIngressPath;
import io.kubernetes.client.openapi.models.V1Ingress;
import io.kubernetes.client.openapi.models.V1IngressRule;
import io.kubernetes.client.openapi.models.V1LabelSelector;
import io.kubernetes.client.openapi.models.V1NetworkPolicy;
import io.kubernetes.client.openapi.models.V1NetworkPolicyEgressRule;
import io.kubernetes.client.openapi.models.V1NetworkPolicyIngressRule;
import io.kubernetes.client.openapi.models.V1NetworkPolicyPeer;
import io.kubernetes.client.openapi.models.V1NetworkPolicyPort;
import io.kubernetes.client.openapi.models.V1PodDisruptionBudget;
import io.kubernetes.client.openapi.models.V1PodSpec;
import io.kubernetes.client.openapi.models.V1Probe;
import io.kubernetes.client.openapi.models.V1Secret;
import io.kubernetes.client.openapi.models.V1Service;
import io.kubernetes.client.openapi.models.V1ServicePort;
import io.kubernetes.client.util.ModelMapper;
import io.kubernetes.client.util.Yaml;
import io.kubernetes.client.util.generic.dynamic.DynamicKubernetesObject;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.constructor.SafeConstructor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * What deploy/ ships stays true to the code: every Kubernetes manifest parses as its typed model,
 * probes hit the management port, ports and environment variables are the ones the hub and the
 * agent really use, selectors select, the static agent template is the manifest the hub serves,
 * and the dashboard and alerts use metrics kmc exports. Each test lists every problem it finds,
 * naming the file and the object.
 */
class DeployManifestsTest {

  private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
  private static final Path DEPLOY = REPO.resolve("deploy");
  private static final Path KUBERNETES = DEPLOY.resolve("kubernetes");
  private static final Path AGENT_TEMPLATE = KUBERNETES.resolve("agent").resolve("agent.yaml");

  /** The management port (/healthz, /ready, /metrics) of the hub and the agent. */
  private static final int MANAGEMENT_PORT = 9090;
  private static final String MANAGEMENT_PORT_NAME = "management";
  private static final String HUB_CONTAINER = "hub";
  private static final String AGENT_CONTAINER = "agent";
  private static final String HUB_DEPLOYMENT = "kmc-hub";
  private static final String HAZELCAST_SERVICE = "kmc-hub-hazelcast";
  private static final int EVENT_BUS_PORT = 5702;

  /** Environment variables the programs read besides their configuration keys. */
  private static final Set<String> HUB_ALIASES = Set.of("KMC_ADMIN_PASSWORD", "KMC_CONFIG");
  private static final Set<String> AGENT_ALIASES = Set.of("KMC_CONFIG");

  /** The JVM flags Hazelcast needs on Java 17, which the hub image must pass. */
  private static final List<String> HAZELCAST_JVM_FLAGS = List.of(
      "--add-modules", "java.se",
      "--add-exports", "java.base/jdk.internal.ref=ALL-UNNAMED",
      "--add-opens", "java.base/java.lang=ALL-UNNAMED",
      "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
      "--add-opens", "java.management/sun.management=ALL-UNNAMED",
      "--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED");

  /** The metrics kmc exports (hub and agent); histograms also as _bucket, _count, _sum, _max. */
  private static final Set<String> KMC_METRICS = Set.of(
      "kmc_cluster_up", "kmc_cluster_last_seen_timestamp_seconds", "kmc_tunnel_latency_seconds",
      "kmc_agent_sessions", "kmc_agent_connects_total", "kmc_agent_disconnects_total",
      "kmc_tunnel_streams", "kmc_audit_queue", "kmc_audit_dropped_total",
      "kmc_cluster_resources", "kmc_agent_connected", "kmc_agent_dials_total", "kmc_agent_streams",
      "kmc_propagation_applies_total", "kmc_propagation_events_total", "kmc_propagation_controller_leader",
      "kmc_tls_handshakes_running", "kmc_tls_handshakes_waiting", "kmc_tls_handshakes_closed_waiting_total");
  private static final Set<String> KMC_HISTOGRAMS = Set.of(
      "kmc_api_requests_seconds", "kmc_tunnel_requests_seconds", "kmc_tunnel_heartbeat_seconds",
      "kmc_agent_requests_seconds",
      "kmc_propagation_apply_duration_seconds");
  private static final List<String> OTHER_METRIC_PREFIXES = List.of("jvm_", "process_", "vertx_");

  private static final Set<String> PROMQL_FUNCTIONS = Set.of(
      "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk",
      "quantile", "limitk", "limit_ratio",
      "abs", "absent", "absent_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min", "day_of_month",
      "day_of_week", "day_of_year", "days_in_month", "delta", "deriv", "exp", "floor", "histogram_avg",
      "histogram_count", "histogram_fraction", "histogram_quantile", "histogram_stddev", "histogram_stdvar",
      "histogram_sum", "holt_winters", "hour", "idelta", "increase", "irate", "label_join", "label_replace", "ln",
      "log2", "log10", "minute", "month", "predict_linear", "rate", "resets", "round", "scalar", "sgn", "sort",
      "sort_desc", "sort_by_label", "sort_by_label_desc", "sqrt", "time", "timestamp", "vector", "year",
      "avg_over_time", "min_over_time", "max_over_time", "sum_over_time", "count_over_time", "quantile_over_time",
      "stddev_over_time", "stdvar_over_time", "last_over_time", "present_over_time", "mad_over_time",
      "acos", "acosh", "asin", "asinh", "atan", "atanh", "cos", "cosh", "sin", "sinh", "tan", "tanh", "deg", "rad",
      "pi");
  private static final Set<String> PROMQL_KEYWORDS = Set.of(
      "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
      "inf", "nan");

  private static final Set<String> RUNBOOK_ANCHORS = Set.of(
      "alert-kmcclusterdown", "alert-kmcagentflapping", "alert-kmctunnellatencyhigh", "alert-kmchubnodedown",
      "alert-kmcauditdropped", "alert-kmcpropagationfailed", "alert-kmcdatabasepoolsaturated",
      "alert-kmctlshandshakestimingout");
  private static final Set<String> SEVERITIES = Set.of("critical", "warning", "info");

  /** How a file under deploy/kubernetes is used: a whole object, or a patch of one. */
  private enum Role { RESOURCE, PATCH }

  /** One document of a manifest file, with its typed model and the raw map it came from. */
  private record Manifest(Path file, Role role, Object typed, Map<String, Object> raw) {
    String where() {
      return show(file) + ": " + raw.get("kind") + " " + name();
    }

    String name() {
      Object metadata = raw.get("metadata");
      return metadata instanceof Map<?, ?> m ? String.valueOf(m.get("name")) : "(no name)";
    }

    boolean whole() {
      return role == Role.RESOURCE;
    }
  }

  /** A kustomization.yaml and what it lists. */
  private record Kustomization(Path file, Map<String, Object> raw) {
    Path dir() {
      return file.getParent();
    }

    List<Object> list(String key) {
      return raw.get(key) instanceof List<?> l ? new ArrayList<>(l) : List.of();
    }
  }

  private static Set<String> hubEnvNames;
  private static Set<String> agentEnvNames;
  private static List<ConfigReader.Key> hubKeys;
  private static List<ConfigReader.Key> agentKeys;
  private static int apiPort;
  private static List<Kustomization> kustomizations;
  private static List<Path> manifestFiles;
  private static final Map<Path, Role> roles = new LinkedHashMap<>();
  private static final List<Manifest> manifests = new ArrayList<>();
  private static final List<String> loadProblems = new ArrayList<>();

  @BeforeAll
  static void load() throws IOException {
    ConfigReader hubReader = ConfigReader.fromYaml("", Map.of());
    apiPort = HubConfig.read(hubReader).server().port();
    hubKeys = hubReader.keys();
    ConfigReader agentReader = ConfigReader.fromYaml("", Map.of());
    AgentConfig.read(agentReader);
    agentKeys = agentReader.keys();
    hubEnvNames = envNames(hubKeys, HUB_ALIASES);
    agentEnvNames = envNames(agentKeys, AGENT_ALIASES);

    List<Path> yamlFiles;
    try (Stream<Path> walk = Files.walk(KUBERNETES)) {
      yamlFiles = walk.filter(Files::isRegularFile)
          .filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml"))
          .sorted().toList();
    }
    kustomizations = new ArrayList<>();
    for (Path file : yamlFiles) {
      if (isKustomization(file)) {
        kustomizations.add(new Kustomization(file, yamlMap(file)));
      }
    }
    for (Kustomization k : kustomizations) {
      for (Object resource : k.list("resources")) {
        Path path = k.dir().resolve(String.valueOf(resource)).normalize();
        if (Files.isRegularFile(path)) {
          roles.put(path, Role.RESOURCE);
        }
      }
      for (Object patch : k.list("patches")) {
        if (patch instanceof Map<?, ?> m && m.get("path") != null) {
          roles.putIfAbsent(k.dir().resolve(String.valueOf(m.get("path"))).normalize(), Role.PATCH);
        }
      }
      for (Object patch : k.list("patchesStrategicMerge")) {
        roles.putIfAbsent(k.dir().resolve(String.valueOf(patch)).normalize(), Role.PATCH);
      }
    }
    manifestFiles = yamlFiles.stream().filter(p -> !isKustomization(p)).toList();
    for (Path file : manifestFiles) {
      loadManifests(file, roles.getOrDefault(file, Role.RESOURCE));
    }
  }

  private static void loadManifests(Path file, Role role) throws IOException {
    List<Map<String, Object>> documents = new ArrayList<>();
    for (Object document : snakeYaml().loadAll(Files.readString(file))) {
      if (document == null) {
        continue;
      }
      if (!(document instanceof Map)) {
        loadProblems.add(show(file) + ": a document is not a Kubernetes object (a mapping with kind)");
        continue;
      }
      documents.add(asMap(document));
    }
    List<Object> typed;
    try {
      typed = Yaml.loadAll(file.toFile());
    } catch (IOException | RuntimeException e) {
      // Find the document at fault, to name it.
      int found = 0;
      for (Map<String, Object> document : documents) {
        String where = show(file) + ": " + document.get("kind") + " " + nameOf(document);
        Class<?> model = ModelMapper.getApiTypeClass(String.valueOf(document.get("apiVersion")),
            String.valueOf(document.get("kind")));
        if (model == null || model == DynamicKubernetesObject.class) {
          found++;
          loadProblems.add(where + ": " + document.get("apiVersion") + " " + document.get("kind")
              + " is not a kind client-java knows (a typo, or a custom resource that does not belong here)");
          continue;
        }
        try {
          Yaml.load(snakeYaml().dump(document));
        } catch (IOException | RuntimeException perDocument) {
          found++;
          loadProblems.add(where + " does not parse as " + model.getSimpleName() + ": "
              + parseError(perDocument.getMessage()));
        }
      }
      if (found == 0) {
        loadProblems.add(show(file) + " does not parse as Kubernetes objects: " + oneLine(e.getMessage()));
      }
      return;
    }
    if (typed.size() != documents.size()) {
      loadProblems.add(show(file) + ": " + documents.size() + " documents but " + typed.size()
          + " parsed as Kubernetes objects");
      return;
    }
    for (int i = 0; i < typed.size(); i++) {
      Manifest manifest = new Manifest(file, role, typed.get(i), documents.get(i));
      if (manifest.typed() == null) {
        loadProblems.add(manifest.where() + " parsed as null");
      } else if (manifest.typed() instanceof DynamicKubernetesObject) {
        loadProblems.add(manifest.where() + ": " + manifest.raw().get("apiVersion") + " " + manifest.raw().get("kind")
            + " is not a kind client-java knows (a typo, or a custom resource that does not belong here)");
      } else if (!(manifest.typed() instanceof KubernetesObject)) {
        loadProblems.add(manifest.where() + " parsed as " + manifest.typed().getClass().getSimpleName()
            + ", not a typed Kubernetes object");
      } else {
        manifests.add(manifest);
      }
    }
  }

  // ---- files and kustomizations ----------------------------------------------------------------

  @Test
  void everyKustomizationListsFilesThatExist() throws IOException {
    List<String> problems = new ArrayList<>();
    assertTrue(kustomizations.size() >= 4, "expected kustomizations in base, overlays/production, "
        + "overlays/single-node and agent under " + show(KUBERNETES) + ", found " + kustomizations.size());
    for (Kustomization k : kustomizations) {
      String where = show(k.file());
      if (!"Kustomization".equals(k.raw().get("kind"))) {
        problems.add(where + ": kind must be Kustomization");
      }
      for (Object resource : k.list("resources")) {
        Path path = k.dir().resolve(String.valueOf(resource)).normalize();
        if (Files.isDirectory(path)) {
          if (!isKustomizationDir(path)) {
            problems.add(where + ": resource " + resource + " is a directory without a kustomization.yaml");
          }
        } else if (!Files.isRegularFile(path)) {
          problems.add(where + ": resource " + resource + " does not exist");
        }
      }
      for (Object patch : k.list("patches")) {
        if (!(patch instanceof Map<?, ?> m) || (m.get("path") == null) == (m.get("patch") == null)) {
          problems.add(where + ": every patch needs exactly one of path or patch: " + patch);
        } else if (m.get("path") != null && !Files.isRegularFile(k.dir().resolve(String.valueOf(m.get("path"))))) {
          problems.add(where + ": patch " + m.get("path") + " does not exist");
        }
      }
      for (Object patch : k.list("patchesStrategicMerge")) {
        if (!Files.isRegularFile(k.dir().resolve(String.valueOf(patch)))) {
          problems.add(where + ": patch " + patch + " does not exist");
        }
      }
      for (String generators : List.of("configMapGenerator", "secretGenerator")) {
        for (Object generator : k.list(generators)) {
          Map<String, Object> g = asMap(generator);
          for (String file : generatorFiles(g)) {
            if (!Files.isRegularFile(k.dir().resolve(file))) {
              problems.add(where + ": " + generators + " " + g.get("name") + " lists " + file
                  + ", which does not exist");
            }
          }
        }
      }
    }
    for (Path file : manifestFiles) {
      if (!roles.containsKey(file)) {
        problems.add(show(file) + " is not listed by any kustomization.yaml (as a resource or a patch)");
      }
    }
    assertNoProblems(problems);
  }

  @Test
  void everyManifestParsesAsItsTypedModel() {
    List<String> problems = new ArrayList<>(loadProblems);
    for (Manifest m : manifests) {
      KubernetesObject object = (KubernetesObject) m.typed();
      if (object.getMetadata() == null || object.getMetadata().getName() == null) {
        problems.add(m.where() + " has no metadata.name");
      }
      if (!Objects.equals(object.getKind(), m.raw().get("kind"))) {
        problems.add(m.where() + " parsed as kind " + object.getKind());
      }
    }
    if (manifests.stream().noneMatch(m -> m.whole() && m.typed() instanceof V1Deployment
        && HUB_DEPLOYMENT.equals(m.name()))) {
      problems.add("no Deployment " + HUB_DEPLOYMENT + " under " + show(KUBERNETES));
    }
    assertNoProblems(problems);
  }

  // ---- containers, probes, ports ---------------------------------------------------------------

  @Test
  void containersHaveImagesAndProbeTheManagementPort() {
    List<String> problems = new ArrayList<>();
    for (Manifest m : manifests) {
      for (V1Container container : containers(m)) {
        String where = m.where() + ", container " + container.getName();
        if (m.whole() && (container.getImage() == null || container.getImage().isBlank())) {
          problems.add(where + ": no image");
        }
        if (m.whole() && (container.getLivenessProbe() == null || container.getReadinessProbe() == null)) {
          problems.add(where + ": needs a livenessProbe and a readinessProbe");
        }
        checkProbe(where + ", startupProbe", container.getStartupProbe(), "/healthz", container, problems);
        checkProbe(where + ", livenessProbe", container.getLivenessProbe(), "/healthz", container, problems);
        checkProbe(where + ", readinessProbe", container.getReadinessProbe(), "/ready", container, problems);
      }
    }
    assertNoProblems(problems);
  }

  private static void checkProbe(String where, V1Probe probe, String path, V1Container container,
                                 List<String> problems) {
    if (probe == null) {
      return;
    }
    if (probe.getHttpGet() == null) {
      problems.add(where + ": must be an httpGet probe");
      return;
    }
    if (!path.equals(probe.getHttpGet().getPath())) {
      problems.add(where + ": must get " + path + ", not " + probe.getHttpGet().getPath()
          + " (liveness and startup /healthz: alive; readiness /ready: its dependencies answer)");
    }
    IntOrString port = probe.getHttpGet().getPort();
    if (port == null || port.isInteger()) {
      problems.add(where + ": must name its port (" + MANAGEMENT_PORT_NAME + "), not " + port);
      return;
    }
    Optional<V1ContainerPort> declared = port(container, port.getStrValue());
    if (declared.isEmpty()) {
      problems.add(where + ": port " + port.getStrValue() + " is not declared by the container");
    } else if (declared.get().getContainerPort() != MANAGEMENT_PORT) {
      problems.add(where + ": port " + port.getStrValue() + " is " + declared.get().getContainerPort()
          + ", not the management port " + MANAGEMENT_PORT);
    }
  }

  @Test
  void hubContainerDeclaresThePortsOfTheCode() {
    List<String> problems = new ArrayList<>();
    int clusterPort = clusterPort();
    for (Manifest m : manifests) {
      for (V1Container container : containers(m)) {
        if (!m.whole() || !HUB_CONTAINER.equals(container.getName())) {
          continue;
        }
        String where = m.where() + ", container " + container.getName();
        expectPort(where, container, "http", apiPort, "server.port", problems);
        expectPort(where, container, MANAGEMENT_PORT_NAME, MANAGEMENT_PORT, "metrics.port", problems);
        expectPort(where, container, "hazelcast", clusterPort, "cluster.port", problems);
        expectPort(where, container, "event-bus", EVENT_BUS_PORT, "KMC_CLUSTER_EVENT_BUS_PORT", problems);
      }
    }
    assertNoProblems(problems);
  }

  private static void expectPort(String where, V1Container container, String name, int number, String source,
                                 List<String> problems) {
    Optional<V1ContainerPort> port = port(container, name);
    if (port.isEmpty()) {
      problems.add(where + ": declares no port named " + name + " (" + number + ", " + source + ")");
    } else if (port.get().getContainerPort() != number) {
      problems.add(where + ": port " + name + " is " + port.get().getContainerPort() + ", but " + source
          + " is " + number);
    }
  }

  /**
   * The images listen on the port the manifests probe: the program's default, or the image's own
   * {@code ENV KMC_METRICS_PORT} (the agent's default is 9091, so that it runs beside a hub on one
   * machine; inside its container it keeps 9090).
   */
  @Test
  void managementPortIsTheDefaultOfTheHubAndTheAgent() {
    List<String> problems = new ArrayList<>();
    for (var program : Map.of(HUB_CONTAINER, hubKeys, AGENT_CONTAINER, agentKeys).entrySet()) {
      OptionalInt port = intDefault(program.getValue(), "metrics.port");
      Path dockerfile = dockerfiles().get(program.getKey());
      Optional<String> imageSetting = dockerfile == null ? Optional.empty() : dockerInstructions(dockerfile).stream()
          .filter(i -> i.matches("ENV KMC_METRICS_PORT[= ]\\d+")).map(i -> i.substring(i.length() - 4)).findFirst();
      if (port.isEmpty()) {
        problems.add(program.getKey() + " reads no metrics.port: the manifests probe " + MANAGEMENT_PORT);
      } else if (imageSetting.isPresent() ? !imageSetting.get().equals(String.valueOf(MANAGEMENT_PORT))
          : port.getAsInt() != MANAGEMENT_PORT) {
        problems.add(program.getKey() + "'s image listens on " + imageSetting.orElse(String.valueOf(port.getAsInt()))
            + " (metrics.port default or the image's ENV KMC_METRICS_PORT), the manifests use " + MANAGEMENT_PORT);
      }
    }
    if (AgentManifest.MANAGEMENT_PORT != MANAGEMENT_PORT) {
      problems.add("AgentManifest.MANAGEMENT_PORT is " + AgentManifest.MANAGEMENT_PORT + ", the manifests use "
          + MANAGEMENT_PORT);
    }
    assertNoProblems(problems);
  }

  // ---- environment -----------------------------------------------------------------------------

  @Test
  void everyKmcEnvironmentVariableIsAKeyTheProgramReads() throws IOException {
    List<String> problems = new ArrayList<>();
    Map<String, Set<String>> allowedBySource = envSourcesByName();
    for (Manifest m : manifests) {
      for (V1Container container : containers(m)) {
        Set<String> allowed = allowedFor(container.getName());
        String program = programOf(container.getName());
        for (V1EnvVar env : Optional.ofNullable(container.getEnv()).orElse(List.of())) {
          checkEnvName(m.where() + ", container " + container.getName(), env.getName(), allowed, program, problems);
        }
      }
      Map<String, String> data = new LinkedHashMap<>();
      if (m.typed() instanceof V1ConfigMap configMap && configMap.getData() != null) {
        data.putAll(configMap.getData());
      }
      if (m.typed() instanceof V1Secret secret) {
        Optional.ofNullable(secret.getStringData()).ifPresent(data::putAll);
        Optional.ofNullable(secret.getData()).ifPresent(d -> d.keySet().forEach(k -> data.put(k, "")));
      }
      Set<String> allowed = allowedBySource.getOrDefault(m.name(), union());
      for (String name : data.keySet()) {
        if (name.startsWith("KMC_")) {
          checkEnvName(m.where(), name, allowed, programOf(allowed), problems);
        }
      }
    }
    for (Kustomization k : kustomizations) {
      for (String generators : List.of("configMapGenerator", "secretGenerator")) {
        for (Object generator : k.list(generators)) {
          Map<String, Object> g = asMap(generator);
          Set<String> allowed = allowedBySource.getOrDefault(String.valueOf(g.get("name")), union());
          Map<String, String> origins = new LinkedHashMap<>();
          generatorEnv(k, g, problems, origins);
          for (var entry : origins.entrySet()) {
            if (entry.getKey().startsWith("KMC_")) {
              checkEnvName(entry.getValue() + " (" + generators + " " + g.get("name") + ")", entry.getKey(), allowed,
                  programOf(allowed), problems);
            }
          }
        }
      }
    }
    for (var image : dockerfiles().entrySet()) {
      Set<String> allowed = allowedFor(image.getKey());
      for (String name : dockerEnvNames(image.getValue())) {
        checkEnvName(show(image.getValue()), name, allowed, programOf(image.getKey()), problems);
      }
    }
    assertNoProblems(problems);
  }

  private static void checkEnvName(String where, String name, Set<String> allowed, String program,
                                   List<String> problems) {
    if (name != null && name.startsWith("KMC_") && !allowed.contains(name)) {
      problems.add(where + ": " + name + " is not a key the " + program + " reads (docs/configuration.md)");
    }
  }

  /** The environment every kustomization gives the hub is a configuration the hub accepts. */
  @Test
  void hubEnvironmentOfEveryKustomizationIsAValidConfiguration() throws IOException {
    List<String> problems = new ArrayList<>();
    Manifest hub = hubDeployment();
    V1Container container = hubContainer(hub);
    Map<String, String> fixed = new LinkedHashMap<>();
    for (V1EnvVar env : Optional.ofNullable(container.getEnv()).orElse(List.of())) {
      fixed.put(env.getName(), env.getValue() != null ? env.getValue() : "10.0.0.1");
    }
    List<String> configMaps = new ArrayList<>();
    List<String> secrets = new ArrayList<>();
    for (V1EnvFromSource from : Optional.ofNullable(container.getEnvFrom()).orElse(List.of())) {
      Optional.ofNullable(from.getConfigMapRef()).ifPresent(r -> configMaps.add(r.getName()));
      Optional.ofNullable(from.getSecretRef()).ifPresent(r -> secrets.add(r.getName()));
    }
    // The example Secret's placeholders stand in for the operator's own Secret.
    Map<String, String> secretEnv = new LinkedHashMap<>();
    for (Manifest m : manifests) {
      if (m.typed() instanceof V1Secret secret && secrets.contains(m.name()) && secret.getStringData() != null) {
        secretEnv.putAll(secret.getStringData());
      }
    }
    int checked = 0;
    for (Kustomization k : kustomizations) {
      Map<String, String> env = new LinkedHashMap<>();
      for (String name : configMaps) {
        env.putAll(effectiveGeneratorEnv(k, name, problems));
      }
      if (env.isEmpty()) {
        continue;
      }
      checked++;
      env.putAll(secretEnv);
      env.putAll(fixed);
      if (env.containsKey("KMC_ADMIN_PASSWORD")) {
        env.putIfAbsent("KMC_AUTH_ADMIN_PASSWORD", env.get("KMC_ADMIN_PASSWORD"));
      }
      try {
        ConfigReader reader = ConfigReader.fromYaml("", env);
        HubConfig config = HubConfig.read(reader);
        reader.finish();
        if (config.server().tls().enabled()) {
          problems.add(show(k.file()) + ": the hub serves TLS behind the Ingress; set KMC_SERVER_TLS_MODE=off");
        }
      } catch (ConfigException e) {
        problems.add(show(k.file()) + ": the hub would refuse this environment: " + e.getMessage());
      }
    }
    assertTrue(checked >= 3, "expected the hub's environment in base and both overlays, found it in " + checked);

    Map<String, String> agentEnv = new LinkedHashMap<>();
    V1Container agent = agentTemplateContainer();
    for (V1EnvVar env : Optional.ofNullable(agent.getEnv()).orElse(List.of())) {
      agentEnv.put(env.getName(), env.getValue());
    }
    try {
      ConfigReader reader = ConfigReader.fromYaml("", agentEnv);
      AgentConfig.read(reader);
      reader.finish();
    } catch (ConfigException e) {
      problems.add(show(AGENT_TEMPLATE) + ": the agent would refuse this environment: " + e.getMessage());
    }
    assertNoProblems(problems);
  }

  // ---- services, selectors, policies -----------------------------------------------------------

  @Test
  void servicesIngressPdbAndNetworkPolicySelectTheHubPods() {
    List<String> problems = new ArrayList<>();
    Manifest hub = hubDeployment();
    V1Deployment deployment = (V1Deployment) hub.typed();
    Map<String, String> hubLabels = deployment.getSpec().getTemplate().getMetadata().getLabels();
    Map<String, String> selector = deployment.getSpec().getSelector().getMatchLabels();
    if (selector == null || !hubLabels.entrySet().containsAll(selector.entrySet())) {
      problems.add(hub.where() + ": spec.selector " + selector + " does not match its pod labels " + hubLabels);
    }
    Map<String, V1Service> services = new LinkedHashMap<>();
    for (Manifest m : manifests) {
      if (m.typed() instanceof V1Service service && m.whole()) {
        services.put(m.name(), service);
        List<V1Container> selected = selectedContainers(service.getSpec().getSelector());
        if (selected.isEmpty()) {
          problems.add(m.where() + ": selector " + service.getSpec().getSelector() + " selects no Deployment's pods");
        }
        for (V1ServicePort port : service.getSpec().getPorts()) {
          IntOrString target = port.getTargetPort();
          if (target == null || target.isInteger()) {
            problems.add(m.where() + ", port " + port.getName() + ": targetPort must name a container port");
          } else if (selected.stream().noneMatch(c -> port(c, target.getStrValue()).isPresent())) {
            problems.add(m.where() + ", port " + port.getName() + ": targetPort " + target.getStrValue()
                + " is not a port of the selected containers");
          }
        }
      }
    }
    V1Service hazelcast = services.get(HAZELCAST_SERVICE);
    String configuredName = stringDefault(hubKeys, "cluster.kubernetes.service_name").orElse(null);
    if (hazelcast == null) {
      problems.add("no Service " + HAZELCAST_SERVICE + " (cluster.kubernetes.service_name) under " + show(KUBERNETES));
    } else {
      if (!HAZELCAST_SERVICE.equals(configuredName)) {
        problems.add("the hub's cluster.kubernetes.service_name defaults to " + configuredName + ", the Service is "
            + HAZELCAST_SERVICE);
      }
      if (!"None".equals(hazelcast.getSpec().getClusterIP())) {
        problems.add("Service " + HAZELCAST_SERVICE + " must be headless (clusterIP: None)");
      }
      if (!Boolean.TRUE.equals(hazelcast.getSpec().getPublishNotReadyAddresses())) {
        problems.add("Service " + HAZELCAST_SERVICE + " must publish not-ready addresses: nodes join before ready");
      }
      int clusterPort = clusterPort();
      List<V1Container> selected = selectedContainers(hazelcast.getSpec().getSelector());
      boolean targetsClusterPort = hazelcast.getSpec().getPorts().stream().anyMatch(p -> p.getPort() == clusterPort
          && selected.stream().anyMatch(c -> resolvesTo(c, p.getTargetPort(), clusterPort)));
      if (!targetsClusterPort) {
        problems.add("Service " + HAZELCAST_SERVICE + " must serve and target the Hazelcast port " + clusterPort);
      }
    }
    for (Manifest m : manifests) {
      if (m.typed() instanceof V1PodDisruptionBudget pdb && m.whole()) {
        if (!selectsHub(pdb.getSpec().getSelector(), hubLabels)) {
          problems.add(m.where() + ": selector does not select the hub pods " + hubLabels);
        }
      }
      if (m.typed() instanceof V1Ingress ingress) {
        for (V1IngressRule rule : Optional.ofNullable(ingress.getSpec().getRules()).orElse(List.of())) {
          for (V1HTTPIngressPath path : rule.getHttp().getPaths()) {
            var backend = path.getBackend().getService();
            V1Service service = services.get(backend.getName());
            if (service == null) {
              problems.add(m.where() + ": backend Service " + backend.getName() + " does not exist");
            } else if (service.getSpec().getPorts().stream().noneMatch(p -> Objects.equals(p.getName(),
                backend.getPort().getName()) || Objects.equals(p.getPort(), backend.getPort().getNumber()))) {
              problems.add(m.where() + ": Service " + backend.getName() + " has no port " + backend.getPort());
            }
          }
        }
      }
      if (m.typed() instanceof V1NetworkPolicy policy && m.whole()) {
        checkNetworkPolicy(m, policy, hubLabels, problems);
      }
    }
    assertNoProblems(problems);
  }

  private static void checkNetworkPolicy(Manifest m, V1NetworkPolicy policy, Map<String, String> hubLabels,
                                         List<String> problems) {
    if (!selectsHub(policy.getSpec().getPodSelector(), hubLabels)) {
      problems.add(m.where() + ": podSelector does not select the hub pods " + hubLabels);
      return;
    }
    V1Container hub = hubContainer(hubDeployment());
    for (V1NetworkPolicyIngressRule rule : Optional.ofNullable(policy.getSpec().getIngress()).orElse(List.of())) {
      for (V1NetworkPolicyPort port : Optional.ofNullable(rule.getPorts()).orElse(List.of())) {
        if (!resolvesTo(hub, port.getPort(), null)) {
          problems.add(m.where() + ": ingress port " + port.getPort() + " is not a port of the hub container");
        }
      }
    }
    for (V1NetworkPolicyEgressRule rule : Optional.ofNullable(policy.getSpec().getEgress()).orElse(List.of())) {
      boolean toHub = Optional.ofNullable(rule.getTo()).orElse(List.of()).stream()
          .anyMatch(peer -> peer.getNamespaceSelector() == null && peer.getIpBlock() == null
              && selectsHub(peer.getPodSelector(), hubLabels));
      if (!toHub) {
        continue;
      }
      for (V1NetworkPolicyPort port : Optional.ofNullable(rule.getPorts()).orElse(List.of())) {
        if (!resolvesTo(hub, port.getPort(), null)) {
          problems.add(m.where() + ": egress to the hub pods on " + port.getPort()
              + ", which is not a port of the hub container");
        }
      }
    }
    List<Integer> peerPorts = List.of(clusterPort(), EVENT_BUS_PORT);
    for (int peerPort : peerPorts) {
      boolean admitted = Optional.ofNullable(policy.getSpec().getIngress()).orElse(List.of()).stream()
          .anyMatch(rule -> rule.getFrom() != null && !rule.getFrom().isEmpty()
              && rule.getFrom().stream().allMatch(peer -> isHubPeer(peer, hubLabels))
              && rule.getPorts() != null
              && rule.getPorts().stream().anyMatch(p -> resolvesTo(hub, p.getPort(), peerPort)));
      if (!admitted) {
        problems.add(m.where() + ": port " + peerPort + " must be open to the hub pods (and only to them)");
      }
    }
  }

  private static boolean isHubPeer(V1NetworkPolicyPeer peer, Map<String, String> hubLabels) {
    return peer.getNamespaceSelector() == null && peer.getIpBlock() == null
        && selectsHub(peer.getPodSelector(), hubLabels);
  }

  /** The kubelet kills a pod after terminationGracePeriodSeconds (30 when unset): later than the program's own grace. */
  @Test
  void podsOutliveTheirShutdownGrace() throws IOException {
    List<String> problems = new ArrayList<>();
    Duration hubGrace = durationDefault(hubKeys, "server.shutdown_grace");
    for (Kustomization k : kustomizations) {
      String configured = effectiveGeneratorEnv(k, "kmc-hub-env", problems).get("KMC_SERVER_SHUTDOWN_GRACE");
      if (configured != null && parseDuration(configured).compareTo(hubGrace) > 0) {
        hubGrace = parseDuration(configured);
      }
    }
    Duration agentGrace = durationDefault(agentKeys, "workers.shutdown_grace");
    for (Manifest m : manifests) {
      if (!(m.typed() instanceof V1Deployment deployment)) {
        continue;
      }
      for (V1Container container : containers(m)) {
        Duration grace = HUB_CONTAINER.equals(container.getName()) ? hubGrace
            : AGENT_CONTAINER.equals(container.getName()) ? agentGrace : Duration.ZERO;
        Long seconds = deployment.getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds();
        if (HUB_CONTAINER.equals(container.getName()) && m.whole() && seconds == null) {
          problems.add(m.where() + ": set terminationGracePeriodSeconds above the hub's shutdown grace ("
              + grace.toSeconds() + "s)");
        } else if ((seconds != null || m.whole()) && (seconds == null ? 30 : seconds) <= grace.toSeconds()) {
          problems.add(m.where() + ": terminationGracePeriodSeconds " + (seconds == null ? "30 (unset)" : seconds)
              + " must exceed the " + programOf(container.getName()) + "'s shutdown grace of " + grace.toSeconds()
              + "s");
        }
      }
    }
    assertNoProblems(problems);
  }

  // ---- the agent template ----------------------------------------------------------------------

  @Test
  void staticAgentTemplateIsTheManifestTheHubServes() throws IOException {
    V1Container container = agentTemplateContainer();
    Map<String, String> env = new LinkedHashMap<>();
    for (V1EnvVar e : Optional.ofNullable(container.getEnv()).orElse(List.of())) {
      env.put(e.getName(), e.getValue());
    }
    String hubUrl = env.get("KMC_HUB_URLS").replaceFirst("^ws", "http");
    String rendered = new AgentManifest(container.getImage(), null)
        .render(env.get("KMC_HUB_CLUSTER"), hubUrl, null, AgentManifest.Access.READ);
    List<Object> served = documents(rendered);
    List<Object> template = documents(Files.readString(AGENT_TEMPLATE));
    List<String> differences = new ArrayList<>();
    if (served.size() != template.size()) {
      differences.add("the hub serves " + served.size() + " documents, the template has " + template.size());
    }
    for (int i = 0; i < Math.min(served.size(), template.size()); i++) {
      Map<String, Object> document = asMap(served.get(i));
      String name = "document " + (i + 1) + " (" + document.get("kind") + " " + nameOf(document) + ")";
      diff(name, served.get(i), template.get(i), differences);
    }
    if (!differences.isEmpty()) {
      fail(show(AGENT_TEMPLATE) + " differs from AgentManifest.render(cluster, hub URL, no token, read) "
          + "with the template's image, cluster and hub URL; keep the two equal:\n  "
          + String.join("\n  ", differences));
    }
  }

  private static void diff(String path, Object served, Object template, List<String> differences) {
    if (served instanceof Map<?, ?> a && template instanceof Map<?, ?> b) {
      Set<Object> keys = new LinkedHashSet<>(a.keySet());
      keys.addAll(b.keySet());
      for (Object key : keys) {
        diff(path + "." + key, a.get(key), b.get(key), differences);
      }
    } else if (served instanceof List<?> a && template instanceof List<?> b && a.size() == b.size()) {
      for (int i = 0; i < a.size(); i++) {
        diff(path + "[" + i + "]", a.get(i), b.get(i), differences);
      }
    } else if (!Objects.equals(served, template)) {
      differences.add(path + ": the hub serves " + served + ", the template has " + template);
    }
  }

  // ---- Grafana and Prometheus ------------------------------------------------------------------

  @Test
  void grafanaDashboardIsValidAndUsesKnownMetrics() throws IOException {
    Path file = DEPLOY.resolve("grafana").resolve("kmc-dashboard.json");
    String where = show(file);
    JsonObject dashboard;
    try {
      dashboard = new JsonObject(Files.readString(file));
    } catch (RuntimeException e) {
      fail(where + " is not valid JSON: " + e.getMessage());
      return;
    }
    List<String> problems = new ArrayList<>();
    if (dashboard.getInteger("schemaVersion") == null || dashboard.getString("uid") == null) {
      problems.add(where + ": needs schemaVersion and uid");
    }
    Map<String, JsonObject> variables = new LinkedHashMap<>();
    JsonArray templating = dashboard.getJsonObject("templating", new JsonObject()).getJsonArray("list", new JsonArray());
    for (int i = 0; i < templating.size(); i++) {
      variables.put(templating.getJsonObject(i).getString("name"), templating.getJsonObject(i));
    }
    if (!variables.containsKey("datasource") || !"datasource".equals(variables.get("datasource").getString("type"))) {
      problems.add(where + ": needs a data source variable named datasource");
    }
    JsonObject cluster = variables.get("cluster");
    Object clusterQuery = cluster == null ? null : cluster.getValue("query");
    String query = clusterQuery instanceof JsonObject q ? q.getString("query") : String.valueOf(clusterQuery);
    if (!"label_values(kmc_cluster_up, cluster)".equals(query)) {
      problems.add(where + ": the cluster variable must come from label_values(kmc_cluster_up, cluster), not " + query);
    }
    List<JsonObject> panels = new ArrayList<>();
    collectPanels(dashboard.getJsonArray("panels", new JsonArray()), panels);
    int queries = 0;
    for (JsonObject panel : panels) {
      String panelWhere = where + ", panel \"" + panel.getString("title") + "\"";
      JsonArray targets = panel.getJsonArray("targets", new JsonArray());
      if (!"row".equals(panel.getString("type")) && targets.isEmpty()) {
        problems.add(panelWhere + ": no query");
      }
      for (int i = 0; i < targets.size(); i++) {
        JsonObject target = targets.getJsonObject(i);
        String expr = target.getString("expr");
        if (expr == null || expr.isBlank()) {
          problems.add(panelWhere + ", query " + target.getString("refId") + ": no expr");
          continue;
        }
        queries++;
        checkPromql(panelWhere + ", query " + target.getString("refId"), expr, problems);
        Object datasource = target.getValue("datasource", panel.getValue("datasource"));
        if (!(datasource instanceof JsonObject ds) || !"${datasource}".equals(ds.getString("uid"))) {
          problems.add(panelWhere + ": must use the ${datasource} variable, not " + datasource);
        }
      }
    }
    assertTrue(queries >= 10, where + ": expected the dashboard's panels, found " + queries + " queries");
    assertNoProblems(problems);
  }

  private static void collectPanels(JsonArray array, List<JsonObject> into) {
    for (int i = 0; i < array.size(); i++) {
      JsonObject panel = array.getJsonObject(i);
      into.add(panel);
      collectPanels(panel.getJsonArray("panels", new JsonArray()), into);
    }
  }

  @Test
  void alertRulesAreCompleteAndUseKnownMetrics() throws IOException {
    Path file = DEPLOY.resolve("prometheus").resolve("alerts.yaml");
    String where = show(file);
    Map<String, Object> rules = yamlMap(file);
    List<String> problems = new ArrayList<>();
    Set<String> anchors = new TreeSet<>();
    Set<String> alerts = new LinkedHashSet<>();
    for (Object group : list(rules.get("groups"))) {
      Map<String, Object> g = asMap(group);
      for (Object rule : list(g.get("rules"))) {
        Map<String, Object> r = asMap(rule);
        String name = String.valueOf(r.get("alert"));
        String ruleWhere = where + ", group " + g.get("name") + ", alert " + name;
        if (r.get("alert") == null) {
          problems.add(where + ", group " + g.get("name") + ": a rule without alert: " + r);
          continue;
        }
        alerts.add(name);
        if (!(r.get("expr") instanceof String expr) || expr.isBlank()) {
          problems.add(ruleWhere + ": no expr");
        } else {
          checkPromql(ruleWhere, expr, problems);
        }
        if (r.get("for") == null || !String.valueOf(r.get("for")).matches("\\d+(ms|s|m|h|d|w|y)")) {
          problems.add(ruleWhere + ": needs for: <duration>, not " + r.get("for"));
        }
        Map<String, Object> labels = asMap(r.get("labels"));
        if (!SEVERITIES.contains(String.valueOf(labels.get("severity")))) {
          problems.add(ruleWhere + ": labels.severity must be one of " + SEVERITIES + ", not " + labels.get("severity"));
        }
        Map<String, Object> annotations = asMap(r.get("annotations"));
        for (String key : List.of("summary", "description", "runbook_url")) {
          if (!(annotations.get(key) instanceof String text) || text.isBlank()) {
            problems.add(ruleWhere + ": needs annotations." + key);
          }
        }
        String runbook = String.valueOf(annotations.get("runbook_url"));
        Matcher anchor = Pattern.compile("docs/operations\\.md#(alert-[a-z0-9-]+)$").matcher(runbook);
        if (!anchor.find() || !RUNBOOK_ANCHORS.contains(anchor.group(1))) {
          problems.add(ruleWhere + ": runbook_url must point at docs/operations.md#<one of " + RUNBOOK_ANCHORS
              + ">, not " + runbook);
        } else {
          anchors.add(anchor.group(1));
        }
      }
    }
    for (String required : List.of("KmcClusterDown", "KmcAgentFlapping", "KmcTunnelLatencyHigh", "KmcHubNodeDown",
        "KmcAuditDropped")) {
      if (!alerts.contains(required)) {
        problems.add(where + ": no alert " + required);
      }
    }
    Path operations = REPO.resolve("docs").resolve("operations.md");
    if (!Files.isRegularFile(operations)) {
      problems.add(where + ": the runbooks " + anchors + " point at docs/operations.md, which does not exist");
    } else {
      Set<String> documented = markdownAnchors(Files.readString(operations));
      for (String a : anchors) {
        if (!documented.contains(a)) {
          problems.add(where + ": docs/operations.md has no section #" + a);
        }
      }
    }
    assertNoProblems(problems);
  }

  @Test
  void prometheusMonitorsScrapeTheManagementPorts() throws IOException {
    Path file = DEPLOY.resolve("prometheus").resolve("servicemonitor.yaml");
    List<String> problems = new ArrayList<>();
    Map<String, V1Service> services = new LinkedHashMap<>();
    for (Manifest m : manifests) {
      if (m.typed() instanceof V1Service service && m.whole()) {
        services.put(m.name(), service);
      }
    }
    for (Object document : snakeYaml().loadAll(Files.readString(file))) {
      Map<String, Object> monitor = asMap(document);
      String where = show(file) + ": " + monitor.get("kind") + " " + nameOf(monitor);
      Map<String, Object> spec = asMap(monitor.get("spec"));
      Map<String, String> selector = stringMap(asMap(spec.get("selector")).get("matchLabels"));
      if ("ServiceMonitor".equals(monitor.get("kind"))) {
        List<String> ports = new ArrayList<>();
        list(spec.get("endpoints")).forEach(e -> ports.add(String.valueOf(asMap(e).get("port"))));
        boolean scrapes = services.values().stream()
            .filter(s -> s.getMetadata().getLabels() != null
                && s.getMetadata().getLabels().entrySet().containsAll(selector.entrySet()))
            .anyMatch(s -> s.getSpec().getPorts().stream().anyMatch(p -> ports.contains(p.getName())
                && resolvesToManagement(s)));
        if (!scrapes) {
          problems.add(where + ": selects no Service with a port " + ports + " targeting the management port");
        }
      } else if ("PodMonitor".equals(monitor.get("kind"))) {
        List<V1Container> selected = selectedContainers(selector);
        for (Object endpoint : list(spec.get("podMetricsEndpoints"))) {
          String port = String.valueOf(asMap(endpoint).get("port"));
          boolean scrapes = selected.stream().anyMatch(c -> port(c, port)
              .filter(p -> p.getContainerPort() == MANAGEMENT_PORT).isPresent());
          if (!scrapes) {
            problems.add(where + ": selects no container with a port " + port + " = " + MANAGEMENT_PORT);
          }
        }
      } else {
        problems.add(where + ": expected a ServiceMonitor or PodMonitor");
      }
    }
    assertNoProblems(problems);
  }

  private static boolean resolvesToManagement(V1Service service) {
    List<V1Container> selected = selectedContainers(service.getSpec().getSelector());
    return service.getSpec().getPorts().stream()
        .anyMatch(p -> selected.stream().anyMatch(c -> resolvesTo(c, p.getTargetPort(), MANAGEMENT_PORT)));
  }

  // ---- Dockerfiles -----------------------------------------------------------------------------

  @Test
  void dockerfilesMatchTheManifests() throws IOException {
    List<String> problems = new ArrayList<>();
    Map<String, Path> images = dockerfiles();
    for (String program : List.of(HUB_CONTAINER, AGENT_CONTAINER)) {
      Path file = images.get(program);
      if (file == null) {
        problems.add("no deploy/docker/" + program + ".Dockerfile");
        continue;
      }
      String where = show(file);
      List<String> instructions = dockerInstructions(file);
      String jar = "/opt/kmc/kmc-" + program + ".jar";
      if (instructions.stream().noneMatch(i -> i.matches("COPY\\s+" + program + "/target/kmc-" + program
          + "\\.jar\\s+" + Pattern.quote(jar)))) {
        problems.add(where + ": must COPY " + program + "/target/kmc-" + program + ".jar to " + jar);
      }
      String user = instructions.stream().filter(i -> i.startsWith("USER ")).reduce((a, b) -> b).orElse("");
      if (!user.matches("USER 10001(:10001)?")) {
        problems.add(where + ": the last USER must be the numeric 10001, not '" + user + "'");
      }
      Set<Integer> exposed = new TreeSet<>();
      instructions.stream().filter(i -> i.startsWith("EXPOSE ")).forEach(i -> {
        for (String port : i.substring(7).trim().split("\\s+")) {
          exposed.add(Integer.parseInt(port.replace("/tcp", "")));
        }
      });
      Optional<String> entrypoint = instructions.stream().filter(i -> i.startsWith("ENTRYPOINT ")).findFirst();
      List<String> command = entrypoint.map(e -> new JsonArray(e.substring(11).trim()).stream()
          .map(String::valueOf).toList()).orElse(List.of());
      if (!command.contains("-XX:MaxRAMPercentage=75") || command.indexOf("-jar") < 0
          || !jar.equals(command.get(Math.min(command.indexOf("-jar") + 1, command.size() - 1)))) {
        problems.add(where + ": ENTRYPOINT must be java -XX:MaxRAMPercentage=75 ... -jar " + jar + ", not " + command);
      }
      if (HUB_CONTAINER.equals(program) && java.util.Collections.indexOfSubList(command, HAZELCAST_JVM_FLAGS) < 0) {
        problems.add(where + ": ENTRYPOINT must pass Hazelcast's JVM flags " + HAZELCAST_JVM_FLAGS);
      }
      for (Manifest m : manifests) {
        if (!(m.typed() instanceof V1Deployment deployment) || !m.whole()) {
          continue;
        }
        V1PodSpec pod = deployment.getSpec().getTemplate().getSpec();
        for (V1Container container : pod.getContainers()) {
          if (!program.equals(container.getName())) {
            continue;
          }
          Long runAs = pod.getSecurityContext() == null ? null : pod.getSecurityContext().getRunAsUser();
          if (runAs == null || runAs != 10001L) {
            problems.add(m.where() + ": runAsUser must be the image's user 10001, not " + runAs);
          }
          for (V1ContainerPort port : Optional.ofNullable(container.getPorts()).orElse(List.of())) {
            if (!exposed.contains(port.getContainerPort())) {
              problems.add(where + ": EXPOSE " + exposed + " lacks port " + port.getContainerPort()
                  + " declared by " + m.where());
            }
          }
        }
      }
    }
    assertNoProblems(problems);
  }

  // ---- helpers: manifests ----------------------------------------------------------------------

  private static List<V1Container> containers(Manifest m) {
    if (m.typed() instanceof V1Deployment d && d.getSpec() != null && d.getSpec().getTemplate() != null
        && d.getSpec().getTemplate().getSpec() != null) {
      return Optional.ofNullable(d.getSpec().getTemplate().getSpec().getContainers()).orElse(List.of());
    }
    return List.of();
  }

  private static Manifest hubDeployment() {
    return manifests.stream()
        .filter(m -> m.whole() && m.typed() instanceof V1Deployment && HUB_DEPLOYMENT.equals(m.name()))
        .findFirst().orElseThrow(() -> new AssertionError("no Deployment " + HUB_DEPLOYMENT + " under "
            + show(KUBERNETES)));
  }

  private static V1Container hubContainer(Manifest hub) {
    return containers(hub).stream().filter(c -> HUB_CONTAINER.equals(c.getName())).findFirst()
        .orElseThrow(() -> new AssertionError(hub.where() + ": no container named " + HUB_CONTAINER));
  }

  private static V1Container agentTemplateContainer() {
    return manifests.stream().filter(m -> m.file().equals(AGENT_TEMPLATE))
        .flatMap(m -> containers(m).stream()).filter(c -> AGENT_CONTAINER.equals(c.getName())).findFirst()
        .orElseThrow(() -> new AssertionError(show(AGENT_TEMPLATE) + ": no Deployment with a container named "
            + AGENT_CONTAINER));
  }

  /** The containers of the whole Deployments whose pods carry every label of the selector. */
  private static List<V1Container> selectedContainers(Map<String, String> selector) {
    if (selector == null || selector.isEmpty()) {
      return List.of();
    }
    List<V1Container> selected = new ArrayList<>();
    for (Manifest m : manifests) {
      if (m.whole() && m.typed() instanceof V1Deployment d) {
        Map<String, String> labels = d.getSpec().getTemplate().getMetadata().getLabels();
        if (labels != null && labels.entrySet().containsAll(selector.entrySet())) {
          selected.addAll(containers(m));
        }
      }
    }
    return selected;
  }

  private static boolean selectsHub(V1LabelSelector selector, Map<String, String> hubLabels) {
    return selector != null && selector.getMatchLabels() != null && !selector.getMatchLabels().isEmpty()
        && (selector.getMatchExpressions() == null || selector.getMatchExpressions().isEmpty())
        && hubLabels.entrySet().containsAll(selector.getMatchLabels().entrySet());
  }

  private static Optional<V1ContainerPort> port(V1Container container, String name) {
    return Optional.ofNullable(container.getPorts()).orElse(List.of()).stream()
        .filter(p -> name.equals(p.getName())).findFirst();
  }

  /** Whether a (named or numbered) port is one the container declares, with the given number if not null. */
  private static boolean resolvesTo(V1Container container, IntOrString port, Integer number) {
    if (port == null) {
      return false;
    }
    Optional<V1ContainerPort> declared = port.isInteger()
        ? Optional.ofNullable(container.getPorts()).orElse(List.of()).stream()
            .filter(p -> p.getContainerPort().equals(port.getIntValue())).findFirst()
        : port(container, port.getStrValue());
    return declared.isPresent() && (number == null || declared.get().getContainerPort().equals(number));
  }

  // ---- helpers: environment --------------------------------------------------------------------

  private static Set<String> envNames(List<ConfigReader.Key> keys, Set<String> aliases) {
    Set<String> names = new TreeSet<>(aliases);
    for (ConfigReader.Key key : keys) {
      if (!key.path().contains("[]")) {
        names.add(ConfigReader.envName(key.path()));
      }
    }
    return names;
  }

  private static Set<String> union() {
    Set<String> all = new TreeSet<>(hubEnvNames);
    all.addAll(agentEnvNames);
    return all;
  }

  private static Set<String> allowedFor(String program) {
    return switch (program) {
      case HUB_CONTAINER -> hubEnvNames;
      case AGENT_CONTAINER -> agentEnvNames;
      default -> union();
    };
  }

  private static String programOf(String container) {
    return switch (container) {
      case HUB_CONTAINER -> "hub";
      case AGENT_CONTAINER -> "agent";
      default -> "hub or the agent";
    };
  }

  private static String programOf(Set<String> allowed) {
    return allowed == hubEnvNames ? "hub" : allowed == agentEnvNames ? "agent" : "hub or the agent";
  }

  /** ConfigMap and Secret names that a hub or agent container takes its environment from. */
  private static Map<String, Set<String>> envSourcesByName() {
    Map<String, Set<String>> sources = new LinkedHashMap<>();
    for (Manifest m : manifests) {
      for (V1Container container : containers(m)) {
        for (V1EnvFromSource from : Optional.ofNullable(container.getEnvFrom()).orElse(List.of())) {
          Set<String> allowed = allowedFor(container.getName());
          Optional.ofNullable(from.getConfigMapRef()).ifPresent(r -> sources.put(r.getName(), allowed));
          Optional.ofNullable(from.getSecretRef()).ifPresent(r -> sources.put(r.getName(), allowed));
        }
      }
    }
    return sources;
  }

  private static List<String> generatorFiles(Map<String, Object> generator) {
    List<String> files = new ArrayList<>();
    list(generator.get("envs")).forEach(e -> files.add(String.valueOf(e)));
    if (generator.get("env") != null) {
      files.add(String.valueOf(generator.get("env")));
    }
    for (Object file : list(generator.get("files"))) {
      String entry = String.valueOf(file);
      files.add(entry.contains("=") ? entry.substring(entry.indexOf('=') + 1) : entry);
    }
    return files;
  }

  /** The variables one generator of a kustomization defines (its env files, then its literals). */
  private static Map<String, String> generatorEnv(Kustomization k, Map<String, Object> generator,
                                                  List<String> problems) throws IOException {
    return generatorEnv(k, generator, problems, new LinkedHashMap<>());
  }

  /** As above, also recording where each variable is defined (file and line) in {@code origins}. */
  private static Map<String, String> generatorEnv(Kustomization k, Map<String, Object> generator,
                                                  List<String> problems, Map<String, String> origins)
      throws IOException {
    Map<String, String> env = new LinkedHashMap<>();
    List<String> envFiles = new ArrayList<>();
    list(generator.get("envs")).forEach(e -> envFiles.add(String.valueOf(e)));
    if (generator.get("env") != null) {
      envFiles.add(String.valueOf(generator.get("env")));
    }
    for (String name : envFiles) {
      Path file = k.dir().resolve(name);
      if (!Files.isRegularFile(file)) {
        continue;
      }
      List<String> lines = Files.readAllLines(file);
      for (int i = 0; i < lines.size(); i++) {
        String line = lines.get(i).trim();
        if (line.isEmpty() || line.startsWith("#")) {
          continue;
        }
        int equals = line.indexOf('=');
        if (equals <= 0) {
          problems.add(show(file) + ":" + (i + 1) + ": not NAME=value: " + line);
          continue;
        }
        env.put(line.substring(0, equals), line.substring(equals + 1));
        origins.put(line.substring(0, equals), show(file) + ":" + (i + 1));
      }
    }
    for (Object literal : list(generator.get("literals"))) {
      String text = String.valueOf(literal);
      int equals = text.indexOf('=');
      if (equals <= 0) {
        problems.add(show(k.file()) + ": literal not NAME=value: " + text);
        continue;
      }
      env.put(text.substring(0, equals), text.substring(equals + 1));
      origins.put(text.substring(0, equals), show(k.file()) + ", literal " + text.substring(0, equals));
    }
    return env;
  }

  /**
   * The data of the generated ConfigMap {@code name} as kustomize builds it in this kustomization:
   * its bases' (from directories among its resources), then its own generator by its behavior
   * (create or replace: its own only; merge: the bases' overridden by its own).
   */
  private static Map<String, String> effectiveGeneratorEnv(Kustomization k, String name, List<String> problems)
      throws IOException {
    Map<String, String> inherited = new LinkedHashMap<>();
    for (Object resource : k.list("resources")) {
      Path dir = k.dir().resolve(String.valueOf(resource)).normalize();
      for (Kustomization base : kustomizations) {
        if (base.dir().equals(dir)) {
          inherited.putAll(effectiveGeneratorEnv(base, name, problems));
        }
      }
    }
    for (Object generator : k.list("configMapGenerator")) {
      Map<String, Object> g = asMap(generator);
      if (!name.equals(g.get("name"))) {
        continue;
      }
      Map<String, String> own = generatorEnv(k, g, problems);
      String behavior = String.valueOf(g.getOrDefault("behavior", "create"));
      if ("merge".equals(behavior)) {
        inherited.putAll(own);
        return inherited;
      }
      return own;
    }
    return inherited;
  }

  private static OptionalInt intDefault(List<ConfigReader.Key> keys, String path) {
    return stringDefault(keys, path).map(v -> OptionalInt.of(Integer.parseInt(v))).orElse(OptionalInt.empty());
  }

  private static int clusterPort() {
    return intDefault(hubKeys, "cluster.port")
        .orElseThrow(() -> new AssertionError("HubConfig reads no cluster.port"));
  }

  private static Duration durationDefault(List<ConfigReader.Key> keys, String path) {
    return stringDefault(keys, path).map(DeployManifestsTest::parseDuration).orElse(Duration.ofSeconds(30));
  }

  private static Optional<String> stringDefault(List<ConfigReader.Key> keys, String path) {
    return keys.stream().filter(k -> k.path().equals(path)).map(ConfigReader.Key::defaultValue).findFirst();
  }

  private static Duration parseDuration(String text) {
    Matcher m = Pattern.compile("(\\d+)(ms|s|m|h)?").matcher(text.trim());
    if (!m.matches()) {
      throw new AssertionError("not a duration: " + text);
    }
    long amount = Long.parseLong(m.group(1));
    return switch (m.group(2) == null ? "s" : m.group(2)) {
      case "ms" -> Duration.ofMillis(amount);
      case "m" -> Duration.ofMinutes(amount);
      case "h" -> Duration.ofHours(amount);
      default -> Duration.ofSeconds(amount);
    };
  }

  // ---- helpers: Dockerfiles --------------------------------------------------------------------

  private static Map<String, Path> dockerfiles() {
    Map<String, Path> files = new LinkedHashMap<>();
    for (String program : List.of(HUB_CONTAINER, AGENT_CONTAINER)) {
      Path file = DEPLOY.resolve("docker").resolve(program + ".Dockerfile");
      if (Files.isRegularFile(file)) {
        files.put(program, file);
      }
    }
    return files;
  }

  /** The Dockerfile's instructions, comments dropped and continuation lines joined. */
  private static List<String> dockerInstructions(Path file) {
    List<String> instructions = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    try {
      for (String line : Files.readAllLines(file)) {
        String trimmed = line.trim();
        if (trimmed.startsWith("#") || (trimmed.isEmpty() && current.length() == 0)) {
          continue;
        }
        if (trimmed.endsWith("\\")) {
          current.append(trimmed, 0, trimmed.length() - 1).append(' ');
          continue;
        }
        current.append(trimmed);
        instructions.add(current.toString().replaceAll("\\s+", " ").trim());
        current.setLength(0);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return instructions;
  }

  private static List<String> dockerEnvNames(Path file) {
    List<String> names = new ArrayList<>();
    for (String instruction : dockerInstructions(file)) {
      if (instruction.startsWith("ENV ")) {
        Matcher m = Pattern.compile("(?:^ENV |\\s)([A-Za-z_][A-Za-z0-9_]*)=").matcher(instruction);
        while (m.find()) {
          names.add(m.group(1));
        }
      }
    }
    return names;
  }

  // ---- helpers: PromQL -------------------------------------------------------------------------

  /**
   * Checks that every metric an expression selects is one kmc exports (kmc_*), a JVM, process or
   * Vert.x metric, or up, and that every function is PromQL's.
   */
  static void checkPromql(String where, String expr, List<String> problems) {
    String text = expr
        .replaceAll("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`", " ")
        .replaceAll("\\{[^}]*}", " ")
        .replaceAll("\\[[^]]*]", " ")
        .replaceAll("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", " ")
        .replaceAll("\\boffset\\s+-?\\w+", " ")
        .replaceAll("@\\s*[\\w.()]+", " ")
        .replaceAll("\\$\\{?\\w+}?", " ");
    Matcher token = Pattern.compile("(?<![\\w.])([A-Za-z_:][\\w:]*)(\\s*\\()?").matcher(text);
    int metrics = 0;
    while (token.find()) {
      String name = token.group(1);
      if (token.group(2) != null) {
        if (!PROMQL_FUNCTIONS.contains(name)) {
          problems.add(where + ": " + name + "() is not a PromQL function");
        }
      } else if (!PROMQL_KEYWORDS.contains(name.toLowerCase(Locale.ROOT))) {
        metrics++;
        if (!knownMetric(name)) {
          problems.add(where + ": " + name + " is not a metric kmc exports (kmc_*, jvm_*, process_*, vertx_*, up)");
        }
      }
    }
    if (metrics == 0) {
      problems.add(where + ": selects no metric: " + expr);
    }
  }

  private static boolean knownMetric(String name) {
    if (name.equals("up") || OTHER_METRIC_PREFIXES.stream().anyMatch(name::startsWith)) {
      return true;
    }
    if (KMC_METRICS.contains(name)) {
      return true;
    }
    return KMC_HISTOGRAMS.stream().anyMatch(h -> name.matches(Pattern.quote(h) + "_(bucket|count|sum|max)"));
  }

  /** GitHub's heading anchors (lower case, punctuation dropped, spaces to dashes) and explicit ids. */
  private static Set<String> markdownAnchors(String markdown) {
    Set<String> anchors = new TreeSet<>();
    for (String line : markdown.split("\n")) {
      Matcher heading = Pattern.compile("^#{1,6}\\s+(.*?)\\s*$").matcher(line);
      if (heading.matches()) {
        anchors.add(heading.group(1).toLowerCase(Locale.ROOT).replaceAll("[^\\p{L}\\p{N} _-]", "")
            .replace(' ', '-'));
      }
      Matcher id = Pattern.compile("(?:id|name)=\"([^\"]+)\"|\\{#([\\w-]+)}").matcher(line);
      while (id.find()) {
        anchors.add(id.group(1) != null ? id.group(1) : id.group(2));
      }
    }
    return anchors;
  }

  // ---- helpers: YAML ---------------------------------------------------------------------------

  private static org.yaml.snakeyaml.Yaml snakeYaml() {
    return new org.yaml.snakeyaml.Yaml(new SafeConstructor(new LoaderOptions()));
  }

  private static Map<String, Object> yamlMap(Path file) throws IOException {
    Object document = snakeYaml().load(Files.readString(file));
    if (!(document instanceof Map)) {
      throw new AssertionError(show(file) + " is not a YAML mapping");
    }
    return asMap(document);
  }

  private static List<Object> documents(String yaml) {
    List<Object> documents = new ArrayList<>();
    snakeYaml().loadAll(yaml).forEach(d -> {
      if (d != null) {
        documents.add(d);
      }
    });
    return documents;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> asMap(Object value) {
    return value instanceof Map ? (Map<String, Object>) value : Map.of();
  }

  private static List<Object> list(Object value) {
    return value instanceof List<?> l ? new ArrayList<>(l) : List.of();
  }

  private static Map<String, String> stringMap(Object value) {
    return asMap(value).entrySet().stream()
        .collect(Collectors.toMap(Map.Entry::getKey, e -> String.valueOf(e.getValue())));
  }

  private static String nameOf(Map<String, Object> document) {
    return String.valueOf(asMap(document.get("metadata")).get("name"));
  }

  private static boolean isKustomization(Path file) {
    String name = file.getFileName().toString();
    return name.equals("kustomization.yaml") || name.equals("kustomization.yml");
  }

  private static boolean isKustomizationDir(Path dir) {
    return Files.isRegularFile(dir.resolve("kustomization.yaml")) || Files.isRegularFile(dir.resolve("kustomization.yml"));
  }

  private static String show(Path file) {
    return REPO.relativize(file.toAbsolutePath().normalize()).toString();
  }

  /** snakeyaml's message, reduced to the unknown field and its class when that is the cause. */
  private static String parseError(String message) {
    Matcher unknown = Pattern.compile("Unable to find property '([^']+)' on class: (?:\\S+\\.)?(\\S+)")
        .matcher(String.valueOf(message));
    return unknown.find() ? "unknown field '" + unknown.group(1) + "' in " + unknown.group(2) : oneLine(message);
  }

  private static String oneLine(String message) {
    return String.valueOf(message).replaceAll("\\s+", " ").trim();
  }

  private static void assertNoProblems(List<String> problems) {
    if (!problems.isEmpty()) {
      fail(problems.size() + " problem(s):\n  " + String.join("\n  ", problems));
    }
  }
}
