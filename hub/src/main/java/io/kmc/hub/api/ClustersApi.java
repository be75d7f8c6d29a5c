package io.kmc.hub.api;

import io.kmc.common.KmcException;
import io.kmc.hub.HubConfig.ClusterEntry;
import io.kmc.hub.auth.Authenticator;
import io.kmc.hub.routing.Presence;
import io.kmc.hub.store.ClusterRegistry;
import io.vertx.core.Future;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/** {@code /api/v1/clusters}: the registered clusters with their live connection state. */
public final class ClustersApi {

  private final ClusterRegistry registry;
  private final Presence presence;
  private final long pingTimeoutMillis;
  private final String publicUrl;
  private final String caData;

  public ClustersApi(ClusterRegistry registry, Presence presence, long pingTimeoutMillis, String publicUrl,
                     String caData) {
    this.registry = registry;
    this.presence = presence;
    this.pingTimeoutMillis = pingTimeoutMillis;
    this.publicUrl = publicUrl;
    this.caData = caData;
  }

  public void list(RoutingContext ctx) {
    registry.list().compose(clusters -> presence.all().map(entries -> {
      long now = System.currentTimeMillis();
      JsonArray items = new JsonArray();
      clusters.forEach(cluster -> items.add(describe(cluster, entries.get(cluster.name()), now)));
      return new JsonObject().put("items", items);
    })).onSuccess(body -> json(ctx, body)).onFailure(ctx::fail);
  }

  public void get(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    found(name)
        .compose(cluster -> presence.get(name).map(entry -> describe(cluster, entry, System.currentTimeMillis())))
        .onSuccess(body -> json(ctx, body))
        .onFailure(ctx::fail);
  }

  /** A kubeconfig whose single context reaches the cluster through this hub with the caller's token. */
  public void kubeconfig(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    found(name).onSuccess(cluster -> {
      String server = baseUrl(ctx) + KubePassthrough.PREFIX + name;
      String user = "kmc-" + Authenticator.user(ctx).name();
      String token = ctx.get(Authenticator.TOKEN_KEY);
      String yaml = Kubeconfigs.render(Map.of(name, server), user, token, name, caData);
      ctx.response()
          .putHeader(HttpHeaders.CONTENT_TYPE, "application/yaml")
          .putHeader("Content-Disposition", "attachment; filename=\"" + name + ".kubeconfig\"")
          .end(yaml);
    }).onFailure(ctx::fail);
  }

  private Future<ClusterEntry> found(String name) {
    return registry.find(name).compose(cluster -> cluster == null
        ? Future.failedFuture(KmcException.notFound("cluster '" + name + "' is not registered"))
        : Future.succeededFuture(cluster));
  }

  private String baseUrl(RoutingContext ctx) {
    if (publicUrl != null) {
      return publicUrl.endsWith("/") ? publicUrl.substring(0, publicUrl.length() - 1) : publicUrl;
    }
    String host = ctx.request().authority() == null ? "localhost" : ctx.request().authority().toString();
    return ctx.request().scheme() + "://" + host;
  }

  private JsonObject describe(ClusterEntry cluster, Presence.Entry entry, long now) {
    boolean live = presence.live(entry, pingTimeoutMillis, now);
    JsonObject connection = new JsonObject().put("connected", live);
    if (entry != null) {
      connection.put("node", entry.node())
          .put("mode", entry.mode())
          .put("connectedSince", Instant.ofEpochMilli(entry.connectedAt()).toString())
          .put("lastSeen", Instant.ofEpochMilli(entry.lastSeen()).toString())
          .put("agentVersion", entry.agentVersion())
          .put("kubernetesVersion", entry.kubernetesVersion())
          .put("latencyMillis", entry.latencyMillis() < 0 ? null : entry.latencyMillis());
    }
    return new JsonObject()
        .put("name", cluster.name())
        .put("displayName", cluster.displayName())
        .put("mode", cluster.direct() ? "direct" : "agent")
        .put("enabled", cluster.enabled())
        .put("labels", new JsonObject(new LinkedHashMap<String, Object>(cluster.labels())))
        .put("connection", connection);
  }

  static void json(RoutingContext ctx, JsonObject body) {
    ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/json").end(body.toBuffer());
  }
}
