package io.kmc.hub.notify;

import io.kmc.plugin.DeliveryException;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

/** What the HTTP channel types share: URL checks and how an answer maps to an outcome. */
final class HttpChannels {

  private HttpChannels() {
  }

  /** An absolute http or https URL with a host; throws IllegalArgumentException naming the field otherwise. */
  static URI url(Object value, String field) {
    if (!(value instanceof String text) || text.isBlank()) {
      throw new IllegalArgumentException("config." + field + " is required (an http or https URL)");
    }
    if (text.length() > 2048) {
      throw new IllegalArgumentException("config." + field + " is longer than 2048 characters");
    }
    URI uri;
    try {
      uri = new URI(text);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("config." + field + " is not a valid URL: " + e.getReason());
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!uri.isAbsolute() || !(scheme.equals("http") || scheme.equals("https")) || uri.getHost() == null) {
      throw new IllegalArgumentException("config." + field + " must be an absolute http or https URL with a host");
    }
    if (uri.getRawUserInfo() != null) {
      throw new IllegalArgumentException("config." + field + " must not carry user:password@");
    }
    return uri;
  }

  /** POSTs the body; succeeds on 2xx, fails permanently on 4xx other than 408 and 429, otherwise to retry. */
  static Future<Void> post(WebClient client, URI url, Buffer body, long timeoutMillis,
                           java.util.function.Consumer<HttpRequest<Buffer>> headers) {
    boolean ssl = "https".equalsIgnoreCase(url.getScheme());
    int port = url.getPort() > 0 ? url.getPort() : ssl ? 443 : 80;
    String path = (url.getRawPath() == null || url.getRawPath().isEmpty() ? "/" : url.getRawPath())
        + (url.getRawQuery() == null ? "" : "?" + url.getRawQuery());
    HttpRequest<Buffer> request = client.post(port, url.getHost(), path).ssl(ssl).timeout(timeoutMillis)
        .putHeader("Content-Type", "application/json");
    headers.accept(request);
    return request.sendBuffer(body).recover(e -> Future.failedFuture(new DeliveryException(
        "cannot reach " + url.getHost() + ":" + port + ": " + message(e), false))).compose(HttpChannels::outcome);
  }

  private static Future<Void> outcome(HttpResponse<Buffer> response) {
    int status = response.statusCode();
    if (status >= 200 && status < 300) {
      return Future.succeededFuture();
    }
    String body = response.bodyAsString();
    String shown = body == null ? "" : ": " + body.substring(0, Math.min(200, body.length())).replaceAll("\\s+", " ");
    boolean permanent = status >= 300 && status < 500 && status != 408 && status != 429;
    return Future.failedFuture(new DeliveryException("the receiver answered " + status + shown, permanent));
  }

  static String message(Throwable e) {
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
  }
}
