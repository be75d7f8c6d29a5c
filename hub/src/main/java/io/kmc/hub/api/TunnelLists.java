package io.kmc.hub.api;

import io.vertx.ext.web.RoutingContext;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.StringJoiner;

/** Typed lists answered by the member cluster, through the tunnel, relayed as they come (never held whole). */
public final class TunnelLists implements TypedLists {

  private final KubePassthrough passthrough;

  public TunnelLists(KubePassthrough passthrough) {
    this.passthrough = passthrough;
  }

  @Override
  public void list(RoutingContext ctx, ListQuery query) {
    passthrough.send(ctx, query.cluster(), KubeCall.json("GET", path(query), kubeQuery(query), null, null));
  }

  /** The Kubernetes path of the list: {@code /apis/apps/v1/namespaces/shop/deployments}. */
  static String path(ListQuery query) {
    return TypedApi.path(query.group(), query.version(), query.plural(), query.namespace(), null, null);
  }

  /** The Kubernetes query of the list: selectors, limit and continue token, escaped. */
  static String kubeQuery(ListQuery query) {
    StringJoiner joined = new StringJoiner("&");
    add(joined, "labelSelector", query.labelSelector());
    add(joined, "fieldSelector", query.fieldSelector());
    add(joined, "limit", query.limit() == null ? null : query.limit().toString());
    add(joined, "continue", query.continueToken());
    return joined.length() == 0 ? null : joined.toString();
  }

  private static void add(StringJoiner joined, String name, String value) {
    if (value != null) {
      joined.add(name + "=" + URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20"));
    }
  }
}
