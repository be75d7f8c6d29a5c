package io.kmc.kubesim;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The OpenAPI documents: {@code /openapi/v3} (an index), {@code /openapi/v3/apis/{group}/{version}}
 * (one document per group version) and {@code /openapi/v2} (everything, as JSON or as gnostic
 * protobuf), with real schemas: the built-in kinds' from client-java's models ({@link ModelSchemas}),
 * each CRD version's from its {@code openAPIV3Schema} (with apiVersion, kind and metadata added as
 * the apiserver does), and those kinds that carry their own ({@link ResourceType#schema()}). Each
 * kind's definition has {@code x-kubernetes-group-version-kind}, which is how clients find it.
 *
 * <p>Who reads them: {@code kubectl explain} (v3; kubectl up to 1.26 reads v2 protobuf), client-side
 * validation (v2 protobuf, when the server does not validate fields itself), the patch metadata of
 * {@code kubectl apply} (v3, then v2: {@code x-kubernetes-patch-merge-key}), and kubectl's check
 * whether the server validates fields: a PATCH operation per kind listing the {@code fieldValidation}
 * parameter, which each v3 document carries.
 *
 * <p>Documents are built and encoded on a worker thread (the first one in a JVM reflects over
 * client-java's models) and kept until the catalog changes (a CRD comes, changes or goes).
 */
final class OpenApi {

  private static final String TYPE_META_API_VERSION = "APIVersion defines the versioned schema of this"
      + " representation of an object. Servers should convert recognized schemas to the latest internal value, and"
      + " may reject unrecognized values. More info:"
      + " https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
  private static final String TYPE_META_KIND = "Kind is a string value representing the REST resource this object"
      + " represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated."
      + " In CamelCase. More info:"
      + " https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";
  /** JSON Schema keywords OpenAPI v2 does not have; the apiserver drops them from what it publishes as v2. */
  private static final Set<String> NOT_IN_V2 = Set.of("nullable", "oneOf", "anyOf", "not");

  private record Cached(String hash, Future<Buffer> document) {
  }

  private final Vertx vertx;
  private final ResourceCatalog catalog;
  private final String gitVersion;
  /** By document path; touched on the event loop only. */
  private final Map<String, Cached> cache = new HashMap<>();

  OpenApi(Vertx vertx, ResourceCatalog catalog, String gitVersion) {
    this.vertx = vertx;
    this.catalog = catalog;
    this.gitVersion = gitVersion;
  }

  /** The v3 index: one entry per served group version, each pointing at its own document. */
  JsonObject v3Root() {
    JsonObject paths = new JsonObject();
    catalog.groups().forEach((group, versions) -> {
      for (String version : versions) {
        String path = group.isEmpty() ? "api/" + version : "apis/" + group + "/" + version;
        String url = "/openapi/v3/" + path + "?hash=" + hash(group, version);
        paths.put(path, new JsonObject().put("serverRelativeURL", url));
      }
    });
    return new JsonObject().put("paths", paths);
  }

  /** The v3 document of one group version (JSON), or null when the group version is not served. */
  Future<Buffer> v3GroupVersion(String group, String version) {
    if (!catalog.servesGroupVersion(group, version)) {
      return null;
    }
    List<ResourceType> types = catalog.types(group, version);
    return cached("v3 " + group + "/" + version, hash(group, version),
        () -> v3Document(group, version, types).toBuffer());
  }

  /** Every served kind in one swagger 2.0 document, as JSON. */
  Future<Buffer> v2Json() {
    List<ResourceType> types = allTypes();
    return cached("v2 json", allHash(), () -> v2Document(types).toBuffer());
  }

  /** The same document as gnostic {@code openapi_v2.Document} protobuf, which kubectl asks for. */
  Future<Buffer> v2Protobuf() {
    List<ResourceType> types = allTypes();
    return cached("v2 protobuf", allHash(), () -> OpenApiV2Protobuf.encode(v2Document(types)));
  }

  private Future<Buffer> cached(String key, String hash, java.util.concurrent.Callable<Buffer> build) {
    Cached entry = cache.get(key);
    if (entry == null || !entry.hash().equals(hash) || entry.document().failed()) {
      entry = new Cached(hash, vertx.executeBlocking(build, false));
      cache.put(key, entry);
    }
    return entry.document();
  }

  private List<ResourceType> allTypes() {
    List<ResourceType> types = new ArrayList<>();
    catalog.groups().forEach((group, versions) -> versions.forEach(version -> types.addAll(catalog.types(group,
        version))));
    return types;
  }

  /** Runs on a worker: reads only the immutable types it is given. */
  private JsonObject v3Document(String group, String version, List<ResourceType> types) {
    Map<String, JsonObject> definitions = definitions(types);
    JsonObject schemas = new JsonObject();
    definitions.forEach((name, schema) -> schemas.put(name, render(schema, "#/components/schemas/", true)));
    return new JsonObject()
        .put("openapi", "3.0.0")
        .put("info", new JsonObject().put("title", "Kubernetes").put("version", gitVersion))
        .put("paths", patchOperations(group, version, types))
        .put("components", new JsonObject().put("schemas", schemas));
  }

  private JsonObject v2Document(List<ResourceType> types) {
    Map<String, JsonObject> definitions = definitions(types);
    JsonObject rendered = new JsonObject();
    definitions.forEach((name, schema) -> rendered.put(name, render(schema, "#/definitions/", false)));
    return new JsonObject()
        .put("swagger", "2.0")
        .put("info", new JsonObject().put("title", "Kubernetes").put("version", gitVersion))
        .put("paths", new JsonObject())
        .put("definitions", rendered);
  }

  /**
   * Every definition the kinds need, in neutral form, each kind's (and its list's) with its
   * group-version-kind; kinds without a schema of either source are left out.
   */
  private static Map<String, JsonObject> definitions(List<ResourceType> types) {
    List<ModelSchemas.Gvk> modelKinds = new ArrayList<>();
    Map<String, JsonObject> own = new LinkedHashMap<>();
    for (ResourceType type : types) {
      if (type.schema() != null) {
        String name = definitionName(type);
        own.put(name, withGvk(objectSchema(type), gvk(type, type.kind())));
        own.put(name + "List", withGvk(listSchema(type, name), gvk(type, type.listKind())));
      } else {
        modelKinds.add(new ModelSchemas.Gvk(type.group(), type.version(), type.kind()));
        modelKinds.add(new ModelSchemas.Gvk(type.group(), type.version(), type.listKind()));
      }
    }
    Map<ModelSchemas.Gvk, String> roots = new HashMap<>();
    Map<String, JsonObject> definitions = new LinkedHashMap<>(ModelSchemas.closure(modelKinds,
        own.isEmpty() ? List.of() : List.of(ModelSchemas.OBJECT_META, ModelSchemas.LIST_META, ModelSchemas.QUANTITY),
        roots));
    roots.forEach((gvk, name) -> definitions.put(name, withGvk(definitions.get(name), gvk.toJson())));
    definitions.putAll(own);
    return definitions;
  }

  /** Where the apiserver publishes a custom kind: the group reversed, then version and kind (com.example.v1.Widget). */
  private static String definitionName(ResourceType type) {
    List<String> labels = new ArrayList<>(List.of(type.group().split("\\.")));
    java.util.Collections.reverse(labels);
    return String.join(".", labels) + "." + type.version() + "." + type.kind();
  }

  private static JsonObject gvk(ResourceType type, String kind) {
    return new JsonObject().put("group", type.group()).put("kind", kind).put("version", type.version());
  }

  private static JsonObject withGvk(JsonObject schema, JsonObject gvk) {
    JsonObject copy = schema.copy();
    copy.put("x-kubernetes-group-version-kind", new JsonArray().add(gvk));
    return copy;
  }

  /** A kind's own schema with the type and object metadata every kind has, as the apiserver adds them for CRDs. */
  private static JsonObject objectSchema(ResourceType type) {
    JsonObject schema = type.schema().copy();
    schema.put("type", "object");
    JsonObject properties = new JsonObject()
        .put("apiVersion", new JsonObject().put("description", TYPE_META_API_VERSION).put("type", "string"))
        .put("kind", new JsonObject().put("description", TYPE_META_KIND).put("type", "string"))
        .put("metadata", new JsonObject().put("$ref", ModelSchemas.OBJECT_META).put("description",
            "Standard object's metadata. More info:"
                + " https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"));
    schema.getJsonObject("properties", new JsonObject()).forEach(e -> {
      if (!properties.containsKey(e.getKey())) {
        properties.put(e.getKey(), e.getValue());
      }
    });
    return schema.put("properties", properties);
  }

  private static JsonObject listSchema(ResourceType type, String itemName) {
    return new JsonObject()
        .put("description", type.listKind() + " is a list of " + type.kind())
        .put("type", "object")
        .put("required", new JsonArray().add("items"))
        .put("properties", new JsonObject()
            .put("apiVersion", new JsonObject().put("description", TYPE_META_API_VERSION).put("type", "string"))
            .put("items", new JsonObject().put("description", "List of " + type.plural() + ".")
                .put("type", "array").put("items", new JsonObject().put("$ref", itemName)))
            .put("kind", new JsonObject().put("description", TYPE_META_KIND).put("type", "string"))
            .put("metadata", new JsonObject().put("$ref", ModelSchemas.LIST_META)));
  }

  /**
   * A neutral schema in v2 or v3 form: references get the document's prefix; in v3 a reference with
   * siblings (a description) is wrapped in allOf, as kube-openapi writes it; v2 loses v3-only keywords.
   */
  private static Object render(Object node, String refPrefix, boolean v3) {
    if (node instanceof JsonArray array) {
      JsonArray rendered = new JsonArray();
      array.forEach(item -> rendered.add(render(item, refPrefix, v3)));
      return rendered;
    }
    if (!(node instanceof JsonObject object)) {
      return node;
    }
    JsonObject rendered = new JsonObject();
    // kubectl's v2 validation knows no x-kubernetes-preserve-unknown-fields: an object that keeps unknown
    // fields is published to v2 without properties (the apiserver does the same), or every other field fails.
    boolean keepsUnknown = !v3 && Boolean.TRUE.equals(object.getValue("x-kubernetes-preserve-unknown-fields"));
    object.forEach(entry -> {
      String key = entry.getKey();
      if (!v3 && NOT_IN_V2.contains(key) || keepsUnknown && (key.equals("properties") || key.equals("required"))) {
        return;
      }
      if (key.equals("$ref") && entry.getValue() instanceof String name) {
        rendered.put(key, refPrefix + name);
      } else if (key.equals("properties") && entry.getValue() instanceof JsonObject properties) {
        JsonObject renderedProperties = new JsonObject();
        properties.forEach(p -> renderedProperties.put(p.getKey(), render(p.getValue(), refPrefix, v3)));
        rendered.put(key, renderedProperties);
      } else {
        rendered.put(key, render(entry.getValue(), refPrefix, v3));
      }
    });
    if (!v3 && object.containsKey("oneOf") && !object.containsKey("type")) {
      // What v2 says of the types v3 gives as a oneOf of types (Quantity, IntOrString).
      rendered.put("type", "string");
    }
    if (v3 && rendered.containsKey("$ref") && rendered.size() > 1) {
      Object ref = rendered.remove("$ref");
      JsonObject wrapped = new JsonObject().put("allOf", new JsonArray().add(new JsonObject().put("$ref", ref)));
      rendered.forEach(e -> wrapped.put(e.getKey(), e.getValue()));
      return wrapped;
    }
    return rendered;
  }

  /**
   * A PATCH operation per kind with the write parameters, tagged with the kind's
   * x-kubernetes-group-version-kind: how kubectl learns that the server validates fields itself.
   */
  private static JsonObject patchOperations(String group, String version, List<ResourceType> types) {
    JsonObject paths = new JsonObject();
    for (ResourceType type : types) {
      JsonObject gvk = new JsonObject().put("group", group).put("version", version).put("kind", type.kind());
      JsonArray parameters = new JsonArray();
      for (String name : new String[] {"dryRun", "fieldManager", "fieldValidation", "force"}) {
        parameters.add(new JsonObject().put("name", name).put("in", "query").put("schema",
            new JsonObject().put("type", name.equals("force") ? "boolean" : "string").put("uniqueItems", true)));
      }
      JsonObject patch = new JsonObject()
          .put("operationId", "patch" + type.kind())
          .put("parameters", parameters)
          .put("responses", new JsonObject().put("200", new JsonObject().put("description", "OK")))
          .put("x-kubernetes-action", "patch")
          .put("x-kubernetes-group-version-kind", gvk);
      String path = type.apiPrefix() + (type.namespaced() ? "/namespaces/{namespace}/" : "/") + type.plural()
          + "/{name}";
      paths.put(path, new JsonObject().put("patch", patch));
    }
    return paths;
  }

  /** Changes whenever the group version's kinds or their own schemas change, so kubectl's cache is invalidated. */
  private String hash(String group, String version) {
    StringBuilder kinds = new StringBuilder(gitVersion);
    catalog.types(group, version).forEach(type -> kinds.append(',').append(type.plural())
        .append(type.schema() == null ? "" : ":" + type.schema().hashCode()));
    return String.format("%016X", (long) kinds.toString().hashCode() & 0xffffffffL);
  }

  private String allHash() {
    StringBuilder hashes = new StringBuilder();
    catalog.groups().forEach((group, versions) -> versions.forEach(version -> hashes.append(hash(group, version))));
    return hashes.toString();
  }
}
