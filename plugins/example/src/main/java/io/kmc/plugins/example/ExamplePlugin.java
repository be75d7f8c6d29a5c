package io.kmc.plugins.example;

import io.kmc.plugin.KmcPlugin;
import io.kmc.plugin.NotificationChannel;
import io.kmc.plugin.PluginContext;
import io.kmc.plugin.PolicyFunction;

import java.util.List;

/** The example plugin: a Microsoft Teams channel and two policy functions. */
public final class ExamplePlugin implements KmcPlugin {

  @Override
  public String name() {
    return "example";
  }

  @Override
  public List<NotificationChannel> channels(PluginContext context) {
    return List.of(new TeamsChannel(context.vertx(), context.requestTimeoutMillis()));
  }

  @Override
  public List<PolicyFunction> policyFunctions() {
    return List.of(new ImageRegistry(), new SemverAtLeast());
  }
}
