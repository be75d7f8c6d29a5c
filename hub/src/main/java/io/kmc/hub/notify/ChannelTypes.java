package io.kmc.hub.notify;

import io.kmc.plugin.NotificationChannel;
import java.util.Collection;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/** The channel types this node knows: the built-in ones and those plugins added. */
public final class ChannelTypes {

  private final Map<String, NotificationChannel> types = new TreeMap<>();

  public ChannelTypes add(NotificationChannel type) {
    if (type.type() == null || !type.type().matches("[a-z0-9][a-z0-9-]{0,62}")) {
      throw new IllegalArgumentException("channel type name '" + type.type() + "' is not valid (" + Names.RULE + ")");
    }
    if (types.putIfAbsent(type.type(), type) != null) {
      throw new IllegalArgumentException("channel type '" + type.type() + "' is defined twice");
    }
    return this;
  }

  public NotificationChannel get(String name) {
    return types.get(name);
  }

  public TreeSet<String> names() {
    return new TreeSet<>(types.keySet());
  }

  Collection<NotificationChannel> all() {
    return types.values();
  }
}
