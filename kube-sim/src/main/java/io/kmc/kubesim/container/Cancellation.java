package io.kmc.kubesim.container;

import java.util.ArrayList;
import java.util.List;

/**
 * A signal that stops a running command: the client went away, or typed Ctrl-C on its terminal.
 * Commands that wait (sleep, reading stdin, tar) register what to undo; a command that is already
 * done never hears of it. Children are cancelled with their parent, so a shell can interrupt the
 * command in its foreground without ending itself. Used on one event-loop context only.
 */
public final class Cancellation {

  private final List<Runnable> actions = new ArrayList<>();
  private boolean cancelled;

  public boolean cancelled() {
    return cancelled;
  }

  /** Runs {@code action} on cancellation (at once if already cancelled); the returned handle forgets it. */
  public Runnable onCancel(Runnable action) {
    if (cancelled) {
      action.run();
      return () -> { };
    }
    actions.add(action);
    return () -> actions.remove(action);
  }

  /** A cancellation that ends with this one, and can also end alone. */
  public Cancellation child() {
    Cancellation child = new Cancellation();
    Runnable forget = onCancel(child::cancel);
    child.onCancel(forget);
    return child;
  }

  public void cancel() {
    if (cancelled) {
      return;
    }
    cancelled = true;
    for (Runnable action : List.copyOf(actions)) {
      action.run();
    }
    actions.clear();
  }
}
