package io.kmc.hub.api;

import io.kmc.common.KmcException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static io.kmc.hub.api.YamlMaps.map;

/**
 * The manifest that installs a cluster's agent: namespace {@code kmc-system}, a ServiceAccount, a
 * ClusterRole and its binding, a Secret with the join token and the hub's CA, and the agent
 * Deployment. {@code kubectl apply -f} of it is the whole install.
 */
public final class AgentManifest {

  public static final String NAMESPACE = "kmc-system";
  public static final String NAME = "kmc-agent";
  public static final int MANAGEMENT_PORT = 9090;
  private static final String SECRET_MOUNT = "/var/run/kmc";
  private static final int RUN_AS = 10001;

  /** What the agent's own identity may do in its cluster. */
  public enum Access {
    /** get, list and watch everything: the hub can look but not touch. */
    READ,
    /** every verb on everything: the hub's RBAC alone decides. */
    MANAGE,
    /** only impersonate: every call runs as the hub user, so the cluster's own RBAC decides. */
    IMPERSONATE;

    /**
     * The access level asked for, or the default: impersonate for a cluster whose agent impersonates
     * hub users, else manage, so that kubectl works through the hub as the hub's RBAC allows (with
     * read, every write the hub allows would still be refused by the member cluster).
     */
    static Access parse(String requested, boolean clusterImpersonates) {
      if (requested == null || requested.isBlank()) {
        return clusterImpersonates ? IMPERSONATE : MANAGE;
      }
      try {
        return valueOf(requested.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw KmcException.badRequest("access must be read, manage or impersonate, not '" + requested + "'");
      }
    }

    /** How the API and the manifests name it. */
    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  private final String image;
  private final String caPem;

  public AgentManifest(String image, String caPem) {
    this.image = image;
    this.caPem = caPem;
  }

  /**
   * @param cluster the cluster name
   * @param hubUrl  the hub's https URL as the cluster reaches it
   * @param token   the join token, or null to leave a placeholder to fill in
   */
  public String render(String cluster, String hubUrl, String token, Access access) {
    List<Object> documents = new ArrayList<>();
    documents.add(map("apiVersion", "v1", "kind", "Namespace", "metadata", metadata(NAMESPACE, null)));
    documents.add(map("apiVersion", "v1", "kind", "ServiceAccount", "metadata", metadata(NAME, NAMESPACE)));
    documents.add(map("apiVersion", "rbac.authorization.k8s.io/v1", "kind", "ClusterRole",
        "metadata", metadata(NAME, null), "rules", rules(access)));
    documents.add(map("apiVersion", "rbac.authorization.k8s.io/v1", "kind", "ClusterRoleBinding",
        "metadata", metadata(NAME, null),
        "roleRef", map("apiGroup", "rbac.authorization.k8s.io", "kind", "ClusterRole", "name", NAME),
        "subjects", List.of(map("kind", "ServiceAccount", "name", NAME, "namespace", NAMESPACE))));
    Map<String, Object> secretData = new LinkedHashMap<>();
    secretData.put("token", token == null ? "REPLACE-WITH-THE-JOIN-TOKEN" : token);
    if (caPem != null) {
      secretData.put("hub-ca.crt", caPem);
    }
    documents.add(map("apiVersion", "v1", "kind", "Secret", "metadata", metadata(NAME, NAMESPACE),
        "type", "Opaque", "stringData", secretData));
    documents.add(deployment(cluster, hubUrl.replaceFirst("^http", "ws"), access));
    String header = "# kmc agent for cluster " + cluster + " (access: " + access.name().toLowerCase(Locale.ROOT) + ")\n"
        + (token == null ? "# Put the cluster's join token into the Secret below before applying.\n" : "");
    return header + YamlMaps.blockYaml(true).dumpAll(documents.iterator());
  }

  private static List<Object> rules(Access access) {
    return switch (access) {
      case READ -> List.of(
          map("apiGroups", List.of("*"), "resources", List.of("*"), "verbs", List.of("get", "list", "watch")),
          map("nonResourceURLs", List.of("*"), "verbs", List.of("get")));
      case MANAGE -> List.of(
          map("apiGroups", List.of("*"), "resources", List.of("*"), "verbs", List.of("*")),
          map("nonResourceURLs", List.of("*"), "verbs", List.of("get")));
      case IMPERSONATE -> List.of(
          map("apiGroups", List.of(""), "resources", List.of("users", "groups", "serviceaccounts"),
              "verbs", List.of("impersonate")));
    };
  }

  @SuppressWarnings("unchecked")
  private Map<String, Object> deployment(String cluster, String hubUrl, Access access) {
    List<Object> env = new ArrayList<>(List.of(
        env("KMC_HUB_URLS", hubUrl),
        env("KMC_HUB_CLUSTER", cluster),
        env("KMC_HUB_TOKEN_FILE", SECRET_MOUNT + "/token"),
        env("KMC_KUBERNETES_MODE", "in-cluster"),
        env("KMC_METRICS_PORT", String.valueOf(MANAGEMENT_PORT)),
        env("KMC_LOG_FORMAT", "json")));
    if (caPem != null) {
      env.add(env("KMC_HUB_CA_FILE", SECRET_MOUNT + "/hub-ca.crt"));
    }
    if (access == Access.IMPERSONATE) {
      // An agent that may only impersonate cannot list and watch for the fleet index.
      env.add(env("KMC_INDEX_ENABLED", "false"));
    }
    Map<String, Object> container = map(
        "name", "agent",
        "image", image,
        "env", env,
        "ports", List.of(map("name", "management", "containerPort", MANAGEMENT_PORT)),
        "livenessProbe", probe("/healthz", 10),
        "readinessProbe", probe("/ready", 5),
        "resources", map("requests", map("cpu", "50m", "memory", "192Mi"), "limits", map("memory", "512Mi")),
        "securityContext", map("allowPrivilegeEscalation", false, "readOnlyRootFilesystem", true,
            "runAsNonRoot", true, "capabilities", map("drop", List.of("ALL"))),
        "volumeMounts", List.of(map("name", "credentials", "mountPath", SECRET_MOUNT, "readOnly", true),
            map("name", "tmp", "mountPath", "/tmp")));
    Map<String, Object> metadata = metadata(NAME, NAMESPACE);
    ((Map<String, Object>) metadata.get("labels")).put("app.kubernetes.io/name", NAME);
    return map("apiVersion", "apps/v1", "kind", "Deployment", "metadata", metadata,
        "spec", map(
            "replicas", 1,
            // One agent per cluster: a rolling update would briefly run two that replace each other.
            "strategy", map("type", "Recreate"),
            "selector", map("matchLabels", podLabels()),
            "template", map(
                "metadata", map("labels", podLabels()),
                "spec", map(
                    "serviceAccountName", NAME,
                    // fsGroup makes the mounted Secret readable by the agent's non-root user.
                    "securityContext", map("runAsNonRoot", true, "runAsUser", RUN_AS, "runAsGroup", RUN_AS,
                        "fsGroup", RUN_AS, "seccompProfile", map("type", "RuntimeDefault")),
                    "containers", List.of(container),
                    "volumes", List.of(
                        map("name", "credentials", "secret", map("secretName", NAME, "defaultMode", 0440)),
                        map("name", "tmp", "emptyDir", map()))))));
  }

  /** A fresh map each time: a shared one would be written as a YAML anchor and alias. */
  private static Map<String, Object> podLabels() {
    return map("app.kubernetes.io/name", NAME, "app.kubernetes.io/part-of", "kmc");
  }

  private static Map<String, Object> probe(String path, int period) {
    return map("httpGet", map("path", path, "port", "management"), "periodSeconds", period, "failureThreshold", 3);
  }

  private static Map<String, Object> env(String name, String value) {
    return map("name", name, "value", value);
  }

  private static Map<String, Object> metadata(String name, String namespace) {
    Map<String, Object> metadata = map("name", name, "labels", map("app.kubernetes.io/part-of", "kmc"));
    if (namespace != null) {
      metadata.put("namespace", namespace);
    }
    return metadata;
  }
}
