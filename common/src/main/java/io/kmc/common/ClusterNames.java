package io.kmc.common;

import java.util.regex.Pattern;

/** Cluster names end up in event-bus addresses, URLs and Kubernetes object names. */
public final class ClusterNames {

  public static final String RULE = "lowercase letters, digits and '-', starting with a letter, at most 63 characters";
  private static final Pattern VALID = Pattern.compile("[a-z]([-a-z0-9]{0,61}[a-z0-9])?");

  private ClusterNames() {
  }

  public static boolean valid(String name) {
    return name != null && VALID.matcher(name).matches();
  }
}
