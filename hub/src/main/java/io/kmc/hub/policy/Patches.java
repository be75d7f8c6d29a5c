package io.kmc.hub.policy;

import io.kmc.common.KmcException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Computes what a PATCH would make of an object, so that policies check the result and not the
 * patch. JSON patch (RFC 6902) and JSON merge patch (RFC 7386) are exact. A strategic merge patch
 * is applied as a merge patch: maps merge the same way, but lists are replaced whole where the API
 * server would merge them by key ({@code containers} by name), and {@code $patch}/{@code $retainKeys}
 * directives are dropped. For a list the patch names in full (what {@code kubectl apply} and
 * {@code kubectl patch} send for changed lists), the result is the same; for a patch that lists one
 * container of several, the policies see only the listed one. Server-side apply's configuration is
 * merged the same way over the current object.
 */
public final class Patches {

  public static final String JSON_PATCH = "application/json-patch+json";
  public static final String MERGE_PATCH = "application/merge-patch+json";
  public static final String STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json";
  public static final String APPLY_PATCH = "application/apply-patch+yaml";

  private Patches() {
  }

  /** The patched object; {@code current} is not changed. 400 for a patch that cannot apply. */
  public static JsonObject apply(String contentType, JsonObject current, Object patch) {
    String type = contentType == null ? "" : contentType.split(";")[0].trim().toLowerCase(java.util.Locale.ROOT);
    return switch (type) {
      case JSON_PATCH -> {
        if (!(patch instanceof JsonArray operations)) {
          throw KmcException.badRequest("a JSON patch must be a list of operations");
        }
        yield jsonPatch(current.copy(), operations);
      }
      case MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH -> {
        if (!(patch instanceof JsonObject object)) {
          throw KmcException.badRequest("a merge patch must be an object");
        }
        Object merged = mergePatch(current.copy(), object, !MERGE_PATCH.equals(type));
        yield merged instanceof JsonObject result ? result : new JsonObject();
      }
      default -> throw KmcException.badRequest("unsupported patch type '" + type + "'");
    };
  }

  /** RFC 7386; with {@code strategic}, the strategic merge patch's directive keys are left out. */
  static Object mergePatch(Object target, Object patch, boolean strategic) {
    if (!(patch instanceof JsonObject patchObject)) {
      return patch;
    }
    JsonObject result = target instanceof JsonObject object ? object : new JsonObject();
    for (Map.Entry<String, Object> entry : patchObject) {
      String key = entry.getKey();
      if (strategic && key.startsWith("$")) {
        continue;
      }
      if (strategic && key.startsWith("$setElementOrder/")) {
        continue;
      }
      if (entry.getValue() == null) {
        result.remove(key);
      } else {
        result.put(key, mergePatch(result.getValue(key), entry.getValue(), strategic));
      }
    }
    return result;
  }

  static JsonObject jsonPatch(JsonObject document, JsonArray operations) {
    Object root = document;
    for (int i = 0; i < operations.size(); i++) {
      if (!(operations.getValue(i) instanceof JsonObject op)) {
        throw KmcException.badRequest("JSON patch operation " + i + " is not an object");
      }
      String kind = op.getValue("op") instanceof String s ? s : "";
      String path = op.getValue("path") instanceof String s ? s : null;
      if (path == null) {
        throw KmcException.badRequest("JSON patch operation " + i + " has no path");
      }
      switch (kind) {
        case "add" -> root = add(root, pointer(path), op.getValue("value"));
        case "replace" -> {
          remove(root, pointer(path));
          root = add(root, pointer(path), op.getValue("value"));
        }
        case "remove" -> root = remove(root, pointer(path));
        case "move", "copy" -> {
          String from = op.getValue("from") instanceof String s ? s : null;
          if (from == null) {
            throw KmcException.badRequest("JSON patch operation " + i + " (" + kind + ") has no from");
          }
          Object value = get(root, pointer(from));
          if ("move".equals(kind)) {
            root = remove(root, pointer(from));
          }
          root = add(root, pointer(path), copy(value));
        }
        case "test" -> {
          Object value = get(root, pointer(path));
          Object expected = op.getValue("value");
          if (value == null ? expected != null : !value.equals(expected)) {
            throw KmcException.badRequest("JSON patch test at " + path + " failed");
          }
        }
        default -> throw KmcException.badRequest("JSON patch operation " + i + " has an unknown op '"
            + kind.replaceAll("[^\\x20-\\x7e]", "?") + "'");
      }
    }
    return root instanceof JsonObject object ? object : new JsonObject();
  }

  private static Object copy(Object value) {
    if (value instanceof JsonObject o) {
      return o.copy();
    }
    return value instanceof JsonArray a ? a.copy() : value;
  }

  private static List<String> pointer(String path) {
    if (path.isEmpty()) {
      return List.of();
    }
    if (!path.startsWith("/")) {
      throw KmcException.badRequest("JSON pointer '" + path + "' must start with /");
    }
    List<String> tokens = new ArrayList<>();
    for (String token : path.substring(1).split("/", -1)) {
      tokens.add(token.replace("~1", "/").replace("~0", "~"));
    }
    return tokens;
  }

  private static Object parent(Object root, List<String> tokens) {
    return get(root, tokens.subList(0, tokens.size() - 1));
  }

  private static Object get(Object root, List<String> tokens) {
    Object at = root;
    for (String token : tokens) {
      if (at instanceof JsonObject object && object.containsKey(token)) {
        at = object.getValue(token);
      } else if (at instanceof JsonArray array && index(token, array.size() - 1) >= 0) {
        at = array.getValue(index(token, array.size() - 1));
      } else {
        throw KmcException.badRequest("JSON patch path /" + String.join("/", tokens) + " does not exist");
      }
    }
    return at;
  }

  private static Object add(Object root, List<String> tokens, Object value) {
    if (tokens.isEmpty()) {
      return value;
    }
    Object parent = parent(root, tokens);
    String last = tokens.get(tokens.size() - 1);
    if (parent instanceof JsonObject object) {
      object.put(last, value);
    } else if (parent instanceof JsonArray array) {
      int index = "-".equals(last) ? array.size() : index(last, array.size());
      if (index < 0) {
        throw KmcException.badRequest("JSON patch index " + last + " is out of range");
      }
      array.getList().add(index, value);
    } else {
      throw KmcException.badRequest("JSON patch path /" + String.join("/", tokens) + " has no parent");
    }
    return root;
  }

  private static Object remove(Object root, List<String> tokens) {
    if (tokens.isEmpty()) {
      return null;
    }
    Object parent = parent(root, tokens);
    String last = tokens.get(tokens.size() - 1);
    if (parent instanceof JsonObject object && object.containsKey(last)) {
      object.remove(last);
    } else if (parent instanceof JsonArray array && index(last, array.size() - 1) >= 0) {
      array.remove(index(last, array.size() - 1));
    } else {
      throw KmcException.badRequest("JSON patch path /" + String.join("/", tokens) + " does not exist");
    }
    return root;
  }

  /** The array index a token names, or -1 if it is not a number from 0 to {@code max}. */
  private static int index(String token, int max) {
    if (!token.matches("0|[1-9][0-9]{0,8}")) {
      return -1;
    }
    int index = Integer.parseInt(token);
    return index <= max ? index : -1;
  }
}
