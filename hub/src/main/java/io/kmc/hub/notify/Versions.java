package io.kmc.hub.notify;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Version skew between the hub and an agent: another major.minor (or, for versions that are not X.Y..., another text). */
public final class Versions {

  private static final Pattern MAJOR_MINOR = Pattern.compile("v?(\\d+)\\.(\\d+)(?:[.\\-+].*)?");

  private Versions() {
  }

  public static boolean skewed(String hub, String agent) {
    if (hub == null || agent == null) {
      return false;
    }
    Matcher h = MAJOR_MINOR.matcher(hub);
    Matcher a = MAJOR_MINOR.matcher(agent);
    if (h.matches() && a.matches()) {
      return !h.group(1).equals(a.group(1)) || !h.group(2).equals(a.group(2));
    }
    return !hub.equals(agent);
  }
}
