package io.kmc.hub.routing;

import io.kmc.common.Addresses;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.AsyncMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.Map;

/**
 * Who serves which member cluster, in a cluster-wide map: the node holding the agent socket, since
 * when, when it was last heard from, and what the agent reported about itself. The node that holds
 * the session is the only writer of its entry; entries of nodes that left are removed by whoever
 * notices first.
 */
public final class Presence {

  private static final Logger LOG = LoggerFactory.getLogger(Presence.class);

  /** One agent session as recorded in the map. */
  public record Entry(String cluster, String node, String session, String mode, long connectedAt, long lastSeen,
                      String agentVersion, String kubernetesVersion, int protocolVersion, long latencyMillis) {

    public JsonObject toJson() {
      return new JsonObject()
          .put("cluster", cluster).put("node", node).put("session", session).put("mode", mode)
          .put("connectedAt", connectedAt).put("lastSeen", lastSeen)
          .put("agentVersion", agentVersion).put("kubernetesVersion", kubernetesVersion)
          .put("protocolVersion", protocolVersion).put("latencyMillis", latencyMillis);
    }

    public static Entry fromJson(JsonObject json) {
      return new Entry(json.getString("cluster"), json.getString("node"), json.getString("session"),
          json.getString("mode"), json.getLong("connectedAt", 0L), json.getLong("lastSeen", 0L),
          json.getString("agentVersion"), json.getString("kubernetesVersion"),
          json.getInteger("protocolVersion", 0), json.getLong("latencyMillis", -1L));
    }

    public Entry seen(long at, long latency) {
      return new Entry(cluster, node, session, mode, connectedAt, at, agentVersion, kubernetesVersion,
          protocolVersion, latency);
    }
  }

  private final HubNodes nodes;
  private final Future<AsyncMap<String, JsonObject>> map;

  public Presence(Vertx vertx, HubNodes nodes) {
    this.nodes = nodes;
    this.map = vertx.sharedData().<String, JsonObject>getAsyncMap(Addresses.PRESENCE_MAP);
    nodes.onNodeLeft(this::forgetNode);
  }

  public Future<Void> put(Entry entry) {
    return map.compose(m -> m.put(entry.cluster(), entry.toJson()));
  }

  /** Replaces {@code previous} with {@code next}; false if the entry is no longer {@code previous}. */
  public Future<Boolean> replace(Entry previous, Entry next) {
    return map.compose(m -> m.replaceIfPresent(previous.cluster(), previous.toJson(), next.toJson()));
  }

  /** Removes the entry only if it is still this one (a newer session may have replaced it). */
  public Future<Boolean> remove(Entry entry) {
    return map.compose(m -> m.removeIfPresent(entry.cluster(), entry.toJson()));
  }

  public Future<Entry> get(String cluster) {
    return map.compose(m -> m.get(cluster)).map(json -> json == null ? null : Entry.fromJson(json));
  }

  public Future<Map<String, Entry>> all() {
    return map.compose(AsyncMap::entries).map(entries -> {
      Map<String, Entry> result = new HashMap<>();
      entries.forEach((cluster, json) -> result.put(cluster, Entry.fromJson(json)));
      return result;
    });
  }

  /**
   * Whether an entry describes a live connection: its node is still a member and it was heard from
   * within the ping deadline. A node that crashed leaves its entries behind until they are cleaned
   * up; this check keeps them from ever showing as connected.
   */
  public boolean live(Entry entry, long pingTimeoutMillis, long now) {
    return entry != null && nodes.alive(entry.node()) && now - entry.lastSeen() <= pingTimeoutMillis;
  }

  private void forgetNode(String node) {
    all().onSuccess(entries -> entries.values().stream()
        .filter(entry -> node.equals(entry.node()))
        .forEach(entry -> remove(entry).onSuccess(removed -> {
          if (removed) {
            LOG.info("cluster {} lost its agent session: hub node {} left", entry.cluster(), HubNodes.shortId(node));
          }
        })));
  }
}
