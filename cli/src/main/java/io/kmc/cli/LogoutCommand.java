package io.kmc.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.concurrent.Callable;

/** {@code kmc logout}: revokes the CLI's token (if the CLI made it) and forgets the hub. */
@Command(name = "logout", mixinStandardHelpOptions = true,
    description = "Revoke the CLI's token on the hub and remove the hub from ~/.kmc/config.")
final class LogoutCommand implements Callable<Integer> {

  private final Cli cli;

  @Mixin
  KmcCommand.HubOption hubOption;

  LogoutCommand(Cli cli) {
    this.cli = cli;
  }

  @Override
  public Integer call() {
    CliConfig config = CliConfig.load(cli.configFile());
    CliConfig.Hub hub = config.hub(hubOption.hub, cli.commandName());
    String id = hub.ownToken && hub.token != null ? LoginCommand.tokenId(hub.token) : null;
    String note = "";
    if (id != null) {
      try {
        new HubClient(hub.url, hub.token, HubTls.context(hub), cli.commandName()).delete("/api/v1/tokens/" + id);
      } catch (CliException e) {
        note = " (the hub could not revoke the token: " + e.getMessage() + ")";
      }
    }
    config.hubs.remove(hub.url);
    if (hub.url.equals(config.current)) {
      config.current = config.hubs.isEmpty() ? null : config.hubs.keySet().iterator().next();
    }
    config.save(cli.configFile());
    cli.out().println("Logged out of " + hub.url + note + ".");
    return 0;
  }
}
