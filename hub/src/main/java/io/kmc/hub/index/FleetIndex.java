package io.kmc.hub.index;

import io.kmc.common.protocol.Frame;
import io.kmc.hub.config.HubConfig;
import io.kmc.hub.metrics.HubMetrics;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;

import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The fleet index in PostgreSQL: one row per object of every indexed kind in every cluster, with
 * its labels in a GIN-indexed JSONB column (as Clusterpedia keeps its resources), written in batches
 * by the node holding each cluster's agent and read by every node. Why PostgreSQL and not Redis or
 * memory: a label query is one indexed SQL query whatever the number of clusters, RBAC becomes part
 * of its WHERE clause so that paging stays correct, and the embedded default needs nothing installed.
 * Everything here is rebuilt by the agents' relists: losing it loses nothing.
 */
public final class FleetIndex {

  /** One object as the index holds it. */
  public record Item(String cluster, String group, String version, String resource, String kind, String namespace,
                     String name, String uid, String resourceVersion, JsonObject labels, String owner,
                     OffsetDateTime created, JsonObject summary) {
  }

  /** A kind some cluster indexes. */
  public record Kind(String cluster, String group, String version, String resource, String kind, boolean namespaced) {
  }

  /** A page of answers, the count per cluster of all answers and whether more follow. */
  public record Page(List<Item> items, Map<String, Long> counts, boolean more) {
  }

  private static final String COLUMNS = "o.cluster, o.api_group, o.api_version, o.resource, o.kind, o.namespace, "
      + "o.name, o.uid, o.resource_version, o.labels, o.owner, o.created, o.summary";

  private static final String UPSERT_KIND = """
      insert into fleet_kinds (cluster, api_group, resource, api_version, kind, namespaced, watermark, last_sync)
      values ($1, $2, $3, $4, $5, $6, $7, now())
      on conflict (cluster, api_group, resource) do update set api_version = excluded.api_version,
        kind = excluded.kind, namespaced = excluded.namespaced,
        watermark = coalesce(excluded.watermark, fleet_kinds.watermark), last_sync = now()""";

  private static final String UPSERT = """
      insert into fleet_objects (cluster, api_group, api_version, resource, kind, namespace, name, uid,
        resource_version, labels, owner, created, summary, gen, object, updated)
      values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12, $13::jsonb, $14, $15::jsonb, now())
      on conflict (cluster, api_group, resource, namespace, name) do update set api_version = excluded.api_version,
        kind = excluded.kind, uid = excluded.uid, resource_version = excluded.resource_version,
        labels = excluded.labels, owner = excluded.owner, created = excluded.created, summary = excluded.summary,
        gen = excluded.gen, object = excluded.object, updated = now()""";

  private static final String DELETE = "delete from fleet_objects where cluster = $1 and api_group = $2 "
      + "and resource = $3 and namespace = $4 and name = $5";

  private static final String RECONCILE = "delete from fleet_objects where cluster = $1 and api_group = $2 "
      + "and resource = $3 and gen <> $4 returning namespace, name";

  private final Vertx vertx;
  private final Pool pool;
  private final HubConfig.Index settings;
  private final HubMetrics metrics;
  private final IndexValidator validator;

  public FleetIndex(Vertx vertx, Pool pool, HubConfig.Index settings, HubMetrics metrics) {
    this.vertx = vertx;
    this.pool = pool;
    this.settings = settings;
    this.metrics = metrics;
    this.validator = new IndexValidator(settings.maxBatchObjects());
  }

  /** A writer for one agent connection; its acknowledgements go to {@code reply}. Call on the connection's context. */
  public IndexWriter writer(String cluster, Consumer<Frame.IndexAck> reply) {
    return new IndexWriter(vertx, this, cluster, reply);
  }

  HubConfig.Index settings() {
    return settings;
  }

  HubMetrics metrics() {
    return metrics;
  }

  IndexValidator validator() {
    return validator;
  }

  /** Per kind ({@code deployments.apps}), the watermark of the last change of the cluster applied. */
  Future<Map<String, String>> watermarks(String cluster) {
    return pool.preparedQuery("select api_group, resource, watermark from fleet_kinds where cluster = $1")
        .execute(Tuple.of(cluster)).map(rows -> {
          Map<String, String> watermarks = new HashMap<>();
          for (Row row : rows) {
            if (row.getString("watermark") != null) {
              watermarks.put(Frame.Index.kindKey(row.getString("api_group"), row.getString("resource")),
                  row.getString("watermark"));
            }
          }
          return watermarks;
        });
  }

  void markSynced(String cluster) {
    pool.preparedQuery("insert into fleet_clusters (cluster, last_sync) values ($1, now()) "
            + "on conflict (cluster) do update set last_sync = now()")
        .execute(Tuple.of(cluster)).onFailure(e -> { });
  }

  /**
   * Writes one batch in one transaction; with {@code reconcile}, drops what the relist {@code gen} did
   * not name. Completes with the objects so dropped.
   */
  Future<List<Frame.IndexedKey>> apply(String cluster, Frame.Index batch, long gen, boolean reconcile) {
    return pool.withTransaction(conn -> conn.preparedQuery(UPSERT_KIND)
        .execute(Tuple.of(cluster, batch.group(), batch.resource(), batch.version(), batch.kind(), batch.namespaced(),
            batch.watermark()))
        .compose(v -> upserts(conn, cluster, batch, gen))
        .compose(v -> deletes(conn, cluster, batch))
        .compose(v -> reconcile ? conn.preparedQuery(RECONCILE)
            .execute(Tuple.of(cluster, batch.group(), batch.resource(), gen)).map(rows -> {
              List<Frame.IndexedKey> dropped = new ArrayList<>();
              for (Row row : rows) {
                String namespace = row.getString("namespace");
                dropped.add(new Frame.IndexedKey(namespace.isEmpty() ? null : namespace, row.getString("name")));
              }
              return dropped;
            }) : Future.succeededFuture(List.<Frame.IndexedKey>of())));
  }

  private static Future<Void> upserts(SqlConnection conn, String cluster, Frame.Index batch, long gen) {
    if (batch.upserts().isEmpty()) {
      return Future.succeededFuture();
    }
    List<Tuple> tuples = new ArrayList<>(batch.upserts().size());
    for (Frame.IndexedObject o : batch.upserts()) {
      JsonObject labels = new JsonObject();
      if (o.labels() != null) {
        o.labels().forEach(labels::put);
      }
      JsonObject summary = new JsonObject();
      if (o.summary() != null) {
        o.summary().forEach(summary::put);
      }
      tuples.add(Tuple.tuple().addString(cluster).addString(batch.group()).addString(batch.version())
          .addString(batch.resource()).addString(batch.kind())
          .addString(o.namespace() == null ? "" : o.namespace()).addString(o.name()).addString(o.uid())
          .addString(o.resourceVersion()).addValue(labels).addString(o.owner())
          .addValue(o.created() == null ? null : OffsetDateTime.parse(o.created())).addValue(summary).addLong(gen)
          .addValue(o.object() == null ? null : new JsonObject(o.object())));
    }
    return conn.preparedQuery(UPSERT).executeBatch(tuples).mapEmpty();
  }

  private static Future<Void> deletes(SqlConnection conn, String cluster, Frame.Index batch) {
    if (batch.deletes().isEmpty()) {
      return Future.succeededFuture();
    }
    List<Tuple> tuples = new ArrayList<>(batch.deletes().size());
    for (Frame.IndexedKey k : batch.deletes()) {
      tuples.add(Tuple.of(cluster, batch.group(), batch.resource(), k.namespace() == null ? "" : k.namespace(),
          k.name()));
    }
    return conn.preparedQuery(DELETE).executeBatch(tuples).mapEmpty();
  }

  // ---- reading -------------------------------------------------------------------------------

  /** Every kind indexed by any cluster. */
  public Future<List<Kind>> kinds() {
    return pool.query("select cluster, api_group, api_version, resource, kind, namespaced from fleet_kinds")
        .execute().map(rows -> {
          List<Kind> kinds = new ArrayList<>();
          for (Row row : rows) {
            kinds.add(new Kind(row.getString("cluster"), row.getString("api_group"), row.getString("api_version"),
                row.getString("resource"), row.getString("kind"), row.getBoolean("namespaced")));
          }
          return kinds;
        });
  }

  /** The whole object the index keeps for a kind configured so (index.keep_objects on the agent), or null. */
  public Future<JsonObject> storedObject(String cluster, String group, String resource, String namespace,
                                         String name) {
    return pool.preparedQuery("select object from fleet_objects where cluster = $1 and api_group = $2 "
            + "and resource = $3 and namespace = $4 and name = $5")
        .execute(Tuple.of(cluster, group, resource, namespace, name)).map(rows -> {
          for (Row row : rows) {
            Object value = row.getValue("object");
            return value == null ? null : json(value);
          }
          return null;
        });
  }

  /** When each cluster's index was last known current. */
  public Future<Map<String, OffsetDateTime>> lastSyncs() {
    return pool.query("select cluster, last_sync from fleet_clusters").execute().map(rows -> {
      Map<String, OffsetDateTime> syncs = new HashMap<>();
      for (Row row : rows) {
        syncs.put(row.getString("cluster"), row.getOffsetDateTime("last_sync"));
      }
      return syncs;
    });
  }

  /** One page of the objects the query selects, and how many it selects per cluster. */
  public Future<Page> search(FleetQuery query) {
    if (query.visible().nothing()) {
      return Future.succeededFuture(new Page(List.of(), Map.of(), false));
    }
    SqlWhere where = SqlWhere.of(query);
    StringBuilder order = new StringBuilder();
    for (FleetQuery.Sort sort : query.sort()) {
      order.append(FleetQuery.COLUMNS.get(sort.column())).append(sort.descending() ? " desc nulls last, " : " asc nulls first, ");
    }
    order.append("o.cluster, o.api_group, o.resource, o.namespace, o.name");
    List<Object> pageArgs = new ArrayList<>(where.args());
    pageArgs.add(query.limit() + 1);
    pageArgs.add(query.offset());
    String select = "select " + COLUMNS + " from fleet_objects o where " + where.sql() + " order by " + order
        + " limit $" + (where.args().size() + 1) + " offset $" + (where.args().size() + 2);
    String count = "select o.cluster, count(*) as n from fleet_objects o where " + where.sql() + " group by o.cluster";
    Future<List<Item>> items = pool.preparedQuery(select).execute(Tuple.from(pageArgs)).map(rows -> {
      List<Item> list = new ArrayList<>();
      for (Row row : rows) {
        list.add(item(row));
      }
      return list;
    });
    Future<Map<String, Long>> counts = pool.preparedQuery(count).execute(Tuple.from(where.args())).map(rows -> {
      Map<String, Long> perCluster = new LinkedHashMap<>();
      for (Row row : rows) {
        perCluster.put(row.getString("cluster"), row.getLong("n"));
      }
      return perCluster;
    });
    return Future.all(items, counts).map(done -> {
      List<Item> found = items.result();
      boolean more = found.size() > query.limit();
      return new Page(more ? found.subList(0, query.limit()) : found, counts.result(), more);
    });
  }

  /** Objects per cluster and kind ({@code deployments.apps}) of what {@code visible} covers. */
  public Future<Map<String, Map<String, Long>>> countByKind(FleetQuery.Visibility visible) {
    if (visible.nothing()) {
      return Future.succeededFuture(Map.of());
    }
    SqlWhere where = SqlWhere.of(new FleetQuery(null, null, null, null, null, null, null, null, null, Map.of(),
        Selector.EVERYTHING, List.of(), 1, 0, visible));
    return pool.preparedQuery("select o.cluster, o.api_group, o.resource, count(*) as n from fleet_objects o where "
            + where.sql() + " group by o.cluster, o.api_group, o.resource")
        .execute(Tuple.from(where.args())).map(FleetIndex::countsOf);
  }

  private static Map<String, Map<String, Long>> countsOf(io.vertx.sqlclient.RowSet<Row> rows) {
    Map<String, Map<String, Long>> counts = new HashMap<>();
    for (Row row : rows) {
      counts.computeIfAbsent(row.getString("cluster"), c -> new HashMap<>())
          .put(Frame.Index.kindKey(row.getString("api_group"), row.getString("resource")), row.getLong("n"));
    }
    return counts;
  }

  /** Objects per cluster and kind ({@code deployments.apps}), for the given clusters. */
  public Future<Map<String, Map<String, Long>>> counts(Collection<String> clusters) {
    return pool.preparedQuery("select cluster, api_group, resource, count(*) as n from fleet_objects "
            + "where cluster = any($1) group by cluster, api_group, resource")
        .execute(Tuple.of(clusters.toArray(new String[0]))).map(rows -> {
          Map<String, Map<String, Long>> counts = new HashMap<>();
          for (Row row : rows) {
            counts.computeIfAbsent(row.getString("cluster"), c -> new HashMap<>())
                .put(Frame.Index.kindKey(row.getString("api_group"), row.getString("resource")), row.getLong("n"));
          }
          return counts;
        });
  }

  private static Item item(Row row) {
    return new Item(row.getString("cluster"), row.getString("api_group"), row.getString("api_version"),
        row.getString("resource"), row.getString("kind"), row.getString("namespace"), row.getString("name"),
        row.getString("uid"), row.getString("resource_version"), json(row.getValue("labels")), row.getString("owner"),
        row.getOffsetDateTime("created"), json(row.getValue("summary")));
  }

  private static JsonObject json(Object value) {
    if (value instanceof JsonObject object) {
      return object;
    }
    return value == null ? new JsonObject() : new JsonObject(value.toString());
  }
}
