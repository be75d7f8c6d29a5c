package io.kmc.kubesim;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** RFC 6902 JSON patch and RFC 7386 JSON merge patch over Vert.x JSON. */
final class JsonPatches {

  private JsonPatches() {
  }

  /** Applies a JSON merge patch: objects merge recursively, null deletes, anything else replaces. */
  static JsonObject mergePatch(JsonObject target, JsonObject patch) {
    JsonObject result = target == null ? new JsonObject() : target.copy();
    for (String key : patch.fieldNames()) {
      Object value = patch.getValue(key);
      if (value == null) {
        result.remove(key);
      } else if (value instanceof JsonObject patchChild) {
        Object current = result.getValue(key);
        result.put(key, mergePatch(current instanceof JsonObject json ? json : null, patchChild));
      } else {
        result.put(key, copyValue(value));
      }
    }
    return result;
  }

  /** Applies a JSON patch; a failing operation (including a failing "test") is a 422. */
  static JsonObject jsonPatch(JsonObject target, JsonArray operations) {
    Object document = target.copy();
    for (Object o : operations) {
      if (!(o instanceof JsonObject operation)) {
        throw KubeApiException.badRequest("json patch operations must be objects");
      }
      String op = operation.getString("op", "");
      String path = operation.getString("path");
      if (path == null) {
        throw KubeApiException.badRequest("json patch operation is missing \"path\"");
      }
      try {
        document = switch (op) {
          case "add" -> add(document, pointer(path), copyValue(operation.getValue("value")));
          case "remove" -> remove(document, pointer(path));
          case "replace" -> add(remove(document, pointer(path)), pointer(path), copyValue(operation.getValue("value")));
          case "move" -> {
            Object moved = get(document, pointer(operation.getString("from", "")));
            yield add(remove(document, pointer(operation.getString("from", ""))), pointer(path), moved);
          }
          case "copy" -> {
            Object copied = copyValue(get(document, pointer(operation.getString("from", ""))));
            yield add(document, pointer(path), copied);
          }
          case "test" -> {
            Object actual = get(document, pointer(path));
            if (!sameJson(actual, operation.getValue("value"))) {
              throw new PatchFailure("testing value " + path + " failed");
            }
            yield document;
          }
          default -> throw KubeApiException.badRequest("unexpected json patch operation \"" + op + "\"");
        };
      } catch (PatchFailure e) {
        throw new KubeApiException(422, "Invalid", e.getMessage(), null);
      }
    }
    if (!(document instanceof JsonObject result)) {
      throw new KubeApiException(422, "Invalid", "json patch must leave an object", null);
    }
    return result;
  }

  static Object copyValue(Object value) {
    if (value instanceof JsonObject json) {
      return json.copy();
    }
    if (value instanceof JsonArray array) {
      return array.copy();
    }
    return value;
  }

  /** JSON equality where 1 and 1L and 1.0 agree, since parsers choose different number types. */
  static boolean sameJson(Object a, Object b) {
    if (a instanceof Number x && b instanceof Number y) {
      return x.doubleValue() == y.doubleValue();
    }
    if (a instanceof JsonObject x && b instanceof JsonObject y) {
      if (!x.fieldNames().equals(y.fieldNames())) {
        return false;
      }
      for (String key : x.fieldNames()) {
        if (!sameJson(x.getValue(key), y.getValue(key))) {
          return false;
        }
      }
      return true;
    }
    if (a instanceof JsonArray x && b instanceof JsonArray y) {
      if (x.size() != y.size()) {
        return false;
      }
      for (int i = 0; i < x.size(); i++) {
        if (!sameJson(x.getValue(i), y.getValue(i))) {
          return false;
        }
      }
      return true;
    }
    return Objects.equals(a, b);
  }

  private static final class PatchFailure extends RuntimeException {
    PatchFailure(String message) {
      super(message, null, false, false);
    }
  }

  private static List<String> pointer(String path) {
    if (path.isEmpty()) {
      return List.of();
    }
    if (!path.startsWith("/")) {
      throw new PatchFailure("invalid json pointer \"" + path + "\"");
    }
    List<String> tokens = new ArrayList<>();
    for (String token : path.substring(1).split("/", -1)) {
      tokens.add(token.replace("~1", "/").replace("~0", "~"));
    }
    return tokens;
  }

  private static Object get(Object document, List<String> tokens) {
    Object current = document;
    for (String token : tokens) {
      current = child(current, token);
      if (current == MISSING) {
        throw new PatchFailure("path not found: /" + String.join("/", tokens));
      }
    }
    return current;
  }

  private static final Object MISSING = new Object();

  private static Object child(Object container, String token) {
    if (container instanceof JsonObject json) {
      return json.containsKey(token) ? json.getValue(token) : MISSING;
    }
    if (container instanceof JsonArray array) {
      int index = index(token, array.size() - 1);
      return array.getValue(index);
    }
    return MISSING;
  }

  private static int index(String token, int max) {
    try {
      int index = Integer.parseInt(token);
      if (index < 0 || index > max) {
        throw new PatchFailure("index out of range: " + token);
      }
      return index;
    } catch (NumberFormatException e) {
      throw new PatchFailure("invalid array index: " + token);
    }
  }

  private static Object add(Object document, List<String> tokens, Object value) {
    if (tokens.isEmpty()) {
      return value;
    }
    Object parent = get(document, tokens.subList(0, tokens.size() - 1));
    String last = tokens.get(tokens.size() - 1);
    if (parent instanceof JsonObject json) {
      json.put(last, value);
    } else if (parent instanceof JsonArray array) {
      if ("-".equals(last)) {
        array.add(value);
      } else {
        array.add(index(last, array.size()), value);
      }
    } else {
      throw new PatchFailure("cannot add at /" + String.join("/", tokens));
    }
    return document;
  }

  private static Object remove(Object document, List<String> tokens) {
    if (tokens.isEmpty()) {
      return new JsonObject();
    }
    Object parent = get(document, tokens.subList(0, tokens.size() - 1));
    String last = tokens.get(tokens.size() - 1);
    if (parent instanceof JsonObject json) {
      if (!json.containsKey(last)) {
        throw new PatchFailure("unable to remove nonexistent key: " + last);
      }
      json.remove(last);
    } else if (parent instanceof JsonArray array) {
      array.remove(index(last, array.size() - 1));
    } else {
      throw new PatchFailure("cannot remove /" + String.join("/", tokens));
    }
    return document;
  }
}
