package io.kmc.hub.store;

import io.kmc.common.ClusterNames;
import io.kmc.common.KmcException;
import io.kmc.hub.config.HubConfig.ClusterEntry;
import io.kmc.hub.store.TokenHashes;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.Tuple;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiConsumer;

/**
 * The member clusters the hub knows, kept in PostgreSQL. Every node holds the whole registry in
 * memory (it is small and read on every request) and reloads a cluster when any node announces a
 * change on {@link #CHANGED}; a full reload every minute covers a missed announcement.
 */
public final class ClusterRegistry {

  /** Published after every change: {@code {"name": ..., "revoke": true|false, "reason": ...}}. */
  public static final String CHANGED = "kmc.hub.cluster-changed";

  private static final Logger LOG = LoggerFactory.getLogger(ClusterRegistry.class);
  private static final String COLUMNS = "name, display_name, description, labels, enabled, impersonate, "
      + "token_sha256, kubeconfig, kube_context, created_at, updated_at";

  /** What a join-token check found. */
  public enum TokenCheck { VALID, UNKNOWN_CLUSTER, DISABLED, INVALID_TOKEN, DIRECT_ONLY }

  /** A new cluster and its join token, which is shown this once. */
  public record Created(ClusterRecord cluster, String token) {
  }

  /** Fields a client may set; null leaves a field as it is. */
  public record Changes(String displayName, String description, Map<String, String> labels, Boolean enabled,
                        Boolean impersonate) {
  }

  private final Vertx vertx;
  private final Pool pool;
  private final Map<String, ClusterRecord> clusters = new ConcurrentHashMap<>();
  private final List<BiConsumer<String, String>> revocationListeners = new CopyOnWriteArrayList<>();
  private MessageConsumer<JsonObject> consumer;
  private long reloadTimer = -1;

  public ClusterRegistry(Vertx vertx, Pool pool) {
    this.vertx = vertx;
    this.pool = pool;
  }

  /** Loads the registry and starts following changes. */
  public Future<Void> start() {
    consumer = vertx.eventBus().consumer(CHANGED, message -> changed(message.body()));
    reloadTimer = vertx.setPeriodic(60_000, t -> reloadAll());
    return consumer.completion().compose(v -> reloadAll());
  }

  public void stop() {
    vertx.cancelTimer(reloadTimer);
    if (consumer != null) {
      consumer.unregister();
    }
  }

  /** Called with (cluster, reason) on every node when a cluster's agents must be disconnected. */
  public void onRevoked(BiConsumer<String, String> listener) {
    revocationListeners.add(listener);
  }

  /**
   * The cluster, or null. A name this node has not heard of yet is looked up in the database: a
   * cluster registered through another node a moment ago (its announcement still on the way) is
   * found at once, by a user reading it back or by its agent dialling this node.
   */
  public Future<ClusterRecord> find(String name) {
    ClusterRecord known = clusters.get(name);
    if (known != null || !ClusterNames.valid(name)) {
      return Future.succeededFuture(known);
    }
    return load(name);
  }

  /** Reads the cluster from the database into the cache (or drops it there when gone); null when gone. */
  private Future<ClusterRecord> load(String name) {
    return pool.preparedQuery("select " + COLUMNS + " from clusters where name = $1").execute(Tuple.of(name))
        .map(rows -> {
          if (rows.size() == 0) {
            clusters.remove(name);
            return null;
          }
          return remember(rows);
        });
  }

  public List<ClusterRecord> list() {
    List<ClusterRecord> all = new ArrayList<>(clusters.values());
    all.sort(Comparator.comparing(ClusterRecord::name));
    return all;
  }

  public Future<TokenCheck> checkJoinToken(String cluster, String token) {
    return find(cluster).map(record -> {
      if (record == null) {
        return TokenCheck.UNKNOWN_CLUSTER;
      }
      if (record.tokenSha256() == null) {
        return TokenCheck.DIRECT_ONLY;
      }
      if (!record.enabled()) {
        return TokenCheck.DISABLED;
      }
      return TokenHashes.matches(TokenHashes.sha256(token), record.tokenSha256()) ? TokenCheck.VALID
          : TokenCheck.INVALID_TOKEN;
    });
  }

  public Future<Created> create(String name, String displayName, String description, Map<String, String> labels,
                                boolean enabled, boolean impersonate) {
    if (!ClusterNames.valid(name)) {
      return Future.failedFuture(KmcException.badRequest("'" + name + "' is not a valid cluster name ("
          + ClusterNames.RULE + ")"));
    }
    String token = TokenHashes.newSecret();
    return pool.preparedQuery("insert into clusters (name, display_name, description, labels, enabled, impersonate, "
            + "token_sha256) values ($1, $2, $3, $4, $5, $6, $7) returning " + COLUMNS)
        .execute(Tuple.of(name, displayName == null ? name : displayName, description == null ? "" : description,
            labelsJson(labels), enabled, impersonate,
            TokenHashes.sha256Hex(token)))
        .recover(e -> Future.failedFuture(isUniqueViolation(e)
            ? new KmcException.ClientError(409, "AlreadyExists", "cluster '" + name + "' already exists") : e))
        .map(rows -> new Created(remember(rows), token))
        .onSuccess(created -> announce(name, false, null));
  }

  public Future<ClusterRecord> update(String name, Changes changes) {
    return pool.preparedQuery("update clusters set display_name = coalesce($2, display_name), "
            + "description = coalesce($3, description), labels = coalesce($4, labels), "
            + "enabled = coalesce($5, enabled), impersonate = coalesce($6, impersonate), updated_at = now() "
            + "where name = $1 returning " + COLUMNS)
        .execute(Tuple.of(name, changes.displayName(), changes.description(),
            changes.labels() == null ? null : labelsJson(changes.labels()),
            changes.enabled(), changes.impersonate()))
        .compose(rows -> rows.size() == 0 ? Future.failedFuture(notFound(name)) : Future.succeededFuture(remember(rows)))
        .onSuccess(record -> announce(name, !record.enabled(), record.enabled() ? null : "the cluster was disabled"));
  }

  /** A new join token; the old one stops working and agents using it are disconnected on every node. */
  public Future<String> rotateToken(String name) {
    String token = TokenHashes.newSecret();
    return pool.preparedQuery("update clusters set token_sha256 = $2, updated_at = now() where name = $1 "
            + "and kubeconfig is null returning " + COLUMNS)
        .execute(Tuple.of(name, TokenHashes.sha256Hex(token)))
        .compose(rows -> rows.size() == 0 ? Future.failedFuture(clusters.containsKey(name)
            ? KmcException.badRequest("cluster '" + name + "' is served directly and has no join token")
            : notFound(name)) : Future.succeededFuture(remember(rows)))
        .onSuccess(record -> announce(name, true, "the join token was rotated"))
        .map(record -> token);
  }

  public Future<Void> delete(String name) {
    return pool.preparedQuery("delete from clusters where name = $1").execute(Tuple.of(name))
        .compose(rows -> rows.rowCount() == 0 ? Future.failedFuture(notFound(name)) : Future.<Void>succeededFuture())
        .onSuccess(v -> {
          clusters.remove(name);
          announce(name, true, "the cluster was deleted");
        });
  }

  /**
   * Makes the registry agree with the configuration's {@code clusters:} section: each listed cluster
   * is inserted or updated (name, display name, labels, enabled, token hash or kubeconfig).
   */
  public Future<Void> upsert(List<ClusterEntry> entries) {
    if (entries.isEmpty()) {
      return Future.succeededFuture();
    }
    List<Tuple> batch = new ArrayList<>();
    for (ClusterEntry entry : entries) {
      batch.add(Tuple.of(entry.name(), entry.displayName(),
          labelsJson(entry.labels()), entry.enabled(),
          entry.tokenSha256(), entry.kubeconfig() == null ? null : entry.kubeconfig().toString(), entry.kubeContext()));
    }
    return pool.preparedQuery("insert into clusters (name, display_name, labels, enabled, token_sha256, kubeconfig, "
            + "kube_context) values ($1, $2, $3, $4, $5, $6, $7) on conflict (name) do update set "
            + "display_name = excluded.display_name, labels = excluded.labels, enabled = excluded.enabled, "
            + "token_sha256 = excluded.token_sha256, kubeconfig = excluded.kubeconfig, "
            + "kube_context = excluded.kube_context, updated_at = now()")
        .executeBatch(batch)
        .compose(v -> reloadAll())
        .onSuccess(v -> entries.forEach(entry -> announce(entry.name(), false, null)));
  }

  private Future<Void> reloadAll() {
    return pool.query("select " + COLUMNS + " from clusters").execute().map(rows -> {
      Map<String, ClusterRecord> fresh = new ConcurrentHashMap<>();
      rows.forEach(row -> fresh.put(row.getString("name"), ClusterRecord.from(row)));
      clusters.keySet().retainAll(fresh.keySet());
      clusters.putAll(fresh);
      return (Void) null;
    }).onFailure(e -> LOG.warn("cannot reload the cluster registry: {}", e.getMessage()));
  }

  private void changed(JsonObject change) {
    String name = change.getString("name");
    load(name)
        .onSuccess(cluster -> {
          if (change.getBoolean("revoke", false)) {
            revocationListeners.forEach(listener -> listener.accept(name, change.getString("reason")));
          }
        })
        .onFailure(e -> LOG.warn("cannot reload cluster {}: {}", name, e.getMessage()));
  }

  private void announce(String name, boolean revoke, String reason) {
    vertx.eventBus().publish(CHANGED, new JsonObject().put("name", name).put("revoke", revoke).put("reason", reason));
  }

  private ClusterRecord remember(RowSet<Row> rows) {
    ClusterRecord record = ClusterRecord.from(rows.iterator().next());
    clusters.put(record.name(), record);
    return record;
  }

  /** The answer for a cluster that is not registered (or that the caller may not know of). */
  public static KmcException notFound(String name) {
    return KmcException.notFound("cluster '" + name + "' is not registered");
  }

  public static JsonObject labelsJson(Map<String, String> labels) {
    return new JsonObject(new LinkedHashMap<>(labels));
  }

  static boolean isUniqueViolation(Throwable e) {
    return e instanceof PgException pg && "23505".equals(pg.getSqlState());
  }
}
