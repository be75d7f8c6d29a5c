package io.kmc.cli;

import io.kmc.common.KmcVersion;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** The top command: only subcommands; alone it prints its help. */
@Command(name = "kmc", mixinStandardHelpOptions = true, versionProvider = KmcCommand.Version.class,
    description = "The command line of a kmc hub: log in, connect clusters, get kubeconfigs for kubectl.",
    subcommands = {LoginCommand.class, LogoutCommand.class, ClustersCommand.class, KubeconfigCommand.class,
        TokensCommand.class, UsersCommand.class, AuditCommand.class, StreamCommand.class, TokenCommand.class, CompletionCommand.class,
        CommandLine.HelpCommand.class},
    footer = {"", "Start here:",
        "  kmc login https://localhost:8080                   # the hub's URL",
        "  kmc clusters add prod-eu --wait                    # run the command it prints where kubectl reaches prod-eu",
        "  kmc kubeconfig prod-eu --merge && kubectl --context prod-eu get ns",
        "", "Credentials are kept in ~/.kmc/config (mode 600). As a kubectl plugin: kubectl kmc …"})
final class KmcCommand implements Runnable {

  private final Cli cli;

  @Spec
  CommandSpec spec;

  KmcCommand(Cli cli) {
    this.cli = cli;
  }

  @Override
  public void run() {
    spec.commandLine().usage(cli.out());
  }

  /** {@code --hub URL}: which hub to talk to, when logged in to several (else the last one logged in to). */
  static final class HubOption {
    @Option(names = "--hub", paramLabel = "URL", description = "The hub to use (default: the one logged in to last).")
    String hub;
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"kmc " + KmcVersion.current()};
    }
  }
}
