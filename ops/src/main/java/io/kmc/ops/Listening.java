package io.kmc.ops;

/**
 * A server that cannot bind says where it tried and which setting moves it: "Address already in
 * use" alone leaves a newcomer guessing which of the programs on the machine wanted which port.
 */
public final class Listening {

  private Listening() {
  }

  /** A bind failure naming the address and the setting that controls it. */
  public static final class BindFailure extends RuntimeException {
    private final String host;
    private final int port;

    BindFailure(String message, String host, int port, Throwable cause) {
      super(message, cause, false, false);
      this.host = host;
      this.port = port;
    }

    public String host() {
      return host;
    }

    public int port() {
      return port;
    }
  }

  /**
   * @param port    the port asked for; zero or negative (Vert.x's "any free port") is shown as such
   * @param setting what the user changes, e.g. {@code metrics.port (KMC_METRICS_PORT)}
   */
  public static BindFailure failure(String what, String host, int port, String setting, Throwable cause) {
    String where = host + ":" + (port > 0 ? String.valueOf(port) : "<any free port>");
    String why = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
    return new BindFailure("cannot listen on " + where + " for " + what + ": " + why + "; set " + setting
        + " to a free port, or 0 to pick one", host, port, cause);
  }

  /** The first bind failure in a chain of causes, or null. */
  public static BindFailure find(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof BindFailure bind) {
        return bind;
      }
    }
    return null;
  }
}
