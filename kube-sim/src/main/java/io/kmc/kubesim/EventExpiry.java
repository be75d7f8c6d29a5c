package io.kmc.kubesim;

import io.vertx.core.Vertx;
import java.util.ArrayDeque;

/**
 * Ages Events out like the apiserver's {@code --event-ttl} (one hour by default): an Event
 * disappears that long after it was last written, whoever wrote it.
 *
 * <p>Since the TTL is the same for every Event, expiries come in write order: a FIFO queue of
 * (event, resourceVersion, deadline) with one timer for its head is enough. An entry whose Event
 * was written again since (a newer resourceVersion) is skipped; the newer write queued its own.
 */
final class EventExpiry implements ObjectStore.Listener {

  private record Entry(String namespace, String name, String resourceVersion, long deadlineMillis) {
  }

  private final Vertx vertx;
  private final ObjectStore store;
  private final long ttlMillis;
  private final ArrayDeque<Entry> queue = new ArrayDeque<>();
  private long timer = -1;
  private boolean stopped;

  EventExpiry(Vertx vertx, ObjectStore store, long ttlMillis) {
    this.vertx = vertx;
    this.store = store;
    this.ttlMillis = ttlMillis;
  }

  void stop() {
    stopped = true;
    vertx.cancelTimer(timer);
    queue.clear();
  }

  @Override
  public void onChange(ObjectStore.Change change) {
    if (stopped || !change.groupResource().equals("events") || change.type().equals("DELETED")) {
      return;
    }
    queue.addLast(new Entry(Json.namespace(change.object()), Json.name(change.object()),
        Json.metadata(change.object()).getString("resourceVersion"), System.currentTimeMillis() + ttlMillis));
    if (timer == -1) {
      armFor(queue.peekFirst());
    }
  }

  private void armFor(Entry head) {
    long delay = Math.max(1, head.deadlineMillis() - System.currentTimeMillis());
    timer = vertx.setTimer(delay, id -> expire());
  }

  private void expire() {
    timer = -1;
    if (stopped) {
      return;
    }
    long now = System.currentTimeMillis();
    Entry head;
    while ((head = queue.peekFirst()) != null && head.deadlineMillis() <= now) {
      queue.removeFirst();
      var stored = store.get("events", head.namespace(), head.name());
      if (stored != null && head.resourceVersion().equals(Json.metadata(stored).getString("resourceVersion"))) {
        store.remove("events", head.namespace(), head.name());
      }
    }
    if (head != null) {
      armFor(head);
    }
  }
}
