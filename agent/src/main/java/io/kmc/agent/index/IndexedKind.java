package io.kmc.agent.index;

import java.util.regex.Pattern;

/** A kind to index: group (empty for core), version, resource; kind name and scope once discovered. */
public record IndexedKind(String group, String version, String resource, String kind, boolean namespaced) {

  private static final Pattern NAME = Pattern.compile("[a-z0-9]([-a-z0-9.]*[a-z0-9])?");

  /** {@code apps/v1/deployments} or {@code v1/pods}; kind and scope are not known yet. */
  public static IndexedKind parse(String text) {
    String[] parts = text.trim().split("/");
    if (parts.length == 2 && valid(parts[0]) && valid(parts[1])) {
      return new IndexedKind("", parts[0], parts[1], null, false);
    }
    if (parts.length == 3 && valid(parts[0]) && valid(parts[1]) && valid(parts[2])) {
      return new IndexedKind(parts[0], parts[1], parts[2], null, false);
    }
    throw new IllegalArgumentException("'" + text + "' is not group/version/resource (v1/pods, apps/v1/deployments)");
  }

  private static boolean valid(String part) {
    return NAME.matcher(part).matches();
  }

  public IndexedKind discovered(String kindName, boolean isNamespaced) {
    return new IndexedKind(group, version, resource, kindName, isNamespaced);
  }

  /** As in watermarks: {@code deployments.apps}, {@code pods}. */
  public String key() {
    return group.isEmpty() ? resource : resource + "." + group;
  }

  @Override
  public String toString() {
    return (group.isEmpty() ? "" : group + "/") + version + "/" + resource;
  }
}
