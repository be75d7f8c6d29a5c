package io.kmc.hub.propagation;

import io.kmc.common.Addresses;
import io.kmc.common.KmcException;
import io.kmc.hub.metrics.HubMetrics;
import io.kmc.hub.notify.Event;
import io.kmc.hub.notify.EventType;
import io.kmc.hub.notify.Notifier;
import io.kmc.hub.policy.Policy;
import io.kmc.hub.policy.PolicyEngine;
import io.kmc.hub.policy.PolicyService;
import io.kmc.hub.routing.Presence;
import io.kmc.hub.store.ClusterRecord;
import io.kmc.hub.store.ClusterRegistry;
import io.kmc.ops.Texts;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The propagation controller. It runs on every hub node, and acts only on the node holding the
 * {@link Lease}: it brings every propagation's target clusters to the propagation's current
 * generation, batch by batch, then keeps them there (health, drift, clusters that come, go or
 * reconnect). One pass at a time, never blocking: every step is a future on this verticle's context.
 *
 * <p>A pass is started by a change (a propagation written, a cluster registered or relabelled, an
 * agent connecting), by the resync timer, and a second after a pass that left work waiting (a batch
 * becoming healthy). Before anything is applied to a cluster, its status becomes {@code applying}
 * in a write fenced by the lease's epoch: a node that lost the lease cannot start an apply.
 */
public final class PropagationController {

  /** Published (on every node) after every write of a propagation. */
  public static final String CHANGED = "kmc.hub.propagations-changed";

  static final String PENDING = "pending";
  static final String APPLYING = "applying";
  static final String APPLIED = "applied";
  static final String FAILED = "failed";
  static final String DRIFTED = "drifted";
  static final String REMOVING = "removing";

  private static final Logger LOG = LoggerFactory.getLogger(PropagationController.class);
  private static final long FOLLOW_UP_MILLIS = 1_000;
  /** Propagations reconciled at the same time within a pass. */
  private static final int PARALLEL = 8;
  static final String NOT_CONNECTED = "cluster not connected: applied when its agent connects";

  /** The controller's timing. */
  public record Settings(long resyncMillis, long driftMillis, long leaseTtlMillis, long pingTimeoutMillis) {
  }

  private final Vertx vertx;
  private final PropagationStore store;
  private final ClusterRegistry clusters;
  private final PolicyService policies;
  private final Kube kube;
  private final DriftSource drift;
  private final Lease lease;
  private final Presence presence;
  private final HubMetrics metrics;
  private final Notifier notifier;
  private final Settings settings;
  private final Set<String> reconnected = new HashSet<>();
  /** Generations whose rollout start / end / stop was recorded by this node, by propagation. */
  private final Map<String, Long> started = new HashMap<>();
  private final Map<String, Long> finished = new HashMap<>();
  private final Map<String, Long> stopped = new HashMap<>();
  private final List<MessageConsumer<?>> consumers = new ArrayList<>();
  private final List<Long> timers = new ArrayList<>();
  private boolean running;
  private boolean again;
  private boolean driftDue;
  private boolean followUp;
  private volatile boolean leading;
  private volatile boolean abandoned;
  private boolean ticking;

  public PropagationController(Vertx vertx, PropagationStore store, ClusterRegistry clusters, PolicyService policies,
                               Kube kube, DriftSource drift, Lease lease, Presence presence, HubMetrics metrics,
                               Notifier notifier, Settings settings) {
    this.vertx = vertx;
    this.store = store;
    this.clusters = clusters;
    this.policies = policies;
    this.kube = kube;
    this.drift = drift;
    this.lease = lease;
    this.presence = presence;
    this.metrics = metrics;
    this.notifier = notifier;
    this.settings = settings;
    metrics.propagationLeader(() -> leading);
  }

  /** Starts following changes and competing for the lease; called on the controller's own context. */
  public Future<Void> start() {
    consumers.add(vertx.eventBus().consumer(CHANGED, m -> kick()));
    consumers.add(vertx.eventBus().consumer(ClusterRegistry.CHANGED, m -> kick()));
    consumers.add(vertx.eventBus().<JsonObject>consumer(Addresses.SESSION_STARTED, m -> {
      String cluster = m.body().getString("cluster");
      if (cluster != null) {
        kube.forget(cluster);
        // Only the controller remembers: a node that takes over later must not take old connections for new ones.
        if (lease.current() != null) {
          reconnected.add(cluster);
          kick();
        }
      }
    }));
    timers.add(vertx.setPeriodic(Math.max(100, settings.leaseTtlMillis() / 3), t -> tickLease()));
    timers.add(vertx.setPeriodic(settings.resyncMillis(), t -> kick()));
    timers.add(vertx.setPeriodic(settings.driftMillis(), t -> {
      driftDue = true;
      kick();
    }));
    tickLease();
    return Future.all(consumers.stream().map(MessageConsumer::completion).toList()).mapEmpty();
  }

  public Future<Void> stop() {
    timers.forEach(vertx::cancelTimer);
    consumers.forEach(MessageConsumer::unregister);
    leading = false;
    return abandoned ? Future.succeededFuture() : lease.release().recover(e -> Future.succeededFuture());
  }

  /** Stops without giving the lease up, as a killed process would (tests of node loss): it must expire. */
  public void abandon() {
    abandoned = true;
  }

  /** Whether this node is the controller now. */
  public boolean leading() {
    return lease.current() != null;
  }

  private void tickLease() {
    if (ticking) {
      return; // the database is slow: one renewal at a time, or the second would read as a lost lease
    }
    ticking = true;
    boolean was = leading;
    lease.tick().onComplete(ar -> {
      ticking = false;
      leading = lease.current() != null;
      if (leading && !was) {
        LOG.info("this hub node is now the propagation controller (epoch {})", lease.current().epoch());
        kick();
      } else if (!leading && was) {
        LOG.info("this hub node is no longer the propagation controller");
      }
      if (ar.failed()) {
        LOG.warn("cannot renew or take the propagation controller lease: {}", ar.cause().getMessage());
      }
    });
  }

  /** Asks for a pass; coalesced with one that is running. */
  private void kick() {
    if (lease.current() == null) {
      return;
    }
    if (running) {
      again = true;
      return;
    }
    running = true;
    again = false;
    followUp = false;
    pass().onComplete(ar -> {
      running = false;
      if (ar.failed()) {
        LOG.warn("propagation pass failed: {}", ar.cause().getMessage());
      }
      if (again) {
        kick();
      } else if (followUp) {
        vertx.setTimer(FOLLOW_UP_MILLIS, t -> kick());
      }
    });
  }

  private Future<Void> pass() {
    Lease.Fence fence = lease.current();
    if (fence == null) {
      return Future.succeededFuture();
    }
    boolean checkDrift = driftDue;
    driftDue = false;
    Set<String> reconnects = Set.copyOf(reconnected);
    reconnected.clear();
    return presence.all().compose(entries -> {
      long now = System.currentTimeMillis();
      Set<String> connected = new HashSet<>();
      entries.forEach((cluster, entry) -> {
        if (presence.live(entry, settings.pingTimeoutMillis(), now)) {
          connected.add(cluster);
        }
      });
      return store.list().map(all -> Map.entry(connected, all));
    }).compose(found -> {
      Set<String> connected = found.getKey();
      List<PropagationStore.Stored> all = found.getValue();
      // A few propagations at a time: one whose cluster answers slowly does not hold every other one up.
      Future<Void> chain = Future.succeededFuture();
      for (int from = 0; from < all.size(); from += PARALLEL) {
        List<PropagationStore.Stored> chunk = all.subList(from, Math.min(all.size(), from + PARALLEL));
        chain = chain.compose(v -> {
          List<Future<Void>> running = new ArrayList<>();
          for (PropagationStore.Stored stored : chunk) {
            running.add(reconcile(fence, stored, reconnects, checkDrift, connected).recover(e -> {
              if (e instanceof PropagationStore.FencedOut) {
                return Future.failedFuture(e);
              }
              LOG.warn("propagation {}: {}", stored.name(), e.getMessage());
              return Future.succeededFuture();
            }));
          }
          return Future.join(running).mapEmpty();
        });
      }
      return chain;
    });
  }

  /** The clusters a propagation targets now: enabled, matching the placement, at most maxClusters (stable). */
  static List<ClusterRecord> targets(Propagation p, List<ClusterRecord> all, Set<String> current) {
    List<ClusterRecord> matching = all.stream().filter(ClusterRecord::enabled)
        .filter(c -> p.placement().matches(c.name(), c.labels()))
        .sorted(Comparator.comparing((ClusterRecord c) -> !current.contains(c.name())).thenComparing(ClusterRecord::name))
        .toList();
    if (p.placement().maxClusters() > 0 && matching.size() > p.placement().maxClusters()) {
      matching = matching.subList(0, p.placement().maxClusters());
    }
    return matching.stream().sorted(Comparator.comparing(ClusterRecord::name)).toList();
  }

  /**
   * One propagation, one pass. Clusters without a live agent session are not asked anything (a
   * request would wait for the tunnel's timeout and hold the pass up): they are marked and caught
   * up when their agent connects.
   */
  private Future<Void> reconcile(Lease.Fence fence, PropagationStore.Stored stored, Set<String> reconnects,
                                 boolean checkDrift, Set<String> connected) {
    if (lease.current() == null) {
      return Future.failedFuture(new PropagationStore.FencedOut());
    }
    return store.status(stored.name()).compose(rows -> {
      Map<String, PropagationStore.ClusterStatus> byCluster = new HashMap<>();
      rows.forEach(r -> byCluster.put(r.cluster(), r));
      if (stored.deleting()) {
        return teardown(fence, stored, rows, connected);
      }
      Propagation p = Propagation.fromManifest(stored.manifest());
      long generation = stored.generation();
      Set<String> current = rows.stream().filter(r -> !REMOVING.equals(r.state()))
          .map(PropagationStore.ClusterStatus::cluster).collect(Collectors.toSet());
      List<ClusterRecord> targets = targets(p, clusters.list(), current);
      Set<String> targetNames = targets.stream().map(ClusterRecord::name).collect(Collectors.toSet());
      List<Future<Void>> work = new ArrayList<>();

      for (PropagationStore.ClusterStatus row : rows) {
        if (!targetNames.contains(row.cluster())) {
          work.add(remove(fence, stored.name(), p.orphan(), row, connected));
        }
      }

      boolean batched = p.rollout().batchSize(targets.size()) != Integer.MAX_VALUE;
      boolean failedNow = targets.stream().anyMatch(c -> failedAt(byCluster.get(c.name()), generation));
      boolean halted = batched && failedNow;
      List<ClusterRecord> candidates = new ArrayList<>();
      List<ClusterRecord> reapplies = new ArrayList<>();
      int inFlight = 0;
      for (ClusterRecord c : targets) {
        PropagationStore.ClusterStatus row = byCluster.get(c.name());
        boolean upToDate = row != null && row.generation() == generation
            && (APPLIED.equals(row.state()) || DRIFTED.equals(row.state()));
        if (upToDate && !row.healthy()) {
          inFlight++;
        }
        if (upToDate && (reconnects.contains(c.name()) || row.reapply())) {
          reapplies.add(c);
        } else if (!upToDate && !failedAt(row, generation)) {
          candidates.add(c);
        } else if (failedAt(row, generation) && reconnects.contains(c.name()) && !batched) {
          candidates.add(c);
        }
      }
      // Clusters whose agent is away go last and do not hold a batch's places: they are only marked.
      candidates.sort(Comparator.comparing((ClusterRecord c) -> !connected.contains(c.name())));
      long reachable = candidates.stream().filter(c -> connected.contains(c.name())).count();
      List<ClusterRecord> now = new ArrayList<>(reapplies);
      if (!p.rollout().paused() && !halted) {
        int room = batched ? Math.max(0, p.rollout().batchSize(targets.size()) - inFlight) : Integer.MAX_VALUE;
        now.addAll(candidates.subList(0, (int) Math.min(room, reachable)));
        now.addAll(candidates.subList((int) reachable, candidates.size()));
      } else if (p.rollout().paused()) {
        now.clear();
      }
      if (!candidates.isEmpty() || inFlight > 0) {
        followUp = true;
      }
      if (halted && !Long.valueOf(generation).equals(stopped.get(stored.name()))) {
        stopped.put(stored.name(), generation);
        String failed = targets.stream().filter(c -> failedAt(byCluster.get(c.name()), generation))
            .map(c -> c.name() + ": " + byCluster.get(c.name()).message()).collect(Collectors.joining("; "));
        work.add(once(fence, stored.name(), "RolloutStopped", "the rollout of generation " + generation
            + " stopped at a failed cluster: " + failed, generation));
      }
      // Targets not yet known: pending, so that the status lists them.
      for (ClusterRecord c : targets) {
        if (!byCluster.containsKey(c.name()) && !now.contains(c)) {
          work.add(store.writeStatus(fence, new PropagationStore.ClusterStatus(stored.name(), c.name(), PENDING,
              p.rollout().paused() ? "the rollout is paused" : halted ? "the rollout stopped at a failed cluster"
                  : "waiting for its batch", 0, false, null, null,
              false, null)));
        }
      }
      if (!now.isEmpty() && !candidates.isEmpty()
          && !Long.valueOf(generation).equals(started.get(stored.name()))) {
        started.put(stored.name(), generation);
        work.add(once(fence, stored.name(), "RolloutStarted", "generation " + generation + " to "
            + targets.size() + " cluster(s)" + (batched ? ", " + p.rollout().batchSize(targets.size())
            + " at a time" : ""), generation));
      }
      for (ClusterRecord c : now) {
        if (!connected.contains(c.name())) {
          PropagationStore.ClusterStatus row = byCluster.get(c.name());
          if (row == null || !PENDING.equals(row.state()) || !NOT_CONNECTED.equals(row.message())) {
            work.add(store.writeStatus(fence, new PropagationStore.ClusterStatus(stored.name(), c.name(), PENDING,
                NOT_CONNECTED, row == null ? 0 : row.generation(), false, null, row == null ? null : row.objects(),
                row != null && row.generation() == generation, null)));
          }
          continue;
        }
        work.add(applyTo(fence, stored, p, c, byCluster.get(c.name()), reapplies.contains(c) ? "reconnected" : null));
      }
      for (ClusterRecord c : targets) {
        PropagationStore.ClusterStatus row = byCluster.get(c.name());
        if (now.contains(c) || row == null || row.generation() != generation || !connected.contains(c.name())) {
          continue;
        }
        if (APPLIED.equals(row.state()) && !row.healthy()) {
          work.add(checkHealth(fence, stored, p, c, row));
        } else if (checkDrift && p.drift() != Propagation.DriftMode.IGNORE
            && (APPLIED.equals(row.state()) || DRIFTED.equals(row.state()))) {
          work.add(checkDrift(fence, stored, p, c, row));
        }
      }
      return Future.join(work).transform(ar -> {
        for (Future<Void> f : work) {
          if (f.failed() && f.cause() instanceof PropagationStore.FencedOut) {
            return Future.failedFuture(f.cause());
          }
        }
        return finishedCheck(fence, stored, targets);
      });
    });
  }

  private static boolean failedAt(PropagationStore.ClusterStatus row, long generation) {
    return row != null && row.generation() == generation && FAILED.equals(row.state());
  }

  /** Records the end of a generation's rollout once every target is applied and healthy. */
  private Future<Void> finishedCheck(Lease.Fence fence, PropagationStore.Stored stored, List<ClusterRecord> targets) {
    if (targets.isEmpty() || Long.valueOf(stored.generation()).equals(finished.get(stored.name()))) {
      return Future.succeededFuture();
    }
    return store.status(stored.name()).compose(rows -> {
      Map<String, PropagationStore.ClusterStatus> byCluster = new HashMap<>();
      rows.forEach(r -> byCluster.put(r.cluster(), r));
      boolean done = targets.stream().allMatch(c -> {
        PropagationStore.ClusterStatus r = byCluster.get(c.name());
        return r != null && r.generation() == stored.generation() && APPLIED.equals(r.state()) && r.healthy();
      });
      if (!done) {
        return Future.succeededFuture();
      }
      finished.put(stored.name(), stored.generation());
      return once(fence, stored.name(), "RolloutSucceeded", "generation " + stored.generation()
          + " is applied and healthy on " + targets.size() + " cluster(s)", stored.generation());
    });
  }

  // --- applying ---

  /** A cluster's apply that cannot go on; the message is the cluster's, or the policy's. */
  private static final class ApplyFailed extends RuntimeException {
    ApplyFailed(String message) {
      super(message, null, false, false);
    }
  }

  private Future<Void> applyTo(Lease.Fence fence, PropagationStore.Stored stored, Propagation p, ClusterRecord cluster,
                               PropagationStore.ClusterStatus previous, String why) {
    long startedAt = System.nanoTime();
    String name = stored.name();
    long generation = stored.generation();
    JsonArray previousObjects = previous == null ? null : previous.objects();
    return store.writeStatus(fence, new PropagationStore.ClusterStatus(name, cluster.name(), APPLYING, why, generation,
            false, null, previousObjects, false, null))
        .compose(v -> {
          List<JsonObject> rendered = Renderer.render(p, cluster.name(), cluster.labels());
          String denial = admission(stored, cluster, rendered, previousObjects);
          if (denial != null) {
            return Future.failedFuture(new ApplyFailed(denial));
          }
          return applyAll(cluster.name(), p, rendered).map(objects -> rendered);
        })
        .transform(ar -> {
          if (ar.failed() && ar.cause() instanceof PropagationStore.FencedOut) {
            return Future.failedFuture(ar.cause());
          }
          if (ar.succeeded()) {
            List<JsonObject> rendered = ar.result();
            boolean workloads = rendered.stream().anyMatch(Manifests::workload);
            metrics.propagationApply("applied", System.nanoTime() - startedAt);
            return store.writeStatus(fence, new PropagationStore.ClusterStatus(name, cluster.name(), APPLIED, null,
                    generation, !workloads, null, refs(rendered), false, null))
                .compose(x -> event(fence, name, cluster.name(), "Applied", "generation " + generation + ": "
                    + rendered.size() + " object(s)" + (why == null ? "" : " (" + why + ")")))
                .compose(x -> workloads ? checkHealth(fence, stored, p, cluster, null) : Future.succeededFuture());
          }
          Throwable e = ar.cause();
          if (Kube.unreachable(e)) {
            metrics.propagationApply("unreachable", System.nanoTime() - startedAt);
            return store.writeStatus(fence, new PropagationStore.ClusterStatus(name, cluster.name(), PENDING,
                "cluster unreachable, applied when it is back: " + Texts.forLog(e.getMessage()), generation, false,
                null, previousObjects, false, null));
          }
          metrics.propagationApply("failed", System.nanoTime() - startedAt);
          String message = e instanceof ApplyFailed || e instanceof KmcException ? e.getMessage()
              : "internal error: " + e;
          return store.writeStatus(fence, new PropagationStore.ClusterStatus(name, cluster.name(), FAILED, message,
                  generation, false, null, previousObjects, false, null))
              .compose(x -> event(fence, name, cluster.name(), "Failed", message));
        });
  }

  /** The policies' verdict on every rendered object: null if none is denied, else why (every denial). */
  private String admission(PropagationStore.Stored stored, ClusterRecord cluster, List<JsonObject> rendered,
                           JsonArray previous) {
    List<PolicyEngine.Compiled> current = policies.current();
    if (current.isEmpty()) {
      return null;
    }
    Set<String> existing = new HashSet<>();
    if (previous != null) {
      previous.forEach(o -> existing.add(Manifests.key((JsonObject) o)));
    }
    List<String> denials = new ArrayList<>();
    for (JsonObject object : rendered) {
      String apiVersion = Manifests.apiVersion(object);
      int slash = apiVersion.indexOf('/');
      PolicyEngine.Request request = new PolicyEngine.Request(
          existing.contains(Manifests.key(object)) ? "UPDATE" : "CREATE", cluster.name(), cluster.labels(),
          Manifests.kind(object), slash < 0 ? "" : apiVersion.substring(0, slash),
          slash < 0 ? apiVersion : apiVersion.substring(slash + 1), null, null, Manifests.namespace(object),
          Manifests.name(object), stored.updatedBy() == null ? "kmc:propagation" : stored.updatedBy(), List.of(),
          false, object, null);
      PolicyEngine.Verdict verdict = policies.engine().evaluate(current, request);
      for (PolicyEngine.Violation v : verdict.violations()) {
        metrics.policyViolation(v.policy(), v.action().name().toLowerCase(Locale.ROOT), cluster.name());
      }
      for (PolicyEngine.Violation v : verdict.of(Policy.Action.DENY)) {
        denials.add(Manifests.kind(object) + " " + Manifests.name(object) + " was refused by kmc policy ["
            + v.policy() + "] " + v.message());
      }
    }
    return denials.isEmpty() ? null : String.join("; ", denials);
  }

  /** Applies the objects one after the other, in dependency order; the first refusal stops it. */
  private Future<Void> applyAll(String cluster, Propagation p, List<JsonObject> rendered) {
    Set<String> definedGroups = crdGroups(rendered);
    Future<Void> chain = Future.succeededFuture();
    for (JsonObject object : rendered) {
      chain = chain.compose(v -> {
        String group = group(Manifests.apiVersion(object));
        // A custom resource defined in this propagation may take a moment to be served after its definition.
        return kube.resolveEventually(cluster, object, definedGroups.contains(group) ? 20 : 1);
      }).compose(resource -> {
        if (resource == null) {
          return Future.failedFuture(new ApplyFailed(Manifests.kind(object) + " " + Manifests.name(object)
              + ": cluster " + cluster + " does not serve kind " + Manifests.kind(object) + " in "
              + Manifests.apiVersion(object)));
        }
        return kube.apply(cluster, resource, object, p.force(), false).compose(answer -> answer.status() < 300
            ? Future.<Void>succeededFuture()
            : Future.failedFuture(new ApplyFailed(Manifests.kind(object) + " " + Manifests.name(object) + ": "
                + answer.message())));
      });
    }
    return chain;
  }

  static Set<String> crdGroups(List<JsonObject> objects) {
    Set<String> groups = new HashSet<>();
    for (JsonObject o : objects) {
      if (Manifests.rank(o) == 1 && o.getValue("spec") instanceof JsonObject spec
          && spec.getValue("group") instanceof String g) {
        groups.add(g);
      }
    }
    return groups;
  }

  static String group(String apiVersion) {
    int slash = apiVersion.indexOf('/');
    return slash < 0 ? "" : apiVersion.substring(0, slash);
  }

  /** What is needed to find an applied object again (to remove it): apiVersion, kind, namespace, name. */
  static JsonArray refs(List<JsonObject> objects) {
    JsonArray refs = new JsonArray();
    for (JsonObject o : objects) {
      JsonObject metadata = new JsonObject().put("name", Manifests.name(o));
      if (Manifests.namespace(o) != null) {
        metadata.put("namespace", Manifests.namespace(o));
      }
      refs.add(new JsonObject().put("apiVersion", Manifests.apiVersion(o)).put("kind", Manifests.kind(o))
          .put("metadata", metadata));
    }
    return refs;
  }

  // --- health and drift ---

  private Future<Void> checkHealth(Lease.Fence fence, PropagationStore.Stored stored, Propagation p,
                                   ClusterRecord cluster, PropagationStore.ClusterStatus row) {
    List<JsonObject> workloads = Renderer.render(p, cluster.name(), cluster.labels()).stream()
        .filter(Manifests::workload).toList();
    JsonArray reports = new JsonArray();
    Future<Void> chain = Future.succeededFuture();
    for (JsonObject w : workloads) {
      chain = chain.compose(v -> kube.resolve(cluster.name(), w)).compose(resource -> resource == null
          ? Future.succeededFuture()
          : kube.get(cluster.name(), resource, w).map(answer -> {
            if (answer.status() == 200) {
              reports.add(ObjectDiff.health(answer.json()));
            } else {
              reports.add(new JsonObject().put("kind", Manifests.kind(w)).put("name", Manifests.name(w))
                  .put("rolloutComplete", false).put("error", answer.message()));
            }
            return null;
          }));
    }
    return chain.compose(v -> {
      boolean healthy = reports.stream().allMatch(r -> ((JsonObject) r).getBoolean("rolloutComplete", false));
      if (!healthy) {
        followUp = true;
      }
      long deadline = p.rollout().progressDeadlineSeconds() * 1000L;
      if (!healthy && row != null && row.appliedAt() != null
          && System.currentTimeMillis() - row.appliedAt().toInstant().toEpochMilli() > deadline) {
        String waiting = reports.stream().map(JsonObject.class::cast)
            .filter(r -> !r.getBoolean("rolloutComplete", false))
            .map(r -> r.getString("kind") + " " + r.getString("name") + " " + r.getInteger("availableReplicas", 0)
                + "/" + r.getInteger("replicas", 0) + " available")
            .collect(Collectors.joining(", "));
        String message = "not healthy " + p.rollout().progressDeadlineSeconds()
            + "s after it was applied (spec.rollout.progressDeadlineSeconds): " + waiting;
        return store.writeStatus(fence, new PropagationStore.ClusterStatus(stored.name(), cluster.name(), FAILED,
                message, stored.generation(), false, new JsonObject().put("workloads", reports), row.objects(), false,
                null))
            .compose(x -> event(fence, stored.name(), cluster.name(), "Failed", message));
      }
      return store.writeStatus(fence, new PropagationStore.ClusterStatus(stored.name(), cluster.name(), APPLIED,
          null, stored.generation(), healthy, new JsonObject().put("workloads", reports),
          refs(Renderer.render(p, cluster.name(), cluster.labels())), false, null));
    }).recover(e -> e instanceof PropagationStore.FencedOut ? Future.failedFuture(e) : Future.succeededFuture());
  }

  private Future<Void> checkDrift(Lease.Fence fence, PropagationStore.Stored stored, Propagation p,
                                  ClusterRecord cluster, PropagationStore.ClusterStatus row) {
    List<JsonObject> rendered = Renderer.render(p, cluster.name(), cluster.labels());
    return drift.drifted(cluster.name(), rendered).compose(found -> {
      if (found.isEmpty()) {
        return DRIFTED.equals(row.state())
            ? store.writeStatus(fence, row.with(APPLIED, null)).compose(v -> event(fence, stored.name(),
                cluster.name(), "DriftResolved", "the objects match what kmc applied again"))
            : Future.succeededFuture();
      }
      String what = String.join("; ", found);
      if (p.drift() == Propagation.DriftMode.REPAIR) {
        return event(fence, stored.name(), cluster.name(), "DriftDetected", what)
            .compose(v -> applyTo(fence, stored, p.forcing(), cluster, row, "drift repaired"))
            .compose(v -> event(fence, stored.name(), cluster.name(), "DriftRepaired", what));
      }
      if (DRIFTED.equals(row.state()) && what.equals(row.message())) {
        return Future.succeededFuture();
      }
      return store.writeStatus(fence, row.with(DRIFTED, what))
          .compose(v -> event(fence, stored.name(), cluster.name(), "DriftDetected", what));
    }).recover(e -> e instanceof PropagationStore.FencedOut ? Future.failedFuture(e) : Future.succeededFuture());
  }

  // --- removing ---

  /** A cluster no longer targeted: its objects are deleted (or left, orphaned), then its status. */
  private Future<Void> remove(Lease.Fence fence, String name, boolean orphan, PropagationStore.ClusterStatus row,
                              Set<String> connected) {
    if (orphan || row.objects() == null || row.objects().isEmpty()) {
      return store.deleteStatus(fence, name, row.cluster())
          .compose(v -> event(fence, name, row.cluster(), orphan ? "Orphaned" : "Removed",
              "cluster " + row.cluster() + " no longer matches the placement"
                  + (orphan ? "; its objects were left in place" : "")));
    }
    ClusterRecord record = clusters.list().stream().filter(c -> c.name().equals(row.cluster())).findFirst()
        .orElse(null);
    if (record == null || !record.enabled()) {
      // Unregistered or disabled: nothing can reach it, and waiting would hold a deletion up for good.
      return store.deleteStatus(fence, name, row.cluster()).compose(v -> event(fence, name, row.cluster(),
          "Orphaned", "cluster " + row.cluster() + (record == null ? " was unregistered" : " is disabled")
              + "; its objects, if it still has them, were left in place"));
    }
    if (!connected.contains(row.cluster())) {
      String waiting = "removing: cluster not connected; its objects are deleted when its agent connects";
      return REMOVING.equals(row.state()) && waiting.equals(row.message()) ? Future.succeededFuture()
          : store.writeStatus(fence, row.with(REMOVING, waiting));
    }
    return deleteObjects(row.cluster(), row.objects())
        .compose(v -> store.deleteStatus(fence, name, row.cluster()))
        .compose(v -> event(fence, name, row.cluster(), "Removed", "cluster " + row.cluster()
            + " no longer matches the placement; " + row.objects().size() + " object(s) deleted"))
        .recover(e -> e instanceof PropagationStore.FencedOut ? Future.failedFuture(e)
            : store.writeStatus(fence, row.with(REMOVING, "removing: " + Texts.forLog(e.getMessage()))));
  }

  /** Deletes the objects in reverse dependency order; one already gone is fine. */
  private Future<Void> deleteObjects(String cluster, JsonArray objects) {
    List<JsonObject> listed = new ArrayList<>();
    objects.forEach(o -> listed.add((JsonObject) o));
    List<JsonObject> ordered = new ArrayList<>(Manifests.ordered(listed));
    java.util.Collections.reverse(ordered);
    Future<Void> chain = Future.succeededFuture();
    for (JsonObject object : ordered) {
      chain = chain.compose(v -> kube.resolve(cluster, object)).compose(resource -> resource == null
          ? Future.succeededFuture()
          : kube.delete(cluster, resource, object).compose(answer -> answer.status() < 300 || answer.status() == 404
              ? Future.<Void>succeededFuture()
              : Future.failedFuture(KmcException.badGateway(Manifests.kind(object) + " " + Manifests.name(object)
                  + ": " + answer.message()))));
    }
    return chain;
  }

  /** A propagation being deleted: every cluster's objects deleted (or orphaned), then the propagation itself. */
  private Future<Void> teardown(Lease.Fence fence, PropagationStore.Stored stored,
                                List<PropagationStore.ClusterStatus> rows, Set<String> connected) {
    List<Future<Void>> work = new ArrayList<>();
    for (PropagationStore.ClusterStatus row : rows) {
      work.add(remove(fence, stored.name(), stored.orphan(), row, connected));
    }
    return Future.join(work).transform(ar -> store.status(stored.name())).compose(left -> {
      if (!left.isEmpty()) {
        followUp = true;
        return Future.succeededFuture();
      }
      return store.deleteFinally(fence, stored.name())
          .compose(v -> event(fence, stored.name(), null, "Deleted", stored.orphan()
              ? "deleted; its objects were left on the clusters" : "deleted with its objects"));
    });
  }

  private Future<Void> event(Lease.Fence fence, String name, String cluster, String type, String message) {
    return record(fence, name, cluster, type, message, 0, false);
  }

  /** Once per generation: RolloutStarted, RolloutStopped, RolloutSucceeded (also across a change of controller). */
  private Future<Void> once(Lease.Fence fence, String name, String type, String message, long generation) {
    return record(fence, name, null, type, message, generation, true);
  }

  /** The events notifications are sent for: failures, a generation's success, drift (found by the controller only). */
  private void notify(String name, String cluster, String type, String message, long generation) {
    EventType event = switch (type) {
      case "Failed" -> EventType.PROPAGATION_FAILED;
      case "RolloutSucceeded" -> EventType.PROPAGATION_SUCCEEDED;
      case "DriftDetected" -> EventType.PROPAGATION_DRIFT;
      default -> null;
    };
    if (event != null) {
      notifier.emit(Event.of(event, cluster, "propagation/" + name, "propagation " + name
          + (cluster == null ? "" : " on " + cluster) + ": " + message, new JsonObject().put("propagation", name)
          .put("event", type).put("generation", generation == 0 ? null : generation)));
    }
  }

  private Future<Void> record(Lease.Fence fence, String name, String cluster, String type, String message,
                              long generation, boolean once) {
    return store.event(fence, name, cluster, type, message, generation, once).map(recorded -> {
      if (recorded) {
        metrics.propagationEvent(type);
        LOG.info("propagation {}{}: {} {}", name, cluster == null ? "" : " on " + cluster, type, message);
        notify(name, cluster, type, message, generation);
      }
      return null;
    });
  }
}
