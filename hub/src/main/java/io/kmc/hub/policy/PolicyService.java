package io.kmc.hub.policy;

import io.kmc.common.KmcException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;

/**
 * The policies, kept in PostgreSQL (table {@code policies}) and held compiled by every node. A
 * write is validated and compiled before it is stored (a policy that does not compile never reaches
 * the table); then it is announced on the event bus and every node reloads and compiles the table,
 * on a worker thread: a changed policy is in force everywhere within a second.
 */
public final class PolicyService {

  public static final String CHANGED = "kmc.hub.policies-changed";
  private static final Logger LOG = LoggerFactory.getLogger(PolicyService.class);

  /** A stored policy: its manifest as written, and what the hub adds. */
  public record Stored(String name, JsonObject manifest, long generation, String createdBy, OffsetDateTime createdAt,
                       OffsetDateTime updatedAt) {

    /** The manifest as the API shows it, with the hub's metadata. */
    public JsonObject view() {
      JsonObject view = manifest.copy();
      JsonObject metadata = view.getJsonObject("metadata");
      metadata.put("generation", generation);
      if (createdAt != null) {
        metadata.put("creationTimestamp", createdAt.toInstant().toString());
      }
      if (updatedAt != null) {
        metadata.put("updateTimestamp", updatedAt.toInstant().toString());
      }
      if (createdBy != null) {
        metadata.put("createdBy", createdBy);
      }
      return view;
    }
  }

  private final Vertx vertx;
  private final Pool pool;
  private final PolicyEngine engine;
  private final int maxPolicies;
  private volatile List<PolicyEngine.Compiled> current = List.of();
  private MessageConsumer<JsonObject> changes;

  public PolicyService(Vertx vertx, Pool pool, PolicyEngine engine, int maxPolicies) {
    this.vertx = vertx;
    this.pool = pool;
    this.engine = engine;
    this.maxPolicies = maxPolicies;
  }

  public Future<Void> start() {
    changes = vertx.eventBus().consumer(CHANGED, m -> reload()
        .onFailure(e -> LOG.warn("cannot reload the policies: {}", e.getMessage())));
    return changes.completion().compose(v -> reload());
  }

  public Future<Void> stop() {
    return changes == null ? Future.succeededFuture() : changes.unregister();
  }

  public PolicyEngine engine() {
    return engine;
  }

  /** The policies in force on this node, compiled. */
  public List<PolicyEngine.Compiled> current() {
    return current;
  }

  /** Validates and compiles a manifest (on a worker: the type checker is not microseconds); 400 if it is wrong. */
  public Future<PolicyEngine.Compiled> compile(JsonObject manifest) {
    return vertx.executeBlocking(() -> engine.compile(manifest), false);
  }

  public Future<List<Stored>> list() {
    return pool.query("select * from policies order by name").execute().map(rows -> {
      List<Stored> result = new ArrayList<>();
      rows.forEach(row -> result.add(stored(row)));
      return result;
    });
  }

  public Future<Stored> get(String name) {
    return pool.preparedQuery("select * from policies where name = $1").execute(Tuple.of(name))
        .compose(rows -> rows.size() == 0 ? Future.failedFuture(notFound(name))
            : Future.succeededFuture(stored(rows.iterator().next())));
  }

  /** Creates a policy; 409 if one of that name exists. */
  public Future<Stored> create(JsonObject manifest, String user) {
    return compile(manifest).compose(compiled -> pool.query("select count(*) from policies").execute()
            .compose(rows -> rows.iterator().next().getLong(0) >= maxPolicies
                ? Future.failedFuture(KmcException.badRequest("there are " + maxPolicies
                + " policies already, the most policy.max_policies allows"))
                : pool.preparedQuery("insert into policies (name, manifest, created_by) values ($1, $2, $3) "
                    + "on conflict (name) do nothing returning *")
                .execute(Tuple.of(compiled.policy().name(), manifest, user))))
        .compose(rows -> rows.size() == 0
            ? Future.failedFuture(new KmcException.ClientError(409, "AlreadyExists",
                "policy '" + Policy.validName(manifest.getJsonObject("metadata").getString("name"))
                    + "' already exists; PUT replaces it"))
            : Future.succeededFuture(stored(rows.iterator().next())))
        .compose(this::changed);
  }

  /** Creates or replaces the policy {@code name} (the manifest's own name must agree). */
  public Future<Stored> put(String name, JsonObject manifest, String user) {
    return compile(manifest).compose(compiled -> {
      if (!compiled.policy().name().equals(name)) {
        return Future.failedFuture(KmcException.badRequest("metadata.name '" + compiled.policy().name()
            + "' does not match the path's '" + name + "'"));
      }
      return pool.preparedQuery("insert into policies (name, manifest, created_by) values ($1, $2, $3) "
              + "on conflict (name) do update set manifest = excluded.manifest, generation = policies.generation + 1, "
              + "updated_at = now() returning *")
          .execute(Tuple.of(name, manifest, user)).map(rows -> stored(rows.iterator().next()));
    }).compose(this::changed);
  }

  public Future<Void> delete(String name) {
    return pool.preparedQuery("delete from policies where name = $1").execute(Tuple.of(name))
        .compose(rows -> rows.rowCount() == 0 ? Future.failedFuture(notFound(name)) : Future.<Void>succeededFuture())
        .compose(this::changed);
  }

  private static KmcException notFound(String name) {
    return KmcException.notFound("no policy named '" + name + "'");
  }

  /**
   * Reads and compiles the table. A stored policy that no longer compiles (a hub upgrade changed the
   * CEL library) is left out and logged; the others stay in force.
   */
  private Future<Void> reload() {
    return list().compose(stored -> vertx.executeBlocking(() -> {
      List<PolicyEngine.Compiled> compiled = new ArrayList<>();
      for (Stored policy : stored) {
        try {
          compiled.add(engine.compile(policy.manifest()));
        } catch (RuntimeException e) {
          LOG.error("policy '{}' is stored but does not compile, so it is not enforced: {}", policy.name(),
              e.getMessage());
        }
      }
      return List.copyOf(compiled);
    }, false)).map(compiled -> {
      current = compiled;
      return null;
    });
  }

  /** In force on this node when the caller hears of the change, on the others within a second. */
  private <T> Future<T> changed(T result) {
    return reload().transform(ar -> {
      vertx.eventBus().publish(CHANGED, new JsonObject());
      return Future.succeededFuture(result);
    });
  }

  private static Stored stored(Row row) {
    Object manifest = row.getValue("manifest");
    return new Stored(row.getString("name"), manifest instanceof JsonObject json ? json : new JsonObject(),
        row.getLong("generation"), row.getString("created_by"), row.getOffsetDateTime("created_at"),
        row.getOffsetDateTime("updated_at"));
  }
}
