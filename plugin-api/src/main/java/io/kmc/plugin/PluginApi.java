package io.kmc.plugin;

/** The version of this API and where a plugin jar declares the version it was built for. */
public final class PluginApi {

  /**
   * This API's version. A plugin built against version N works with hubs of version N; the hub
   * checks a jar's declared version before loading it. Raised on any incompatible change.
   */
  public static final int VERSION = 1;

  /** The plugin's descriptor in its jar: a properties file with {@code name} and {@code api-version}. */
  public static final String DESCRIPTOR = "META-INF/kmc-plugin.properties";

  private PluginApi() {
  }
}
