package io.kmc.hub.policy;

import io.vertx.core.json.JsonObject;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Whether a policy's {@code spec.match} takes in a write; an empty list or absent selector matches everything. */
final class Matching {

  private Matching() {
  }

  static boolean matches(Policy.Match match, PolicyEngine.Request r) {
    return kind(match.kinds(), r.group(), r.kind())
        && (match.operations().isEmpty() || match.operations().contains("*")
            || match.operations().contains(r.operation()))
        && anyOf(match.clusters(), r.cluster())
        && (match.clusterSelector() == null || match.clusterSelector().matches(
            r.clusterLabels() == null ? Map.of() : r.clusterLabels()))
        && namespace(match, r.namespace())
        && (match.objectSelector() == null || match.objectSelector().matches(labels(r.object())));
  }

  /** {@code Kind}, {@code group/Kind} (core kinds: {@code /Pod} or {@code Pod}) or {@code *}. */
  private static boolean kind(List<String> kinds, String group, String kind) {
    if (kinds.isEmpty()) {
      return true;
    }
    for (String wanted : kinds) {
      int slash = wanted.lastIndexOf('/');
      String wantedKind = slash < 0 ? wanted : wanted.substring(slash + 1);
      boolean kindOk = "*".equals(wantedKind) || wantedKind.equals(kind);
      boolean groupOk = slash < 0 || "*".equals(wanted.substring(0, slash))
          || wanted.substring(0, slash).equals(group == null ? "" : group);
      if (kindOk && groupOk) {
        return true;
      }
    }
    return false;
  }

  /**
   * Namespaced objects are matched by their namespace; a cluster-scoped object (no namespace) only
   * by a policy that names no namespaces, as a Kubernetes namespaceSelector would.
   */
  private static boolean namespace(Policy.Match match, String namespace) {
    boolean scoped = namespace != null && !namespace.isEmpty();
    if (scoped && match.excludedNamespaces().contains(namespace)) {
      return false;
    }
    if (match.namespaces().isEmpty()) {
      return true;
    }
    return scoped && (match.namespaces().contains(namespace) || match.namespaces().contains("*"));
  }

  private static boolean anyOf(List<String> allowed, String value) {
    return allowed.isEmpty() || allowed.contains("*") || allowed.contains(value);
  }

  static Map<String, String> labels(JsonObject object) {
    Map<String, String> result = new HashMap<>();
    if (object != null && object.getValue("metadata") instanceof JsonObject metadata
        && metadata.getValue("labels") instanceof JsonObject labels) {
      labels.forEach(e -> result.put(e.getKey(), String.valueOf(e.getValue())));
    }
    return result;
  }
}
