package io.kmc.kubesim;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The kinds one simulator serves: the built-in table plus whatever CustomResourceDefinitions add.
 * Discovery, routing and the OpenAPI documents all read from here, so a CRD becomes visible
 * everywhere at once.
 */
final class ResourceCatalog {

  /** groupVersion → plural → type, in discovery order. */
  private final Map<String, Map<String, ResourceType>> byGroupVersion = new LinkedHashMap<>();
  /** group → versions, preferred (first) version first. */
  private final Map<String, List<String>> versionsByGroup = new LinkedHashMap<>();
  /** CRD name → the group versions it registered, so deleting the CRD can remove them. */
  private final Map<String, List<ResourceType>> typesByCrd = new LinkedHashMap<>();

  ResourceCatalog() {
    registerBuiltIns();
  }

  Optional<ResourceType> find(String group, String version, String plural) {
    Map<String, ResourceType> types = byGroupVersion.get(groupVersion(group, version));
    return Optional.ofNullable(types == null ? null : types.get(plural));
  }

  /** The type for an object's apiVersion and kind, used when a body names its own kind. */
  Optional<ResourceType> findByKind(String apiVersion, String kind) {
    Map<String, ResourceType> types = byGroupVersion.get(apiVersion);
    if (types == null) {
      return Optional.empty();
    }
    return types.values().stream().filter(t -> t.kind().equals(kind)).findFirst();
  }

  /** Any version of a group/kind, preferring the group's preferred version. */
  Optional<ResourceType> findByGroupKind(String group, String kind) {
    for (String version : versionsByGroup.getOrDefault(group, List.of())) {
      Map<String, ResourceType> types = byGroupVersion.get(groupVersion(group, version));
      for (ResourceType type : types.values()) {
        if (type.kind().equals(kind)) {
          return Optional.of(type);
        }
      }
    }
    return Optional.empty();
  }

  boolean servesGroupVersion(String group, String version) {
    return byGroupVersion.containsKey(groupVersion(group, version));
  }

  /** Groups in discovery order, each with its versions (preferred first); "" is the core group. */
  Map<String, List<String>> groups() {
    return versionsByGroup;
  }

  List<ResourceType> types(String group, String version) {
    Map<String, ResourceType> types = byGroupVersion.get(groupVersion(group, version));
    return types == null ? List.of() : List.copyOf(types.values());
  }

  /**
   * Serves (or re-serves, after an update) the kinds a CRD defines. Returns the problem with the
   * CRD, or null when it was accepted.
   */
  String registerCrd(JsonObject crd) {
    String problem = crdProblem(crd);
    if (problem != null) {
      return problem;
    }
    JsonObject spec = crd.getJsonObject("spec");
    JsonObject names = spec.getJsonObject("names");
    String group = spec.getString("group");
    String plural = names.getString("plural");
    String kind = names.getString("kind");
    String crdName = crd.getJsonObject("metadata").getString("name");
    JsonArray versions = spec.getJsonArray("versions");
    unregisterCrd(crdName);
    boolean namespaced = !"Cluster".equals(spec.getString("scope", "Namespaced"));
    List<ResourceType> registered = new ArrayList<>();
    for (Object v : versions) {
      JsonObject version = (JsonObject) v;
      if (!version.getBoolean("served", true)) {
        continue;
      }
      JsonObject subresourceSpec = version.getJsonObject("subresources", new JsonObject());
      Set<String> subresources = new java.util.TreeSet<>();
      if (subresourceSpec.containsKey("status")) {
        subresources.add("status");
      }
      if (subresourceSpec.containsKey("scale")) {
        subresources.add("scale");
      }
      ResourceType type = new ResourceType(group, version.getString("name"), kind, plural,
          names.getString("singular", kind.toLowerCase()), strings(names.getJsonArray("shortNames")),
          namespaced, ResourceType.ALL_VERBS, strings(names.getJsonArray("categories")),
          subresources, version.getJsonArray("additionalPrinterColumns", new JsonArray()), false,
          schemaOf(version));
      add(type);
      registered.add(type);
    }
    typesByCrd.put(crdName, registered);
    return null;
  }

  /** A CRD version's openAPIV3Schema (a copy), or an object that keeps anything when it has none. */
  private static JsonObject schemaOf(JsonObject version) {
    JsonObject schema = Json.objectAt(version, "schema", "openAPIV3Schema");
    return schema == null ? new JsonObject().put("type", "object").put("x-kubernetes-preserve-unknown-fields", true)
        : schema.copy();
  }

  /** What is wrong with a CRD so that its kinds cannot be served, or null. */
  static String crdProblem(JsonObject crd) {
    JsonObject spec = crd.getJsonObject("spec", new JsonObject());
    JsonObject names = spec.getJsonObject("names", new JsonObject());
    String group = spec.getString("group", "");
    String plural = names.getString("plural", "");
    String kind = names.getString("kind", "");
    if (group.isEmpty() || plural.isEmpty() || kind.isEmpty()) {
      return "spec.group, spec.names.plural and spec.names.kind are required";
    }
    if (!crd.getJsonObject("metadata").getString("name").equals(plural + "." + group)) {
      return "metadata.name must be spec.names.plural+\".\"+spec.group";
    }
    if (spec.getJsonArray("versions", new JsonArray()).isEmpty()) {
      return "spec.versions must have at least one version";
    }
    return null;
  }

  void unregisterCrd(String crdName) {
    List<ResourceType> types = typesByCrd.remove(crdName);
    if (types == null) {
      return;
    }
    for (ResourceType type : types) {
      String gv = type.groupVersion();
      Map<String, ResourceType> inVersion = byGroupVersion.get(gv);
      if (inVersion == null) {
        continue;
      }
      inVersion.remove(type.plural());
      if (inVersion.isEmpty()) {
        byGroupVersion.remove(gv);
        List<String> versions = versionsByGroup.get(type.group());
        versions.remove(type.version());
        if (versions.isEmpty()) {
          versionsByGroup.remove(type.group());
        }
      }
    }
  }

  /** Serves no more of a built-in group: gone from discovery, its paths not found (a cluster without it). */
  void withdrawGroup(String group) {
    for (String version : versionsByGroup.getOrDefault(group, List.of())) {
      byGroupVersion.remove(groupVersion(group, version));
    }
    versionsByGroup.remove(group);
  }

  private void add(ResourceType type) {
    byGroupVersion.computeIfAbsent(type.groupVersion(), gv -> new LinkedHashMap<>()).put(type.plural(), type);
    List<String> versions = versionsByGroup.computeIfAbsent(type.group(), g -> new ArrayList<>());
    if (!versions.contains(type.version())) {
      versions.add(type.version());
      versions.sort(ResourceCatalog::compareVersionPriority);
    }
  }

  /** Kubernetes version priority: GA before beta before alpha, higher numbers first. */
  static int compareVersionPriority(String a, String b) {
    return Long.compare(versionRank(b), versionRank(a));
  }

  private static long versionRank(String version) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("v(\\d+)(?:(alpha|beta)(\\d+))?").matcher(version);
    if (!m.matches()) {
      return 0;
    }
    long major = Long.parseLong(m.group(1));
    long stability = m.group(2) == null ? 3 : "beta".equals(m.group(2)) ? 2 : 1;
    long minor = m.group(3) == null ? 0 : Long.parseLong(m.group(3));
    return stability * 1_000_000_000L + major * 10_000L + minor;
  }

  private static String groupVersion(String group, String version) {
    return group.isEmpty() ? version : group + "/" + version;
  }

  private static List<String> strings(JsonArray array) {
    if (array == null) {
      return List.of();
    }
    List<String> values = new ArrayList<>();
    array.forEach(value -> values.add(String.valueOf(value)));
    return values;
  }

  private void registerBuiltIns() {
    core("ConfigMap", "configmaps", true, List.of("cm"), List.of());
    core("Endpoints", "endpoints", true, List.of("ep"), List.of());
    core("Event", "events", true, List.of("ev"), List.of());
    core("LimitRange", "limitranges", true, List.of("limits"), List.of());
    builtIn("", "v1", "Namespace", "namespaces", false, List.of("ns"), List.of(), Set.of("status", "finalize"),
        List.of("create", "delete", "get", "list", "patch", "update", "watch"));
    builtIn("", "v1", "Node", "nodes", false, List.of("no"), List.of(), Set.of("status"), ResourceType.ALL_VERBS);
    builtIn("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", true, List.of("pvc"), List.of(),
        Set.of("status"), ResourceType.ALL_VERBS);
    builtIn("", "v1", "PersistentVolume", "persistentvolumes", false, List.of("pv"), List.of(), Set.of("status"),
        ResourceType.ALL_VERBS);
    builtIn("", "v1", "Pod", "pods", true, List.of("po"), List.of("all"),
        Set.of("status", "log", "exec", "attach", "portforward"), ResourceType.ALL_VERBS);
    core("PodTemplate", "podtemplates", true, List.of(), List.of());
    builtIn("", "v1", "ReplicationController", "replicationcontrollers", true, List.of("rc"), List.of("all"),
        Set.of("status", "scale"), ResourceType.ALL_VERBS);
    builtIn("", "v1", "ResourceQuota", "resourcequotas", true, List.of("quota"), List.of(), Set.of("status"),
        ResourceType.ALL_VERBS);
    core("Secret", "secrets", true, List.of(), List.of());
    core("ServiceAccount", "serviceaccounts", true, List.of("sa"), List.of());
    builtIn("", "v1", "Service", "services", true, List.of("svc"), List.of("all"), Set.of("status"),
        List.of("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"));

    builtIn("apps", "v1", "ControllerRevision", "controllerrevisions", true, List.of(), List.of(), Set.of(),
        ResourceType.ALL_VERBS);
    builtIn("apps", "v1", "DaemonSet", "daemonsets", true, List.of("ds"), List.of("all"), Set.of("status"),
        ResourceType.ALL_VERBS);
    builtIn("apps", "v1", "Deployment", "deployments", true, List.of("deploy"), List.of("all"),
        Set.of("status", "scale"), ResourceType.ALL_VERBS);
    builtIn("apps", "v1", "ReplicaSet", "replicasets", true, List.of("rs"), List.of("all"),
        Set.of("status", "scale"), ResourceType.ALL_VERBS);
    builtIn("apps", "v1", "StatefulSet", "statefulsets", true, List.of("sts"), List.of("all"),
        Set.of("status", "scale"), ResourceType.ALL_VERBS);

    builtIn("batch", "v1", "CronJob", "cronjobs", true, List.of("cj"), List.of("all"), Set.of("status"),
        ResourceType.ALL_VERBS);
    builtIn("batch", "v1", "Job", "jobs", true, List.of(), List.of("all"), Set.of("status"), ResourceType.ALL_VERBS);

    builtIn("networking.k8s.io", "v1", "IngressClass", "ingressclasses", false, List.of(), List.of(), Set.of(),
        ResourceType.ALL_VERBS);
    builtIn("networking.k8s.io", "v1", "Ingress", "ingresses", true, List.of("ing"), List.of(), Set.of("status"),
        ResourceType.ALL_VERBS);
    builtIn("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", true, List.of("netpol"), List.of(),
        Set.of(), ResourceType.ALL_VERBS);

    String rbac = "rbac.authorization.k8s.io";
    builtIn(rbac, "v1", "ClusterRoleBinding", "clusterrolebindings", false, List.of(), List.of(), Set.of(),
        ResourceType.ALL_VERBS);
    builtIn(rbac, "v1", "ClusterRole", "clusterroles", false, List.of(), List.of(), Set.of(), ResourceType.ALL_VERBS);
    builtIn(rbac, "v1", "RoleBinding", "rolebindings", true, List.of(), List.of(), Set.of(), ResourceType.ALL_VERBS);
    builtIn(rbac, "v1", "Role", "roles", true, List.of(), List.of(), Set.of(), ResourceType.ALL_VERBS);

    builtIn("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", false,
        List.of("crd", "crds"), List.of("api-extensions"), Set.of("status"), ResourceType.ALL_VERBS);

    // The same objects as core Events, shown with the newer field names (see StorageVersions).
    builtIn("events.k8s.io", "v1", "Event", "events", true, List.of("ev"), List.of(), Set.of(),
        ResourceType.ALL_VERBS);

    builtIn("coordination.k8s.io", "v1", "Lease", "leases", true, List.of(), List.of(), Set.of(),
        ResourceType.ALL_VERBS);

    // Computed from the pods and nodes when asked (MetricsApi), never stored: what `kubectl top` reads.
    add(new ResourceType("metrics.k8s.io", "v1beta1", "NodeMetrics", "nodes", "", List.of(), false,
        List.of("get", "list"), List.of(), Set.of(), new JsonArray(), false, MetricsApi.NODE_METRICS_SCHEMA));
    add(new ResourceType("metrics.k8s.io", "v1beta1", "PodMetrics", "pods", "", List.of(), true,
        List.of("get", "list"), List.of(), Set.of(), new JsonArray(), false, MetricsApi.POD_METRICS_SCHEMA));

    // Answered, never stored: lets `kubectl auth can-i` and clients that check permissions first work.
    builtIn("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", false, List.of(),
        List.of(), Set.of(), List.of("create"));
    // Answered, never stored: `kubectl auth whoami`, and who a request impersonates.
    builtIn("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", false, List.of(),
        List.of(), Set.of(), List.of("create"));
  }

  private void core(String kind, String plural, boolean namespaced, List<String> shortNames, List<String> categories) {
    builtIn("", "v1", kind, plural, namespaced, shortNames, categories, Set.of(), ResourceType.ALL_VERBS);
  }

  private void builtIn(String group, String version, String kind, String plural, boolean namespaced,
      List<String> shortNames, List<String> categories, Set<String> subresources, List<String> verbs) {
    add(new ResourceType(group, version, kind, plural, kind.toLowerCase(), shortNames, namespaced, verbs, categories,
        subresources, new JsonArray(), true, null));
  }
}
