package io.kmc.kubesim.container;

import java.util.ArrayList;
import java.util.List;

/**
 * The terminal of a session that asked for a TTY: its size, as the client's resize messages report
 * it, and the interrupt (Ctrl-C). The interrupt reaches the innermost program that listens for it,
 * as SIGINT reaches the foreground process group: an interactive shell, which then stops the command
 * it runs (or discards the line being typed) without ending itself.
 */
public final class Terminal {

  private int columns = 80;
  private int rows = 24;
  private final List<Runnable> interruptListeners = new ArrayList<>();

  public int columns() {
    return columns;
  }

  public int rows() {
    return rows;
  }

  /** A resize message; sizes of zero (a client that does not know) are ignored. */
  public void resize(int columns, int rows) {
    if (columns > 0 && rows > 0) {
      this.columns = columns;
      this.rows = rows;
    }
  }

  /** Listens for Ctrl-C, in place of the listeners before; the returned handle stops listening. */
  public Runnable onInterrupt(Runnable listener) {
    interruptListeners.add(listener);
    return () -> interruptListeners.remove(listener);
  }

  void interrupt() {
    if (!interruptListeners.isEmpty()) {
      interruptListeners.get(interruptListeners.size() - 1).run();
    }
  }
}
