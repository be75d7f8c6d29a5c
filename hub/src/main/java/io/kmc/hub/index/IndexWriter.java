package io.kmc.hub.index;

import io.kmc.common.Addresses;
import io.kmc.common.protocol.Frame;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes one agent connection's index batches, one at a time and in the order they came, and
 * acknowledges each. Lives on the connection's context: every method is called there, and the
 * database's answers come back there.
 */
public final class IndexWriter {

  private static final Logger LOG = LoggerFactory.getLogger(IndexWriter.class);
  /** How often the cluster's index is marked current while its agent is connected. */
  static final long SYNC_MARK_MILLIS = 5_000;
  /**
   * For an agent that does not send {@link Frame.IndexSynced} (an older one): how long it must have sent
   * nothing after connecting for its cluster to count as resynced (what it missed while away is sent at
   * once, in the batches that follow the first acknowledgement). A cluster that never pauses that long
   * never gets the state; the marker makes it exact.
   */
  static final long RESYNC_QUIET_MILLIS = 1_000;

  private final Vertx vertx;
  private final FleetIndex index;
  private final String cluster;
  private final Consumer<Frame.IndexAck> reply;
  /** Index batches and, once, the agent's {@link Frame.IndexSynced}, in the order they came. */
  private final ArrayDeque<Frame> queue = new ArrayDeque<>();
  /** The agent sends {@link Frame.IndexSynced}: "resynced" follows it, not a quiet second. */
  private final boolean syncedMarker;
  /** The number of the relist in progress per kind: what its objects are stamped with. */
  private final Map<String, Long> relists = new HashMap<>();
  private final Set<String> kinds = new HashSet<>();
  private long lastSeq;
  private boolean writing;
  private boolean opened;
  private boolean closed;
  private long timer = -1;
  private boolean resyncing = true;
  private long resyncTimer = -1;

  IndexWriter(Vertx vertx, FleetIndex index, String cluster, Consumer<Frame.IndexAck> reply, boolean syncedMarker) {
    this.vertx = vertx;
    this.syncedMarker = syncedMarker;
    this.index = index;
    this.cluster = cluster;
    this.reply = reply;
  }

  /** Tells the agent what the hub holds, so that it sends only what is missing. */
  public void open() {
    index.watermarks(cluster).onComplete(ar -> {
      if (closed) {
        return;
      }
      if (ar.failed()) {
        LOG.warn("cannot read the index watermarks of cluster {}: {}", cluster, ar.cause().getMessage());
        reply.accept(new Frame.IndexAck(0, null, Map.of()));
      } else {
        kinds.addAll(ar.result().keySet());
        reply.accept(new Frame.IndexAck(0, null, ar.result()));
      }
      opened = true;
      publishState("connected");
      index.markSynced(cluster);
      timer = vertx.setPeriodic(SYNC_MARK_MILLIS, t -> index.markSynced(cluster));
      drain();
    });
  }

  /** A batch from the agent: checked, then queued for writing. */
  public void receive(Frame.Index batch) {
    if (closed) {
      return;
    }
    String problem = index.validator().problem(batch);
    if (problem == null && batch.seq() <= lastSeq) {
      problem = "index.seq " + batch.seq() + " is not after " + lastSeq;
    }
    String key = Frame.Index.kindKey(batch.group(), batch.resource());
    if (problem == null && !kinds.contains(key) && kinds.size() >= index.settings().maxKindsPerCluster()) {
      problem = "cluster " + cluster + " indexes " + kinds.size() + " kinds already (index.max_kinds_per_cluster)";
    }
    if (problem == null && queue.size() >= index.settings().maxQueuedBatches()) {
      problem = "more than " + index.settings().maxQueuedBatches() + " index batches waiting (index.max_queued_batches)";
    }
    if (problem != null) {
      index.metrics().indexRefused(cluster);
      reply.accept(new Frame.IndexAck(batch.seq(), problem, null));
      return;
    }
    lastSeq = batch.seq();
    kinds.add(key);
    queue.add(batch);
    drain();
  }

  /**
   * The agent has caught up ({@link Frame.IndexSynced}): once the batches before it are written, live
   * streams hear that the cluster is resynced. Only the first counts; from an agent that did not say it
   * sends the marker, it is ignored (the quiet timer decides).
   */
  public void caughtUp(Frame.IndexSynced marker) {
    if (closed || !syncedMarker) {
      return;
    }
    if (marker.afterSeq() != lastSeq) {
      LOG.debug("cluster {} caught up after index batch {}, the hub took up to {}", cluster, marker.afterSeq(), lastSeq);
    }
    queue.add(marker);
    drain();
  }

  private void drain() {
    while (!writing && opened && !closed && queue.peek() instanceof Frame.IndexSynced) {
      queue.poll();
      if (resyncing) {
        resyncing = false;
        publishState("resynced");
      }
    }
    if (resyncing && opened && !closed && !syncedMarker) {
      vertx.cancelTimer(resyncTimer);
      resyncTimer = writing || !queue.isEmpty() ? -1 : vertx.setTimer(RESYNC_QUIET_MILLIS, t -> {
        if (!closed && !writing && queue.isEmpty()) {
          resyncing = false;
          publishState("resynced");
        }
      });
    }
    if (writing || closed || !opened || queue.isEmpty()) {
      return;
    }
    Frame.Index batch = (Frame.Index) queue.poll();
    String key = Frame.Index.kindKey(batch.group(), batch.resource());
    if (batch.relistStart()) {
      relists.put(key, ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE));
    }
    Long relist = relists.get(key);
    boolean reconcile = batch.relistEnd() && relist != null;
    if (batch.relistEnd()) {
      relists.remove(key);
    }
    writing = true;
    long started = System.nanoTime();
    index.apply(cluster, batch, relist == null ? 0 : relist, reconcile).onComplete(ar -> {
      writing = false;
      if (ar.succeeded()) {
        index.metrics().indexApplied(cluster, batch.upserts().size() + batch.deletes().size(), System.nanoTime() - started);
        reply.accept(new Frame.IndexAck(batch.seq(), null, null));
        publishChanges(batch, ar.result().changes());
      } else {
        LOG.warn("cannot write index batch {} of cluster {}: {}", batch.seq(), cluster, ar.cause().getMessage());
        reply.accept(new Frame.IndexAck(batch.seq(), "the hub could not write the batch; relist", null));
      }
      drain();
    });
  }

  /** Tells every node's live streams and fleet-view watches what changed, numbered as the change log holds it. */
  private void publishChanges(Frame.Index batch, List<FleetIndex.Change> changes) {
    if (changes.isEmpty()) {
      return;
    }
    JsonArray list = new JsonArray();
    for (FleetIndex.Change change : changes) {
      list.add(new JsonObject().put("seq", change.seq()).put("type", change.type()).put("body", change.body()));
    }
    vertx.eventBus().publish(Addresses.STREAM_CHANGES, new JsonObject().put("cluster", cluster)
        .put("group", batch.group()).put("resource", batch.resource()).put("changes", list));
  }

  /** A cluster's connection event for the live streams: connected, resynced or disconnected. */
  private void publishState(String state) {
    vertx.eventBus().publish(Addresses.STREAM_CHANGES, new JsonObject().put("cluster", cluster).put("state", state));
  }

  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    queue.clear();
    vertx.cancelTimer(timer);
    vertx.cancelTimer(resyncTimer);
    if (opened) {
      index.markSynced(cluster);
      publishState("disconnected");
    }
  }
}
