package io.kmc.hub.api;

import io.kmc.common.KmcException;
import io.kmc.ops.Texts;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.Map;

/**
 * One Kubernetes REST call as the hub sends it to a member cluster: the caller's own (the
 * pass-through forwards it as it came) or one the typed API composed for its caller. Policy
 * admission and forwarding read the call from here, not from the HTTP request, so that both
 * entries share them.
 *
 * @param path    the Kubernetes path, e.g. {@code /apis/apps/v1/namespaces/shop/deployments/web}
 * @param query   the raw query string, or null
 * @param headers what the member cluster needs to read the call (content type, accept)
 * @param body    the body, or null
 */
public record KubeCall(String method, String path, String query, Map<String, List<String>> headers, Buffer body) {

  /** Longest error text taken from a member cluster's answer into the hub's own error body. */
  private static final int MAX_MESSAGE_CHARS = 2048;

  /** A call the hub composed: JSON in (if there is a body), JSON out. */
  public static KubeCall json(String method, String path, String query, String contentType, Buffer body) {
    return new KubeCall(method, path, query == null || query.isEmpty() ? null : query, body == null
        ? Map.of("Accept", List.of("application/json"))
        : Map.of("Accept", List.of("application/json"), "Content-Type", List.of(contentType)), body);
  }

  public String contentType() {
    for (Map.Entry<String, List<String>> header : headers.entrySet()) {
      if (header.getKey().equalsIgnoreCase("content-type") && !header.getValue().isEmpty()) {
        return header.getValue().get(0);
      }
    }
    return null;
  }

  /**
   * A member cluster's refusal in the hub's own terms: its status, and the reason and message of
   * its Kubernetes {@code Status} (or the start of whatever else it answered).
   */
  public static KmcException memberFailure(int status, Buffer body) {
    String reason = null;
    String message = null;
    if (body != null && body.length() > 0) {
      try {
        Object value = body.toJsonValue();
        if (value instanceof JsonObject object) {
          reason = object.getValue("reason") instanceof String r && !r.isEmpty() ? r : null;
          message = object.getValue("message") instanceof String m && !m.isEmpty() ? m : null;
        }
      } catch (DecodeException e) {
        message = body.toString().strip();
      }
    }
    if (reason == null) {
      reason = defaultReason(status);
    }
    if (message == null || message.isEmpty()) {
      message = "the member cluster answered " + status;
    }
    message = Texts.bounded(message, MAX_MESSAGE_CHARS);
    return status >= 500 ? new KmcException.ServerError(status, reason, message, null)
        : new KmcException.ClientError(status, reason, message);
  }

  private static String defaultReason(int status) {
    return switch (status) {
      case 400 -> "BadRequest";
      case 401 -> "Unauthorized";
      case 403 -> "Forbidden";
      case 404 -> "NotFound";
      case 405 -> "MethodNotAllowed";
      case 409 -> "Conflict";
      case 410 -> "Expired";
      case 415 -> "UnsupportedMediaType";
      case 422 -> "Invalid";
      case 429 -> "TooManyRequests";
      case 503 -> "ServiceUnavailable";
      case 504 -> "Timeout";
      default -> status >= 500 ? "InternalError" : "BadRequest";
    };
  }
}
