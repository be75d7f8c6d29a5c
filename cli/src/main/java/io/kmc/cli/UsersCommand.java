package io.kmc.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code kmc users …}: the hub's local users (admins). Alone, it lists them. */
@Command(name = "users", aliases = "user", mixinStandardHelpOptions = true,
    description = "Local users (admins): list, create, delete, disable, enable. Roles: docs/security.md.",
    subcommands = {UsersCommand.ListUsers.class, UsersCommand.Create.class, UsersCommand.Delete.class,
        UsersCommand.Disable.class, UsersCommand.Enable.class})
final class UsersCommand implements Callable<Integer> {

  private final Cli cli;
  @Mixin
  KmcCommand.HubOption hubOption;
  @Mixin
  Output.Options output;

  UsersCommand(Cli cli) {
    this.cli = cli;
  }

  @Override
  public Integer call() {
    return list(cli, hubOption, output);
  }

  static int list(Cli cli, KmcCommand.HubOption hubOption, Output.Options output) {
    JsonNode answer = HubClient.of(cli, hubOption.hub).get("/api/v1/users");
    Output.print(cli, output.format, answer, answer.get("items"), new Output.Table()
        .column("NAME", u -> Output.text(u, "name"))
        .column("GROUPS", u -> {
          List<String> groups = new ArrayList<>();
          u.path("groups").forEach(g -> groups.add(g.asText()));
          return String.join(",", groups);
        })
        .column("STATUS", u -> u.path("disabled").asBoolean() ? "Disabled" : "Active")
        .column("AGE", u -> Output.age(Output.text(u, "createdAt"))));
    return 0;
  }

  @Command(name = "list", aliases = "ls", mixinStandardHelpOptions = true, description = "List users.")
  static final class ListUsers implements Callable<Integer> {
    private final Cli cli;
    @Mixin
    KmcCommand.HubOption hubOption;
    @Mixin
    Output.Options output;

    ListUsers(Cli cli) {
      this.cli = cli;
    }

    @Override
    public Integer call() {
      return list(cli, hubOption, output);
    }
  }

  @Command(name = "create", mixinStandardHelpOptions = true,
      description = "Create a user; the password is asked (twice), or read with --password-stdin.")
  static final class Create implements Callable<Integer> {
    private final Cli cli;
    @Mixin
    KmcCommand.HubOption hubOption;
    @Parameters(index = "0", paramLabel = "NAME")
    String name;
    @Option(names = {"-g", "--group"}, paramLabel = "GROUP", description = "A group (repeatable).")
    List<String> groups = new ArrayList<>();
    @Option(names = "--password-stdin", description = "Read the password from the first line of standard input.")
    boolean passwordStdin;

    Create(Cli cli) {
      this.cli = cli;
    }

    @Override
    public Integer call() {
      String password;
      if (passwordStdin) {
        password = cli.readLine();
      } else {
        password = cli.askSecret("Password for " + name + " (12 characters or more): ");
        String again = cli.askSecret("Again: ");
        if (password != null && !password.equals(again)) {
          throw new CliException("the two passwords differ; nothing was created");
        }
      }
      if (password == null) {
        throw new CliException("no password given (standard input ended): type it, or pass --password-stdin");
      }
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("name", name);
      body.put("password", password);
      body.put("groups", groups);
      HubClient.of(cli, hubOption.hub).post("/api/v1/users", body);
      cli.out().println("User " + name + " created. Give them a role: see docs/security.md (RBAC).");
      return 0;
    }
  }

  @Command(name = "delete", aliases = {"rm", "remove"}, mixinStandardHelpOptions = true,
      description = "Delete a user; their sessions and tokens stop working at once.")
  static final class Delete implements Callable<Integer> {
    private final Cli cli;
    @Mixin
    KmcCommand.HubOption hubOption;
    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    Delete(Cli cli) {
      this.cli = cli;
    }

    @Override
    public Integer call() {
      HubClient.of(cli, hubOption.hub).delete("/api/v1/users/" + name);
      cli.out().println("User " + name + " deleted.");
      return 0;
    }
  }

  @Command(name = "disable", mixinStandardHelpOptions = true, description = "Disable a user (ends their sessions).")
  static final class Disable implements Callable<Integer> {
    private final Cli cli;
    @Mixin
    KmcCommand.HubOption hubOption;
    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    Disable(Cli cli) {
      this.cli = cli;
    }

    @Override
    public Integer call() {
      HubClient.of(cli, hubOption.hub).patch("/api/v1/users/" + name, Map.of("disabled", true));
      cli.out().println("User " + name + " disabled.");
      return 0;
    }
  }

  @Command(name = "enable", mixinStandardHelpOptions = true, description = "Enable a disabled user.")
  static final class Enable implements Callable<Integer> {
    private final Cli cli;
    @Mixin
    KmcCommand.HubOption hubOption;
    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    Enable(Cli cli) {
      this.cli = cli;
    }

    @Override
    public Integer call() {
      HubClient.of(cli, hubOption.hub).patch("/api/v1/users/" + name, Map.of("disabled", false));
      cli.out().println("User " + name + " enabled.");
      return 0;
    }
  }
}
