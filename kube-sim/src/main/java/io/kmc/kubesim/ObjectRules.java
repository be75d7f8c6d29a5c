package io.kmc.kubesim;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Per-kind behaviour the apiserver applies on writes: name rules, defaults and the fields the
 * server fills in on create. Kept apart from {@link Registry} so the generic write path reads
 * without kind-specific branches.
 */
final class ObjectRules {

  private static final Pattern DNS_SUBDOMAIN =
      Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  private static final Pattern DNS_1035_LABEL = Pattern.compile("[a-z]([-a-z0-9]*[a-z0-9])?");
  private static final Set<String> PATH_SEGMENT_NAMED =
      Set.of("roles", "rolebindings", "clusterroles", "clusterrolebindings");

  /** Kinds whose DELETE answers with the object itself rather than a Status (client-java relies on it). */
  private static final Set<String> RETURNS_DELETED_OBJECT =
      Set.of("pods", "services", "persistentvolumeclaims", "persistentvolumes", "serviceaccounts");

  static final String GENERATED_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

  private ObjectRules() {
  }

  /** The problem with a name, worded as the apiserver does, or null when the name is valid. */
  static String nameProblem(ResourceType type, String name) {
    if (PATH_SEGMENT_NAMED.contains(type.plural()) && type.group().startsWith("rbac")) {
      if (name.equals(".") || name.equals("..") || name.contains("/") || name.contains("%")) {
        return "may not contain '/' or '%' and may not be '.' or '..'";
      }
      return null;
    }
    if (type.is("", "Namespace")) {
      return name.length() <= 63 && DNS_LABEL.matcher(name).matches() ? null
          : "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start"
              + " and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation"
              + " is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
    }
    if (type.is("", "Service")) {
      return name.length() <= 63 && DNS_1035_LABEL.matcher(name).matches() ? null
          : "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic"
              + " character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for"
              + " validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
    }
    return name.length() <= 253 && DNS_SUBDOMAIN.matcher(name).matches() ? null
        : "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must"
            + " start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is"
            + " '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
  }

  static boolean returnsDeletedObject(ResourceType type) {
    return !type.builtIn() || type.group().isEmpty() && RETURNS_DELETED_OBJECT.contains(type.plural());
  }

  static String generateName(String prefix, java.util.Random random) {
    StringBuilder name = new StringBuilder(prefix);
    for (int i = 0; i < 5; i++) {
      name.append(GENERATED_NAME_ALPHABET.charAt(random.nextInt(GENERATED_NAME_ALPHABET.length())));
    }
    return name.toString();
  }

  /** What the server resets or defaults when an object is created through the API. */
  static void prepareForCreate(ResourceType type, JsonObject object, java.util.function.Supplier<String> clusterIps) {
    if (type.hasStatus() && !type.is("apiextensions.k8s.io", "CustomResourceDefinition")) {
      object.remove("status");
    }
    JsonObject spec = object.getJsonObject("spec");
    if (type.is("", "Namespace")) {
      Json.child(Json.metadata(object), "labels").put("kubernetes.io/metadata.name", Json.name(object));
      Json.child(object, "spec").put("finalizers", new JsonArray().add("kubernetes"));
      object.put("status", new JsonObject().put("phase", "Active"));
    } else if (type.is("", "Pod")) {
      object.put("status", new JsonObject().put("phase", "Pending").put("qosClass", "BestEffort"));
    } else if (type.is("", "Service")) {
      defaultService(Json.child(object, "spec"), clusterIps);
    } else if (type.is("apps", "Deployment") && spec != null) {
      defaultIfAbsent(spec, "replicas", 1);
      defaultIfAbsent(spec, "revisionHistoryLimit", 10);
      defaultIfAbsent(spec, "progressDeadlineSeconds", 600);
      defaultIfAbsent(spec, "strategy", new JsonObject().put("type", "RollingUpdate")
          .put("rollingUpdate", new JsonObject().put("maxUnavailable", "25%").put("maxSurge", "25%")));
    } else if ((type.is("apps", "StatefulSet") || type.is("apps", "ReplicaSet")) && spec != null) {
      defaultIfAbsent(spec, "replicas", 1);
    } else if (type.is("apiextensions.k8s.io", "CustomResourceDefinition")) {
      object.put("status", crdStatus(object));
    } else if (type.is("", "Secret")) {
      stringDataIntoData(object);
    }
  }

  /** stringData is write-only: the apiserver stores it base64-encoded in data (over keys of the same name). */
  static void stringDataIntoData(JsonObject secret) {
    Object stringData = secret.remove("stringData");
    if (stringData instanceof JsonObject strings && !strings.isEmpty()) {
      JsonObject data = Json.child(secret, "data");
      strings.forEach(e -> data.put(e.getKey(), java.util.Base64.getEncoder().encodeToString(
          String.valueOf(e.getValue()).getBytes(java.nio.charset.StandardCharsets.UTF_8))));
    }
  }

  /** A CRD is accepted and established at once: there is no separate controller to wait for. */
  static JsonObject crdStatus(JsonObject crd) {
    JsonObject spec = crd.getJsonObject("spec", new JsonObject());
    JsonObject names = spec.getJsonObject("names", new JsonObject()).copy();
    String kind = names.getString("kind", "");
    names.put("singular", names.getString("singular", kind.toLowerCase()));
    names.put("listKind", names.getString("listKind", kind + "List"));
    JsonArray storedVersions = new JsonArray();
    for (Object v : spec.getJsonArray("versions", new JsonArray())) {
      JsonObject version = (JsonObject) v;
      if (version.getBoolean("storage", false)) {
        storedVersions.add(version.getString("name"));
      }
    }
    String now = Json.now();
    return new JsonObject()
        .put("acceptedNames", names)
        .put("conditions", new JsonArray()
            .add(condition("NamesAccepted", "NoConflicts", "no conflicts found", now))
            .add(condition("Established", "InitialNamesAccepted", "the initial names have been accepted", now)))
        .put("storedVersions", storedVersions);
  }

  private static JsonObject condition(String type, String reason, String message, String time) {
    return new JsonObject().put("type", type).put("status", "True").put("lastTransitionTime", time)
        .put("reason", reason).put("message", message);
  }

  private static void defaultService(JsonObject spec, java.util.function.Supplier<String> clusterIps) {
    defaultIfAbsent(spec, "type", "ClusterIP");
    defaultIfAbsent(spec, "sessionAffinity", "None");
    if (!spec.containsKey("clusterIP") || "".equals(spec.getString("clusterIP"))) {
      spec.put("clusterIP", clusterIps.get());
    }
    if (!spec.containsKey("clusterIPs")) {
      spec.put("clusterIPs", new JsonArray().add(spec.getString("clusterIP")));
    }
    for (Object p : spec.getJsonArray("ports", new JsonArray())) {
      if (p instanceof JsonObject port) {
        defaultIfAbsent(port, "protocol", "TCP");
        if (port.getValue("port") != null) {
          defaultIfAbsent(port, "targetPort", port.getValue("port"));
        }
      }
    }
  }

  private static void defaultIfAbsent(JsonObject object, String key, Object value) {
    if (object.getValue(key) == null) {
      object.put(key, value);
    }
  }
}
