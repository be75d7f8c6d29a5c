package io.kmc.cli;

import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code kmc completion}: a bash (and zsh, through bashcompinit) completion script. */
@Command(name = "completion", mixinStandardHelpOptions = true,
    description = {"Print a shell completion script for bash or zsh.",
        "bash: source <(kmc completion)",
        "zsh:  autoload -U +X bashcompinit && bashcompinit && source <(kmc completion)"})
final class CompletionCommand implements Runnable {

  private final Cli cli;

  @Spec
  CommandSpec spec;

  CompletionCommand(Cli cli) {
    this.cli = cli;
  }

  @Override
  public void run() {
    cli.out().print(AutoComplete.bash("kmc", spec.root().commandLine()));
    cli.out().flush();
  }
}
