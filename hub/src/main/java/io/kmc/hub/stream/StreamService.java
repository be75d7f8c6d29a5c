package io.kmc.hub.stream;

import io.kmc.common.Addresses;
import io.kmc.hub.auth.Principal;
import io.kmc.hub.config.HubConfig;
import io.kmc.hub.index.FleetIndex;
import io.kmc.hub.metrics.HubMetrics;
import io.kmc.hub.propagation.PropagationService;
import io.kmc.hub.propagation.PropagationStore;
import io.kmc.hub.rbac.Authorizer;
import io.kmc.hub.rbac.RbacService;
import io.kmc.hub.routing.Presence;
import io.kmc.hub.store.ClusterRecord;
import io.kmc.hub.store.ClusterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.MessageConsumerOptions;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The live resource streams of one hub node (docs/streams.md). The node that writes a cluster's index
 * batch numbers its changes, logs them (so that any node can replay them) and publishes them once;
 * every node receives each publication once, here, and hands it to its own sockets, each on its own
 * event loop. A periodic pass gives every socket the same view of the registry and of presence, from
 * which its subscriptions follow clusters that join or leave a selector, changed permissions and
 * clusters that went stale.
 */
public final class StreamService {

  private static final Logger LOG = LoggerFactory.getLogger(StreamService.class);
  /** How often the change log is trimmed (by every node; trimming twice does no harm). */
  private static final long TRIM_MILLIS = 60_000;

  /**
   * What every subscription re-evaluates against on each pass; {@code retarget} says whether the
   * clusters each covers (selectors, permissions) may have changed since the last pass.
   */
  record ClusterView(Map<String, ClusterRecord> registered, Map<String, Boolean> live, boolean retarget) {
  }

  /**
   * How long after an RBAC or registry change each pass re-evaluates what subscriptions cover (every
   * node reloads those tables on its own, a moment after the change is announced).
   */
  private static final long RETARGET_WINDOW_MILLIS = 5_000;
  /** Re-evaluates what subscriptions cover this often even when no change was announced. */
  private static final long RETARGET_ANYWAY_MILLIS = 30_000;

  private final Vertx vertx;
  private final FleetIndex index;
  private final Authorizer authorizer;
  private final ClusterRegistry clusters;
  private final Presence presence;
  private final HubConfig.Streams settings;
  private final long pingTimeoutMillis;
  private final Set<StreamSocket> sockets = ConcurrentHashMap.newKeySet();
  private final Runnable slowClosed;
  private volatile ClusterView view = new ClusterView(Map.of(), Map.of(), true);
  private MessageConsumer<JsonObject> consumer;
  private MessageConsumer<JsonObject> rbacChanges;
  private MessageConsumer<JsonObject> registryChanges;
  private MessageConsumer<JsonObject> propagationChanges;
  /** The propagations' API (null where the hub serves none): the source of propagation subscriptions. */
  private final PropagationService propagations;
  private volatile long retargetUntil;
  private long lastRetarget;
  private long recheckTimer = -1;
  private long trimTimer = -1;

  public StreamService(Vertx vertx, FleetIndex index, Authorizer authorizer, ClusterRegistry clusters,
                       Presence presence, HubConfig.Streams settings, long pingTimeoutMillis, HubMetrics metrics,
                       PropagationService propagations) {
    this.propagations = propagations;
    this.vertx = vertx;
    this.index = index;
    this.authorizer = authorizer;
    this.clusters = clusters;
    this.presence = presence;
    this.settings = settings;
    this.pingTimeoutMillis = pingTimeoutMillis;
    this.slowClosed = metrics.streams(sockets::size);
    metrics.streamQueued(() -> sockets.stream().mapToLong(StreamSocket::queued).sum());
  }

  /** Call on the context that owns the node's consumer and timers (a verticle of its own). */
  public Future<Void> start() {
    // Every queue between the event bus and a client is bounded: what the consumer has not taken yet
    // (stream.node_queue: Vert.x drops beyond, and the subscriptions fill the gap from the change log), what
    // each socket's event loop has not taken yet (stream.handoff_changes) and what its client has not read
    // (stream.buffer_events); a socket past either of its bounds is closed as too slow, alone.
    consumer = vertx.eventBus().consumer(new MessageConsumerOptions().setAddress(Addresses.STREAM_CHANGES)
        .setMaxBufferedMessages(settings.nodeQueue()), message -> {
          if (sockets.isEmpty()) {
            return;
          }
          // Decoded and its events' objects encoded once here, for every socket of the node.
          Publication publication = Publication.of((JsonObject) message.body());
          for (StreamSocket socket : sockets) {
            socket.handOff(publication);
          }
        });
    rbacChanges = vertx.eventBus().consumer(RbacService.CHANGED, m -> retargetSoon());
    registryChanges = vertx.eventBus().consumer(ClusterRegistry.CHANGED, m -> retargetSoon());
    // A propagation written on any node (its spec by the API, its status and drift by the controller): each
    // socket re-reads it for its propagation subscriptions (coalesced per name while a read is under way).
    propagationChanges = vertx.eventBus().consumer(PropagationStore.STATUS_CHANGED, m -> {
      if (m.body() != null && m.body().getValue("name") instanceof String name) {
        for (StreamSocket socket : sockets) {
          socket.context().runOnContext(v -> socket.propagationChanged(name));
        }
      }
    });
    recheckTimer = vertx.setPeriodic(settings.recheckInterval().toMillis(), t -> recheck());
    trim();
    trimTimer = vertx.setPeriodic(TRIM_MILLIS, t -> trim());
    return Future.all(consumer.completion(), rbacChanges.completion(), registryChanges.completion(),
            propagationChanges.completion())
        .compose(v -> refreshView());
  }

  private void trim() {
    index.trimStreamHistory(settings.history(), settings.historyMaxChanges())
        .onFailure(e -> LOG.warn("cannot trim the stream change log: {}", e.getMessage()));
  }

  private void retargetSoon() {
    retargetUntil = System.currentTimeMillis() + RETARGET_WINDOW_MILLIS;
  }

  public Future<Void> stop() {
    vertx.cancelTimer(recheckTimer);
    vertx.cancelTimer(trimTimer);
    sockets.forEach(socket -> socket.context().runOnContext(v -> socket.close((short) 1001, "hub node stopping")));
    if (consumer == null) {
      return Future.succeededFuture();
    }
    return Future.join(consumer.unregister(), rbacChanges.unregister(), registryChanges.unregister(),
        propagationChanges.unregister()).mapEmpty();
  }

  private void recheck() {
    refreshView().onSuccess(v -> {
      for (StreamSocket socket : sockets) {
        socket.context().runOnContext(x -> socket.recheck());
      }
    });
  }

  private Future<Void> refreshView() {
    return presence.all().map(entries -> {
      long now = System.currentTimeMillis();
      Map<String, ClusterRecord> registered = new HashMap<>();
      Map<String, Boolean> live = new HashMap<>();
      for (ClusterRecord cluster : clusters.list()) {
        registered.put(cluster.name(), cluster);
        live.put(cluster.name(), presence.live(entries.get(cluster.name()), pingTimeoutMillis, now));
      }
      // Working out what each subscription covers asks RBAC per cluster: only when something changed.
      boolean retarget = now < retargetUntil || now - lastRetarget >= RETARGET_ANYWAY_MILLIS;
      if (retarget) {
        lastRetarget = now;
      }
      view = new ClusterView(Map.copyOf(registered), Map.copyOf(live), retarget);
      return null;
    });
  }

  ClusterView view() {
    return view;
  }

  void add(StreamSocket socket) {
    sockets.add(socket);
  }

  void remove(StreamSocket socket) {
    sockets.remove(socket);
  }

  void slowClosed() {
    slowClosed.run();
  }

  FleetIndex index() {
    return index;
  }

  HubConfig.Streams settings() {
    return settings;
  }

  PropagationService propagations() {
    return propagations;
  }

  /** Propagation subscriptions are for those who may list propagations (as {@code GET /api/v1/propagations}). */
  boolean mayListPropagations(Principal principal) {
    return authorizer.allowed(principal, "propagations", "list");
  }

  Authorizer.Scope scope(Principal principal, String cluster, String resource) {
    return authorizer.scope(principal, cluster, resource, "watch");
  }

  /** Open sockets on this node (for tests and metrics). */
  public int sockets() {
    return sockets.size();
  }
}
