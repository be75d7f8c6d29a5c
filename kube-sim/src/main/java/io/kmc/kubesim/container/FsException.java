package io.kmc.kubesim.container;

/**
 * A failed filesystem call, worded as the C library's {@code strerror} words its errno, so that
 * commands print what a real container's commands print ({@code cat: /x: No such file or directory}).
 */
public final class FsException extends RuntimeException {

  static final String NOT_FOUND = "No such file or directory";
  static final String NOT_A_DIRECTORY = "Not a directory";
  static final String IS_A_DIRECTORY = "Is a directory";
  static final String EXISTS = "File exists";
  static final String NOT_EMPTY = "Directory not empty";
  static final String NO_SPACE = "No space left on device";
  static final String LOOP = "Symbolic link loop";
  static final String BUSY = "Resource busy";

  private final String path;
  private final String reason;

  FsException(String path, String reason) {
    super(path + ": " + reason, null, false, false);
    this.path = path;
    this.reason = reason;
  }

  public String path() {
    return path;
  }

  /** The strerror text alone, e.g. "No such file or directory". */
  public String reason() {
    return reason;
  }
}
