package io.kmc.cli;

/**
 * A failure the user can act on: its message is one line saying what went wrong and what to do,
 * printed as {@code error: …} without a stack trace.
 */
final class CliException extends RuntimeException {

  private final int exitCode;

  CliException(String message) {
    this(message, 1);
  }

  CliException(String message, int exitCode) {
    super(message, null, false, false);
    this.exitCode = exitCode;
  }

  int exitCode() {
    return exitCode;
  }
}
