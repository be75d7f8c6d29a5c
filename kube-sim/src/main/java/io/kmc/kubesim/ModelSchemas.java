package io.kmc.kubesim;

import com.google.gson.annotations.SerializedName;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import io.kubernetes.client.custom.IntOrString;
import io.kubernetes.client.custom.Quantity;
import io.swagger.annotations.ApiModel;
import io.swagger.annotations.ApiModelProperty;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.time.OffsetDateTime;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * OpenAPI schemas of the built-in kinds, generated from client-java's model classes, which are
 * themselves generated from Kubernetes' published OpenAPI document: field names from
 * {@code @SerializedName}, types from the field types, descriptions from {@code @ApiModel} and
 * {@code @ApiModelProperty}, required fields from {@code openapiRequiredFields}. Definition names
 * are the real ones ({@code io.k8s.api.apps.v1.DeploymentSpec}), found through the Go package of
 * the same message in client-java-proto. So the schemas follow the client-java version the build
 * uses, with nothing vendored and nothing downloaded.
 *
 * <p>What client-java does not carry is added from what the simulator knows: the strategic merge
 * patch keys of {@link MergeKeys} as {@code x-kubernetes-patch-merge-key}/{@code -strategy} and
 * {@code x-kubernetes-list-type}. Defaults, enums (beyond their description) and validation
 * patterns are absent.
 *
 * <p>Schemas are in a neutral form: a {@code $ref} holds a bare definition name, which
 * {@link OpenApi} turns into a v2 or v3 reference. Reflection over a few hundred classes takes
 * around a second, so schemas are made on first use, once per JVM (shared by every simulator),
 * and callers must not run that first use on an event loop. Returned objects are shared and must
 * not be changed.
 */
final class ModelSchemas {

  private static final String MODELS = "io.kubernetes.client.openapi.models.";
  private static final String INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
  private static final Pattern MODEL_NAME = Pattern.compile("([A-Z][a-z]+)?(V\\d+(?:alpha\\d+|beta\\d+)?)([A-Z]\\w*)");
  /** The Go packages of Kubernetes' messages, for definition names; client-java-proto carries them. */
  private static final List<FileDescriptor> PROTO_FILES = KubeProtos.FILES;

  private static final ModelSchemas INSTANCE = new ModelSchemas();

  /** Definition name → schema, for every class reached so far. Guarded by this. */
  private final Map<String, JsonObject> definitions = new HashMap<>();
  private final Map<Class<?>, String> nameByClass = new HashMap<>();
  /** "v1/Event" → the Go definition names that have that version and simple name. */
  private final Map<String, List<String>> goNames = new HashMap<>();

  private ModelSchemas() {
    for (FileDescriptor file : PROTO_FILES) {
      String[] parts = file.getPackage().split("\\.");
      String version = parts[parts.length - 1];
      String prefix = "io." + file.getPackage().replace("k8s.io.", "k8s.").replace('_', '-') + ".";
      for (Descriptor message : file.getMessageTypes()) {
        goNames.computeIfAbsent(version + "/" + message.getName(), k -> new ArrayList<>())
            .add(prefix + message.getName());
      }
    }
  }

  /**
   * The schemas that the given kinds' definitions need (theirs and all they reference), by
   * definition name, plus those named in {@code referenced} (and what they need: schemas of other
   * kinds refer to {@link #OBJECT_META}, {@link #LIST_META} and {@link #QUANTITY}); kinds client-java
   * has no model for are left out. The definition name of each kind found is put in {@code rootNames}.
   */
  static Map<String, JsonObject> closure(Collection<Gvk> kinds, Collection<String> referenced,
      Map<Gvk, String> rootNames) {
    return INSTANCE.closureOf(kinds, referenced, rootNames);
  }

  /** A group/version/kind; group "" is the core group. */
  record Gvk(String group, String version, String kind) {
    JsonObject toJson() {
      return new JsonObject().put("group", group).put("kind", kind).put("version", version);
    }
  }

  /** The definition name the metadata of every object refers to. */
  static final String OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
  static final String LIST_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
  static final String QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity";

  private synchronized Map<String, JsonObject> closureOf(Collection<Gvk> kinds, Collection<String> referenced,
      Map<Gvk, String> rootNames) {
    define(io.kubernetes.client.openapi.models.V1ObjectMeta.class);
    define(io.kubernetes.client.openapi.models.V1ListMeta.class);
    schemaOf(Quantity.class);
    Map<String, JsonObject> result = new LinkedHashMap<>();
    Deque<String> pending = new ArrayDeque<>(referenced);
    for (Gvk gvk : kinds) {
      modelClass(gvk).ifPresent(type -> {
        String name = define(type);
        rootNames.put(gvk, name);
        pending.add(name);
      });
    }
    while (!pending.isEmpty()) {
      String name = pending.removeFirst();
      JsonObject schema = definitions.get(name);
      if (schema == null || result.containsKey(name)) {
        continue;
      }
      result.put(name, schema);
      collectRefs(schema, pending);
    }
    return result;
  }

  private static void collectRefs(Object node, Deque<String> into) {
    if (node instanceof JsonObject object) {
      object.forEach(entry -> {
        if (entry.getKey().equals("$ref") && entry.getValue() instanceof String name) {
          into.add(name);
        } else {
          collectRefs(entry.getValue(), into);
        }
      });
    } else if (node instanceof JsonArray array) {
      array.forEach(item -> collectRefs(item, into));
    }
  }

  /** client-java's class for a kind: {@code V1Deployment}, or group-prefixed where names collide ({@code CoreV1Event}). */
  private static Optional<Class<?>> modelClass(Gvk gvk) {
    String version = Character.toUpperCase(gvk.version().charAt(0)) + gvk.version().substring(1);
    String groupPrefix = gvk.group().isEmpty() ? "Core" : capitalize(gvk.group().split("\\.")[0]);
    for (String candidate : List.of(version + gvk.kind(), groupPrefix + version + gvk.kind())) {
      try {
        Class<?> type = Class.forName(MODELS + candidate);
        if (propertyField(type, "kind") != null && propertyField(type, "apiVersion") != null) {
          return Optional.of(type);
        }
      } catch (ClassNotFoundException e) {
        // Try the next naming.
      }
    }
    return Optional.empty();
  }

  /** Makes (once) the definition of a model class and every class it refers to; returns its name. */
  private String define(Class<?> type) {
    String known = nameByClass.get(type);
    if (known != null) {
      return known;
    }
    String name = goName(type);
    nameByClass.put(type, name);
    JsonObject schema = new JsonObject();
    definitions.put(name, schema);
    ApiModel model = type.getAnnotation(ApiModel.class);
    if (model != null && !model.description().isEmpty()) {
      schema.put("description", model.description());
    }
    schema.put("type", "object");
    Set<String> requiredSet = requiredFields(type);
    List<String> required = new ArrayList<>();
    Map<String, Method> getters = getters(type);
    JsonObject properties = new JsonObject();
    for (Field field : type.getDeclaredFields()) {
      SerializedName serialized = field.getAnnotation(SerializedName.class);
      if (Modifier.isStatic(field.getModifiers()) || serialized == null) {
        continue;
      }
      String json = serialized.value();
      if (requiredSet.contains(json)) {
        required.add(json);
      }
      JsonObject property = schemaOf(field.getGenericType());
      Method getter = getters.get(field.getName().replaceAll("^[_$]+", "").toLowerCase());
      ApiModelProperty documented = getter == null ? null : getter.getAnnotation(ApiModelProperty.class);
      // client-java has no description for fields whose type is another model; explain then shows the type's.
      String description = documented == null ? "" : documented.value();
      if (!description.isEmpty()) {
        property.put("description", description);
      }
      addListExtensions(type, json, field.getGenericType(), property);
      properties.put(json, property);
    }
    if (!required.isEmpty()) {
      schema.put("required", new JsonArray(required));
    }
    schema.put("properties", properties);
    return name;
  }

  private JsonObject schemaOf(Type type) {
    if (type instanceof ParameterizedType parameterized) {
      Class<?> raw = (Class<?>) parameterized.getRawType();
      Type[] arguments = parameterized.getActualTypeArguments();
      if (List.class.isAssignableFrom(raw)) {
        return new JsonObject().put("type", "array").put("items", schemaOf(arguments[0]));
      }
      if (Map.class.isAssignableFrom(raw)) {
        return new JsonObject().put("type", "object").put("additionalProperties", schemaOf(arguments[1]));
      }
    }
    Class<?> raw = (Class<?>) type;
    if (raw == String.class) {
      return new JsonObject().put("type", "string");
    }
    if (raw == Integer.class) {
      return new JsonObject().put("type", "integer").put("format", "int32");
    }
    if (raw == Long.class) {
      return new JsonObject().put("type", "integer").put("format", "int64");
    }
    if (raw == Boolean.class) {
      return new JsonObject().put("type", "boolean");
    }
    if (raw == Double.class || raw == Float.class) {
      return new JsonObject().put("type", "number").put("format", "double");
    }
    if (raw == OffsetDateTime.class) {
      return new JsonObject().put("type", "string").put("format", "date-time");
    }
    if (raw == byte[].class) {
      return new JsonObject().put("type", "string").put("format", "byte");
    }
    if (raw == IntOrString.class) {
      definitions.putIfAbsent(INT_OR_STRING, new JsonObject().put("description", "IntOrString is a type that can"
          + " hold an int32 or a string.  When used in JSON or YAML marshalling and unmarshalling, it produces or"
          + " consumes the inner type.  This allows you to have, for example, a JSON field that can accept a name"
          + " or number.").put("format", "int-or-string").put("oneOf", new JsonArray()
          .add(new JsonObject().put("type", "integer")).add(new JsonObject().put("type", "string"))));
      return new JsonObject().put("$ref", INT_OR_STRING);
    }
    if (raw == Quantity.class) {
      definitions.putIfAbsent(QUANTITY, new JsonObject().put("description", "Quantity is a fixed-point"
          + " representation of a number. It provides convenient marshaling/unmarshaling in JSON and YAML, in"
          + " addition to String() and AsInt64() accessors.").put("oneOf", new JsonArray()
          .add(new JsonObject().put("type", "string")).add(new JsonObject().put("type", "number"))));
      return new JsonObject().put("$ref", QUANTITY);
    }
    if (raw.getName().startsWith(MODELS)) {
      return new JsonObject().put("$ref", define(raw));
    }
    // Object: RawExtension, FieldsV1, apiextensions JSON: any JSON value.
    return new JsonObject().put("x-kubernetes-preserve-unknown-fields", true);
  }

  /** The patch and list semantics the simulator applies to this list ({@link MergeKeys}), as extensions. */
  private static void addListExtensions(Class<?> owner, String field, Type type, JsonObject property) {
    if (!(type instanceof ParameterizedType parameterized) || !List.class.isAssignableFrom(
        (Class<?>) parameterized.getRawType())) {
      return;
    }
    if (MergeKeys.isMergedScalarList(field)) {
      property.put("x-kubernetes-list-type", "set").put("x-kubernetes-patch-strategy", "merge");
      return;
    }
    String simpleName = owner.getSimpleName();
    List<String> path = simpleName.endsWith("Container") ? List.of("containers") : List.of();
    String key = MergeKeys.keyFor(field, path);
    Type item = parameterized.getActualTypeArguments()[0];
    if (key != null && item instanceof Class<?> itemClass && propertyField(itemClass, key) != null) {
      property.put("x-kubernetes-list-map-keys", new JsonArray().add(key))
          .put("x-kubernetes-list-type", "map")
          .put("x-kubernetes-patch-merge-key", key)
          .put("x-kubernetes-patch-strategy", "merge");
    }
  }

  private static Field propertyField(Class<?> type, String json) {
    for (Field field : type.getDeclaredFields()) {
      SerializedName serialized = field.getAnnotation(SerializedName.class);
      if (serialized != null && serialized.value().equals(json) && !Modifier.isStatic(field.getModifiers())) {
        return field;
      }
    }
    return null;
  }

  @SuppressWarnings("unchecked")
  private static Set<String> requiredFields(Class<?> type) {
    try {
      Object value = type.getField("openapiRequiredFields").get(null);
      return value instanceof Set<?> set ? (Set<String>) set : Set.of();
    } catch (ReflectiveOperationException e) {
      return Set.of();
    }
  }

  private static Map<String, Method> getters(Class<?> type) {
    Map<String, Method> getters = new HashMap<>();
    for (Method method : type.getDeclaredMethods()) {
      String name = method.getName();
      if (method.getParameterCount() == 0 && (name.startsWith("get") || name.startsWith("is"))) {
        String property = name.substring(name.startsWith("get") ? 3 : 2).replace("$", "").toLowerCase();
        getters.putIfAbsent(property, method);
      }
    }
    return getters;
  }

  /** The Go definition name: {@code V1DeploymentSpec} is {@code io.k8s.api.apps.v1.DeploymentSpec}. */
  private String goName(Class<?> type) {
    Matcher m = MODEL_NAME.matcher(type.getSimpleName());
    if (m.matches()) {
      String version = m.group(2).substring(0, 1).toLowerCase() + m.group(2).substring(1);
      List<String> candidates = goNames.getOrDefault(version + "/" + m.group(3), List.of());
      String prefix = m.group(1) == null ? null : m.group(1).toLowerCase();
      for (String candidate : candidates) {
        if (prefix == null || candidate.contains("." + prefix + "." + version + ".")) {
          return candidate;
        }
      }
    }
    return "io.k8s.kubesim.models." + type.getSimpleName();
  }

  private static String capitalize(String text) {
    return text.isEmpty() ? text : Character.toUpperCase(text.charAt(0)) + text.substring(1);
  }
}
