package io.kmc.common.protocol;

import java.util.List;
import java.util.OptionalInt;

/** Protocol versions this build speaks, and how two peers agree on one. */
public final class ProtocolVersions {

  public static final int V1 = 1;
  /** Exchange frames as binary messages ({@link BinaryFrames}); control frames as in v1. */
  public static final int V2 = 2;
  public static final List<Integer> SUPPORTED = List.of(V1, V2);

  private ProtocolVersions() {
  }

  /** The highest version both sides speak, or empty if there is none. */
  public static OptionalInt negotiate(List<Integer> offered) {
    return offered.stream().filter(SUPPORTED::contains).mapToInt(Integer::intValue).max();
  }
}
