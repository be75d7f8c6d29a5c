package io.kmc.kubesim;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Locale;
import java.util.Map;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.nodes.Tag;
import org.yaml.snakeyaml.representer.Representer;
import org.yaml.snakeyaml.resolver.Resolver;

/**
 * Content negotiation: which representation the client's Accept header asks for, and decoding
 * request bodies by Content-Type. Responses are always JSON; a protobuf-preferring client that
 * also lists JSON (as client-go does) accepts that.
 */
final class MediaTypes {

  static final String JSON = "application/json";
  static final String YAML = "application/yaml";
  static final String PROTOBUF = "application/vnd.kubernetes.protobuf";
  static final String JSON_PATCH = "application/json-patch+json";
  static final String MERGE_PATCH = "application/merge-patch+json";
  static final String STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json";
  static final String APPLY_PATCH = "application/apply-patch+yaml";

  /** The shapes a GET can answer in. */
  enum Shape { OBJECT, TABLE, PARTIAL_METADATA }

  record Negotiated(Shape shape, String apiVersion) {
  }

  private MediaTypes() {
  }

  /** Picks the first representation in the client's Accept list that the simulator can produce. */
  static Negotiated negotiate(String accept) {
    if (accept == null) {
      return new Negotiated(Shape.OBJECT, null);
    }
    for (String candidate : accept.split(",")) {
      Map<String, String> params = new java.util.HashMap<>();
      String[] parts = candidate.split(";");
      for (int i = 1; i < parts.length; i++) {
        String[] kv = parts[i].trim().split("=", 2);
        if (kv.length == 2) {
          params.put(kv[0].trim(), kv[1].trim());
        }
      }
      String as = params.get("as");
      if (as == null) {
        return new Negotiated(Shape.OBJECT, null);
      }
      if ("meta.k8s.io".equals(params.get("g"))) {
        String version = params.getOrDefault("v", "v1");
        if (as.equals("Table")) {
          return new Negotiated(Shape.TABLE, "meta.k8s.io/" + version);
        }
        if (as.startsWith("PartialObjectMetadata")) {
          return new Negotiated(Shape.PARTIAL_METADATA, "meta.k8s.io/" + version);
        }
      }
    }
    return new Negotiated(Shape.OBJECT, null);
  }

  /** The media type without parameters, lower case; JSON when the header is absent. */
  static String baseType(String contentType) {
    if (contentType == null || contentType.isBlank()) {
      return JSON;
    }
    int semicolon = contentType.indexOf(';');
    return (semicolon < 0 ? contentType : contentType.substring(0, semicolon)).trim().toLowerCase(Locale.ROOT);
  }

  static JsonObject jsonObject(Buffer body) {
    if (body == null || body.length() == 0) {
      throw KubeApiException.badRequest("the request body is empty: an object is required");
    }
    try {
      Object parsed = Buffer.buffer(body.getBytes()).toJsonValue();
      if (parsed instanceof JsonObject object) {
        return object;
      }
      throw KubeApiException.badRequest("the request body must be a JSON object");
    } catch (DecodeException e) {
      throw KubeApiException.badRequest("the object provided is unrecognized: json parse error: " + e.getMessage());
    }
  }

  static JsonArray jsonArray(Buffer body) {
    try {
      Object parsed = body == null ? null : body.toJsonValue();
      if (parsed instanceof JsonArray array) {
        return array;
      }
      throw KubeApiException.badRequest("json patch must be a JSON array of operations");
    } catch (DecodeException e) {
      throw KubeApiException.badRequest("json parse error: " + e.getMessage());
    }
  }

  /** YAML (which includes JSON) into JSON; timestamps stay strings, as Kubernetes' YAML decoder keeps them. */
  static JsonObject yamlObject(Buffer body) {
    if (body == null || body.length() == 0) {
      throw KubeApiException.badRequest("the request body is empty: an object is required");
    }
    Object parsed;
    try {
      parsed = newYaml().load(body.toString());
    } catch (RuntimeException e) {
      throw KubeApiException.badRequest("error converting YAML to JSON: " + e.getMessage());
    }
    if (!(parsed instanceof Map<?, ?> map)) {
      throw KubeApiException.badRequest("the YAML body must be a mapping");
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> object = (Map<String, Object>) map;
    return new JsonObject(Buffer.buffer(new JsonObject(object).encode()));
  }

  /** A loader per call: SnakeYAML instances are not thread-safe, and this keeps the class stateless. */
  private static Yaml newYaml() {
    LoaderOptions loaderOptions = new LoaderOptions();
    loaderOptions.setCodePointLimit(4 * 1024 * 1024);
    org.yaml.snakeyaml.DumperOptions dumperOptions = new org.yaml.snakeyaml.DumperOptions();
    return new Yaml(new SafeConstructor(loaderOptions), new Representer(dumperOptions), dumperOptions,
        loaderOptions, new StringTimestampResolver());
  }

  private static final class StringTimestampResolver extends Resolver {
    @Override
    protected void addImplicitResolvers() {
      addImplicitResolver(Tag.BOOL, BOOL, "yYnNtTfFoO", 10);
      addImplicitResolver(Tag.INT, INT, "-+0123456789");
      addImplicitResolver(Tag.FLOAT, FLOAT, "-+0123456789.");
      addImplicitResolver(Tag.MERGE, MERGE, "<", 10);
      addImplicitResolver(Tag.NULL, NULL, "~nN\0", 10);
      addImplicitResolver(Tag.NULL, EMPTY, null, 10);
      addImplicitResolver(Tag.YAML, YAML, "!&*", 10);
    }
  }
}
