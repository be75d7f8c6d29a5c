package io.kmc.common;

/** Cluster names end up in event-bus addresses, URLs and Kubernetes object names. */
public final class ClusterNames {

  public static final String RULE = "lowercase letters, digits and '-', starting with a letter, at most 63 characters";

  private ClusterNames() {
  }

  /** {@code [a-z]([-a-z0-9]{0,61}[a-z0-9])?}, checked by hand: it runs on every request. */
  public static boolean valid(String name) {
    if (name == null || name.isEmpty() || name.length() > 63) {
      return false;
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      boolean letter = c >= 'a' && c <= 'z';
      boolean allowed = letter || c >= '0' && c <= '9' || c == '-';
      if (!allowed || i == 0 && !letter) {
        return false;
      }
    }
    return name.charAt(name.length() - 1) != '-';
  }
}
