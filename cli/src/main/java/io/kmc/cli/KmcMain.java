package io.kmc.cli;

import picocli.CommandLine;

import java.io.PrintWriter;
import java.lang.reflect.Constructor;
import java.nio.charset.StandardCharsets;

/**
 * {@code kmc}: the command line of a kmc hub. Errors are one line ({@code error: …}) saying what to
 * do, exit status 1 (2 for a wrong command line); {@code KMC_DEBUG=1} adds the stack trace of an
 * unexpected failure.
 */
public final class KmcMain {

  private KmcMain() {
  }

  public static void main(String[] args) {
    Cli cli = new Cli(System.getenv(), System.in, new PrintWriter(System.out, true, StandardCharsets.UTF_8),
        new PrintWriter(System.err, true, StandardCharsets.UTF_8), System.console(),
        System.getProperty("kmc.command", "kmc"));
    System.exit(run(cli, args));
  }

  static int run(Cli cli, String... args) {
    int status = commandLine(cli).execute(args);
    cli.out().flush();
    cli.err().flush();
    return status;
  }

  static CommandLine commandLine(Cli cli) {
    CommandLine line = new CommandLine(new KmcCommand(cli), new Factory(cli));
    line.setCommandName(cli.commandName());
    line.setOut(cli.out());
    line.setErr(cli.err());
    line.setExecutionExceptionHandler((e, command, parsed) -> {
      if (e instanceof CliException user) {
        cli.err().println("error: " + user.getMessage());
        return user.exitCode();
      }
      cli.err().println("error: " + e + (e.getCause() != null ? " (" + e.getCause() + ")" : ""));
      if ("1".equals(cli.env("KMC_DEBUG"))) {
        e.printStackTrace(cli.err());
      } else {
        cli.err().println("(unexpected: run again with KMC_DEBUG=1 for details, and report it)");
      }
      return 1;
    });
    line.setParameterExceptionHandler((e, args) -> {
      cli.err().println("error: " + e.getMessage());
      cli.err().println("See '" + e.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
      return 2;
    });
    return line;
  }

  /** Commands take the shared {@link Cli} in their constructor. */
  private static final class Factory implements CommandLine.IFactory {
    private final Cli cli;

    Factory(Cli cli) {
      this.cli = cli;
    }

    @Override
    public <K> K create(Class<K> type) throws Exception {
      try {
        Constructor<K> constructor = type.getDeclaredConstructor(Cli.class);
        constructor.setAccessible(true);
        return constructor.newInstance(cli);
      } catch (NoSuchMethodException e) {
        return CommandLine.defaultFactory().create(type);
      }
    }
  }
}
