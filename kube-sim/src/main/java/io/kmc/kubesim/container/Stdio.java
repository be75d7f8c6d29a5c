package io.kmc.kubesim.container;

/**
 * A process's standard streams, and its terminal when the session has one (null otherwise).
 * Commands read stdin by taking turns on the {@link Pipe}; they never close it.
 */
public record Stdio(Pipe stdin, Output stdout, Output stderr, Terminal terminal) {

  public Stdio withStdin(Pipe stdin) {
    return new Stdio(stdin, stdout, stderr, terminal);
  }

  public Stdio withStdout(Output stdout) {
    return new Stdio(stdin, stdout, stderr, terminal);
  }

  public Stdio withStderr(Output stderr) {
    return new Stdio(stdin, stdout, stderr, terminal);
  }

  /** A stdin that is already at its end, for processes started without one. */
  public static Pipe noInput() {
    Pipe empty = new Pipe(0);
    empty.end();
    return empty;
  }
}
