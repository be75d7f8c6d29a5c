package io.kmc.common.protocol;

import java.util.List;

/** The hub user on whose behalf a request runs; the agent may impersonate it. */
public record ActingUser(String name, List<String> groups) {
  public ActingUser {
    groups = groups == null ? List.of() : List.copyOf(groups);
  }
}
