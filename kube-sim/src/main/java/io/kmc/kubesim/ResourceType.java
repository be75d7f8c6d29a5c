package io.kmc.kubesim;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Set;

/**
 * One served kind in one version: the single row from which discovery, routing, validation,
 * tables and patch rules are derived.
 *
 * @param printerColumns CRD additionalPrinterColumns (empty for built-ins, whose columns live in {@link Tables})
 * @param builtIn whether the kind is compiled into the real apiserver (strategic merge patch works only for those)
 * @param schema the kind's OpenAPI v3 schema when it has its own (a CRD version's openAPIV3Schema); null for
 *     kinds whose schema comes from client-java's models ({@link ModelSchemas}). Never changed once set.
 */
record ResourceType(
    String group,
    String version,
    String kind,
    String plural,
    String singular,
    List<String> shortNames,
    boolean namespaced,
    List<String> verbs,
    List<String> categories,
    Set<String> subresources,
    JsonArray printerColumns,
    boolean builtIn,
    JsonObject schema) {

  static final List<String> ALL_VERBS =
      List.of("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch");

  String groupVersion() {
    return group.isEmpty() ? version : group + "/" + version;
  }

  /** Version-independent identity under which objects are stored, e.g. "deployments.apps". */
  String groupResource() {
    return group.isEmpty() ? plural : plural + "." + group;
  }

  /** The store key of this type's objects: usually {@link #groupResource()}, see {@link StorageVersions}. */
  String storageResource() {
    return StorageVersions.storageResource(this);
  }

  String listKind() {
    return kind + "List";
  }

  boolean hasStatus() {
    return subresources.contains("status");
  }

  boolean is(String group, String kind) {
    return this.group.equals(group) && this.kind.equals(kind);
  }

  /** The path prefix of this type's collection, without namespace: "/api/v1" or "/apis/apps/v1". */
  String apiPrefix() {
    return group.isEmpty() ? "/api/" + version : "/apis/" + group + "/" + version;
  }

  JsonObject toDiscovery() {
    JsonObject resource = new JsonObject()
        .put("name", plural)
        .put("singularName", singular)
        .put("namespaced", namespaced)
        .put("kind", kind)
        .put("verbs", new JsonArray(verbs));
    if (!shortNames.isEmpty()) {
      resource.put("shortNames", new JsonArray(shortNames));
    }
    if (!categories.isEmpty()) {
      resource.put("categories", new JsonArray(categories));
    }
    resource.put("storageVersionHash", Integer.toHexString(groupResource().hashCode()));
    return resource;
  }
}
