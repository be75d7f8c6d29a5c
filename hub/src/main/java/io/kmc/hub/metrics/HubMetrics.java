package io.kmc.hub.metrics;

import io.kmc.ops.PeerWarnings;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The hub's own metrics, named as Prometheus expects ({@code kmc_}, units in the name), with
 * bounded labels only: cluster names (registered clusters), route templates, methods, statuses.
 *
 * <p>Series labelled with a cluster are what makes {@code /metrics} grow with the fleet (~40 to
 * 80 bytes each, every scrape), so by default a cluster has only those an operator alerts on: up
 * (every registered cluster, so that one never connected counts as down), last seen (once heard
 * from) and the connect counter (flapping). Latencies, disconnects, objects indexed and resource
 * counts are one series set per node (resource counts one per kind), labelled with the cluster only
 * with {@code metrics.per_cluster_detail}. Rare events (refused index batches, policy violations)
 * and open streams keep their cluster label: they appear only for the clusters concerned.
 */
public final class HubMetrics {

  public static final String CLUSTER_UP = "kmc_cluster_up";
  public static final String CLUSTER_LAST_SEEN = "kmc_cluster_last_seen_timestamp_seconds";
  public static final String TUNNEL_LATENCY = "kmc_tunnel_latency_seconds";
  public static final String TUNNEL_HEARTBEATS = "kmc_tunnel_heartbeat";
  public static final String AGENT_SESSIONS = "kmc_agent_sessions";
  public static final String TLS_HANDSHAKES_RUNNING = "kmc_tls_handshakes_running";
  public static final String TLS_HANDSHAKES_WAITING = "kmc_tls_handshakes_waiting";
  public static final String TLS_HANDSHAKES_CLOSED_WAITING = "kmc_tls_handshakes_closed_waiting";
  public static final String LIVENESS_SWEEPS = "kmc_tunnel_liveness_sweeps";
  public static final String STREAM_SOCKETS = "kmc_stream_sockets";
  public static final String STREAM_SLOW_CLOSES = "kmc_stream_slow_closes";
  public static final String STREAM_QUEUED = "kmc_stream_queued";
  public static final String AGENT_CONNECTS = "kmc_agent_connects";
  public static final String AGENT_DISCONNECTS = "kmc_agent_disconnects";
  public static final String AGENT_DEFERRED = "kmc_agent_connects_deferred";
  public static final String TUNNEL_PINGS = "kmc_tunnel_pings";
  public static final String API_REQUESTS = "kmc_api_requests";
  public static final String TUNNEL_REQUESTS = "kmc_tunnel_requests";
  public static final String TUNNEL_STREAMS = "kmc_tunnel_streams";
  public static final String AUDIT_QUEUE = "kmc_audit_queue";
  public static final String AUDIT_DROPPED = "kmc_audit_dropped";
  public static final String AUDIT_REJECTED = "kmc_audit_rejected";
  public static final String CLUSTER_RESOURCES = "kmc_cluster_resources";
  public static final String AGENT_WARNINGS_SUPPRESSED = "kmc_agent_warnings_suppressed";
  public static final String POLICY_VIOLATIONS = "kmc_policy_violations";
  public static final String PROPAGATION_APPLIES = "kmc_propagation_applies";
  public static final String PROPAGATION_APPLY_DURATION = "kmc_propagation_apply_duration";
  public static final String PROPAGATION_EVENTS = "kmc_propagation_events";
  public static final String PROPAGATION_LEADER = "kmc_propagation_controller_leader";
  public static final String NOTIFICATION_EVENTS = "kmc_notification_events";
  public static final String NOTIFICATION_EVENTS_SUPPRESSED = "kmc_notification_events_suppressed";
  public static final String NOTIFICATION_DELIVERIES = "kmc_notification_deliveries";
  public static final String NOTIFICATION_PENDING = "kmc_notification_deliveries_pending";
  public static final String NOTIFICATION_DEAD = "kmc_notification_deliveries_dead";
  public static final String INDEX_OBJECTS = "kmc_index_objects_written";
  public static final String INDEX_BATCHES = "kmc_index_batches";
  public static final String INDEX_REFUSED = "kmc_index_batches_refused";

  /** What the presence map says about one cluster, refreshed periodically, and its gauges. */
  private static final class ClusterState {
    volatile double up;
    volatile double lastSeenSeconds;
    volatile double latencySeconds;
    /** Whether the cluster was heard from since this node started (its last-seen gauge exists). */
    boolean seen;
    final List<Gauge> gauges = new ArrayList<>();
  }

  /** A count of one kind of object in one cluster, and its gauge. */
  private static final class ResourceCount {
    volatile double value;
    Gauge gauge;
  }

  /** The labels of one API request timer. */
  private record ApiTimerKey(String route, String method, int status) {
  }

  private final MeterRegistry registry;
  private final boolean perClusterDetail;
  private final Counter warningsSuppressed;
  private final Counter agentsDeferred;
  private final Counter pingsFromHub;
  private final Counter pingsFromAgents;
  private final Timer heartbeats;
  /**
   * Timers already registered, so that a request does not build a meter id and look it up in the
   * registry each time (both label sets are bounded, see the class comment).
   */
  private final Map<ApiTimerKey, Timer> apiTimers = new ConcurrentHashMap<>();
  private final Map<String, Timer> tunnelTimers = new ConcurrentHashMap<>();
  private final Map<String, ClusterState> clusters = new ConcurrentHashMap<>();
  private final Map<String, int[]> streams = new ConcurrentHashMap<>();
  private final Map<String, Map<String, ResourceCount>> resources = new ConcurrentHashMap<>();
  /** By kind, the sum over {@link #resources} (without {@code metrics.per_cluster_detail}). */
  private final Map<String, Gauge> resourceTotals = new ConcurrentHashMap<>();
  /** What function counters read, held here for as long as the metrics live. */
  private final List<Supplier<Number>> counted = new ArrayList<>();

  public HubMetrics(MeterRegistry registry) {
    this(registry, false);
  }

  /**
   * @param perClusterDetail label latencies (tunnel requests, heartbeats, index batches), disconnects,
   *                         objects indexed and resource counts with the cluster; off, one series set
   *                         serves every cluster, so that /metrics stays small with thousands (up, last
   *                         seen and the connect counter stay per cluster)
   */
  public HubMetrics(MeterRegistry registry, boolean perClusterDetail) {
    this.registry = registry;
    this.perClusterDetail = perClusterDetail;
    this.warningsSuppressed = Counter.builder(AGENT_WARNINGS_SUPPRESSED)
        .description("Warnings about what agents sent that were counted instead of logged (at most "
            + PeerWarnings.PER_MINUTE + " a minute are logged per connection)")
        .register(registry);
    this.pingsFromHub = Counter.builder(TUNNEL_PINGS).tag("from", "hub")
        .description("Pings on agent connections (each answered by a pong): what an idle fleet costs").register(registry);
    this.pingsFromAgents = Counter.builder(TUNNEL_PINGS).tag("from", "agent")
        .description("Pings on agent connections (each answered by a pong): what an idle fleet costs").register(registry);
    this.heartbeats = Timer.builder(TUNNEL_HEARTBEATS)
        .description("Round trips of the heartbeats (ping to pong) with this node's agents")
        .serviceLevelObjectives(Duration.ofMillis(10), Duration.ofMillis(50), Duration.ofMillis(100),
            Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofMillis(2_500),
            Duration.ofSeconds(5))
        .register(registry);
    this.agentsDeferred = Counter.builder(AGENT_DEFERRED)
        .description("New agent connections answered 503 with a Retry-After (tunnel.admission_rate)")
        .register(registry);
  }

  /** The TLS handshakes of the API port ({@code server.tls.max_concurrent_handshakes}). */
  public void tlsHandshakes(Supplier<Number> running, Supplier<Number> waiting, Supplier<Number> closedWaiting) {
    Gauge.builder(TLS_HANDSHAKES_RUNNING, running).description("TLS handshakes under way on this node").register(registry);
    Gauge.builder(TLS_HANDSHAKES_WAITING, waiting).description("Accepted connections waiting for their TLS "
        + "handshake to begin (server.tls.max_concurrent_handshakes)").register(registry);
    FunctionCounter.builder(TLS_HANDSHAKES_CLOSED_WAITING, closedWaiting, n -> n.get().doubleValue())
        .description("Connections closed while they waited for their TLS handshake (the handshake timeout, "
            + "or the peer gave up)").register(registry);
  }

  /** Agent connections held by this node. */
  public void agentSessions(Supplier<Number> count) {
    Gauge.builder(AGENT_SESSIONS, count).description("Agent connections held by this hub node").register(registry);
  }

  /** Periodic liveness checks this node runs for its agent connections: one per event loop in use, however many agents. */
  public void livenessSweeps(Supplier<Number> count) {
    Gauge.builder(LIVENESS_SWEEPS, count).description("Liveness sweeps (one periodic timer each) for this node's agent "
        + "connections: one per event loop in use, not one per agent").register(registry);
  }

  /** Live stream sockets open on this node, and a counter of those closed because their client did not read. */
  public Runnable streams(Supplier<Number> sockets) {
    Gauge.builder(STREAM_SOCKETS, sockets).description("Live stream sockets open on this hub node").register(registry);
    Counter slow = Counter.builder(STREAM_SLOW_CLOSES)
        .description("Stream sockets closed because their client did not keep up (stream.buffer_events)")
        .register(registry);
    return slow::increment;
  }

  /** Changes and messages waiting on this node for its stream sockets (bounded per socket). */
  public void streamQueued(Supplier<Number> queued) {
    Gauge.builder(STREAM_QUEUED, queued).description("Changes and messages waiting on this hub node for its "
        + "stream sockets (bounded per socket by stream.handoff_changes and stream.buffer_events)").register(registry);
  }

  public void auditQueue(Supplier<Number> queued, Supplier<Number> dropped, Supplier<Number> rejected) {
    // Function counters hold their object weakly: a method reference nobody else keeps would be collected.
    counted.add(dropped);
    counted.add(rejected);
    Gauge.builder(AUDIT_QUEUE, queued).description("Audit records waiting to be written").register(registry);
    FunctionCounter.builder(AUDIT_DROPPED, dropped, n -> n.get().doubleValue())
        .description("Audit records dropped because the queue was full (audit.queue_size)").register(registry);
    FunctionCounter.builder(AUDIT_REJECTED, rejected, n -> n.get().doubleValue())
        .description("Audit records the database refused to store (each is logged)").register(registry);
  }

  /** A warning about what an agent sent was not logged: its connection had used its budget. */
  public void peerWarningSuppressed() {
    warningsSuppressed.increment();
  }

  public void agentConnected(String cluster) {
    Counter.builder(AGENT_CONNECTS).tag("cluster", cluster).description("Agent connections accepted")
        .register(registry).increment();
  }

  /** This node pinged an idle agent connection ({@code fromHub}), or an agent pinged this node. */
  public void ping(boolean fromHub) {
    (fromHub ? pingsFromHub : pingsFromAgents).increment();
  }

  /** A heartbeat with one of this node's agents came back after {@code millis}. */
  public void heartbeat(long millis) {
    heartbeats.record(millis, TimeUnit.MILLISECONDS);
  }

  /** A new agent connection was told to come back later (tunnel.admission_rate). */
  public void agentDeferred() {
    agentsDeferred.increment();
  }

  public void agentDisconnected(String cluster) {
    Counter.builder(AGENT_DISCONNECTS).tags(perClusterDetail ? Tags.of("cluster", cluster) : Tags.empty())
        .description("Agent connections ended").register(registry).increment();
  }

  public void apiRequest(String route, String method, int status, long nanos) {
    apiTimers.computeIfAbsent(new ApiTimerKey(route, method, status), key -> Timer.builder(API_REQUESTS)
            .description("Hub API and pass-through requests")
            .tags(Tags.of("route", route, "method", method, "status", String.valueOf(status)))
            .publishPercentileHistogram()
            .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(60))
            .register(registry))
        .record(nanos, TimeUnit.NANOSECONDS);
  }

  /** Time from a request reaching the node holding the agent to the agent's answer starting. */
  public void tunnelRequest(String cluster, long nanos) {
    tunnelTimers.computeIfAbsent(perClusterDetail ? cluster : "", c -> Timer.builder(TUNNEL_REQUESTS)
            .description("Round trip through the agent tunnel, until the answer starts")
            .tags(c.isEmpty() ? Tags.empty() : Tags.of("cluster", c))
            .publishPercentileHistogram()
            .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(60))
            .register(registry))
        .record(nanos, TimeUnit.NANOSECONDS);
  }

  /** Open streams of a cluster's agent on this node changed by {@code delta}. */
  public void streams(String cluster, int delta) {
    int[] count = streams.computeIfAbsent(cluster, c -> {
      int[] holder = new int[1];
      Gauge.builder(TUNNEL_STREAMS, holder, h -> h[0]).tag("cluster", c)
          .description("Watches, followed logs and chunked bodies open through this node").register(registry);
      return holder;
    });
    synchronized (count) {
      count[0] += delta;
    }
  }

  /**
   * What the per-cluster gauges show of one registered cluster; {@code lastSeenMillis} 0 and
   * {@code latencyMillis} -1 when the presence map has no entry for it (no agent connected).
   */
  public record ClusterGauge(boolean up, long lastSeenMillis, long latencyMillis) {
  }

  /**
   * Refreshes the per-cluster gauges; clusters not in {@code registered} any more are removed. A
   * cluster's last-seen gauge appears once it is heard from and keeps that time after its agent goes,
   * which is when an operator asks for it; one never heard from has only {@code kmc_cluster_up} 0.
   */
  public void clusters(Map<String, ClusterGauge> registered) {
    registered.forEach((cluster, gauge) -> {
      ClusterState state = clusters.computeIfAbsent(cluster, this::register);
      state.up = gauge.up() ? 1 : 0;
      if (gauge.lastSeenMillis() > 0) {
        state.lastSeenSeconds = gauge.lastSeenMillis() / 1000.0;
        state.latencySeconds = gauge.latencyMillis() < 0 ? 0 : gauge.latencyMillis() / 1000.0;
        if (!state.seen) {
          state.seen = true;
          registerSeen(cluster, state);
        }
      }
    });
    for (String gone : Set.copyOf(clusters.keySet())) {
      if (!registered.containsKey(gone)) {
        clusters.remove(gone).gauges.forEach(registry::remove);
      }
    }
  }

  private ClusterState register(String cluster) {
    ClusterState state = new ClusterState();
    state.gauges.add(Gauge.builder(CLUSTER_UP, state, s -> s.up).tag("cluster", cluster)
        .description("1 when the cluster's agent (or direct connection) is live, else 0").register(registry));
    return state;
  }

  private void registerSeen(String cluster, ClusterState state) {
    state.gauges.add(Gauge.builder(CLUSTER_LAST_SEEN, state, s -> s.lastSeenSeconds).tag("cluster", cluster)
        .description("When the cluster was last heard from (Unix time; kept after its agent disconnects, absent "
            + "until it is heard from)").register(registry));
    if (perClusterDetail) {
      state.gauges.add(Gauge.builder(TUNNEL_LATENCY, state, s -> s.latencySeconds).tag("cluster", cluster)
          .description("Round trip of the last heartbeat with the cluster's agent").register(registry));
    }
  }

  /**
   * How many objects of {@code kind} {@code cluster} has, as this node counted them: a gauge per cluster
   * and kind with {@code metrics.per_cluster_detail} (a dozen series per cluster with the agent's default
   * kinds), else one per kind summing the clusters whose agents this node holds.
   */
  public void resourceCount(String cluster, String kind, long count) {
    resources.computeIfAbsent(cluster, c -> new ConcurrentHashMap<>()).computeIfAbsent(kind, k -> {
      ResourceCount held = new ResourceCount();
      if (perClusterDetail) {
        held.gauge = Gauge.builder(CLUSTER_RESOURCES, held, h -> h.value).tags("cluster", cluster, "kind", kind)
            .description("Objects of a kind in a member cluster (counted by the node holding its agent)")
            .register(registry);
      } else {
        resourceTotals.computeIfAbsent(kind, this::registerResourceTotal);
      }
      return held;
    }).value = count;
  }

  private Gauge registerResourceTotal(String kind) {
    return Gauge.builder(CLUSTER_RESOURCES, () -> resources.values().stream().mapToDouble(byKind -> {
          ResourceCount held = byKind.get(kind);
          return held == null ? 0 : held.value;
        }).sum()).tag("kind", kind)
        .description("Objects of a kind in the member clusters whose agents this node holds").register(registry);
  }

  /** An agent's index batch written (by the node holding the agent), with its objects and the time it took. */
  public void indexApplied(String cluster, int objects, long nanos) {
    Tags tags = perClusterDetail ? Tags.of("cluster", cluster) : Tags.empty();
    Counter.builder(INDEX_OBJECTS).tags(tags)
        .description("Objects (upserts and deletes) written to the fleet index from agents")
        .register(registry).increment(objects);
    Timer.builder(INDEX_BATCHES).tags(tags)
        .description("Time to write one index batch of a cluster's agent").register(registry)
        .record(nanos, TimeUnit.NANOSECONDS);
  }

  /** An agent's index batch refused (malformed, over a limit). */
  public void indexRefused(String cluster) {
    Counter.builder(INDEX_REFUSED).tag("cluster", cluster)
        .description("Index batches from a cluster's agent that the hub refused").register(registry).increment();
  }

  /** Stops reporting the counts of clusters other than {@code counted} (their agent moved to another node). */
  public void keepResourceCounts(Set<String> counted) {
    for (String cluster : Set.copyOf(resources.keySet())) {
      if (!counted.contains(cluster)) {
        resources.remove(cluster).values().stream().filter(held -> held.gauge != null)
            .forEach(held -> registry.remove(held.gauge));
      }
    }
  }

  /** A write violated a policy (names are those of stored policies: bounded by policy.max_policies). */
  public void policyViolation(String policy, String action, String cluster) {
    Counter.builder(POLICY_VIOLATIONS).tags("policy", policy, "action", action, "cluster", cluster)
        .description("Writes that violated a policy, by what the policy did about it (deny, warn, audit)")
        .register(registry).increment();
  }

  /** One apply of a propagation to one cluster: applied, failed or unreachable, and how long it took. */
  public void propagationApply(String result, long nanos) {
    Counter.builder(PROPAGATION_APPLIES).tag("result", result)
        .description("Applies of a propagation to one cluster, by result (applied, failed, unreachable)")
        .register(registry).increment();
    Timer.builder(PROPAGATION_APPLY_DURATION).tag("result", result)
        .description("Time to apply a propagation's objects to one cluster")
        .register(registry).record(nanos, TimeUnit.NANOSECONDS);
  }

  /** A propagation event (RolloutStarted, Applied, Failed, RolloutStopped, DriftDetected, DriftRepaired...). */
  public void propagationEvent(String type) {
    Counter.builder(PROPAGATION_EVENTS).tag("type", type)
        .description("Propagation events recorded, by type").register(registry).increment();
  }

  /** 1 on the node that holds the propagation controller lease, 0 on the others. */
  public void propagationLeader(java.util.function.BooleanSupplier leading) {
    Gauge.builder(PROPAGATION_LEADER, () -> leading.getAsBoolean() ? 1 : 0)
        .description("Whether this hub node is the propagation controller").register(registry);
  }

  /** An event was emitted on this node (types are a fixed list). */
  public void notificationEvent(String type) {
    Counter.builder(NOTIFICATION_EVENTS).tag("type", type)
        .description("Notification events emitted on this node, before de-duplication").register(registry).increment();
  }

  /** An event was dropped as a repeat within notifications.dedup_window. */
  public void notificationSuppressed(String type) {
    Counter.builder(NOTIFICATION_EVENTS_SUPPRESSED).tag("type", type)
        .description("Notification events dropped as repeats of a flapping event (notifications.dedup_window)")
        .register(registry).increment();
  }

  /** One attempt of this node: delivered, retried (failed, tried again later), dead, or postponed (rate limit). */
  public void notificationDelivery(String channelType, String outcome) {
    Counter.builder(NOTIFICATION_DELIVERIES).tags("channel_type", channelType, "outcome", outcome)
        .description("Notification delivery attempts by this node, by outcome").register(registry).increment();
  }

  /** The outbox as the database has it (the same on every node). */
  public void notificationBacklog(Supplier<Number> pending, Supplier<Number> dead) {
    Gauge.builder(NOTIFICATION_PENDING, pending).description("Notification deliveries waiting to be sent "
        + "(the whole hub's outbox)").register(registry);
    Gauge.builder(NOTIFICATION_DEAD, dead).description("Notification deliveries that gave up (dead letters, "
        + "GET /api/v1/notifications/deliveries?state=dead), kept for notifications.retention").register(registry);
  }
}
