package io.kmc.hub.propagation;

import io.kmc.common.KmcException;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;

import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Propagations in PostgreSQL: the desired state and its revisions (written by the API on any node),
 * and the per-cluster status and events (written by the controller only, each write fenced by the
 * lease's epoch: a write of a controller that lost the lease changes nothing and fails).
 */
public final class PropagationStore {

  /** A stored propagation: its manifest as written, and what the hub adds. */
  public record Stored(String name, JsonObject manifest, long generation, String createdBy, String updatedBy,
                       OffsetDateTime createdAt, OffsetDateTime updatedAt, boolean deleting, boolean orphan) {

    /** The manifest as the API shows it, with the hub's metadata. */
    public JsonObject view() {
      JsonObject view = manifest.copy();
      JsonObject metadata = view.getJsonObject("metadata");
      metadata.put("generation", generation);
      metadata.put("creationTimestamp", createdAt.toInstant().toString());
      metadata.put("updateTimestamp", updatedAt.toInstant().toString());
      metadata.put("createdBy", createdBy);
      metadata.put("updatedBy", updatedBy);
      if (deleting) {
        metadata.put("deletionRequested", true);
      }
      return view;
    }
  }

  /** What the controller knows of one target cluster. */
  public record ClusterStatus(String name, String cluster, String state, String message, long generation,
                              boolean healthy, JsonObject health, JsonArray objects, boolean reapply,
                              OffsetDateTime updatedAt, OffsetDateTime appliedAt) {

    /** A status to write; when it was applied is kept by the store. */
    public ClusterStatus(String name, String cluster, String state, String message, long generation, boolean healthy,
                         JsonObject health, JsonArray objects, boolean reapply, OffsetDateTime updatedAt) {
      this(name, cluster, state, message, generation, healthy, health, objects, reapply, updatedAt, null);
    }

    public ClusterStatus with(String newState, String newMessage) {
      return new ClusterStatus(name, cluster, newState, newMessage, generation, healthy, health, objects, reapply,
          updatedAt, appliedAt);
    }

    public JsonObject toJson() {
      JsonObject json = new JsonObject().put("cluster", cluster).put("state", state).put("generation", generation)
          .put("healthy", healthy);
      if (message != null) {
        json.put("message", message);
      }
      if (health != null) {
        json.put("workloads", health.getValue("workloads"));
      }
      if (objects != null) {
        json.put("objects", objects);
      }
      if (updatedAt != null) {
        json.put("updatedAt", updatedAt.toInstant().toString());
      }
      if (appliedAt != null) {
        json.put("appliedAt", appliedAt.toInstant().toString());
      }
      return json;
    }
  }

  /** A status write of a controller whose lease is gone: nothing was written. */
  public static final class FencedOut extends RuntimeException {
    FencedOut() {
      super("the controller lease was lost: this node no longer writes propagation status", null, false, false);
    }
  }

  private static final String FENCE = "exists (select 1 from propagation_lease where name = 'controller' "
      + "and holder = $%d and epoch = $%d and expires_at > now())";

  /**
   * Published on the event bus (to every hub node) after each committed write that changes what the API
   * shows of a propagation: its spec, its deletion, a cluster's status or drift. Body: {@code {"name": ...}}.
   * The live stream's propagation subscriptions follow it (docs/streams.md).
   */
  public static final String STATUS_CHANGED = "kmc.hub.propagation-status-changed";

  private final Pool pool;
  private volatile Consumer<String> changed = name -> { };

  public PropagationStore(Pool pool) {
    this.pool = pool;
  }

  /** Called with a propagation's name after each committed write that changes its view. */
  public void onChange(Consumer<String> listener) {
    this.changed = listener;
  }

  private <T> Future<T> announce(Future<T> write, String name) {
    return write.onSuccess(v -> changed.accept(name));
  }

  Pool pool() {
    return pool;
  }

  // --- desired state (the API) ---

  public Future<List<Stored>> list() {
    return pool.query("select * from propagations order by name").execute().map(PropagationStore::stored);
  }

  /** The propagation, or a 404. */
  public Future<Stored> get(String name) {
    return pool.preparedQuery("select * from propagations where name = $1").execute(Tuple.of(name))
        .compose(rows -> rows.size() == 0 ? Future.failedFuture(notFound(name))
            : Future.succeededFuture(stored(rows).get(0)));
  }

  /** Creates a propagation; 409 if one of that name exists. */
  public Future<Stored> create(String name, JsonObject manifest, String user) {
    return announce(pool.withTransaction(tx -> tx.preparedQuery("insert into propagations (name, manifest, created_by, "
            + "updated_by) values ($1, $2, $3, $3) on conflict (name) do nothing returning *")
        .execute(Tuple.of(name, manifest, user))
        .compose(rows -> rows.size() == 0
            ? Future.failedFuture(new KmcException.ClientError(409, "AlreadyExists", "propagation '" + name
                + "' already exists; PUT replaces it"))
            : revision(tx, stored(rows).get(0), "create", user))), name);
  }

  /** Creates or replaces a propagation (a new generation); 409 while it is being deleted. */
  public Future<Stored> put(String name, JsonObject manifest, String user) {
    return announce(pool.withTransaction(tx -> tx.preparedQuery("insert into propagations (name, manifest, created_by, "
            + "updated_by) values ($1, $2, $3, $3) on conflict (name) do update set manifest = excluded.manifest, "
            + "generation = propagations.generation + 1, updated_by = excluded.updated_by, updated_at = now() "
            + "where not propagations.deleting returning *")
        .execute(Tuple.of(name, manifest, user))
        .compose(rows -> rows.size() == 0 ? Future.failedFuture(beingDeleted(name))
            : revision(tx, stored(rows).get(0), stored(rows).get(0).generation() == 1 ? "create" : "update", user))), name);
  }

  /** Asks the controller to delete the propagation (removing or orphaning its objects). */
  public Future<Stored> markDeleting(String name, boolean orphan, String user) {
    return announce(pool.withTransaction(tx -> tx.preparedQuery("update propagations set deleting = true, orphan = $2, "
            + "updated_by = $3, updated_at = now() where name = $1 returning *")
        .execute(Tuple.of(name, orphan, user))
        .compose(rows -> rows.size() == 0 ? Future.failedFuture(notFound(name))
            : revision(tx, stored(rows).get(0), orphan ? "delete-orphan" : "delete", user))), name);
  }

  private static Future<Stored> revision(SqlClient tx, Stored stored, String operation, String user) {
    return tx.preparedQuery("insert into propagation_revisions (name, generation, operation, manifest, changed_by) "
            + "values ($1, $2, $3, $4, $5) on conflict do nothing")
        .execute(Tuple.of(stored.name(), stored.generation(), operation,
            operation.startsWith("delete") ? null : stored.manifest(), user))
        .map(stored);
  }

  /** Every revision, oldest first. */
  public Future<JsonArray> revisions(String name) {
    return pool.preparedQuery("select * from propagation_revisions where name = $1 order by changed_at, generation")
        .execute(Tuple.of(name)).map(rows -> {
          JsonArray items = new JsonArray();
          rows.forEach(row -> items.add(new JsonObject().put("generation", row.getLong("generation"))
              .put("operation", row.getString("operation")).put("changedBy", row.getString("changed_by"))
              .put("changedAt", row.getOffsetDateTime("changed_at").toInstant().toString())
              .put("manifest", row.getValue("manifest"))));
          return items;
        });
  }

  /** The latest events, oldest first. */
  public Future<JsonArray> events(String name, int limit) {
    return pool.preparedQuery("select * from (select * from propagation_events where name = $1 order by id desc "
            + "limit $2) e order by id").execute(Tuple.of(name, limit)).map(rows -> {
              JsonArray items = new JsonArray();
              rows.forEach(row -> items.add(new JsonObject().put("type", row.getString("type"))
                  .put("cluster", row.getString("cluster")).put("message", row.getString("message"))
                  .put("generation", row.getLong("generation"))
                  .put("at", row.getOffsetDateTime("at").toInstant().toString())));
              return items;
            });
  }

  public Future<List<ClusterStatus>> status(String name) {
    return pool.preparedQuery("select * from propagation_status where name = $1 order by cluster")
        .execute(Tuple.of(name)).map(rows -> {
          List<ClusterStatus> result = new ArrayList<>();
          rows.forEach(row -> result.add(status(row)));
          return result;
        });
  }

  // --- the controller's writes, fenced ---

  public Future<Void> writeStatus(Lease.Fence fence, ClusterStatus s) {
    return announce(pool.preparedQuery("insert into propagation_status (name, cluster, state, message, generation, healthy, "
            + "health, objects, reapply, epoch, applied_at) select $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
            + "case when $3 = 'applied' then now() end where "
            + FENCE.formatted(11, 10) + " on conflict (name, cluster) do update set state = excluded.state, "
            // Applied: since the first write of this state for this generation (health checks rewrite it).
            + "applied_at = case when excluded.state <> 'applied' then null when propagation_status.state = 'applied' "
            + "and propagation_status.generation = excluded.generation then propagation_status.applied_at "
            + "else now() end, "
            + "message = excluded.message, generation = excluded.generation, healthy = excluded.healthy, "
            + "health = excluded.health, objects = excluded.objects, reapply = excluded.reapply, "
            + "epoch = excluded.epoch, updated_at = now()")
        .execute(Tuple.tuple().addString(s.name()).addString(s.cluster()).addString(s.state())
            .addString(s.message()).addLong(s.generation()).addBoolean(s.healthy()).addValue(s.health())
            .addValue(s.objects()).addBoolean(s.reapply()).addLong(fence.epoch()).addString(fence.holder()))
        .compose(PropagationStore::fenced), s.name());
  }

  public Future<Void> deleteStatus(Lease.Fence fence, String name, String cluster) {
    return announce(pool.preparedQuery("delete from propagation_status where name = $1 and cluster = $2 and "
            + FENCE.formatted(4, 3)).execute(Tuple.of(name, cluster, fence.epoch(), fence.holder()))
        .mapEmpty(), name);
  }

  /** Removes a deleted propagation and its status for good (its revisions and events stay). */
  public Future<Void> deleteFinally(Lease.Fence fence, String name) {
    return announce(pool.withTransaction(tx -> tx.preparedQuery("delete from propagations where name = $1 and deleting and "
            + FENCE.formatted(3, 2)).execute(Tuple.of(name, fence.epoch(), fence.holder()))
        .compose(PropagationStore::fenced)
        .compose(v -> tx.preparedQuery("delete from propagation_status where name = $1").execute(Tuple.of(name)))
        .mapEmpty()), name);
  }

  /**
   * Records an event; with {@code once}, only if none of that type was recorded for that generation
   * (a controller that took over does not record a rollout's start a second time). True if recorded.
   */
  public Future<Boolean> event(Lease.Fence fence, String name, String cluster, String type, String message,
                               long generation, boolean once) {
    return pool.preparedQuery("insert into propagation_events (name, cluster, type, message, generation, epoch) "
            + "select $1, $2, $3, $4, $7::bigint, $5 where " + FENCE.formatted(6, 5)
            + (once ? " and not exists (select 1 from propagation_events where name = $1 and type = $3 "
                + "and generation = $7::bigint)" : ""))
        .execute(Tuple.of(name, cluster, type, message, fence.epoch(), fence.holder(),
            generation == 0 ? null : generation))
        .map(rows -> rows.rowCount() > 0);
  }

  private static Future<Void> fenced(RowSet<Row> rows) {
    return rows.rowCount() == 0 ? Future.failedFuture(new FencedOut()) : Future.succeededFuture();
  }

  static KmcException notFound(String name) {
    return KmcException.notFound("no propagation named '" + name + "'");
  }

  private static KmcException beingDeleted(String name) {
    return new KmcException.ClientError(409, "Conflict", "propagation '" + name + "' is being deleted");
  }

  private static List<Stored> stored(RowSet<Row> rows) {
    List<Stored> result = new ArrayList<>();
    for (Row row : rows) {
      Object manifest = row.getValue("manifest");
      result.add(new Stored(row.getString("name"), manifest instanceof JsonObject json ? json : new JsonObject(),
          row.getLong("generation"), row.getString("created_by"), row.getString("updated_by"),
          row.getOffsetDateTime("created_at"), row.getOffsetDateTime("updated_at"), row.getBoolean("deleting"),
          row.getBoolean("orphan")));
    }
    return result;
  }

  private static ClusterStatus status(Row row) {
    return new ClusterStatus(row.getString("name"), row.getString("cluster"), row.getString("state"),
        row.getString("message"), row.getLong("generation"), row.getBoolean("healthy"),
        row.getValue("health") instanceof JsonObject h ? h : null,
        row.getValue("objects") instanceof JsonArray o ? o : null, row.getBoolean("reapply"),
        row.getOffsetDateTime("updated_at"), row.getOffsetDateTime("applied_at"));
  }
}
