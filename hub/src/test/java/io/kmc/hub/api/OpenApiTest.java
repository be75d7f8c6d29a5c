package io.kmc.hub.api;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The OpenAPI document holds together on its own: an OpenAPI 3 document whose every operation has
 * answers and declares each parameter of its path, and whose every reference resolves.
 * (OpenApiIT holds it to the routes the hub serves.)
 */
class OpenApiTest {

  private static final Set<String> METHODS = Set.of("get", "put", "post", "patch", "delete", "head", "options");
  private static final Pattern TEMPLATE_PARAMETER = Pattern.compile("\\{([^}/]+)}");
  private static final Pattern REFERENCE = Pattern.compile("\"\\$ref\":\"#/([^\"]+)\"");

  private final JsonObject document = OpenApiDoc.load();

  @Test
  void isAnOpenApi3Document() {
    assertTrue(document.getString("openapi").startsWith("3."), document.getString("openapi"));
    assertEquals("v1", document.getJsonObject("info").getString("version"));
    assertTrue(document.getJsonObject("paths").size() > 0);
  }

  @Test
  void everyOperationDeclaresItsPathParametersAndAnswers() {
    List<String> problems = new ArrayList<>();
    JsonObject paths = document.getJsonObject("paths");
    for (String path : paths.fieldNames()) {
      JsonObject item = paths.getJsonObject(path);
      for (String method : item.fieldNames()) {
        if (!METHODS.contains(method)) {
          continue;
        }
        JsonObject operation = item.getJsonObject(method);
        String route = method.toUpperCase() + " " + path;
        if (operation.getJsonObject("responses") == null || operation.getJsonObject("responses").isEmpty()) {
          problems.add(route + " has no responses");
        }
        List<String> declared = new ArrayList<>();
        for (var source : List.of(item.getJsonArray("parameters", new io.vertx.core.json.JsonArray()),
            operation.getJsonArray("parameters", new io.vertx.core.json.JsonArray()))) {
          for (Object parameter : source) {
            JsonObject resolved = resolve((JsonObject) parameter);
            if ("path".equals(resolved.getString("in"))) {
              declared.add(resolved.getString("name"));
            }
          }
        }
        Matcher m = TEMPLATE_PARAMETER.matcher(path);
        while (m.find()) {
          if (!declared.contains(m.group(1))) {
            problems.add(route + " does not declare its path parameter '" + m.group(1) + "'");
          }
        }
      }
    }
    assertEquals(List.of(), problems);
  }

  @Test
  void everyReferenceResolves() {
    Matcher m = REFERENCE.matcher(document.encode());
    List<String> broken = new ArrayList<>();
    while (m.find()) {
      if (lookup(m.group(1)) == null) {
        broken.add("#/" + m.group(1));
      }
    }
    assertEquals(List.of(), broken);
  }

  private JsonObject resolve(JsonObject maybeReference) {
    String ref = maybeReference.getString("$ref");
    return ref == null ? maybeReference : (JsonObject) lookup(ref.substring(2));
  }

  private Object lookup(String pointer) {
    Object at = document;
    for (String part : pointer.split("/")) {
      if (!(at instanceof JsonObject object)) {
        return null;
      }
      at = object.getValue(part);
    }
    return at;
  }
}
