package io.kmc.hub.api;

import io.kmc.common.KmcException;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which resources a member cluster serves in one group version, and whether each lives in
 * namespaces: read from its discovery ({@code /apis/{group}/{version}}) through the tunnel and kept
 * briefly per cluster. A resource not in the kept answer is looked up again at once, so a CRD
 * created a moment ago is found without waiting for the answer to expire; lookups of one group
 * version that overlap share one call to the cluster.
 */
final class ResourceDiscovery {

  /** Group versions remembered across all clusters; beyond this the cache starts over. */
  private static final int MAX_ENTRIES = 10_000;

  private record Entry(long fetchedNanos, Map<String, TypedApi.Kind> resources) {
    long ageMillis() {
      return (System.nanoTime() - fetchedNanos) / 1_000_000;
    }
  }

  private final KubePassthrough passthrough;
  private final long ttlMillis;
  private final Map<String, Entry> cache = new ConcurrentHashMap<>();
  /** Discovery calls under way, by cluster and group version: later lookups wait for the same answer. */
  private final Map<String, Future<Entry>> fetching = new ConcurrentHashMap<>();

  ResourceDiscovery(KubePassthrough passthrough, long ttlMillis) {
    this.passthrough = passthrough;
    this.ttlMillis = ttlMillis;
  }

  /** The kind of {@code plural} in the group version; fails 404 if the cluster serves no such resource. */
  Future<TypedApi.Kind> find(RoutingContext ctx, String cluster, String group, String version, String plural) {
    String key = cluster + " " + group + "/" + version;
    Entry cached = cache.get(key);
    if (cached != null && cached.ageMillis() < ttlMillis) {
      TypedApi.Kind kind = cached.resources().get(plural);
      if (kind != null) {
        return Future.succeededFuture(kind);
      }
    }
    return shared(ctx, key, cluster, group, version).compose(entry -> {
      TypedApi.Kind kind = entry.resources().get(plural);
      return kind == null ? Future.failedFuture(unknown(cluster, group, version, plural)) : Future.succeededFuture(kind);
    });
  }

  private Future<Entry> shared(RoutingContext ctx, String key, String cluster, String group, String version) {
    Future<Entry> under = fetching.get(key);
    if (under != null) {
      // Begun by a request on another event loop, maybe: this request carries on on its own.
      Context here = ctx.vertx().getOrCreateContext();
      Promise<Entry> answer = Promise.promise();
      under.onComplete(done -> here.runOnContext(v -> answer.handle(done)));
      return answer.future();
    }
    Future<Entry> fetched = fetch(ctx, cluster, group, version).onSuccess(entry -> {
      if (cache.size() >= MAX_ENTRIES) {
        cache.clear();
      }
      cache.put(key, entry);
    });
    fetching.put(key, fetched);
    fetched.onComplete(done -> fetching.remove(key, fetched));
    return fetched;
  }

  private Future<Entry> fetch(RoutingContext ctx, String cluster, String group, String version) {
    String path = group.isEmpty() ? "/api/" + version : "/apis/" + group + "/" + version;
    return passthrough.read(ctx, cluster, KubeCall.json("GET", path, null, null, null)).compose(answer -> {
      if (answer.status() == 404) {
        return Future.failedFuture(KmcException.notFound("cluster '" + cluster + "' serves no API "
            + (group.isEmpty() ? TypedApi.CORE_GROUP : group) + "/" + version));
      }
      if (answer.status() != 200) {
        return Future.failedFuture(KubeCall.memberFailure(answer.status(), answer.body()));
      }
      JsonArray listed;
      try {
        listed = new JsonObject(answer.body()).getJsonArray("resources", new JsonArray());
      } catch (DecodeException | ClassCastException e) {
        return Future.failedFuture(KmcException.badGateway("cluster '" + cluster + "' answered discovery of "
            + path + " with something other than an APIResourceList"));
      }
      Map<String, TypedApi.Kind> resources = new HashMap<>();
      for (Object item : listed) {
        if (item instanceof JsonObject resource && resource.getValue("name") instanceof String name
            && !name.contains("/") && resource.getValue("kind") instanceof String kind) {
          resources.put(name, new TypedApi.Kind(group, version, name, kind,
              Boolean.TRUE.equals(resource.getValue("namespaced"))));
        }
      }
      return Future.succeededFuture(new Entry(System.nanoTime(), resources));
    });
  }

  private static KmcException unknown(String cluster, String group, String version, String plural) {
    return KmcException.notFound("cluster '" + cluster + "' serves no resource '" + plural + "' in "
        + (group.isEmpty() ? TypedApi.CORE_GROUP : group) + "/" + version);
  }
}
