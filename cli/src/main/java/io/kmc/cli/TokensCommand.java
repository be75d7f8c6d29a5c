package io.kmc.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code kmc tokens …}: API tokens (for CI, and those kubeconfigs and the CLI carry). Alone, it lists yours. */
@Command(name = "tokens", mixinStandardHelpOptions = true,
    description = "API tokens: list (yours; --all for everyone's, as an admin), create, revoke.",
    subcommands = {TokensCommand.ListTokens.class, TokensCommand.Create.class, TokensCommand.Revoke.class})
final class TokensCommand implements Callable<Integer> {

  private final Cli cli;
  @Mixin
  KmcCommand.HubOption hubOption;
  @Mixin
  Output.Options output;
  @Option(names = "--all", description = "Every user's tokens (admins).")
  boolean all;

  TokensCommand(Cli cli) {
    this.cli = cli;
  }

  @Override
  public Integer call() {
    return list(cli, hubOption, output, all);
  }

  static int list(Cli cli, KmcCommand.HubOption hubOption, Output.Options output, boolean all) {
    JsonNode answer = HubClient.of(cli, hubOption.hub).get("/api/v1/tokens" + (all ? "?all=true" : ""));
    Output.print(cli, output.format, answer, answer.get("items"), new Output.Table()
        .column("ID", t -> Output.text(t, "id"))
        .column("NAME", t -> Output.text(t, "name"))
        .column("USER", t -> Output.text(t, "user"))
        .column("STATUS", t -> t.hasNonNull("revokedAt") ? "Revoked" : "Active")
        .column("EXPIRES", t -> Output.text(t, "expiresAt"))
        .column("LAST USED", t -> Output.age(Output.text(t, "lastUsedAt"))));
    return 0;
  }

  @Command(name = "list", aliases = "ls", mixinStandardHelpOptions = true, description = "List API tokens.")
  static final class ListTokens implements Callable<Integer> {
    private final Cli cli;
    @Mixin
    KmcCommand.HubOption hubOption;
    @Mixin
    Output.Options output;
    @Option(names = "--all", description = "Every user's tokens (admins).")
    boolean all;

    ListTokens(Cli cli) {
      this.cli = cli;
    }

    @Override
    public Integer call() {
      return list(cli, hubOption, output, all);
    }
  }

  @Command(name = "create", mixinStandardHelpOptions = true,
      description = "Create an API token; it is printed this once (on standard output, alone).")
  static final class Create implements Callable<Integer> {
    private final Cli cli;
    @Mixin
    KmcCommand.HubOption hubOption;
    @Parameters(index = "0", paramLabel = "NAME", description = "What it is for, e.g. ci-deploy.")
    String name;
    @Option(names = "--expires-in", paramLabel = "DURATION", defaultValue = "90d",
        description = "Lifetime (default ${DEFAULT-VALUE}).")
    String expiresIn;
    @Mixin
    Output.Options output;

    Create(Cli cli) {
      this.cli = cli;
    }

    @Override
    public Integer call() {
      JsonNode created = HubClient.of(cli, hubOption.hub).post("/api/v1/tokens",
          Map.of("name", name, "expiresIn", expiresIn));
      if (output.format != Output.Format.table) {
        Output.print(cli, output.format, created, List.of(created), null);
        return 0;
      }
      cli.err().println("Token '" + name + "' (id " + Output.text(created, "id") + ") expires "
          + Output.text(created, "expiresAt") + "; it is shown this once:");
      cli.err().flush();
      cli.out().println(Output.text(created, "token"));
      return 0;
    }
  }

  @Command(name = "revoke", aliases = {"delete", "rm"}, mixinStandardHelpOptions = true,
      description = "Revoke an API token, on every hub node at once.")
  static final class Revoke implements Callable<Integer> {
    private final Cli cli;
    @Mixin
    KmcCommand.HubOption hubOption;
    @Parameters(index = "0", paramLabel = "ID")
    String id;

    Revoke(Cli cli) {
      this.cli = cli;
    }

    @Override
    public Integer call() {
      HubClient.of(cli, hubOption.hub).delete("/api/v1/tokens/" + id);
      cli.out().println("Token " + id + " revoked.");
      return 0;
    }
  }
}
