package io.kmc.hub.api;

import io.vertx.ext.web.RoutingContext;

/**
 * Where the typed API's lists come from: the one seam between listing and its source. Today the
 * member cluster answers them through the tunnel ({@link TunnelLists}); the multi-cluster index
 * (issue 12, item 2) is to answer them instead, with the same query and the same answer: a Kubernetes
 * list ({@code kind}, {@code metadata.continue}, {@code items}).
 */
public interface TypedLists {

  /**
   * What one typed list asks for. Null fields are not asked for.
   *
   * @param group     "" for the core group
   * @param namespace null for every namespace (or a cluster-scoped kind)
   * @param limit     the most items one answer holds; {@code continueToken} asks for the next ones
   */
  record ListQuery(String cluster, String group, String version, String plural, String namespace,
                   String labelSelector, String fieldSelector, Integer limit, String continueToken) {
  }

  /**
   * Answers the request with the list. The caller has been authorized for exactly this list (its
   * cluster, namespace and resource) before; failures go to {@code ctx.fail} in the hub's error shape.
   */
  void list(RoutingContext ctx, ListQuery query);
}
