package io.kmc.hub.stream;

import io.kmc.common.Addresses;
import io.kmc.hub.auth.Principal;
import io.kmc.hub.config.HubConfig;
import io.kmc.hub.index.FleetIndex;
import io.kmc.hub.rbac.Authorizer;
import io.kmc.hub.routing.Presence;
import io.kmc.hub.store.ClusterRecord;
import io.kmc.hub.store.ClusterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
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

  /** What every subscription re-evaluates against on each pass. */
  record ClusterView(Map<String, ClusterRecord> registered, Map<String, Boolean> live) {
  }

  private final Vertx vertx;
  private final FleetIndex index;
  private final Authorizer authorizer;
  private final ClusterRegistry clusters;
  private final Presence presence;
  private final HubConfig.Streams settings;
  private final long pingTimeoutMillis;
  private final Set<StreamSocket> sockets = ConcurrentHashMap.newKeySet();
  private volatile ClusterView view = new ClusterView(Map.of(), Map.of());
  private MessageConsumer<JsonObject> consumer;
  private long recheckTimer = -1;
  private long trimTimer = -1;

  public StreamService(Vertx vertx, FleetIndex index, Authorizer authorizer, ClusterRegistry clusters,
                       Presence presence, HubConfig.Streams settings, long pingTimeoutMillis) {
    this.vertx = vertx;
    this.index = index;
    this.authorizer = authorizer;
    this.clusters = clusters;
    this.presence = presence;
    this.settings = settings;
    this.pingTimeoutMillis = pingTimeoutMillis;
  }

  /** Call on the context that owns the node's consumer and timers (a verticle of its own). */
  public Future<Void> start() {
    consumer = vertx.eventBus().consumer(Addresses.STREAM_CHANGES, message -> {
      JsonObject change = message.body();
      for (StreamSocket socket : sockets) {
        socket.context().runOnContext(v -> socket.changed(change));
      }
    });
    recheckTimer = vertx.setPeriodic(settings.recheckInterval().toMillis(), t -> recheck());
    trimTimer = vertx.setPeriodic(TRIM_MILLIS, t -> index.trimStreamHistory(settings.history(),
            settings.historyMaxChanges())
        .onFailure(e -> LOG.warn("cannot trim the stream change log: {}", e.getMessage())));
    return consumer.completion().compose(v -> refreshView());
  }

  public Future<Void> stop() {
    vertx.cancelTimer(recheckTimer);
    vertx.cancelTimer(trimTimer);
    sockets.forEach(socket -> socket.context().runOnContext(v -> socket.close((short) 1001, "hub node stopping")));
    return consumer == null ? Future.succeededFuture() : consumer.unregister();
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
      view = new ClusterView(Map.copyOf(registered), Map.copyOf(live));
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

  FleetIndex index() {
    return index;
  }

  HubConfig.Streams settings() {
    return settings;
  }

  Authorizer.Scope scope(Principal principal, String cluster, String resource) {
    return authorizer.scope(principal, cluster, resource, "watch");
  }

  /** Open sockets on this node (for tests and metrics). */
  public int sockets() {
    return sockets.size();
  }
}
