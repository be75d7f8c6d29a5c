package io.kmc.hub.propagation;

import io.kmc.common.KmcException;
import io.kmc.common.protocol.ActingUser;
import io.kmc.hub.routing.ClusterRouter;
import io.kmc.ops.Texts;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The propagation's requests to member clusters, through the same routing as the pass-through
 * ({@link ClusterRouter}: the tunnel of an agent, or a directly served cluster), and what it learns
 * of each cluster's API from discovery ({@code /api/v1}, {@code /apis/{group}/{version}}): a kind's
 * resource name and whether it is namespaced.
 */
public final class Kube {

  public static final String FIELD_MANAGER = "kmc";
  static final ActingUser USER = new ActingUser("kmc:propagation", List.of("kmc:controllers"));

  /** One answer of a member cluster, read whole. */
  public record Answer(int status, Buffer body) {
    public JsonObject json() {
      try {
        return body.length() == 0 ? new JsonObject() : new JsonObject(body);
      } catch (DecodeException e) {
        return new JsonObject();
      }
    }

    /** The message of a Kubernetes Status answer, or the body's start. */
    public String message() {
      JsonObject json = json();
      String message = json.getValue("message") instanceof String m ? m : Texts.forLog(body.toString());
      return status + " " + (message.length() > 500 ? message.substring(0, 500) + "..." : message);
    }
  }

  /** Where a kind lives in one cluster. */
  public record Resource(String apiVersion, String kind, String plural, boolean namespaced) {
    public String collection(String namespace) {
      String prefix = apiVersion.contains("/") ? "/apis/" + apiVersion : "/api/" + apiVersion;
      return prefix + (namespaced ? "/namespaces/" + (namespace == null ? "default" : namespace) : "") + "/" + plural;
    }

    public String path(JsonObject object) {
      return collection(Manifests.namespace(object)) + "/" + Manifests.name(object);
    }
  }

  private final Vertx vertx;
  private final ClusterRouter router;
  /** Discovery documents by cluster and group version. */
  private final Map<String, Map<String, JsonArray>> discovery = new ConcurrentHashMap<>();

  public Kube(Vertx vertx, ClusterRouter router) {
    this.vertx = vertx;
    this.router = router;
  }

  public Future<Answer> request(String cluster, String method, String path, String query, String contentType,
                                JsonObject body) {
    Map<String, List<String>> headers = contentType == null ? Map.of("Accept", List.of("application/json"))
        : Map.of("Accept", List.of("application/json"), "Content-Type", List.of(contentType));
    ClusterRouter.Outgoing outgoing = new ClusterRouter.Outgoing(method, path, query, headers,
        body == null ? null : body.toBuffer().getBytes(), USER, false);
    Promise<Buffer> whole = Promise.promise();
    Buffer collected = Buffer.buffer();
    return router.open(cluster, outgoing, new ClusterRouter.StreamHandler() {
      @Override
      public void data(Buffer data) {
        collected.appendBuffer(data);
      }

      @Override
      public void end(String error) {
        if (error == null) {
          whole.tryComplete(collected);
        } else {
          whole.tryFail(KmcException.badGateway("the answer of cluster '" + cluster + "' broke off: "
              + Texts.forLog(error)));
        }
      }
    }).compose(exchange -> {
      var head = exchange.head();
      if (head.body() != null) {
        collected.appendBytes(head.body());
      }
      if (!head.more()) {
        whole.tryComplete(collected);
      }
      return whole.future().map(bytes -> new Answer(head.status(), bytes));
    });
  }

  /** Server-side apply of one object as field manager {@code kmc}; {@code force} takes fields other managers own. */
  public Future<Answer> apply(String cluster, Resource resource, JsonObject object, boolean force, boolean dryRun) {
    String query = "fieldManager=" + FIELD_MANAGER + (force ? "&force=true" : "") + (dryRun ? "&dryRun=All" : "");
    // JSON is YAML: the apply configuration goes as the JSON it is.
    return request(cluster, "PATCH", resource.path(object), query, "application/apply-patch+yaml", object);
  }

  public Future<Answer> get(String cluster, Resource resource, JsonObject object) {
    return request(cluster, "GET", resource.path(object), null, null, null);
  }

  public Future<Answer> delete(String cluster, Resource resource, JsonObject object) {
    return request(cluster, "DELETE", resource.path(object), "propagationPolicy=Background", null, null);
  }

  /**
   * Where the object's kind lives in the cluster, from its discovery; null when the cluster does not
   * serve it (an unknown kind, or a custom resource whose definition is not established yet).
   */
  public Future<Resource> resolve(String cluster, JsonObject object) {
    String apiVersion = Manifests.apiVersion(object);
    String kind = Manifests.kind(object);
    Map<String, JsonArray> known = discovery.computeIfAbsent(cluster, c -> new ConcurrentHashMap<>());
    JsonArray cached = known.get(apiVersion);
    Resource found = cached == null ? null : find(cached, apiVersion, kind);
    if (found != null) {
      return Future.succeededFuture(found);
    }
    String path = apiVersion.contains("/") ? "/apis/" + apiVersion : "/api/" + apiVersion;
    return request(cluster, "GET", path, null, null, null).compose(answer -> {
      if (answer.status() == 404) {
        return Future.succeededFuture(null);
      }
      if (answer.status() != 200) {
        return Future.failedFuture(KmcException.badGateway("discovery of " + apiVersion + " in cluster '" + cluster
            + "' failed: " + answer.message()));
      }
      JsonArray resources = answer.json().getValue("resources") instanceof JsonArray r ? r : new JsonArray();
      known.put(apiVersion, resources);
      return Future.succeededFuture(find(resources, apiVersion, kind));
    });
  }

  /** As {@link #resolve}, trying again for a few seconds (a custom resource right after its definition was applied). */
  public Future<Resource> resolveEventually(String cluster, JsonObject object, int attempts) {
    return resolve(cluster, object).compose(found -> found != null || attempts <= 1 ? Future.succeededFuture(found)
        : vertx.timer(300).compose(v -> resolveEventually(cluster, object, attempts - 1)));
  }

  /** Forgets what discovery said about a cluster (it reconnected: it may have been upgraded). */
  public void forget(String cluster) {
    discovery.remove(cluster);
  }

  private static Resource find(JsonArray resources, String apiVersion, String kind) {
    for (Object o : resources) {
      if (o instanceof JsonObject r && kind.equals(r.getString("kind")) && r.getString("name") != null
          && !r.getString("name").contains("/")) {
        return new Resource(apiVersion, kind, r.getString("name"), r.getBoolean("namespaced", false));
      }
    }
    return null;
  }

  /** Whether a failure means the cluster could not be reached (offline), rather than that it refused. */
  public static boolean unreachable(Throwable e) {
    return e instanceof KmcException k && (k.status() == 503 || k.status() == 504 || k.status() == 502);
  }

  static String encode(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }
}
