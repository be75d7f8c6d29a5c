package io.kmc.hub.api;

import io.kmc.common.KmcException;
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

  public static String string(JsonObject body, String field, boolean required) {
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
      result.add(text);
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
    Map<String, String> labels = new LinkedHashMap<>();
    for (Map.Entry<String, Object> entry : json) {
      if (!(entry.getValue() instanceof String text)) {
        throw KmcException.badRequest("'" + field + "." + entry.getKey() + "' must be a string");
      }
      labels.put(entry.getKey(), text);
    }
    return labels;
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

  public static void json(RoutingContext ctx, int status, Object body) {
    Buffer buffer = body instanceof JsonArray array ? array.toBuffer() : ((JsonObject) body).toBuffer();
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
