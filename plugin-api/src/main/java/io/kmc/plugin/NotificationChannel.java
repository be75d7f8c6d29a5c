package io.kmc.plugin;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

import java.util.Set;

/**
 * A kind of notification channel (the hub's own webhook, slack and email, or a plugin's). A channel
 * is stored as its type's name and a JSON {@code config}; the fields named by {@link #secretFields()}
 * are stored apart and never returned by the API.
 */
public interface NotificationChannel {

  /** The name channels give as {@code type}: lowercase letters, digits and '-'. */
  String type();

  /** Fields of the config that are secrets (an HMAC key, a password, a URL holding a token). */
  Set<String> secretFields();

  /**
   * Checks a channel's whole config (secrets included) as the API received it; throws
   * {@link IllegalArgumentException} with a message naming the field when it is wrong (the API
   * answers 400 with it).
   */
  void validate(JsonObject config);

  /**
   * Sends one delivery. Called on an event loop: must not block (run a blocking client with
   * {@code vertx.executeBlocking}). Fails with a {@link DeliveryException} (permanent or not) or any
   * other exception (retried).
   */
  Future<Void> send(JsonObject config, Message message);

  /** Releases what the type holds (clients); called when the hub stops. */
  default void close() {
  }

  /**
   * One delivery of one event to one channel.
   *
   * @param deliveryId the outbox id: the same on every attempt, for receivers to de-duplicate
   * @param attempt    1 on the first try
   * @param event      the event: id, type, severity, cluster, subject, summary, time, details
   */
  record Message(long deliveryId, int attempt, String channel, JsonObject event) {

    public String type() {
      return event.getString("type", "");
    }

    public String severity() {
      return event.getString("severity", "info");
    }

    public String summary() {
      return event.getString("summary", "");
    }
  }
}
