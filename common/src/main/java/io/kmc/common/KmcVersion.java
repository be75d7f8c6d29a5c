package io.kmc.common;

/** The version of this build, from the jar manifest; {@code dev} when run from classes. */
public final class KmcVersion {

  private KmcVersion() {
  }

  public static String current() {
    String version = KmcVersion.class.getPackage().getImplementationVersion();
    return version == null ? "dev" : version;
  }
}
