package io.kmc.hub.notify;

import io.kmc.common.KmcException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;

/** Checks of API fields shared by channels and subscriptions. */
final class Names {

  static final String RULE = "lowercase letters, digits and '-', starting with a letter or digit, at most 63";

  private Names() {
  }

  static void check(String name, String field) {
    if (name == null || !name.matches("[a-z0-9][a-z0-9-]{0,62}")) {
      throw KmcException.badRequest(field + " '" + printable(name) + "' is not a valid name (" + RULE + ")");
    }
  }

  static String string(JsonObject body, String field) {
    Object value = body.getValue(field);
    if (!(value instanceof String text) || text.isEmpty()) {
      throw KmcException.badRequest(field + " is required (a string)");
    }
    if (text.length() > 256) {
      throw KmcException.badRequest(field + " is longer than 256 characters");
    }
    return text;
  }

  static Integer positive(JsonObject body, String field, int max) {
    Object value = body.getValue(field);
    if (value == null) {
      return null;
    }
    if (!(value instanceof Integer n) || n < 1 || n > max) {
      throw KmcException.badRequest(field + " must be a whole number from 1 to " + max);
    }
    return n;
  }

  static List<String> strings(JsonObject body, String field, int max) {
    Object value = body.getValue(field);
    if (value == null) {
      return List.of();
    }
    if (!(value instanceof JsonArray array) || array.size() > max) {
      throw KmcException.badRequest(field + " must be a list of at most " + max + " strings");
    }
    List<String> result = new ArrayList<>();
    for (Object item : array) {
      if (!(item instanceof String s) || s.isEmpty() || s.length() > 256) {
        throw KmcException.badRequest(field + " must be a list of non-empty strings");
      }
      result.add(s);
    }
    return List.copyOf(result);
  }

  static String printable(String text) {
    if (text == null) {
      return "";
    }
    String shown = text.length() > 64 ? text.substring(0, 64) + "..." : text;
    return shown.replaceAll("[^\\x20-\\x7e]", "?");
  }
}
