package io.kmc.hub.notify;

import io.kmc.plugin.NotificationChannel;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;

import java.util.Set;

/**
 * {@code slack}: a Slack incoming webhook (or anything that takes its payload: Mattermost, Rocket.Chat):
 * {@code {"text": ..., "blocks": [...]}}. The webhook URL holds Slack's token, so it is a secret.
 */
final class SlackChannel implements NotificationChannel {

  private final WebClient client;
  private final long timeoutMillis;

  SlackChannel(WebClient client, long timeoutMillis) {
    this.client = client;
    this.timeoutMillis = timeoutMillis;
  }

  @Override
  public String type() {
    return "slack";
  }

  @Override
  public Set<String> secretFields() {
    return Set.of("url");
  }

  @Override
  public void validate(JsonObject config) {
    HttpChannels.url(config.getValue("url"), "url");
    for (String field : config.fieldNames()) {
      if (!Set.of("url").contains(field)) {
        throw new IllegalArgumentException("unknown field config." + field + " (a slack channel has url)");
      }
    }
  }

  @Override
  public Future<Void> send(JsonObject config, Message message) {
    return HttpChannels.post(client, HttpChannels.url(config.getValue("url"), "url"), payload(message).toBuffer(),
        timeoutMillis, request -> { });
  }

  /** The message: a one-line text (what notifications show) and blocks with the details. */
  static JsonObject payload(Message message) {
    JsonObject event = message.event();
    String icon = switch (message.severity()) {
      case "critical" -> ":rotating_light:";
      case "warning" -> ":warning:";
      default -> ":information_source:";
    };
    String text = icon + " [" + message.severity() + "] " + message.summary();
    StringBuilder context = new StringBuilder("*").append(message.type()).append('*');
    if (event.getString("cluster") != null) {
      context.append(" · cluster `").append(event.getString("cluster")).append('`');
    }
    context.append(" · ").append(event.getString("time", ""));
    JsonArray blocks = new JsonArray()
        .add(new JsonObject().put("type", "section").put("text", new JsonObject().put("type", "mrkdwn")
            .put("text", text)))
        .add(new JsonObject().put("type", "context").put("elements", new JsonArray().add(new JsonObject()
            .put("type", "mrkdwn").put("text", context.toString()))));
    return new JsonObject().put("text", text).put("blocks", blocks);
  }
}
