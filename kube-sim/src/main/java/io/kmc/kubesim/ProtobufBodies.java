package io.kmc.kubesim;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.kubernetes.client.proto.Runtime;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Decodes {@code application/vnd.kubernetes.protobuf} request bodies into the JSON the rest of
 * the simulator works with. Current kubectl's typed clients ({@code kubectl create namespace},
 * {@code create configmap}, {@code create deployment}, {@code auth can-i}, ...) send them.
 *
 * <p>The wire format is the magic {@code k8s\0} followed by a {@code runtime.Unknown} whose
 * typeMeta names the kind and whose raw bytes are the object; the object is read with the
 * message descriptors shipped in client-java-proto and turned into JSON field by field, with
 * the Kubernetes special types (Time, IntOrString, Quantity, RawExtension...) in their JSON form.
 * Answers are always JSON: clients that send protobuf also accept it.
 */
final class ProtobufBodies {

  private static final byte[] MAGIC = {'k', '8', 's', 0};
  private static final Set<String> MEANINGFUL_ZERO = Set.of("replicas", "parallelism",
      "completions", "backoffLimit", "revisionHistoryLimit", "terminationGracePeriodSeconds",
      "successfulJobsHistoryLimit", "failedJobsHistoryLimit", "ttlSecondsAfterFinished", "minAvailable",
      "maxUnavailable", "intVal", "gracePeriodSeconds");

  private ProtobufBodies() {
  }

  /** Built once per JVM and never changed afterwards. */
  private static final class Descriptors {
    /** "group-key/version/Kind" → message, where group-key is the first label of the group ("core" for ""). */
    static final Map<String, Descriptor> BY_KIND = index(KubeProtos.FILES);

    private static Map<String, Descriptor> index(List<FileDescriptor> files) {
      Map<String, Descriptor> byKind = new HashMap<>();
      for (FileDescriptor file : files) {
        String[] packageParts = file.getPackage().split("\\.");
        String version = packageParts[packageParts.length - 1];
        String groupKey = packageParts[packageParts.length - 2];
        for (Descriptor message : file.getMessageTypes()) {
          byKind.putIfAbsent(groupKey + "/" + version + "/" + message.getName(), message);
        }
      }
      return Map.copyOf(byKind);
    }
  }

  static JsonObject decode(Buffer body) {
    byte[] bytes = body == null ? new byte[0] : body.getBytes();
    if (bytes.length < MAGIC.length || bytes[0] != MAGIC[0] || bytes[1] != MAGIC[1] || bytes[2] != MAGIC[2]
        || bytes[3] != MAGIC[3]) {
      throw KubeApiException.badRequest("protobuf body does not start with the k8s envelope");
    }
    try {
      // Read with the descriptor, not Runtime.Unknown.parseFrom: client-java-proto's generated parsers
      // come from a protoc older than 3.21.7, whose code the protobuf runtime flags as vulnerable
      // (a denial of service on crafted input). DynamicMessage parses with the runtime's own code.
      Descriptor envelope = Runtime.Unknown.getDescriptor();
      Message unknown = DynamicMessage.parseFrom(envelope,
          ByteString.copyFrom(bytes, MAGIC.length, bytes.length - MAGIC.length));
      Message typeMeta = (Message) field(unknown, "typeMeta");
      String apiVersion = (String) field(typeMeta, "apiVersion");
      String kind = (String) field(typeMeta, "kind");
      String group = apiVersion.contains("/") ? apiVersion.substring(0, apiVersion.indexOf('/')) : "";
      String version = apiVersion.substring(apiVersion.indexOf('/') + 1);
      String groupKey = group.isEmpty() ? "core" : group.split("\\.")[0];
      Descriptor descriptor = Descriptors.BY_KIND.get(groupKey + "/" + version + "/" + kind);
      if (descriptor == null) {
        throw KubeApiException.unsupportedMediaType(MediaTypes.JSON);
      }
      JsonObject object = (JsonObject) toJson(DynamicMessage.parseFrom(descriptor, (ByteString) field(unknown, "raw")));
      if (!apiVersion.isEmpty()) {
        object.put("apiVersion", apiVersion);
      }
      if (!kind.isEmpty()) {
        object.put("kind", kind);
      }
      return object;
    } catch (InvalidProtocolBufferException e) {
      throw KubeApiException.badRequest("unable to decode protobuf body: " + e.getMessage());
    }
  }

  private static Object toJson(Message message) {
    String type = message.getDescriptorForType().getFullName();
    switch (type) {
      case "k8s.io.apimachinery.pkg.apis.meta.v1.Time":
        // An unset (zero) time is still written by Go; JSON would have said null.
        long seconds = longField(message, "seconds");
        return seconds == 0 ? null : Instant.ofEpochSecond(seconds).toString();
      case "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime":
        return Instant.ofEpochSecond(longField(message, "seconds"), longField(message, "nanos"))
            .truncatedTo(ChronoUnit.MICROS).toString();
      case "k8s.io.apimachinery.pkg.util.intstr.IntOrString":
        return longField(message, "type") == 1 ? field(message, "strVal") : (Object) (int) longField(message, "intVal");
      case "k8s.io.apimachinery.pkg.api.resource.Quantity":
        return field(message, "string");
      case "k8s.io.apimachinery.pkg.runtime.RawExtension":
      case "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1":
      case "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSON":
        return rawJson(message);
      default:
        break;
    }
    JsonObject json = new JsonObject();
    for (Map.Entry<FieldDescriptor, Object> entry : message.getAllFields().entrySet()) {
      FieldDescriptor field = entry.getKey();
      if (field.isMapField()) {
        JsonObject map = new JsonObject();
        for (Object item : (List<?>) entry.getValue()) {
          Message mapEntry = (Message) item;
          Descriptor entryType = mapEntry.getDescriptorForType();
          map.put(String.valueOf(mapEntry.getField(entryType.findFieldByName("key"))),
              scalar(mapEntry.getField(entryType.findFieldByName("value"))));
        }
        json.put(field.getName(), map);
      } else if (field.isRepeated()) {
        JsonArray array = new JsonArray();
        ((List<?>) entry.getValue()).forEach(item -> array.add(scalar(item)));
        json.put(field.getName(), array);
      } else if (!isGoZeroValue(field.getName(), entry.getValue())) {
        Object value = scalar(entry.getValue());
        if (value != null) {
          json.put(field.getName(), value);
        }
      }
    }
    return json;
  }

  /**
   * Go writes every non-pointer field into protobuf, set or not, where its JSON encoding would
   * have omitted the empty ones: drop empty strings and zero numbers, except where zero is a
   * value people set on purpose (such as {@code replicas: 0}).
   */
  private static boolean isGoZeroValue(String field, Object value) {
    if (value instanceof String text) {
      return text.isEmpty();
    }
    if (value instanceof Number number && !MEANINGFUL_ZERO.contains(field)) {
      return number.longValue() == 0 && number.doubleValue() == 0;
    }
    return false;
  }


  private static Object scalar(Object value) {
    if (value instanceof Message message) {
      return toJson(message);
    }
    if (value instanceof ByteString bytes) {
      return Base64.getEncoder().encodeToString(bytes.toByteArray());
    }
    return value;
  }

  private static Object rawJson(Message message) {
    FieldDescriptor raw = message.getDescriptorForType().getFields().get(0);
    ByteString bytes = (ByteString) message.getField(raw);
    if (bytes.isEmpty()) {
      return null;
    }
    try {
      return Buffer.buffer(bytes.toByteArray()).toJsonValue();
    } catch (DecodeException e) {
      return bytes.toStringUtf8();
    }
  }

  private static Object field(Message message, String name) {
    return message.getField(message.getDescriptorForType().findFieldByName(name));
  }

  private static long longField(Message message, String name) {
    Object value = field(message, name);
    return value instanceof Number n ? n.longValue() : 0;
  }
}
