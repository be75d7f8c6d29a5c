package io.kmc.hub.gateway;

import io.kmc.common.protocol.Limits;
import io.vertx.core.Vertx;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The ping deadline of every agent connection on one event loop, checked by one periodic timer
 * rather than one timer per connection: with thousands of idle agents, a timer each kept the event
 * loops busy with scheduling alone (74 % of a core at 5,000 agents, docs/scale.md). Created on its
 * event loop with the first connection there and stopped with the last; only that loop touches it.
 */
final class LivenessSweep {

  private final Vertx vertx;
  private final long tickMillis;
  private final Runnable emptied;
  private final Set<AgentConnection> connections = new LinkedHashSet<>();
  private long timer = -1;

  LivenessSweep(Vertx vertx, Limits limits, Runnable emptied) {
    this.vertx = vertx;
    this.tickMillis = Math.max(25, Math.min(1000, limits.pingIntervalMillis() / 2));
    this.emptied = emptied;
  }

  /** Called on the sweep's event loop. */
  void add(AgentConnection connection) {
    connections.add(connection);
    if (timer < 0) {
      timer = vertx.setPeriodic(tickMillis, t -> sweep());
    }
  }

  /** Called on the sweep's event loop. */
  void remove(AgentConnection connection) {
    connections.remove(connection);
  }

  private void sweep() {
    if (connections.isEmpty()) {
      vertx.cancelTimer(timer);
      timer = -1;
      emptied.run();
      return;
    }
    long now = System.currentTimeMillis();
    // A connection may close (and leave the set) while it is checked.
    for (AgentConnection connection : new ArrayList<>(connections)) {
      connection.heartbeat(now);
    }
  }

  int size() {
    return connections.size();
  }
}
