package io.kmc.plugins.example;

import io.kmc.plugin.DeliveryException;
import io.kmc.plugin.NotificationChannel;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.net.URI;
import java.util.Set;

/**
 * {@code teams}: a Microsoft Teams incoming webhook (Office 365 connector), which takes a
 * {@code MessageCard}. The URL holds the connector's token: a secret.
 */
final class TeamsChannel implements NotificationChannel {

  private final HttpClient client;
  private final long timeoutMillis;

  TeamsChannel(Vertx vertx, long timeoutMillis) {
    this.client = vertx.createHttpClient(new HttpClientOptions()
        .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, timeoutMillis)));
    this.timeoutMillis = timeoutMillis;
  }

  @Override
  public String type() {
    return "teams";
  }

  @Override
  public Set<String> secretFields() {
    return Set.of("url");
  }

  @Override
  public void validate(JsonObject config) {
    url(config);
    for (String field : config.fieldNames()) {
      if (!field.equals("url") && !field.equals("themeColor")) {
        throw new IllegalArgumentException("unknown field config." + field + " (a teams channel has url, themeColor)");
      }
    }
  }

  private static URI url(JsonObject config) {
    try {
      URI uri = new URI(config.getString("url", ""));
      if (!("https".equals(uri.getScheme()) || "http".equals(uri.getScheme())) || uri.getHost() == null) {
        throw new IllegalArgumentException("config.url must be the connector's https URL");
      }
      return uri;
    } catch (java.net.URISyntaxException | ClassCastException e) {
      throw new IllegalArgumentException("config.url must be the connector's https URL");
    }
  }

  @Override
  public Future<Void> send(JsonObject config, Message message) {
    URI url = url(config);
    boolean ssl = "https".equals(url.getScheme());
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setHost(url.getHost())
        .setPort(url.getPort() > 0 ? url.getPort() : ssl ? 443 : 80).setSsl(ssl)
        .setURI(url.getRawPath() + (url.getRawQuery() == null ? "" : "?" + url.getRawQuery()))
        .setTimeout(timeoutMillis).putHeader("Content-Type", "application/json");
    return client.request(options)
        .compose(request -> request.send(card(config, message).toBuffer()))
        .compose(response -> response.body().compose(body -> {
          int status = response.statusCode();
          if (status >= 200 && status < 300) {
            return Future.<Void>succeededFuture();
          }
          return Future.failedFuture(new DeliveryException("Teams answered " + status,
              status >= 400 && status < 500 && status != 408 && status != 429));
        }));
  }

  static JsonObject card(JsonObject config, Message message) {
    String color = switch (message.severity()) {
      case "critical" -> "D13438";
      case "warning" -> "FFB900";
      default -> config.getString("themeColor", "0078D7");
    };
    JsonArray facts = new JsonArray()
        .add(new JsonObject().put("name", "Event").put("value", message.type()))
        .add(new JsonObject().put("name", "Severity").put("value", message.severity()));
    if (message.event().getString("cluster") != null) {
      facts.add(new JsonObject().put("name", "Cluster").put("value", message.event().getString("cluster")));
    }
    return new JsonObject().put("@type", "MessageCard").put("@context", "https://schema.org/extensions")
        .put("themeColor", color).put("summary", message.summary()).put("title", "kmc: " + message.type())
        .put("sections", new JsonArray().add(new JsonObject().put("activityTitle", message.summary())
            .put("facts", facts)));
  }

  @Override
  public void close() {
    client.close();
  }
}
