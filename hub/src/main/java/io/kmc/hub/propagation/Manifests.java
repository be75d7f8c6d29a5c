package io.kmc.hub.propagation;

import io.kmc.common.KmcException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;

import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Date;
import java.util.List;
import java.util.Map;

/** Kubernetes manifests as the propagation handles them: read from YAML, named, and put in dependency order. */
public final class Manifests {

  private Manifests() {
  }

  /** Every non-empty document of a YAML text, each a mapping; 400 otherwise. Plain data only, aliases bounded. */
  public static List<JsonObject> documents(String text, String what) {
    List<JsonObject> result = new ArrayList<>();
    int index = 0;
    for (Object document : yamlDocuments(text, what)) {
      if (!(document instanceof JsonObject object)) {
        throw KmcException.badRequest(what + " document " + index + " is not a mapping");
      }
      result.add(object);
      index++;
    }
    return result;
  }

  /**
   * Every non-empty document of a YAML text as JSON values; 400 when it is not YAML. Only plain data
   * (safe constructor), with anchors and aliases bounded against a "billion laughs" body; timestamps
   * are kept as text.
   */
  public static List<Object> yamlDocuments(String text, String what) {
    LoaderOptions options = new LoaderOptions();
    options.setMaxAliasesForCollections(50);
    options.setAllowDuplicateKeys(false);
    options.setNestingDepthLimit(64);
    List<Object> result = new ArrayList<>();
    try {
      for (Object document : new Yaml(new SafeConstructor(options)).loadAll(text)) {
        if (document != null) {
          result.add(json(document));
        }
      }
    } catch (YAMLException e) {
      String first = e.getMessage() == null ? "" : e.getMessage().lines().findFirst().orElse("");
      throw KmcException.badRequest(what + " is not valid YAML: " + first);
    }
    return result;
  }

  private static Object json(Object yaml) {
    if (yaml instanceof Map<?, ?> map) {
      JsonObject object = new JsonObject();
      for (Map.Entry<?, ?> entry : map.entrySet()) {
        if (!(entry.getKey() instanceof String key)) {
          throw KmcException.badRequest("YAML keys must be strings");
        }
        object.put(key, json(entry.getValue()));
      }
      return object;
    }
    if (yaml instanceof List<?> list) {
      JsonArray array = new JsonArray();
      list.forEach(item -> array.add(json(item)));
      return array;
    }
    if (yaml instanceof Date date) {
      return DateTimeFormatter.ISO_INSTANT.format(date.toInstant());
    }
    if (yaml instanceof byte[]) {
      throw KmcException.badRequest("binary YAML values are not accepted");
    }
    return yaml;
  }

  public static String apiVersion(JsonObject object) {
    return object.getString("apiVersion");
  }

  public static String kind(JsonObject object) {
    return object.getString("kind");
  }

  public static String name(JsonObject object) {
    return object.getJsonObject("metadata").getString("name");
  }

  /** The namespace the manifest names, or null. */
  public static String namespace(JsonObject object) {
    Object ns = object.getJsonObject("metadata").getValue("namespace");
    return ns instanceof String s && !s.isEmpty() ? s : null;
  }

  /** apiVersion/kind/namespace/name: what identifies an object in one cluster. */
  public static String key(JsonObject object) {
    String ns = namespace(object);
    return apiVersion(object) + "/" + kind(object) + "/" + (ns == null ? "" : ns) + "/" + name(object);
  }

  /** 0 for namespaces, 1 for CRDs, 2 for the rest: what must exist before the next can be applied. */
  static int rank(JsonObject object) {
    String kind = kind(object);
    String apiVersion = apiVersion(object);
    if ("Namespace".equals(kind) && "v1".equals(apiVersion)) {
      return 0;
    }
    if ("CustomResourceDefinition".equals(kind) && apiVersion.startsWith("apiextensions.k8s.io/")) {
      return 1;
    }
    return 2;
  }

  /** Dependency order (namespaces, CRDs, the rest), otherwise as written; deletion goes in reverse. */
  public static List<JsonObject> ordered(List<JsonObject> objects) {
    List<JsonObject> sorted = new ArrayList<>(objects);
    sorted.sort(Comparator.comparingInt(Manifests::rank)); // stable: the written order within a rank
    return sorted;
  }

  /** Whether the kind is a workload whose health kmc reports (available replicas, rollout complete). */
  static boolean workload(JsonObject object) {
    String kind = kind(object);
    return apiVersion(object).startsWith("apps/")
        && ("Deployment".equals(kind) || "StatefulSet".equals(kind) || "DaemonSet".equals(kind));
  }
}
