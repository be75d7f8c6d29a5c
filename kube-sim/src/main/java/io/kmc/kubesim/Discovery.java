package io.kmc.kubesim;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The discovery documents (/version, /api, /apis, /apis/{group}, /api/v1, /apis/{group}/{version}),
 * all derived from the {@link ResourceCatalog}. Only the legacy (unaggregated) form is served:
 * clients that ask for {@code apidiscovery.k8s.io/v2} first fall back to it when the response's
 * Content-Type is plain {@code application/json}.
 */
final class Discovery {

  private final ResourceCatalog catalog;
  private final String gitVersion;

  Discovery(ResourceCatalog catalog, String gitVersion) {
    this.catalog = catalog;
    this.gitVersion = gitVersion;
  }

  JsonObject version() {
    Matcher m = Pattern.compile("v?(\\d+)\\.(\\d+).*").matcher(gitVersion);
    String major = m.matches() ? m.group(1) : "1";
    String minor = m.matches() ? m.group(2) : "30";
    return new JsonObject()
        .put("major", major)
        .put("minor", minor)
        .put("gitVersion", gitVersion)
        .put("gitCommit", "0000000000000000000000000000000000000000")
        .put("gitTreeState", "clean")
        .put("buildDate", "2024-01-01T00:00:00Z")
        .put("goVersion", "go1.22.0")
        .put("compiler", "gc")
        .put("platform", "linux/amd64");
  }

  JsonObject coreVersions(String serverAddress) {
    return new JsonObject()
        .put("kind", "APIVersions")
        .put("versions", new JsonArray().add("v1"))
        .put("serverAddressByClientCIDRs", new JsonArray().add(new JsonObject()
            .put("clientCIDR", "0.0.0.0/0").put("serverAddress", serverAddress)));
  }

  JsonObject groupList() {
    JsonArray groups = new JsonArray();
    for (Map.Entry<String, List<String>> group : catalog.groups().entrySet()) {
      if (!group.getKey().isEmpty()) {
        groups.add(group(group.getKey(), group.getValue()));
      }
    }
    return new JsonObject().put("kind", "APIGroupList").put("apiVersion", "v1").put("groups", groups);
  }

  /** The APIGroup for /apis/{group}, or null when the group is not served. */
  JsonObject group(String name) {
    List<String> versions = catalog.groups().get(name);
    if (name.isEmpty() || versions == null) {
      return null;
    }
    return group(name, versions).put("kind", "APIGroup").put("apiVersion", "v1");
  }

  private static JsonObject group(String name, List<String> versions) {
    JsonArray served = new JsonArray();
    versions.forEach(v -> served.add(new JsonObject().put("groupVersion", name + "/" + v).put("version", v)));
    return new JsonObject()
        .put("name", name)
        .put("versions", served)
        .put("preferredVersion", served.getJsonObject(0).copy());
  }

  /** The APIResourceList of one group version, subresources listed as "plural/sub" as the real server does. */
  JsonObject resources(String group, String version) {
    JsonArray resources = new JsonArray();
    for (ResourceType type : catalog.types(group, version)) {
      resources.add(type.toDiscovery());
      for (String subresource : type.subresources()) {
        resources.add(subresourceEntry(type, subresource));
      }
    }
    return new JsonObject()
        .put("kind", "APIResourceList")
        .put("apiVersion", "v1")
        .put("groupVersion", group.isEmpty() ? version : group + "/" + version)
        .put("resources", resources);
  }

  private static JsonObject subresourceEntry(ResourceType type, String subresource) {
    JsonObject entry = new JsonObject()
        .put("name", type.plural() + "/" + subresource)
        .put("singularName", "")
        .put("namespaced", type.namespaced());
    switch (subresource) {
      case "scale" -> entry.put("group", "autoscaling").put("version", "v1").put("kind", "Scale")
          .put("verbs", new JsonArray().add("get").add("patch").add("update"));
      case "log" -> entry.put("kind", "Pod").put("verbs", new JsonArray().add("get"));
      case "finalize" -> entry.put("kind", type.kind()).put("verbs", new JsonArray().add("update"));
      case "exec", "attach", "portforward" -> entry.mergeIn(PodStreaming.discoveryEntry(subresource));
      default -> entry.put("kind", type.kind()).put("verbs", new JsonArray().add("get").add("patch").add("update"));
    }
    return entry;
  }
}
