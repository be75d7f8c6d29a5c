package io.kmc.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.time.Instant;
import java.util.concurrent.Callable;

/**
 * {@code kmc token}: the CLI's current token for a hub as a kubectl exec credential
 * (client.authentication.k8s.io/v1), refreshed first if it is an OIDC token about to expire.
 * Kubeconfig contexts of an OIDC sign-in run it, so kubectl always presents a fresh token.
 */
@Command(name = "token", mixinStandardHelpOptions = true,
    description = {"Print the CLI's token for the hub as a kubectl ExecCredential (refreshed if needed).",
        "kmc kubeconfig makes contexts of an OIDC sign-in run it."})
final class TokenCommand implements Callable<Integer> {

  private final Cli cli;
  @Mixin
  KmcCommand.HubOption hubOption;

  TokenCommand(Cli cli) {
    this.cli = cli;
  }

  @Override
  public Integer call() {
    CliConfig.Hub hub = HubClient.freshHub(cli, hubOption.hub);
    ObjectNode credential = HubClient.JSON.createObjectNode()
        .put("apiVersion", "client.authentication.k8s.io/v1").put("kind", "ExecCredential");
    ObjectNode status = credential.putObject("status").put("token", hub.token);
    if (hub.oidc()) {
      status.put("expirationTimestamp", Instant.ofEpochSecond(hub.oidcExpiresAt).toString());
    }
    cli.out().println(credential.toString());
    return 0;
  }
}
