package io.kmc.agent.index;

import io.kmc.common.protocol.Frame;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.LongSupplier;

/**
 * What the agent knows of one kind, and what of it the hub has not been sent yet. Every change gets
 * the next number of this journal's epoch (a new one each time the informer starts); the hub keeps
 * {@code <epoch>:<number>} of the last change it applied and hands it back after a reconnect. When
 * the epoch is the same and no deletion since has been forgotten, the journal sends only the objects
 * changed since and the deletions since; otherwise it relists every object it holds (from the
 * informer's cache, not the API server), and the hub drops what the relist did not name.
 *
 * <p>Not thread-safe: {@link IndexFeed} holds its lock around every call.
 */
final class KindJournal {

  private record Entry(Frame.IndexedObject object, long seq) {
  }

  private final IndexedKind kind;
  private final int maxTombstones;
  private final String epoch = UUID.randomUUID().toString().substring(0, 8);
  private final Map<String, Entry> objects = new HashMap<>();
  /** Deleted keys by the number of their deletion, oldest first. */
  private final LinkedHashMap<String, Long> tombstones = new LinkedHashMap<>();
  private final Set<String> dirty = new LinkedHashSet<>();
  private long seq;
  /** Deletions up to this number have been forgotten: a hub that knows less needs a relist. */
  private long forgottenUpTo;
  boolean synced;
  boolean resyncNeeded = true;
  /** When the hub last refused a batch of this kind: the relist that follows waits a while. */
  long refusedAtMillis;

  KindJournal(IndexedKind kind, int maxTombstones) {
    this.kind = kind;
    this.maxTombstones = maxTombstones;
  }

  IndexedKind kind() {
    return kind;
  }

  void upsert(Frame.IndexedObject object) {
    String key = key(object.namespace(), object.name());
    Entry old = objects.get(key);
    if (old != null && old.object().equals(object)) {
      return; // an informer resync or an update of what the index does not keep
    }
    objects.put(key, new Entry(object, ++seq));
    tombstones.remove(key);
    dirty.add(key);
  }

  void delete(String namespace, String name) {
    String key = key(namespace, name);
    if (objects.remove(key) == null) {
      return;
    }
    tombstones.put(key, ++seq);
    dirty.add(key);
    while (tombstones.size() > maxTombstones) {
      Iterator<Map.Entry<String, Long>> oldest = tombstones.entrySet().iterator();
      forgottenUpTo = oldest.next().getValue();
      oldest.remove();
    }
  }

  int size() {
    return objects.size();
  }

  boolean hasChanges() {
    return !dirty.isEmpty();
  }

  String watermark() {
    return epoch + ":" + seq;
  }

  /** The changes since the last call, in batches; only the last carries the watermark. */
  List<Frame.Index> changes(LongSupplier seqs, int batchSize) {
    List<Frame.IndexedObject> upserts = new ArrayList<>();
    List<Frame.IndexedKey> deletes = new ArrayList<>();
    for (String key : dirty) {
      Entry entry = objects.get(key);
      if (entry != null) {
        upserts.add(entry.object());
      } else {
        deletes.add(keyOf(key));
      }
    }
    dirty.clear();
    return batches(seqs, batchSize, upserts, deletes, false);
  }

  /** What a hub holding {@code hubWatermark} (null: nothing) needs to be current. */
  List<Frame.Index> resume(String hubWatermark, LongSupplier seqs, int batchSize) {
    dirty.clear();
    long known = knownSeq(hubWatermark);
    if (known < 0) {
      return relist(seqs, batchSize);
    }
    List<Frame.IndexedObject> upserts = new ArrayList<>();
    List<Frame.IndexedKey> deletes = new ArrayList<>();
    objects.values().stream().filter(e -> e.seq() > known).forEach(e -> upserts.add(e.object()));
    tombstones.forEach((key, at) -> {
      if (at > known) {
        deletes.add(keyOf(key));
      }
    });
    if (upserts.isEmpty() && deletes.isEmpty() && known == seq) {
      return List.of();
    }
    return batches(seqs, batchSize, upserts, deletes, false);
  }

  /** Every object, between a relist start and end, so that the hub drops the rest. */
  List<Frame.Index> relist(LongSupplier seqs, int batchSize) {
    dirty.clear();
    List<Frame.IndexedObject> upserts = objects.values().stream().map(Entry::object).toList();
    return batches(seqs, batchSize, upserts, List.of(), true);
  }

  /** The number of the hub's watermark when it belongs to this journal and nothing since is forgotten; else -1. */
  private long knownSeq(String hubWatermark) {
    if (hubWatermark == null) {
      return -1;
    }
    int colon = hubWatermark.indexOf(':');
    if (colon < 0 || !hubWatermark.substring(0, colon).equals(epoch)) {
      return -1;
    }
    try {
      long known = Long.parseLong(hubWatermark.substring(colon + 1));
      return known > seq || known < forgottenUpTo ? -1 : known;
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private List<Frame.Index> batches(LongSupplier seqs, int batchSize, List<Frame.IndexedObject> upserts,
                                    List<Frame.IndexedKey> deletes, boolean relist) {
    List<Frame.Index> frames = new ArrayList<>();
    int total = upserts.size() + deletes.size();
    int from = 0;
    do {
      int to = Math.min(total, from + batchSize);
      List<Frame.IndexedObject> up = new ArrayList<>();
      List<Frame.IndexedKey> down = new ArrayList<>();
      for (int i = from; i < to; i++) {
        if (i < upserts.size()) {
          up.add(upserts.get(i));
        } else {
          down.add(deletes.get(i - upserts.size()));
        }
      }
      boolean last = to >= total;
      frames.add(new Frame.Index(seqs.getAsLong(), kind.group(), kind.version(), kind.resource(), kind.kind(),
          kind.namespaced(), last ? watermark() : null, relist && from == 0, relist && last, up, down));
      from = to;
    } while (from < total);
    return frames;
  }

  private static String key(String namespace, String name) {
    return (namespace == null ? "" : namespace) + "/" + name;
  }

  private static Frame.IndexedKey keyOf(String key) {
    int slash = key.indexOf('/');
    String namespace = key.substring(0, slash);
    return new Frame.IndexedKey(namespace.isEmpty() ? null : namespace, key.substring(slash + 1));
  }
}
