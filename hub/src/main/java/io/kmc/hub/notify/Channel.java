package io.kmc.hub.notify;

import io.kmc.common.KmcException;
import io.kmc.plugin.NotificationChannel;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.time.OffsetDateTime;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * A stored channel: where deliveries go. {@code config} holds the settings the API shows;
 * {@code secrets} the fields its type declares secret, which the API never returns (it lists
 * their names under {@code secretsSet}).
 */
public record Channel(String name, String type, JsonObject config, JsonObject secrets, Integer ratePerMinute,
                      Integer maxAttempts, String createdBy, OffsetDateTime createdAt, OffsetDateTime updatedAt) {

  static final Set<String> FIELDS = Set.of("name", "type", "config", "rateLimitPerMinute", "maxAttempts");

  /** The settings and the secrets together, as the channel type sends with them. */
  public JsonObject merged() {
    return config.copy().mergeIn(secrets);
  }

  public JsonObject view() {
    JsonObject view = new JsonObject().put("name", name).put("type", type).put("config", config.copy())
        .put("secretsSet", new JsonArray(List.copyOf(new TreeSet<>(secrets.fieldNames()))));
    if (ratePerMinute != null) {
      view.put("rateLimitPerMinute", ratePerMinute);
    }
    if (maxAttempts != null) {
      view.put("maxAttempts", maxAttempts);
    }
    if (createdBy != null) {
      view.put("createdBy", createdBy);
    }
    if (createdAt != null) {
      view.put("createdAt", createdAt.toInstant().toString());
    }
    if (updatedAt != null) {
      view.put("updatedAt", updatedAt.toInstant().toString());
    }
    return view;
  }

  /**
   * A channel from an API body, checked by its type; 400 naming the field otherwise. Secrets left
   * out of a replacement keep the values of {@code previous} (so that a client that read the channel
   * can write it back without knowing them).
   */
  static Channel read(JsonObject body, String pathName, Channel previous, ChannelTypes types) {
    for (String field : body.fieldNames()) {
      if (!FIELDS.contains(field)) {
        throw KmcException.badRequest("unknown field " + Names.printable(field) + " (allowed: " + new TreeSet<>(FIELDS)
            + ")");
      }
    }
    String name = body.getValue("name") == null && pathName != null ? pathName : Names.string(body, "name");
    Names.check(name, "name");
    if (pathName != null && !pathName.equals(name)) {
      throw KmcException.badRequest("name '" + name + "' does not match the path's '" + Names.printable(pathName) + "'");
    }
    String type = Names.string(body, "type");
    NotificationChannel channelType = types.get(type);
    if (channelType == null) {
      throw KmcException.badRequest("unknown channel type '" + Names.printable(type) + "' (known: " + types.names() + ")");
    }
    if (!(body.getValue("config") instanceof JsonObject given)) {
      throw KmcException.badRequest("config must be an object with the " + type + " channel's settings");
    }
    JsonObject whole = given.copy();
    if (previous != null && previous.type().equals(type)) {
      previous.secrets().forEach(e -> {
        if (!whole.containsKey(e.getKey())) {
          whole.put(e.getKey(), e.getValue());
        }
      });
    }
    try {
      channelType.validate(whole);
    } catch (IllegalArgumentException e) {
      throw KmcException.badRequest(e.getMessage());
    } catch (RuntimeException e) {
      // A plugin's check that failed another way: still the config's fault, not the hub's.
      throw KmcException.badRequest("config is not valid for a " + type + " channel: " + e);
    }
    JsonObject config = new JsonObject();
    JsonObject secrets = new JsonObject();
    whole.forEach(e -> (channelType.secretFields().contains(e.getKey()) ? secrets : config).put(e.getKey(), e.getValue()));
    Integer rate = Names.positive(body, "rateLimitPerMinute", 1_000_000);
    Integer attempts = Names.positive(body, "maxAttempts", 1000);
    return new Channel(name, type, config, secrets, rate, attempts, null, null, null);
  }
}
