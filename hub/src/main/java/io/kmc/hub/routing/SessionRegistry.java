package io.kmc.hub.routing;

import io.kmc.common.Addresses;
import io.kmc.common.protocol.CloseCodes;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The sessions this node serves: its agent connections and its directly served clusters. The node
 * channel finds here the session a request is for. When any node announces a new agent session for
 * a cluster, the older ones for that cluster here are closed: one agent connection per cluster
 * wins, wherever it landed.
 */
public final class SessionRegistry {

  private static final Logger LOG = LoggerFactory.getLogger(SessionRegistry.class);

  /** A local session and how to close its connection. */
  public record Local(AgentSession session, AgentSession.Link link) {
  }

  private final Vertx vertx;
  private final Map<String, List<Local>> byCluster = new ConcurrentHashMap<>();
  private MessageConsumer<JsonObject> consumer;

  public SessionRegistry(Vertx vertx) {
    this.vertx = vertx;
  }

  public Future<Void> start() {
    consumer = vertx.eventBus().consumer(Addresses.SESSION_STARTED, message -> sessionStarted(message.body()));
    return consumer.completion();
  }

  public void add(AgentSession session, AgentSession.Link link) {
    byCluster.computeIfAbsent(session.cluster(), c -> new CopyOnWriteArrayList<>()).add(new Local(session, link));
  }

  public void remove(AgentSession session) {
    List<Local> locals = byCluster.get(session.cluster());
    if (locals != null) {
      locals.removeIf(local -> local.session() == session);
    }
  }

  public List<Local> all() {
    return byCluster.values().stream().flatMap(List::stream).toList();
  }

  /** The agent connections held here (directly served clusters left out). */
  public long agentSessions() {
    return byCluster.values().stream().flatMap(List::stream)
        .filter(local -> "agent".equals(local.session().entry().mode())).count();
  }

  /**
   * The session that serves the cluster's requests on this node (the newest that takes requests),
   * or null: none here, or the one here is leaving.
   */
  public AgentSession serving(String cluster) {
    List<Local> locals = cluster == null ? null : byCluster.get(cluster);
    if (locals == null) {
      return null;
    }
    AgentSession newest = null;
    for (Local local : locals) {
      AgentSession session = local.session();
      if (session.takesRequests() && (newest == null || session.entry().connectedAt() >= newest.entry().connectedAt())) {
        newest = session;
      }
    }
    return newest;
  }

  /** Closes the connections of a cluster held here, e.g. because its token was revoked. */
  public void closeCluster(String cluster, short code, String reason) {
    List<Local> locals = byCluster.get(cluster);
    if (locals != null) {
      locals.forEach(local -> local.link().close(code, reason));
    }
  }

  private void sessionStarted(JsonObject announcement) {
    String cluster = announcement.getString("cluster");
    String session = announcement.getString("session");
    long connectedAt = announcement.getLong("connectedAt", 0L);
    if (!"agent".equals(announcement.getString("mode"))) {
      return;
    }
    List<Local> locals = byCluster.get(cluster);
    if (locals == null) {
      return;
    }
    for (Local local : locals) {
      Presence.Entry entry = local.session().entry();
      boolean older = entry.connectedAt() < connectedAt
          || (entry.connectedAt() == connectedAt && entry.session().compareTo(session) < 0);
      if ("agent".equals(entry.mode()) && !entry.session().equals(session) && older) {
        LOG.info("closing the older connection of cluster {}: a newer one started", cluster);
        local.link().close(CloseCodes.REPLACED, "a newer connection for cluster '" + cluster + "' took over");
      }
    }
  }
}
