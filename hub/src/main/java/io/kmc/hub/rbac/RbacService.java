package io.kmc.hub.rbac;

import io.kmc.common.KmcException;
import io.kmc.hub.auth.Principal;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;

/**
 * The RBAC policy of the hub, kept in PostgreSQL (table {@code rbac_rules}, in casbin's p/g form)
 * and held by every node as an immutable {@link Rbac} snapshot. The first start seeds the table
 * from the policy file. A change made on any node is written, announced on the event bus, and
 * every node reloads the table: a new binding is in force everywhere within a second.
 */
public final class RbacService {

  public static final String CHANGED = "kmc.hub.rbac-changed";

  private static final Logger LOG = LoggerFactory.getLogger(RbacService.class);

  private final Vertx vertx;
  private final Pool pool;
  private final String model;
  private volatile Rbac current;

  public RbacService(Vertx vertx, Pool pool, String model) {
    this.vertx = vertx;
    this.pool = pool;
    this.model = model;
  }

  /** Seeds an empty table from {@code seedCsv}, loads the policy and follows changes. */
  public Future<Void> start(String seedCsv) {
    List<Rbac.Rule> seed = Rbac.parseCsv(seedCsv);
    // Refuse a broken seed before writing anything; building an enforcer takes a while.
    return vertx.executeBlocking(() -> Rbac.of(model, seed), false)
        .compose(valid -> pool.query("select count(*) from rbac_rules").execute())
        .compose(rows -> rows.iterator().next().getLong(0) > 0 ? Future.succeededFuture() : insert(seed)
            .onSuccess(v -> LOG.info("RBAC policy seeded with {} rules", seed.size())))
        .compose(v -> vertx.eventBus().consumer(CHANGED, m -> reload()
            .onFailure(e -> LOG.warn("cannot reload the RBAC policy: {}", e.getMessage()))).completion())
        .compose(v -> reload());
  }

  public Rbac current() {
    return current;
  }

  public boolean allowed(Principal principal, String domain, String object, String action) {
    return current.allowed(subject(principal), domain, object, action);
  }

  public boolean canSeeCluster(Principal principal, String cluster) {
    return current.canSeeCluster(subject(principal), cluster);
  }

  public java.util.Set<String> namespacesNamed(Principal principal, String cluster) {
    return current.namespacesNamed(subject(principal), cluster);
  }

  /** Adds rules (validated against the model first) and makes every node reload. */
  public Future<Void> add(List<Rbac.Rule> rules) {
    List<Rbac.Rule> next = new ArrayList<>(current.rules());
    next.addAll(rules);
    return vertx.executeBlocking(() -> Rbac.of(model, next), false)
        .recover(e -> Future.failedFuture(e instanceof IllegalArgumentException
            ? KmcException.badRequest(e.getMessage()) : e))
        .compose(valid -> insert(rules))
        .onSuccess(v -> announce());
  }

  /** Removes a rule; 404 if it does not exist. */
  public Future<Void> remove(Rbac.Rule rule) {
    List<String> v = rule.values();
    return pool.preparedQuery("delete from rbac_rules where ptype = $1 and v0 = $2 and v1 = $3 and v2 = $4")
        .execute(Tuple.of(rule.ptype(), v.get(0), v.get(1), v.get(2)))
        .compose(rows -> rows.rowCount() == 0
            ? Future.failedFuture(KmcException.notFound("no such rule: " + rule.ptype() + ", " + String.join(", ", v)))
            : Future.<Void>succeededFuture())
        .onSuccess(x -> announce());
  }

  private Future<Void> insert(List<Rbac.Rule> rules) {
    if (rules.isEmpty()) {
      return Future.succeededFuture();
    }
    List<Tuple> batch = new ArrayList<>();
    for (Rbac.Rule rule : rules) {
      List<String> v = rule.values();
      batch.add(Tuple.of(rule.ptype(), v.get(0), v.get(1), v.get(2)));
    }
    return pool.preparedQuery("insert into rbac_rules (ptype, v0, v1, v2) values ($1, $2, $3, $4) "
        + "on conflict do nothing").executeBatch(batch).mapEmpty();
  }

  private Future<Void> reload() {
    return pool.query("select ptype, v0, v1, v2 from rbac_rules order by id").execute().compose(rows -> {
      List<Rbac.Rule> rules = new ArrayList<>();
      rows.forEach(row -> rules.add(new Rbac.Rule(row.getString("ptype"),
          List.of(row.getString("v0"), row.getString("v1"), row.getString("v2")))));
      // Building an enforcer for thousands of bindings takes a noticeable time: not on an event loop.
      return vertx.executeBlocking(() -> Rbac.of(model, rules), false);
    }).map(rbac -> {
      current = rbac;
      return null;
    });
  }

  private void announce() {
    vertx.eventBus().publish(CHANGED, new JsonObject());
  }

  private static Rbac.Subject subject(Principal principal) {
    return new Rbac.Subject(principal.user(), principal.groups());
  }
}
