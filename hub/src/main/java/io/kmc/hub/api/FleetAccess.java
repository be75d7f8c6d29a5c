package io.kmc.hub.api;

import io.kmc.hub.auth.Principal;
import io.kmc.hub.index.FleetIndex;
import io.kmc.hub.index.FleetQuery;
import io.kmc.hub.index.Selector;
import io.kmc.hub.rbac.Authorizer;
import io.kmc.hub.routing.Presence;
import io.kmc.hub.store.ClusterRecord;
import io.kmc.hub.store.ClusterRegistry;
import io.vertx.core.Future;

import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * What of the fleet index a caller may see, computed from RBAC before the query runs (so that the
 * query itself leaves the rest out, and pages and counts are right), and how current each cluster's
 * part of the index is.
 */
final class FleetAccess {

  /** The kinds a caller may see somewhere, and where exactly. */
  record Visible(List<FleetIndex.Kind> kinds, FleetQuery.Visibility visibility) {
  }

  /** Whether a cluster's agent is connected now, and when its index was last known current. */
  record ClusterState(boolean live, OffsetDateTime lastSync) {
  }

  private final FleetIndex index;
  private final Authorizer authorizer;
  private final ClusterRegistry clusters;
  private final Presence presence;
  private final long pingTimeoutMillis;

  FleetAccess(FleetIndex index, Authorizer authorizer, ClusterRegistry clusters, Presence presence,
              long pingTimeoutMillis) {
    this.index = index;
    this.authorizer = authorizer;
    this.clusters = clusters;
    this.presence = presence;
    this.pingTimeoutMillis = pingTimeoutMillis;
  }

  FleetIndex index() {
    return index;
  }

  /**
   * @param clusterNames    only these clusters (null: any)
   * @param clusterSelector only clusters whose labels it selects
   * @param kinds           only these kinds
   * @param verb            what the caller does with them (list, get)
   */
  Future<Visible> visible(Principal principal, Set<String> clusterNames, Selector clusterSelector,
                          Predicate<FleetIndex.Kind> kinds, String verb) {
    Map<String, ClusterRecord> registered = new HashMap<>();
    for (ClusterRecord cluster : clusters.list()) {
      if ((clusterNames == null || clusterNames.contains(cluster.name())) && clusterSelector.matches(cluster.labels())) {
        registered.put(cluster.name(), cluster);
      }
    }
    return index.kinds().map(all -> {
      List<FleetIndex.Kind> seen = new ArrayList<>();
      Set<String> everywhere = new HashSet<>();
      Set<String> namespaces = new HashSet<>();
      for (FleetIndex.Kind kind : all) {
        if (!registered.containsKey(kind.cluster()) || !kinds.test(kind)) {
          continue;
        }
        Authorizer.Scope scope = authorizer.scope(principal, kind.cluster(), kind.resource(), verb);
        if (scope.all()) {
          everywhere.add(kind.cluster() + "|" + kind.resource());
          seen.add(kind);
        } else if (!scope.none() && kind.namespaced()) {
          scope.namespaces().forEach(ns -> namespaces.add(kind.cluster() + "|" + kind.resource() + "|" + ns));
          seen.add(kind);
        }
      }
      return new Visible(seen, new FleetQuery.Visibility(everywhere, namespaces));
    });
  }

  /** The state of every registered cluster's part of the index. */
  Future<Map<String, ClusterState>> states() {
    Future<Map<String, Presence.Entry>> entries = presence.all();
    Future<Map<String, OffsetDateTime>> syncs = index.lastSyncs();
    return Future.all(entries, syncs).map(done -> {
      long now = System.currentTimeMillis();
      Map<String, ClusterState> states = new HashMap<>();
      for (ClusterRecord cluster : clusters.list()) {
        states.put(cluster.name(), new ClusterState(
            presence.live(entries.result().get(cluster.name()), pingTimeoutMillis, now),
            syncs.result().get(cluster.name())));
      }
      return states;
    });
  }
}
