package io.kmc.hub.notify;

import io.kmc.common.KmcVersion;
import io.kmc.plugin.NotificationChannel;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;

import java.util.Set;

/**
 * {@code webhook}: the event as JSON, POSTed to {@code config.url}, signed with {@code config.secret}
 * (see {@link Signatures}); the delivery id and attempt travel as headers for the receiver to
 * de-duplicate a delivery retried after it was in fact received.
 */
final class WebhookChannel implements NotificationChannel {

  static final String DELIVERY_HEADER = "X-Kmc-Delivery";
  static final String EVENT_HEADER = "X-Kmc-Event";
  static final String ATTEMPT_HEADER = "X-Kmc-Attempt";
  private static final int MIN_SECRET_CHARS = 16;

  private final WebClient client;
  private final long timeoutMillis;

  WebhookChannel(WebClient client, long timeoutMillis) {
    this.client = client;
    this.timeoutMillis = timeoutMillis;
  }

  @Override
  public String type() {
    return "webhook";
  }

  @Override
  public Set<String> secretFields() {
    return Set.of("secret");
  }

  @Override
  public void validate(JsonObject config) {
    HttpChannels.url(config.getValue("url"), "url");
    if (!(config.getValue("secret") instanceof String secret) || secret.length() < MIN_SECRET_CHARS
        || secret.length() > 1024) {
      throw new IllegalArgumentException("config.secret is required: the HMAC-SHA256 key the deliveries are signed "
          + "with, " + MIN_SECRET_CHARS + " to 1024 characters");
    }
    for (String field : config.fieldNames()) {
      if (!Set.of("url", "secret").contains(field)) {
        throw new IllegalArgumentException("unknown field config." + field + " (a webhook has url and secret)");
      }
    }
  }

  @Override
  public Future<Void> send(JsonObject config, Message message) {
    Buffer body = new JsonObject().put("delivery", message.deliveryId()).put("event", message.event()).toBuffer();
    long timestamp = System.currentTimeMillis() / 1000;
    String signature = Signatures.sign(config.getString("secret"), timestamp, body.getBytes());
    return HttpChannels.post(client, HttpChannels.url(config.getValue("url"), "url"), body, timeoutMillis, request ->
        request.putHeader("User-Agent", "kmc-hub/" + KmcVersion.current())
            .putHeader(DELIVERY_HEADER, String.valueOf(message.deliveryId()))
            .putHeader(ATTEMPT_HEADER, String.valueOf(message.attempt()))
            .putHeader(EVENT_HEADER, message.type())
            .putHeader(Signatures.TIMESTAMP_HEADER, String.valueOf(timestamp))
            .putHeader(Signatures.SIGNATURE_HEADER, signature));
  }
}
