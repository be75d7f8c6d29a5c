package io.kmc.hub.api;

import io.kmc.common.KmcException;
import io.kmc.ops.Texts;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** Reading request bodies and writing JSON answers for the hub's own API, with clear 400s. */
public final class Bodies {

  private Bodies() {
  }

  /** The request body as a JSON object; 400 if it is missing, not JSON, or not an object. */
  public static JsonObject object(RoutingContext ctx) {
    Buffer body = ctx.body() == null ? null : ctx.body().buffer();
    if (body == null || body.length() == 0) {
      throw KmcException.badRequest("the request needs a JSON object body");
    }
    try {
      Object value = body.toJsonValue();
      if (value instanceof JsonObject json) {
        return json;
      }
      throw KmcException.badRequest("the request body must be a JSON object");
    } catch (DecodeException e) {
      throw KmcException.badRequest("the request body is not valid JSON: " + firstLine(e.getMessage()));
    }
  }

  /** Longest string the hub's API takes in any field that has no tighter bound of its own. */
  public static final int MAX_STRING_CHARS = 4096;
  /** Labels of one object, as Kubernetes bounds them: 63-character names and values, and a total. */
  public static final int MAX_LABELS = 64;
  private static final int MAX_LABELS_BYTES = 16 * 1024;
  private static final Pattern LABEL_NAME = Pattern.compile("([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)");
  private static final Pattern LABEL_VALUE = Pattern.compile("(([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?)");
  private static final Pattern DNS_SUBDOMAIN =
      Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");

  /** A string field of at most {@link #MAX_STRING_CHARS} characters. */
  public static String string(JsonObject body, String field, boolean required) {
    return string(body, field, required, MAX_STRING_CHARS);
  }

  /**
   * A string field: 400 if it is missing (when required), not a string, longer than {@code maxChars}
   * or holding a NUL character (which no name or text of the hub's may hold, and PostgreSQL cannot store).
   */
  public static String string(JsonObject body, String field, boolean required, int maxChars) {
    Object value = body.getValue(field);
    if (value == null) {
      if (required) {
        throw KmcException.badRequest("'" + field + "' is required");
      }
      return null;
    }
    if (!(value instanceof String text)) {
      throw KmcException.badRequest("'" + field + "' must be a string");
    }
    if (text.length() > maxChars) {
      throw KmcException.badRequest("'" + field + "' must be at most " + maxChars + " characters");
    }
    if (text.indexOf('\0') >= 0) {
      throw KmcException.badRequest("'" + field + "' must not contain NUL characters");
    }
    return text;
  }

  public static Boolean bool(JsonObject body, String field) {
    Object value = body.getValue(field);
    if (value != null && !(value instanceof Boolean)) {
      throw KmcException.badRequest("'" + field + "' must be true or false");
    }
    return (Boolean) value;
  }

  public static List<String> strings(JsonObject body, String field) {
    Object value = body.getValue(field);
    if (value == null) {
      return null;
    }
    if (!(value instanceof JsonArray array)) {
      throw KmcException.badRequest("'" + field + "' must be a list of strings");
    }
    List<String> result = new ArrayList<>();
    for (Object item : array) {
      if (!(item instanceof String text)) {
        throw KmcException.badRequest("'" + field + "' must be a list of strings");
      }
      if (text.isEmpty() || text.length() > 256 || text.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
        throw KmcException.badRequest("each of '" + field + "' must be 1 to 256 characters without control characters");
      }
      result.add(text);
    }
    if (result.size() > MAX_LABELS) {
      throw KmcException.badRequest("'" + field + "' may hold at most " + MAX_LABELS + " entries");
    }
    return result;
  }

  public static Map<String, String> labels(JsonObject body, String field) {
    Object value = body.getValue(field);
    if (value == null) {
      return null;
    }
    if (!(value instanceof JsonObject json)) {
      throw KmcException.badRequest("'" + field + "' must be an object of strings");
    }
    if (json.size() > MAX_LABELS) {
      throw KmcException.badRequest("'" + field + "' has " + json.size() + " entries; at most " + MAX_LABELS
          + " are allowed");
    }
    Map<String, String> labels = new LinkedHashMap<>();
    int bytes = 0;
    for (Map.Entry<String, Object> entry : json) {
      String key = entry.getKey();
      if (!(entry.getValue() instanceof String text)) {
        throw KmcException.badRequest("'" + field + "." + Texts.forLog(key) + "' must be a string");
      }
      String problem = labelProblem(key, text);
      if (problem != null) {
        throw KmcException.badRequest("'" + field + "." + Texts.forLog(key) + "': " + problem);
      }
      bytes += key.length() + text.length();
      labels.put(key, text);
    }
    if (bytes > MAX_LABELS_BYTES) {
      throw KmcException.badRequest("'" + field + "' is larger than " + MAX_LABELS_BYTES + " bytes in all");
    }
    return labels;
  }

  /** What is wrong with a label by Kubernetes' rules, or null if nothing is. */
  static String labelProblem(String key, String value) {
    int slash = key.indexOf('/');
    String prefix = slash < 0 ? null : key.substring(0, slash);
    String name = slash < 0 ? key : key.substring(slash + 1);
    if (prefix != null && (prefix.isEmpty() || prefix.length() > 253 || !DNS_SUBDOMAIN.matcher(prefix).matches())) {
      return "the key's prefix must be a DNS subdomain of at most 253 characters";
    }
    if (!LABEL_NAME.matcher(name).matches()) {
      return "the key's name must be 1 to 63 characters: letters, digits, '-', '_' and '.', "
          + "starting and ending with a letter or digit";
    }
    if (!LABEL_VALUE.matcher(value).matches()) {
      return "the value must be at most 63 characters: letters, digits, '-', '_' and '.', "
          + "starting and ending with a letter or digit";
    }
    return null;
  }

  /** A duration given as seconds or as text such as {@code 90d}, {@code 12h}, {@code 30m}. */
  public static Duration duration(JsonObject body, String field, Duration defaultValue) {
    Object value = body.getValue(field);
    if (value == null) {
      return defaultValue;
    }
    if (value instanceof Number number) {
      return Duration.ofSeconds(number.longValue());
    }
    if (value instanceof String text && text.matches("\\d+[smhd]")) {
      long amount = Long.parseLong(text.substring(0, text.length() - 1));
      return switch (text.charAt(text.length() - 1)) {
        case 's' -> Duration.ofSeconds(amount);
        case 'm' -> Duration.ofMinutes(amount);
        case 'h' -> Duration.ofHours(amount);
        default -> Duration.ofDays(amount);
      };
    }
    throw KmcException.badRequest("'" + field + "' must be seconds or a duration such as 30d, 12h, 30m");
  }

  /** A JSON object or array, or JSON already encoded (a {@link Buffer}, e.g. built on a worker). */
  public static void json(RoutingContext ctx, int status, Object body) {
    Buffer buffer = body instanceof Buffer encoded ? encoded
        : body instanceof JsonArray array ? array.toBuffer() : ((JsonObject) body).toBuffer();
    ctx.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "application/json").end(buffer);
  }

  public static void json(RoutingContext ctx, Object body) {
    json(ctx, 200, body);
  }

  public static void noContent(RoutingContext ctx) {
    ctx.response().setStatusCode(204).end();
  }

  private static String firstLine(String text) {
    return text == null ? "" : text.lines().findFirst().orElse("");
  }
}
