package io.kmc.hub.index;

import io.kmc.common.protocol.Frame;
import io.kmc.hub.config.HubConfig;
import io.kmc.hub.metrics.HubMetrics;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;

import java.time.Duration;
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

  // The row as it was (every part of one statement sees the same snapshot), so that the change log
  // can tell an addition from a modification, and a stream whether the object matched its selector
  // and field filters before.
  private static final String UPSERT = """
      with prev as (select labels, resource_version, summary, owner from fleet_objects where cluster = $1 and api_group = $2
        and resource = $4 and namespace = $6 and name = $7)
      insert into fleet_objects (cluster, api_group, api_version, resource, kind, namespace, name, uid,
        resource_version, labels, owner, created, summary, gen, object, updated)
      values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12, $13::jsonb, $14, $15::jsonb, now())
      on conflict (cluster, api_group, resource, namespace, name) do update set api_version = excluded.api_version,
        kind = excluded.kind, uid = excluded.uid, resource_version = excluded.resource_version,
        labels = excluded.labels, owner = excluded.owner, created = excluded.created, summary = excluded.summary,
        gen = excluded.gen, object = excluded.object, updated = now()
      returning (select labels from prev) as prev_labels, (select resource_version from prev) as prev_version,
        (select summary from prev) as prev_summary, (select owner from prev) as prev_owner""";

  /**
   * {@link #UPSERT} for a whole batch in one statement, one array per column, answering one row per
   * object in the batch's order with what it replaced (nulls for a new one): a row at a time was most
   * of what PostgreSQL did for the index (docs/benchmarks.md, live resource streams). Every part of the
   * statement sees the same snapshot, so {@code prev} is the rows as they were before the insert.
   */
  private static final String UPSERT_ALL = """
      with input as (select * from unnest($7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
          $13::timestamptz[], $14::text[], $15::text[])
          with ordinality as i(namespace, name, uid, resource_version, labels, owner, created, summary, object, ord)),
        prev as (select o.namespace, o.name, o.labels, o.resource_version, o.summary, o.owner
          from fleet_objects o join input i on o.namespace = i.namespace and o.name = i.name
          where o.cluster = $1 and o.api_group = $2 and o.resource = $4),
        written as (insert into fleet_objects (cluster, api_group, api_version, resource, kind, namespace, name, uid,
            resource_version, labels, owner, created, summary, gen, object, updated)
          select $1, $2, $3, $4, $5, i.namespace, i.name, i.uid, i.resource_version, i.labels::jsonb, i.owner,
            i.created, i.summary::jsonb, $6, i.object::jsonb, now() from input i order by i.ord
          on conflict (cluster, api_group, resource, namespace, name) do update set api_version = excluded.api_version,
            kind = excluded.kind, uid = excluded.uid, resource_version = excluded.resource_version,
            labels = excluded.labels, owner = excluded.owner, created = excluded.created, summary = excluded.summary,
            gen = excluded.gen, object = excluded.object, updated = now())
      select p.labels as prev_labels, p.resource_version as prev_version, p.summary as prev_summary,
        p.owner as prev_owner
      from input i left join prev p on p.namespace = i.namespace and p.name = i.name order by i.ord""";

  private static final String DELETE = "delete from fleet_objects where cluster = $1 and api_group = $2 "
      + "and resource = $3 and namespace = $4 and name = $5 returning labels, summary, owner";

  private static final String RECONCILE = "delete from fleet_objects where cluster = $1 and api_group = $2 "
      + "and resource = $3 and gen <> $4 returning namespace, name, labels, summary, owner";

  /**
   * Numbers {@code $2} changes of a cluster and logs them, in one statement (one array per column);
   * answers the last number.
   */
  private static final String NUMBER_AND_LOG = """
      with numbered as (insert into stream_seqs (cluster, seq) values ($1, $2)
          on conflict (cluster) do update set seq = stream_seqs.seq + excluded.seq returning seq),
        logged as (insert into stream_changes (cluster, seq, api_group, resource, type, body)
          select $1, (select seq from numbered) - $2 + c.ord, $3, $4, c.type, c.body::jsonb
          from unnest($5::text[], $6::text[]) with ordinality as c(type, body, ord))
      select seq from numbered""";

  /** Drops history older than $1 or beyond the newest $2 changes of a cluster, and remembers up to where. */
  private static final String TRIM = """
      with gone as (delete from stream_changes c using stream_seqs s where c.cluster = s.cluster
        and (c.at < $1 or c.seq <= s.seq - $2) returning c.cluster, c.seq)
      update stream_seqs s set trimmed = g.last from (select cluster, max(seq) as last from gone group by cluster) g
      where s.cluster = g.cluster and s.trimmed < g.last""";

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
  public IndexWriter writer(String cluster, Consumer<Frame.IndexAck> reply, boolean syncedMarker) {
    return new IndexWriter(vertx, this, cluster, reply, syncedMarker);
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

  /**
   * Takes or renews the right to feed a directly reached cluster's index for {@code ttlMillis}
   * (timed by the database's clock); true when {@code holder} has it now. A node paused past the
   * expiry may write alongside its successor for a moment: harmless here, the successor's resync
   * sets the index right.
   */
  public Future<Boolean> claimFeed(String cluster, String holder, long ttlMillis) {
    return pool.preparedQuery("""
            insert into index_leases (cluster, holder, expires_at)
            values ($1, $2, now() + $3::float8 * interval '1 millisecond')
            on conflict (cluster) do update set holder = excluded.holder, expires_at = excluded.expires_at
            where index_leases.holder = excluded.holder or index_leases.expires_at < now()
            returning holder""")
        .execute(Tuple.of(cluster, holder, (double) ttlMillis)).map(rows -> rows.size() == 1);
  }

  /** Gives the feed of a directly reached cluster up, so that another node takes it at once. */
  public Future<Void> releaseFeed(String cluster, String holder) {
    return pool.preparedQuery("delete from index_leases where cluster = $1 and holder = $2")
        .execute(Tuple.of(cluster, holder)).mapEmpty();
  }

  void markSynced(String cluster) {
    pool.preparedQuery("insert into fleet_clusters (cluster, last_sync) values ($1, now()) "
            + "on conflict (cluster) do update set last_sync = now()")
        .execute(Tuple.of(cluster)).onFailure(e -> { });
  }

  /** One change of the index as the stream change log numbers it (docs/streams.md). */
  public record Change(long seq, String type, JsonObject body) {
  }

  /** What one batch changed: the objects a relist's end dropped, and every change, numbered. */
  public record Applied(List<Frame.IndexedKey> dropped, List<Change> changes) {
  }

  /**
   * Writes one batch in one transaction; with {@code reconcile}, drops what the relist {@code gen} did
   * not name. Every actual change (an upsert that changed nothing is none) is numbered and logged for
   * the live streams in the same transaction, so that a stream's snapshot and the log always agree.
   */
  Future<Applied> apply(String cluster, Frame.Index batch, long gen, boolean reconcile) {
    KnownKinds known = knownKinds;
    boolean newKind = known == null || !known.kinds().contains(new Kind(cluster, batch.group(), batch.version(),
        batch.resource(), batch.kind(), batch.namespaced()));
    List<Change> changes = new ArrayList<>();
    List<Frame.IndexedKey> dropped = new ArrayList<>();
    return pool.withTransaction(conn -> conn.preparedQuery(UPSERT_KIND)
        .execute(Tuple.of(cluster, batch.group(), batch.resource(), batch.version(), batch.kind(), batch.namespaced(),
            batch.watermark()))
        .compose(v -> upserts(conn, cluster, batch, gen, changes))
        .compose(v -> deletes(conn, cluster, batch, changes))
        .compose(v -> reconcile ? conn.preparedQuery(RECONCILE)
            .execute(Tuple.of(cluster, batch.group(), batch.resource(), gen)).map(rows -> {
              for (Row row : rows) {
                String namespace = row.getString("namespace");
                dropped.add(new Frame.IndexedKey(namespace.isEmpty() ? null : namespace, row.getString("name")));
                changes.add(deleted(batch, namespace, row.getString("name"), row));
              }
              return null;
            }) : Future.succeededFuture())
        .compose(v -> log(conn, cluster, batch, changes)))
        .andThen(done -> {
          if (newKind) {
            // Committed (or not): no list of kinds read before now is kept.
            knownKinds = null;
            kindsChangedAtNanos = System.nanoTime();
          }
        })
        .map(numbered -> new Applied(dropped, numbered));
  }

  private static Future<Void> upserts(SqlConnection conn, String cluster, Frame.Index batch, long gen,
                                      List<Change> changes) {
    if (batch.upserts().isEmpty()) {
      return Future.succeededFuture();
    }
    List<Tuple> tuples = new ArrayList<>(batch.upserts().size());
    List<JsonObject> bodies = new ArrayList<>(batch.upserts().size());
    for (Frame.IndexedObject o : batch.upserts()) {
      JsonObject labels = new JsonObject();
      if (o.labels() != null) {
        o.labels().forEach(labels::put);
      }
      JsonObject summary = new JsonObject();
      if (o.summary() != null) {
        o.summary().forEach(summary::put);
      }
      JsonObject object = o.object() == null ? null : new JsonObject(o.object());
      String namespace = o.namespace() == null ? "" : o.namespace();
      tuples.add(Tuple.tuple().addString(cluster).addString(batch.group()).addString(batch.version())
          .addString(batch.resource()).addString(batch.kind())
          .addString(namespace).addString(o.name()).addString(o.uid())
          .addString(o.resourceVersion()).addValue(labels).addString(o.owner())
          .addValue(o.created() == null ? null : OffsetDateTime.parse(o.created())).addValue(summary).addLong(gen)
          .addValue(object));
      JsonObject body = new JsonObject().put("kind", batch.kind()).put("version", batch.version())
          .put("namespace", namespace).put("name", o.name()).put("uid", o.uid())
          .put("resourceVersion", o.resourceVersion()).put("labels", labels).put("owner", o.owner())
          .put("created", o.created()).put("summary", summary);
      if (object != null) {
        body.put("object", object);
      }
      bodies.add(body);
    }
    Future<List<Row>> previous;
    if (distinct(batch.upserts())) {
      previous = conn.preparedQuery(UPSERT_ALL).execute(columns(cluster, batch, gen)).map(rows -> {
        List<Row> list = new ArrayList<>(bodies.size());
        rows.forEach(list::add);
        return list;
      });
    } else {
      // The same object twice in one batch (an agent never sends it so): one statement cannot write a row
      // twice, so a row at a time, in order.
      previous = conn.preparedQuery(UPSERT).executeBatch(tuples).map(result -> {
        List<Row> list = new ArrayList<>(bodies.size());
        for (RowSet<Row> rows = result; rows != null && list.size() < bodies.size(); rows = rows.next()) {
          list.add(rows.iterator().hasNext() ? rows.iterator().next() : null);
        }
        return list;
      });
    }
    return previous.map(result -> {
      for (int i = 0; i < bodies.size() && i < result.size(); i++) {
        JsonObject body = bodies.get(i);
        Row row = result.get(i);
        Object prevLabels = row == null ? null : row.getValue("prev_labels");
        String prevVersion = row == null ? null : row.getString("prev_version");
        if (prevVersion == null) {
          changes.add(new Change(0, "ADDED", body));
        } else if (!prevVersion.equals(body.getString("resourceVersion"))
            || !json(prevLabels).equals(body.getJsonObject("labels"))) {
          changes.add(new Change(0, "MODIFIED", body.put("prevLabels", json(prevLabels))
              .put("prevSummary", json(row.getValue("prev_summary"))).put("prevOwner", row.getString("prev_owner"))));
        }
      }
      return null;
    });
  }

  private static boolean distinct(List<Frame.IndexedObject> objects) {
    java.util.Set<String> keys = new java.util.HashSet<>();
    for (Frame.IndexedObject o : objects) {
      if (!keys.add((o.namespace() == null ? "" : o.namespace()) + "/" + o.name())) {
        return false;
      }
    }
    return true;
  }

  /** A batch's upserts as one row of column arrays, for {@link #UPSERT_ALL}. */
  private static Tuple columns(String cluster, Frame.Index batch, long gen) {
    int n = batch.upserts().size();
    String[] namespaces = new String[n];
    String[] names = new String[n];
    String[] uids = new String[n];
    String[] versions = new String[n];
    String[] labels = new String[n];
    String[] owners = new String[n];
    OffsetDateTime[] created = new OffsetDateTime[n];
    String[] summaries = new String[n];
    String[] objects = new String[n];
    for (int i = 0; i < n; i++) {
      Frame.IndexedObject o = batch.upserts().get(i);
      namespaces[i] = o.namespace() == null ? "" : o.namespace();
      names[i] = o.name();
      uids[i] = o.uid();
      versions[i] = o.resourceVersion();
      labels[i] = o.labels() == null ? "{}" : new JsonObject(new LinkedHashMap<>(o.labels())).encode();
      owners[i] = o.owner();
      created[i] = o.created() == null ? null : OffsetDateTime.parse(o.created());
      summaries[i] = o.summary() == null ? "{}" : new JsonObject(new LinkedHashMap<>(o.summary())).encode();
      objects[i] = o.object() == null ? null : new JsonObject(o.object()).encode();
    }
    return Tuple.tuple().addString(cluster).addString(batch.group()).addString(batch.version())
        .addString(batch.resource()).addString(batch.kind()).addLong(gen)
        .addArrayOfString(namespaces).addArrayOfString(names).addArrayOfString(uids).addArrayOfString(versions)
        .addArrayOfString(labels).addArrayOfString(owners).addArrayOfOffsetDateTime(created)
        .addArrayOfString(summaries).addArrayOfString(objects);
  }

  private static Future<Void> deletes(SqlConnection conn, String cluster, Frame.Index batch, List<Change> changes) {
    if (batch.deletes().isEmpty()) {
      return Future.succeededFuture();
    }
    List<Tuple> tuples = new ArrayList<>(batch.deletes().size());
    for (Frame.IndexedKey k : batch.deletes()) {
      tuples.add(Tuple.of(cluster, batch.group(), batch.resource(), k.namespace() == null ? "" : k.namespace(),
          k.name()));
    }
    return conn.preparedQuery(DELETE).executeBatch(tuples).map(result -> {
      int i = 0;
      for (RowSet<Row> rows = result; rows != null && i < tuples.size(); rows = rows.next(), i++) {
        for (Row row : rows) {
          Frame.IndexedKey key = batch.deletes().get(i);
          changes.add(deleted(batch, key.namespace() == null ? "" : key.namespace(), key.name(), row));
        }
      }
      return null;
    });
  }

  /** A deletion, with what the object last had that a stream's selector and field filters test. */
  private static Change deleted(Frame.Index batch, String namespace, String name, Row row) {
    return new Change(0, "DELETED", new JsonObject().put("kind", batch.kind()).put("version", batch.version())
        .put("namespace", namespace).put("name", name).put("labels", json(row.getValue("labels")))
        .put("prevSummary", json(row.getValue("summary"))).put("prevOwner", row.getString("owner")));
  }

  /** Numbers the changes after the cluster's last (the row lock keeps numbers in commit order) and logs them. */
  private static Future<List<Change>> log(SqlConnection conn, String cluster, Frame.Index batch, List<Change> changes) {
    if (changes.isEmpty()) {
      return Future.succeededFuture(List.of());
    }
    String[] types = new String[changes.size()];
    String[] bodies = new String[changes.size()];
    for (int i = 0; i < changes.size(); i++) {
      types[i] = changes.get(i).type();
      bodies[i] = changes.get(i).body().encode();
    }
    return conn.preparedQuery(NUMBER_AND_LOG).execute(Tuple.tuple().addString(cluster).addLong((long) changes.size())
        .addString(batch.group()).addString(batch.resource()).addArrayOfString(types).addArrayOfString(bodies))
        .map(rows -> {
          long first = rows.iterator().next().getLong("seq") - changes.size() + 1;
          List<Change> numbered = new ArrayList<>(changes.size());
          for (int i = 0; i < changes.size(); i++) {
            Change change = changes.get(i);
            numbered.add(new Change(first + i, change.type(), change.body()));
          }
          return numbered;
        });
  }

  /** Drops stream history older than {@code age}, and all but the newest {@code keep} changes of each cluster. */
  public Future<Void> trimStreamHistory(Duration age, long keep) {
    return pool.preparedQuery(TRIM).execute(Tuple.of(OffsetDateTime.now().minus(age), keep)).mapEmpty();
  }

  /**
   * The objects of one kind in one cluster (in one namespace, unless null) and the number of the
   * cluster's last change they include, read in one snapshot.
   */
  public record Snapshot(long seq, List<JsonObject> objects) {
  }

  /** The number of the cluster's last logged change (0 before its first): where a changes-only subscription starts. */
  public Future<Long> lastSeq(String cluster) {
    return pool.preparedQuery("select seq from stream_seqs where cluster = $1").execute(Tuple.of(cluster))
        .map(seqs -> seqs.iterator().hasNext() ? seqs.iterator().next().getLong("seq") : 0L);
  }

  public Future<Snapshot> snapshot(String cluster, String group, String resource, String namespace) {
    return pool.withTransaction(conn -> conn.query("set transaction isolation level repeatable read").execute()
        .compose(v -> conn.preparedQuery("select seq from stream_seqs where cluster = $1").execute(Tuple.of(cluster)))
        .compose(seqs -> {
          long seq = seqs.iterator().hasNext() ? seqs.iterator().next().getLong("seq") : 0;
          String sql = "select kind, api_version, namespace, name, uid, resource_version, labels, owner, created, "
              + "summary, object from fleet_objects where cluster = $1 and api_group = $2 and resource = $3"
              + (namespace == null ? "" : " and namespace = $4") + " order by namespace, name";
          Tuple args = Tuple.of(cluster, group, resource);
          if (namespace != null) {
            args.addString(namespace);
          }
          return conn.preparedQuery(sql).execute(args).map(rows -> {
            List<JsonObject> objects = new ArrayList<>();
            for (Row row : rows) {
              JsonObject body = new JsonObject().put("kind", row.getString("kind"))
                  .put("version", row.getString("api_version")).put("namespace", row.getString("namespace"))
                  .put("name", row.getString("name")).put("uid", row.getString("uid"))
                  .put("resourceVersion", row.getString("resource_version")).put("labels", json(row.getValue("labels")))
                  .put("owner", row.getString("owner"))
                  .put("created", row.getOffsetDateTime("created") == null ? null
                      : row.getOffsetDateTime("created").toString())
                  .put("summary", json(row.getValue("summary")));
              Object object = row.getValue("object");
              if (object != null) {
                body.put("object", json(object));
              }
              objects.add(body);
            }
            return new Snapshot(seq, objects);
          });
        }));
  }

  /**
   * The logged changes of one kind of a cluster after number {@code after}, up to the cluster's last
   * change ({@code upTo}); {@code complete} is false when history no longer reaches back that far or
   * holds more than {@code limit} of them (the caller then starts that cluster over).
   */
  public record Replay(boolean complete, long upTo, List<Change> changes) {
  }

  public Future<Replay> replay(String cluster, String group, String resource, long after, int limit) {
    return pool.withTransaction(conn -> conn.query("set transaction isolation level repeatable read").execute()
        .compose(v -> conn.preparedQuery("select seq, trimmed from stream_seqs where cluster = $1")
            .execute(Tuple.of(cluster)))
        .compose(seqs -> {
          if (!seqs.iterator().hasNext()) {
            return Future.succeededFuture(new Replay(after == 0, 0, List.of()));
          }
          Row row = seqs.iterator().next();
          long last = row.getLong("seq");
          if (after < row.getLong("trimmed") || after > last) {
            return Future.succeededFuture(new Replay(false, last, List.of()));
          }
          return conn.preparedQuery("select seq, type, body from stream_changes where cluster = $1 and seq > $2 "
                  + "and seq <= $3 and api_group = $4 and resource = $5 order by seq limit $6")
              .execute(Tuple.of(cluster, after, last, group, resource, limit + 1)).map(rows -> {
                List<Change> changes = new ArrayList<>();
                for (Row r : rows) {
                  changes.add(new Change(r.getLong("seq"), r.getString("type"), json(r.getValue("body"))));
                }
                return changes.size() > limit ? new Replay(false, last, List.of()) : new Replay(true, last, changes);
              });
        }));
  }

  // ---- reading -------------------------------------------------------------------------------

  /**
   * Every kind indexed by any cluster. Every search asks this first (RBAC is decided per cluster and
   * kind) and the list changes rarely, so it is read at most once per {@link #KINDS_FRESH_NANOS}: a
   * search then costs one round of queries to the database instead of two. A kind that appears is seen
   * at once on the node that wrote it, within that time on the others.
   */
  public Future<List<Kind>> kinds() {
    KnownKinds known = knownKinds;
    if (known != null && System.nanoTime() - known.readAtNanos() < KINDS_FRESH_NANOS) {
      return Future.succeededFuture(known.kinds());
    }
    long reading = System.nanoTime();
    return pool.query("select cluster, api_group, api_version, resource, kind, namespaced from fleet_kinds")
        .execute().map(rows -> {
          List<Kind> kinds = new ArrayList<>();
          for (Row row : rows) {
            kinds.add(new Kind(row.getString("cluster"), row.getString("api_group"), row.getString("api_version"),
                row.getString("resource"), row.getString("kind"), row.getBoolean("namespaced")));
          }
          List<Kind> read = List.copyOf(kinds);
          if (kindsChangedAtNanos - reading < 0) {
            knownKinds = new KnownKinds(read, reading);
          }
          return read;
        });
  }

  /** How long the list of indexed kinds is reused. */
  static final long KINDS_FRESH_NANOS = 1_000_000_000L;

  private record KnownKinds(List<Kind> kinds, long readAtNanos) {
  }

  private volatile KnownKinds knownKinds;
  /** When this node last wrote a batch (which may add a kind): a list read before then is not kept. */
  private volatile long kindsChangedAtNanos = System.nanoTime();

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

  /**
   * The number of the last change of each cluster named (0 for a cluster without changes), as the
   * stream change log counts them: what a fleet-view list was read after, and a watch resumes from.
   */
  public Future<Map<String, Long>> lastChanges(Collection<String> clusters) {
    return pool.preparedQuery("select cluster, seq from stream_seqs where cluster = any($1)")
        .execute(Tuple.of(clusters.toArray(new String[0]))).map(rows -> {
          Map<String, Long> seqs = new HashMap<>();
          clusters.forEach(cluster -> seqs.put(cluster, 0L));
          for (Row row : rows) {
            seqs.put(row.getString("cluster"), row.getLong("seq"));
          }
          return seqs;
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
    String pageWhere = where.sql();
    long offset = query.offset();
    if (query.after() != null && query.keyed()) {
      // By key: the rows after the previous page's last, in the same order (all ascending, none null).
      List<String> columns = query.keyColumns();
      StringBuilder left = new StringBuilder("(");
      StringBuilder right = new StringBuilder("(");
      for (int i = 0; i < columns.size(); i++) {
        pageArgs.add(query.after().get(i));
        left.append(i == 0 ? "" : ", ").append(FleetQuery.COLUMNS.get(columns.get(i)));
        right.append(i == 0 ? "" : ", ").append('$').append(pageArgs.size());
      }
      pageWhere = pageWhere + " and " + left + ") > " + right + ")";
      offset = 0;
    }
    pageArgs.add(query.limit() + 1);
    pageArgs.add(offset);
    String select = "select " + COLUMNS + " from fleet_objects o where " + pageWhere + " order by " + order
        + " limit $" + (pageArgs.size() - 1) + " offset $" + pageArgs.size();
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
        Selector.EVERYTHING, List.of(), 1, 0, null, visible));
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
