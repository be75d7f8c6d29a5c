package io.kmc.hub.routing;

import io.kmc.hub.metrics.HubMetrics;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * {@code kmc_cluster_resources{cluster, kind}}: how many objects of each indexed kind each member
 * cluster has, read from the fleet index that the cluster's agent feeds (one grouped query, nothing
 * asked of the cluster). Each node reports the clusters whose agent it holds, so that a cluster's
 * series comes from one node only.
 */
public final class ResourceCounts {

  private static final Logger LOG = LoggerFactory.getLogger(ResourceCounts.class);

  private final Vertx vertx;
  private final HubMetrics metrics;
  private final Supplier<Set<String>> localClusters;
  private final Function<Set<String>, Future<Map<String, Map<String, Long>>>> counter;
  private long timer = -1;

  /**
   * @param localClusters the clusters whose agent this node holds
   * @param counter       objects per cluster and kind ({@code deployments.apps}, {@code pods}) for the given clusters
   */
  public ResourceCounts(Vertx vertx, HubMetrics metrics, Supplier<Set<String>> localClusters,
                        Function<Set<String>, Future<Map<String, Map<String, Long>>>> counter) {
    this.vertx = vertx;
    this.metrics = metrics;
    this.localClusters = localClusters;
    this.counter = counter;
  }

  public void start(long intervalMillis) {
    timer = vertx.setPeriodic(Math.min(5_000, intervalMillis), intervalMillis, t -> refresh());
  }

  public void stop() {
    vertx.cancelTimer(timer);
  }

  /** Reads the counts of every local cluster; for tests, and by the timer. */
  public Future<Void> refresh() {
    Set<String> clusters = localClusters.get();
    metrics.keepResourceCounts(clusters);
    if (clusters.isEmpty()) {
      return Future.succeededFuture();
    }
    return counter.apply(clusters).onSuccess(counts -> counts.forEach((cluster, kinds) -> {
      if (clusters.contains(cluster)) {
        kinds.forEach((kind, count) -> metrics.resourceCount(cluster, kind, count));
      }
    })).onFailure(e -> LOG.debug("cannot count the indexed objects: {}", e.getMessage()))
        .<Void>mapEmpty().recover(e -> Future.succeededFuture());
  }
}
