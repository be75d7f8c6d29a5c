package io.kmc.plugin;

import java.util.List;

/**
 * A hub plugin: what a jar in the hub's plugins directory adds. Found with {@link java.util.ServiceLoader}
 * ({@code META-INF/services/io.kmc.plugin.KmcPlugin} names the implementation, which needs a public
 * no-argument constructor), in a class loader of its own whose parent has the hub's classes.
 *
 * <p>The jar also carries {@value PluginApi#DESCRIPTOR}, read before any of its classes are loaded:
 * {@code name} and {@code api-version}, the version of this API it was built against
 * ({@link PluginApi#VERSION}); the hub refuses a jar of another version with an error naming it.
 */
public interface KmcPlugin {

  /** The plugin's name, as the hub reports it in logs and on /ready. */
  String name();

  /** Notification channel types; called once at start, after the plugin is loaded. */
  default List<NotificationChannel> channels(PluginContext context) {
    return List.of();
  }

  /** Functions policies may call in their CEL expressions; called once at start. */
  default List<PolicyFunction> policyFunctions() {
    return List.of();
  }
}
