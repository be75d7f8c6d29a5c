package io.kmc.kubesim.container;

import java.util.List;
import java.util.Map;

/**
 * One run of a command: its argv (the name first), environment, streams, the shell it runs in (for
 * the working directory and the container) and what cancels it.
 */
record Invocation(Shell shell, List<String> argv, Map<String, String> environment, Stdio io,
    Cancellation cancellation) {

  String name() {
    return argv.get(0);
  }

  /** The arguments after the name. */
  List<String> args() {
    return argv.subList(1, argv.size());
  }

  Container container() {
    return shell.container();
  }

  FileTree fs() {
    return shell.container().fs();
  }

  /** An argument as an absolute path, seen from the working directory. */
  String path(String argument) {
    return FileTree.absolute(shell.cwd(), argument);
  }
}
