package io.kmc.kubesim;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Server-side field validation, the {@code fieldValidation} parameter of writes: fields that the
 * kind's schema does not know are dropped from the object (a real apiserver decodes into Go structs,
 * which keeps only known fields; CRDs are pruned by their structural schema), and reported: with
 * {@code Strict} the write fails with 400, with {@code Warn} (the default) each one comes back in a
 * {@code Warning} header, with {@code Ignore} silently. kubectl relies on it: it skips its own
 * validation when the server's OpenAPI says the server validates.
 *
 * <p>The schemas are those of {@link OpenApi}: client-java's models for built-in kinds, the
 * {@code openAPIV3Schema} for custom ones. The models' schemas are built on a worker the first time
 * a kind is written in a JVM (reflection, up to a few hundred milliseconds for a kind with a pod
 * template); {@link #ready} tells when writes of a kind can be checked.
 */
final class FieldValidation {

  /** The parameter's values. */
  enum Directive { IGNORE, WARN, STRICT;

    static Directive parse(String value) {
      if (value == null || value.isEmpty()) {
        return WARN;
      }
      return switch (value) {
        case "Ignore" -> IGNORE;
        case "Warn" -> WARN;
        case "Strict" -> STRICT;
        default -> throw KubeApiException.badRequest("fieldValidation: Unsupported value: \"" + value
            + "\": supported values: \"Ignore\", \"Warn\", \"Strict\"");
      };
    }
  }

  /** A kind's schema: the root definition's name and every definition it needs. */
  private record Schema(String root, Map<String, JsonObject> definitions) {
  }

  /** What custom kinds' schemas need from the models: ObjectMeta, under this key. */
  private static final ModelSchemas.Gvk OBJECT_META = new ModelSchemas.Gvk("meta.k8s.io", "v1", "ObjectMeta");
  /** Per kind, once per JVM; a kind without a model completes with null. */
  private static final Map<ModelSchemas.Gvk, Future<Schema>> SCHEMAS = new ConcurrentHashMap<>();

  private FieldValidation() {
  }

  /**
   * Completes once the type's schema exists in this JVM (at once after the first time), on a thread
   * of its own: callers must go back to their context before touching their state.
   */
  static Future<?> ready(Vertx vertx, ResourceType type) {
    return SCHEMAS.computeIfAbsent(key(type), gvk -> vertx.executeBlocking(() -> build(gvk), false));
  }

  /**
   * Drops the fields the type's schema does not know from {@code object} (changing it) and returns
   * their paths ({@code spec.template.spec.containers[0].nonsense}); fails the write under Strict.
   * Kinds without a schema, or whose schema is not {@link #ready} yet, are taken as they come.
   */
  static List<String> apply(ResourceType type, JsonObject object, Directive directive) {
    Schema schema = schemaOf(type);
    List<String> unknown = new ArrayList<>();
    if (schema != null) {
      check(object, new JsonObject().put("$ref", schema.root()), "", schema.definitions(), unknown);
    }
    if (directive == Directive.STRICT && !unknown.isEmpty()) {
      List<String> quoted = unknown.stream().map(path -> "unknown field \"" + path + "\"").toList();
      throw KubeApiException.badRequest(type.kind() + " in version \"" + type.version() + "\" cannot be handled as a "
          + type.kind() + ": strict decoding error: " + String.join(", ", quoted));
    }
    return directive == Directive.IGNORE ? List.of() : unknown;
  }

  private static ModelSchemas.Gvk key(ResourceType type) {
    return type.schema() != null ? OBJECT_META : new ModelSchemas.Gvk(type.group(), type.version(), type.kind());
  }

  private static Schema schemaOf(ResourceType type) {
    Future<Schema> built = SCHEMAS.get(key(type));
    Schema schema = built != null && built.succeeded() ? built.result() : null;
    if (schema == null || type.schema() == null) {
      return schema;
    }
    Map<String, JsonObject> definitions = new HashMap<>(schema.definitions());
    JsonObject root = type.schema().copy();
    Json.child(root, "properties").put("metadata", new JsonObject().put("$ref", ModelSchemas.OBJECT_META))
        .put("apiVersion", new JsonObject().put("type", "string")).put("kind", new JsonObject().put("type", "string"));
    definitions.put("", root);
    return new Schema("", definitions);
  }

  /** Runs on a worker: the first kinds in a JVM reflect over client-java's models. */
  private static Schema build(ModelSchemas.Gvk gvk) {
    if (gvk.equals(OBJECT_META)) {
      return new Schema(ModelSchemas.OBJECT_META, ModelSchemas.closure(List.of(), List.of(ModelSchemas.OBJECT_META),
          new HashMap<>()));
    }
    Map<ModelSchemas.Gvk, String> roots = new HashMap<>();
    Map<String, JsonObject> definitions = ModelSchemas.closure(List.of(gvk), List.of(), roots);
    return roots.containsKey(gvk) ? new Schema(roots.get(gvk), definitions) : null;
  }

  private static void check(Object value, JsonObject schema, String path, Map<String, JsonObject> definitions,
      List<String> unknown) {
    JsonObject resolved = resolve(schema, definitions);
    if (resolved == null || value == null || Boolean.TRUE.equals(resolved.getValue("x-kubernetes-preserve-unknown-fields"))) {
      return;
    }
    if (value instanceof JsonObject object) {
      JsonObject properties = resolved.getJsonObject("properties");
      Object additional = resolved.getValue("additionalProperties");
      for (String key : List.copyOf(object.fieldNames())) {
        String child = path.isEmpty() ? key : path + "." + key;
        JsonObject property = properties == null ? null : properties.getJsonObject(key);
        if (property != null) {
          check(object.getValue(key), property, child, definitions, unknown);
        } else if (additional instanceof JsonObject additionalSchema) {
          check(object.getValue(key), additionalSchema, child, definitions, unknown);
        } else if (properties != null && !Boolean.TRUE.equals(additional)) {
          unknown.add(child);
          object.remove(key);
        }
      }
    } else if (value instanceof JsonArray array && resolved.getValue("items") instanceof JsonObject items) {
      for (int i = 0; i < array.size(); i++) {
        check(array.getValue(i), items, path + "[" + i + "]", definitions, unknown);
      }
    }
  }

  /** Follows a reference (neutral form: a bare definition name) or a single-element allOf. */
  private static JsonObject resolve(JsonObject schema, Map<String, JsonObject> definitions) {
    JsonObject current = schema;
    for (int depth = 0; current != null && depth < 8; depth++) {
      if (current.getValue("$ref") instanceof String name) {
        current = definitions.get(name);
      } else if (current.getValue("allOf") instanceof JsonArray allOf && allOf.size() == 1
          && !current.containsKey("properties")) {
        current = allOf.getJsonObject(0);
      } else {
        return current;
      }
    }
    return current;
  }
}
