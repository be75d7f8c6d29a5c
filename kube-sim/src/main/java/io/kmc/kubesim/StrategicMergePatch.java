package io.kmc.kubesim;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Strategic merge patch, as sent by {@code kubectl apply} (client side), {@code kubectl patch}
 * and kubectl's edit/scale/label commands. Maps merge; lists with a merge key merge element by
 * element (see {@link MergeKeys}); other lists are replaced. Directives honoured:
 * {@code $patch: replace|delete|merge} on maps and list elements, {@code $retainKeys},
 * {@code $deleteFromPrimitiveList/<field>} and {@code $setElementOrder/<field>}.
 */
final class StrategicMergePatch {

  private static final String PATCH = "$patch";
  private static final String RETAIN_KEYS = "$retainKeys";
  private static final String SET_ELEMENT_ORDER = "$setElementOrder/";
  private static final String DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList/";

  private StrategicMergePatch() {
  }

  static JsonObject apply(JsonObject original, JsonObject patch) {
    JsonObject merged = mergeMap(original, patch, new ArrayList<>());
    return merged == null ? new JsonObject() : merged;
  }

  /** Returns the merged map, or null when the patch says {@code $patch: delete}. */
  private static JsonObject mergeMap(JsonObject original, JsonObject patch, List<String> path) {
    String directive = patch.getString(PATCH);
    if ("delete".equals(directive)) {
      return null;
    }
    JsonObject result = original == null || "replace".equals(directive) ? new JsonObject() : original.copy();
    Map<String, JsonArray> elementOrders = new HashMap<>();
    for (String key : patch.fieldNames()) {
      Object value = patch.getValue(key);
      if (key.equals(PATCH) || key.equals(RETAIN_KEYS)) {
        continue;
      }
      if (key.startsWith(SET_ELEMENT_ORDER)) {
        if (value instanceof JsonArray order) {
          elementOrders.put(key.substring(SET_ELEMENT_ORDER.length()), order);
        }
        continue;
      }
      if (key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
        String field = key.substring(DELETE_FROM_PRIMITIVE_LIST.length());
        if (value instanceof JsonArray toDelete && result.getValue(field) instanceof JsonArray current) {
          JsonArray kept = new JsonArray();
          current.forEach(item -> {
            if (!contains(toDelete, item)) {
              kept.add(item);
            }
          });
          result.put(field, kept);
        }
        continue;
      }
      if (value == null) {
        result.remove(key);
      } else if (value instanceof JsonObject patchChild) {
        Object current = result.getValue(key);
        path.add(key);
        JsonObject merged = mergeMap(current instanceof JsonObject json ? json : null, patchChild, path);
        path.remove(path.size() - 1);
        if (merged == null) {
          result.remove(key);
        } else {
          result.put(key, merged);
        }
      } else if (value instanceof JsonArray patchList) {
        Object current = result.getValue(key);
        result.put(key, mergeList(current instanceof JsonArray array ? array : null, patchList, key, path));
      } else {
        result.put(key, value);
      }
    }
    elementOrders.forEach((field, order) -> {
      if (result.getValue(field) instanceof JsonArray list) {
        result.put(field, reorder(list, order, MergeKeys.keyFor(field, path)));
      }
    });
    if (patch.getValue(RETAIN_KEYS) instanceof JsonArray retained) {
      for (String key : new ArrayList<>(result.fieldNames())) {
        if (!retained.contains(key)) {
          result.remove(key);
        }
      }
    }
    return result;
  }

  private static JsonArray mergeList(JsonArray original, JsonArray patch, String field, List<String> path) {
    String mergeKey = MergeKeys.keyFor(field, path);
    boolean replaceAll = false;
    for (Object item : patch) {
      if (item instanceof JsonObject element && "replace".equals(element.getString(PATCH)) && element.size() == 1) {
        replaceAll = true;
      }
    }
    if (mergeKey == null) {
      if (MergeKeys.isMergedScalarList(field) && original != null && !replaceAll) {
        JsonArray union = original.copy();
        patch.forEach(item -> {
          if (!contains(union, item)) {
            union.add(item);
          }
        });
        return union;
      }
      return stripDirectives(patch, field, path);
    }
    JsonArray result = original == null || replaceAll ? new JsonArray() : original.copy();
    path.add(field);
    try {
      for (Object item : patch) {
        if (!(item instanceof JsonObject element)) {
          result.add(item);
          continue;
        }
        if ("replace".equals(element.getString(PATCH)) && element.size() == 1) {
          continue;
        }
        int index = indexOf(result, mergeKey, element.getValue(mergeKey));
        if ("delete".equals(element.getString(PATCH))) {
          if (index >= 0) {
            result.remove(index);
          }
          continue;
        }
        JsonObject merged = mergeMap(index >= 0 ? result.getJsonObject(index) : null, element, path);
        if (merged == null) {
          if (index >= 0) {
            result.remove(index);
          }
        } else if (index >= 0) {
          result.set(index, merged);
        } else {
          result.add(merged);
        }
      }
    } finally {
      path.remove(path.size() - 1);
    }
    return result;
  }

  /** A replaced list may still carry directives inside its elements; they must not be stored. */
  private static JsonArray stripDirectives(JsonArray list, String field, List<String> path) {
    JsonArray clean = new JsonArray();
    path.add(field);
    for (Object item : list) {
      if (item instanceof JsonObject element) {
        if ("replace".equals(element.getString(PATCH)) && element.size() == 1) {
          continue;
        }
        JsonObject merged = mergeMap(null, element, path);
        if (merged != null) {
          clean.add(merged);
        }
      } else {
        clean.add(item);
      }
    }
    path.remove(path.size() - 1);
    return clean;
  }

  /**
   * Orders the list as {@code $setElementOrder} says; elements the order does not mention (added
   * by someone else on the server) keep their relative order after the ordered ones.
   */
  private static JsonArray reorder(JsonArray list, JsonArray order, String mergeKey) {
    JsonArray ordered = new JsonArray();
    List<Integer> remaining = new ArrayList<>();
    for (int i = 0; i < list.size(); i++) {
      remaining.add(i);
    }
    for (Object wanted : order) {
      Object wantedKey = keyOf(wanted, mergeKey);
      for (int r = 0; r < remaining.size(); r++) {
        Object candidate = list.getValue(remaining.get(r));
        if (sameKey(keyOf(candidate, mergeKey), wantedKey)) {
          ordered.add(candidate);
          remaining.remove(r);
          break;
        }
      }
    }
    remaining.forEach(index -> ordered.add(list.getValue(index)));
    return ordered;
  }

  private static Object keyOf(Object element, String mergeKey) {
    return mergeKey != null && element instanceof JsonObject json ? json.getValue(mergeKey) : element;
  }

  static int indexOf(JsonArray list, String mergeKey, Object keyValue) {
    for (int i = 0; i < list.size(); i++) {
      if (list.getValue(i) instanceof JsonObject element && sameKey(element.getValue(mergeKey), keyValue)) {
        return i;
      }
    }
    return -1;
  }

  private static boolean sameKey(Object a, Object b) {
    return a != null && b != null && JsonPatches.sameJson(a, b)
        || a != null && b != null && String.valueOf(a).equals(String.valueOf(b));
  }

  private static boolean contains(JsonArray list, Object item) {
    for (Object candidate : list) {
      if (JsonPatches.sameJson(candidate, item)) {
        return true;
      }
    }
    return false;
  }
}
