package io.kmc.hub.notify;

import java.util.Locale;

/** How much an event matters, in increasing order; a subscription takes events of at least its minimum. */
public enum Severity {
  INFO, WARNING, CRITICAL;

  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The severity of that name (info, warning, critical), or null. */
  public static Severity parse(String text) {
    if (text == null) {
      return null;
    }
    for (Severity s : values()) {
      if (s.id().equals(text.toLowerCase(Locale.ROOT))) {
        return s;
      }
    }
    return null;
  }
}
