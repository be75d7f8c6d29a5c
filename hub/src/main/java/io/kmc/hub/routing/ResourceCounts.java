package io.kmc.hub.routing;

import io.kmc.common.protocol.ActingUser;
import io.kmc.hub.metrics.HubMetrics;
import io.kmc.hub.routing.ClusterRouter;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * {@code kmc_cluster_resources{cluster, kind}}: how many objects of a few common kinds each member
 * cluster has. The node holding a cluster's agent asks for one item per kind now and then; the
 * kube-apiserver answers with the count of the rest ({@code remainingItemCount}), so counting costs
 * the cluster almost nothing, whatever its size.
 */
public final class ResourceCounts {

  private static final Logger LOG = LoggerFactory.getLogger(ResourceCounts.class);
  private static final ActingUser HUB = new ActingUser("system:kmc-hub", List.of());
  /** Kind → collection path across all namespaces. */
  private static final Map<String, String> KINDS = Map.of(
      "namespaces", "/api/v1/namespaces",
      "nodes", "/api/v1/nodes",
      "pods", "/api/v1/pods",
      "deployments", "/apis/apps/v1/deployments",
      "services", "/api/v1/services");

  /** The answer to a count is one small body: nothing streams. */
  private static final ClusterRouter.StreamHandler IGNORE = new ClusterRouter.StreamHandler() {
    @Override
    public void data(Buffer data) {
    }

    @Override
    public void end(String error) {
    }
  };

  private final Vertx vertx;
  private final ClusterRouter router;
  private final HubMetrics metrics;
  private final Supplier<Set<String>> localClusters;
  private long timer = -1;

  /** @param localClusters the clusters whose agent (or direct connection) this node holds */
  public ResourceCounts(Vertx vertx, ClusterRouter router, HubMetrics metrics, Supplier<Set<String>> localClusters) {
    this.vertx = vertx;
    this.router = router;
    this.metrics = metrics;
    this.localClusters = localClusters;
  }

  public void start(long intervalMillis) {
    timer = vertx.setPeriodic(Math.min(5_000, intervalMillis), intervalMillis, t -> refresh());
  }

  public void stop() {
    vertx.cancelTimer(timer);
  }

  /** Counts every kind in every local cluster; for tests, and by the timer. */
  public Future<Void> refresh() {
    List<Future<Void>> all = new ArrayList<>();
    Set<String> clusters = localClusters.get();
    for (String cluster : clusters) {
      KINDS.forEach((kind, path) -> all.add(count(cluster, kind, path)));
    }
    metrics.keepResourceCounts(clusters);
    return Future.join(all).mapEmpty();
  }

  private Future<Void> count(String cluster, String kind, String path) {
    ClusterRouter.Outgoing outgoing = new ClusterRouter.Outgoing("GET", path, "limit=1",
        Map.of("Accept", List.of("application/json")), null, HUB, false);
    return router.open(cluster, outgoing, IGNORE).compose(exchange -> {
      if (exchange.head().status() != 200 || exchange.head().more()) {
        exchange.cancel("only the count was wanted");
        return Future.failedFuture("HTTP " + exchange.head().status());
      }
      JsonObject list = Buffer.buffer(exchange.head().body()).toJsonObject();
      long count = list.getJsonArray("items", new JsonArray()).size()
          + list.getJsonObject("metadata", new JsonObject()).getLong("remainingItemCount", 0L);
      metrics.resourceCount(cluster, kind, count);
      return Future.<Void>succeededFuture();
    }).onFailure(e -> LOG.debug("cannot count {} of cluster {}: {}", kind, cluster, e.getMessage()))
        .recover(e -> Future.succeededFuture());
  }
}
