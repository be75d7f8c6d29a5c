package io.kmc.hub.notify;

/**
 * Where the hub's concerns report what happened. Emitting never blocks and never fails the caller:
 * the event is stored in the outbox (or dropped and logged when it cannot be) in the background.
 */
@FunctionalInterface
public interface Notifier {

  /** Discards every event (notifications turned off). */
  Notifier NONE = event -> {
  };

  void emit(Event event);
}
