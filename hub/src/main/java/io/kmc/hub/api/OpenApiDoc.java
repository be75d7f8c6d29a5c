package io.kmc.hub.api;

import io.kmc.common.KmcException;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@code GET /api/v1/openapi.json}: the OpenAPI 3 document of the hub's HTTP API, written as YAML
 * in the jar ({@value #RESOURCE}) and served as JSON. A test holds it to the routes the hub registers.
 */
public final class OpenApiDoc {

  public static final String PATH = "/api/v1/openapi.json";
  public static final String RESOURCE = "/openapi.yaml";

  private final AtomicReference<Future<Buffer>> document = new AtomicReference<>();

  public void handle(RoutingContext ctx) {
    Future<Buffer> loaded = document.get();
    if (loaded == null || loaded.failed()) {
      // Read once, off the event loop (a jar entry is a file read).
      loaded = ctx.vertx().executeBlocking(() -> load().toBuffer(), false);
      document.set(loaded);
    }
    loaded.onSuccess(json -> ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/json").end(json))
        .onFailure(e -> ctx.fail(KmcException.internal("the OpenAPI document could not be read", e)));
  }

  /** The document as JSON: YAML mapping keys (response codes) become strings. */
  public static JsonObject load() {
    try (InputStream in = OpenApiDoc.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(RESOURCE + " is missing from the hub's jar");
      }
      LoaderOptions options = new LoaderOptions();
      options.setAllowDuplicateKeys(false);
      Object yaml = new Yaml(new SafeConstructor(options)).load(new String(in.readAllBytes(), StandardCharsets.UTF_8));
      return (JsonObject) json(yaml);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Object json(Object yaml) {
    if (yaml instanceof Map<?, ?> map) {
      Map<String, Object> object = new LinkedHashMap<>();
      map.forEach((key, value) -> object.put(String.valueOf(key), json(value)));
      return new JsonObject(object);
    }
    if (yaml instanceof List<?> list) {
      JsonArray array = new JsonArray();
      list.forEach(item -> array.add(json(item)));
      return array;
    }
    return yaml;
  }
}
