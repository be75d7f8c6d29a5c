package io.kmc.kubesim;

import io.vertx.core.json.JsonObject;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * Where one simulator keeps its objects: the etcd of the simulation. Holds every object under its
 * group-resource and "namespace/name" key, stamps each write with the next cluster-wide
 * resourceVersion, keeps a bounded history of changes for watches that resume, and tells
 * listeners about each change in resourceVersion order.
 *
 * <p>Only ever touched from the simulator's event-loop context, so it needs no locks.
 */
final class ObjectStore {

  /** One committed change. {@code previous} is the object before a MODIFIED or DELETED, else null. */
  record Change(String type, String groupResource, JsonObject object, JsonObject previous, long revision) {
  }

  interface Listener {
    void onChange(Change change);
  }

  private final Map<String, TreeMap<String, JsonObject>> objectsByResource = new HashMap<>();
  private final ArrayDeque<Change> history = new ArrayDeque<>();
  private final int historyCapacity;
  private final List<Listener> listeners = new ArrayList<>();
  private final ArrayDeque<Change> undelivered = new ArrayDeque<>();
  private boolean delivering;
  private long revision;
  private long compactedRevision;

  ObjectStore(int historyCapacity) {
    this.historyCapacity = historyCapacity;
    // Real clusters never serve small revisions; starting higher also catches clients that treat "1" specially.
    this.revision = 100;
    this.compactedRevision = revision;
  }

  static String key(String namespace, String name) {
    return namespace == null || namespace.isEmpty() ? name : namespace + "/" + name;
  }

  long revision() {
    return revision;
  }

  /** The newest revision whose events are no longer kept: watches must start at or after it. */
  long compactedRevision() {
    return compactedRevision;
  }

  /** The stored object (not a copy: callers must not change it), or null. */
  JsonObject get(String groupResource, String namespace, String name) {
    TreeMap<String, JsonObject> objects = objectsByResource.get(groupResource);
    return objects == null ? null : objects.get(key(namespace, name));
  }

  /** Objects of one resource, sorted by key, in one namespace or (namespace null) all of them. */
  NavigableMap<String, JsonObject> entries(String groupResource, String namespace) {
    TreeMap<String, JsonObject> objects = objectsByResource.get(groupResource);
    if (objects == null) {
      return Collections.emptyNavigableMap();
    }
    if (namespace == null) {
      return Collections.unmodifiableNavigableMap(objects);
    }
    return Collections.unmodifiableNavigableMap(objects.subMap(namespace + "/", true, namespace + "/\uffff", true));
  }

  /** Every resource that has objects, for sweeps such as namespace deletion and garbage collection. */
  List<String> resourcesInUse() {
    return new ArrayList<>(objectsByResource.keySet());
  }

  /**
   * Stores the object (a copy is kept) with the next revision; ADDED or MODIFIED follows. Returns
   * the stored object (not a copy: callers must not change it).
   */
  JsonObject put(String groupResource, JsonObject object) {
    JsonObject stored = object.copy();
    JsonObject metadata = Json.metadata(stored);
    String key = key(metadata.getString("namespace"), metadata.getString("name"));
    revision++;
    metadata.put("resourceVersion", Long.toString(revision));
    JsonObject previous = objectsByResource.computeIfAbsent(groupResource, r -> new TreeMap<>()).put(key, stored);
    publish(new Change(previous == null ? "ADDED" : "MODIFIED", groupResource, stored, previous, revision));
    return stored;
  }

  /**
   * Removes the object; the DELETED event carries it stamped with a new revision, as etcd does.
   * Returns that last state (not a copy: callers must not change it), or null.
   */
  JsonObject remove(String groupResource, String namespace, String name) {
    TreeMap<String, JsonObject> objects = objectsByResource.get(groupResource);
    JsonObject previous = objects == null ? null : objects.remove(key(namespace, name));
    if (previous == null) {
      return null;
    }
    if (objects.isEmpty()) {
      objectsByResource.remove(groupResource);
    }
    revision++;
    JsonObject deleted = previous.copy();
    Json.metadata(deleted).put("resourceVersion", Long.toString(revision));
    publish(new Change("DELETED", groupResource, deleted, previous, revision));
    return deleted;
  }

  /**
   * Changes after {@code sinceRevision} still in the history, oldest first; 410 Gone when some of
   * them have already been dropped.
   */
  List<Change> changesSince(long sinceRevision) {
    if (sinceRevision < compactedRevision) {
      throw KubeApiException.gone("too old resource version: " + sinceRevision + " (" + (compactedRevision + 1) + ")");
    }
    List<Change> changes = new ArrayList<>();
    for (Change change : history) {
      if (change.revision() > sinceRevision) {
        changes.add(change);
      }
    }
    return changes;
  }

  void addListener(Listener listener) {
    listeners.add(listener);
  }

  void removeListener(Listener listener) {
    listeners.remove(listener);
  }

  private void publish(Change change) {
    history.addLast(change);
    while (history.size() > historyCapacity) {
      compactedRevision = history.removeFirst().revision();
    }
    // A listener that writes to the store while being told about a change would otherwise make
    // later listeners see the second change before the first: queue and deliver in order.
    undelivered.addLast(change);
    if (delivering) {
      return;
    }
    delivering = true;
    try {
      Change next;
      while ((next = undelivered.pollFirst()) != null) {
        for (Listener listener : List.copyOf(listeners)) {
          listener.onChange(next);
        }
      }
    } finally {
      delivering = false;
    }
  }
}
