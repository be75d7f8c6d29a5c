package io.kmc.kubesim;

import java.util.ArrayList;
import java.util.List;

/**
 * A request path under /api or /apis, taken apart:
 * {@code /apis/{group}/{version}[/watch][/namespaces/{ns}]/{resource}[/{name}[/{subresource}]]}.
 * The core group has group "" and lives under /api/{version}.
 *
 * @param legacyWatch whether the path used the deprecated {@code /watch/} segment
 */
record ApiPath(String group, String version, String namespace, String resource, String name, String subresource,
    boolean legacyWatch) {

  /** The namespace subresources, which otherwise read like a resource inside the namespace. */
  private static final List<String> NAMESPACE_SUBRESOURCES = List.of("status", "finalize");

  /** "status" for a write to the status subresource; null for a write to the object itself. */
  String writtenSubresource() {
    return "status".equals(subresource) ? "status" : null;
  }

  /**
   * Parses a resource path; null when the path is a discovery path or not an API path at all.
   *
   * @throws KubeApiException 404 for paths too long to mean anything
   */
  static ApiPath parse(String path) {
    List<String> segments = new ArrayList<>();
    for (String segment : path.split("/")) {
      if (!segment.isEmpty()) {
        segments.add(java.net.URLDecoder.decode(segment, java.nio.charset.StandardCharsets.UTF_8));
      }
    }
    int index;
    String group;
    String version;
    if (segments.size() >= 3 && segments.get(0).equals("api")) {
      group = "";
      version = segments.get(1);
      index = 2;
    } else if (segments.size() >= 4 && segments.get(0).equals("apis")) {
      group = segments.get(1);
      version = segments.get(2);
      index = 3;
    } else {
      return null;
    }
    List<String> rest = segments.subList(index, segments.size());
    boolean legacyWatch = false;
    if (!rest.isEmpty() && rest.get(0).equals("watch")) {
      legacyWatch = true;
      rest = rest.subList(1, rest.size());
    }
    String namespace = null;
    boolean namespaceItself = rest.size() == 3 && rest.get(0).equals("namespaces")
        && NAMESPACE_SUBRESOURCES.contains(rest.get(2)) && group.isEmpty();
    if (rest.size() >= 3 && rest.get(0).equals("namespaces") && !namespaceItself) {
      namespace = rest.get(1);
      rest = rest.subList(2, rest.size());
    }
    if (rest.isEmpty() || rest.size() > 3) {
      throw KubeApiException.notFoundPath(path);
    }
    return new ApiPath(group, version, namespace, rest.get(0), rest.size() > 1 ? rest.get(1) : null,
        rest.size() > 2 ? rest.get(2) : null, legacyWatch);
  }
}
