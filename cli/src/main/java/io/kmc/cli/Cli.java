package io.kmc.cli;

import java.io.BufferedReader;
import java.io.Console;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

/**
 * What every command shares: the environment (HOME, KUBECONFIG, as kubectl reads them), the
 * streams, and asking the user something. Built once in {@link KmcMain}; tests build their own.
 */
final class Cli {

  private final Map<String, String> env;
  private final BufferedReader in;
  private final PrintWriter out;
  private final PrintWriter err;
  private final Console console;
  private final String commandName;

  Cli(Map<String, String> env, InputStream in, PrintWriter out, PrintWriter err, Console console, String commandName) {
    this.env = env;
    this.in = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
    this.out = out;
    this.err = err;
    this.console = console;
    this.commandName = commandName;
  }

  PrintWriter out() {
    return out;
  }

  PrintWriter err() {
    return err;
  }

  /** How the user calls us: {@code kmc}, or {@code kubectl kmc} as a kubectl plugin. */
  String commandName() {
    return commandName;
  }

  /** Whether a person is at a terminal (progress lines are redrawn, passwords are not echoed). */
  boolean interactive() {
    return console != null;
  }

  String env(String name) {
    return env.get(name);
  }

  /** $HOME, as kubectl takes it (the JVM's user.home ignores it). */
  Path home() {
    String home = env.get("HOME");
    return Path.of(home != null && !home.isBlank() ? home : System.getProperty("user.home"));
  }

  /** ~/.kmc/config, or $KMC_CLI_CONFIG. */
  Path configFile() {
    String configured = env.get("KMC_CLI_CONFIG");
    return configured != null && !configured.isBlank() ? Path.of(configured) : home().resolve(".kmc").resolve("config");
  }

  /** The kubeconfig kubectl writes to: the first file of $KUBECONFIG, or ~/.kube/config. */
  Path kubeconfigFile() {
    String configured = env.get("KUBECONFIG");
    if (configured != null && !configured.isBlank()) {
      for (String part : configured.split(java.io.File.pathSeparator)) {
        if (!part.isBlank()) {
          return Path.of(part);
        }
      }
    }
    return home().resolve(".kube").resolve("config");
  }

  /** Asks on standard error and reads one line of standard input; null when there is none. */
  String ask(String prompt) {
    err.print(prompt);
    err.flush();
    try {
      return in.readLine();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A secret: not echoed at a terminal; otherwise the next line of standard input. */
  String askSecret(String prompt) {
    if (console != null) {
      char[] secret = console.readPassword("%s", prompt);
      return secret == null ? null : new String(secret);
    }
    return ask(prompt);
  }

  /** The next line of standard input, without a prompt (for --password-stdin). */
  String readLine() {
    try {
      return in.readLine();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
