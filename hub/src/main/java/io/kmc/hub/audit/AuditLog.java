package io.kmc.hub.audit;

import io.kmc.common.KmcException;
import io.kmc.hub.config.HubConfig;
import io.kmc.ops.Texts;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * The audit trail: who did what, where, with what result. Requests only enqueue their record;
 * batches are written to PostgreSQL in the background, so auditing never slows a request. The
 * queue is bounded; if the database is away long enough to fill it, the oldest records are dropped
 * and counted rather than memory growing without end. Nothing recorded is a secret: no tokens, no
 * bodies, no query strings.
 */
public final class AuditLog {

  private static final Logger LOG = LoggerFactory.getLogger(AuditLog.class);
  /** Most records one query answers. */
  public static final int MAX_PAGE = 500;
  /** Longest a graceful stop waits for the audit queue to be written. */
  private static final long CLOSE_MILLIS = 10_000;
  /** A whole batch in one statement, one array per column: far less work for PostgreSQL than a row at a time. */
  private static final String INSERT = "insert into audit_log (at, request_id, user_name, source, cluster, verb, path, "
      + "resource, namespace, status, latency_ms, detail) select * from unnest($1::timestamptz[], $2::text[], "
      + "$3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::int[], $11::int[], "
      + "$12::text[])";

  /**
   * One audited action. Its text is made storable as it is created: control characters (NUL among
   * them, which PostgreSQL cannot store) are escaped and every field is bounded, so that what a
   * client sends can never make a record, or the batch it is in, fail to be written.
   */
  public record Event(Instant at, String requestId, String user, String source, String cluster, String verb,
                      String path, String resource, String namespace, int status, long latencyMillis, String detail) {

    public Event {
      requestId = Texts.bounded(requestId, 64);
      user = Texts.bounded(user, 256);
      source = Texts.bounded(source, 64);
      cluster = Texts.bounded(cluster, 64);
      verb = Texts.bounded(verb, 32);
      path = Texts.bounded(path, 1024);
      resource = Texts.bounded(resource, 256);
      namespace = Texts.bounded(namespace, 64);
      detail = Texts.bounded(detail, 1024);
    }

    /** The batch as one row of column arrays, for {@link #INSERT}. */
    static Tuple columns(List<Event> events) {
      return Tuple.tuple()
          .addArrayOfOffsetDateTime(events.stream().map(e -> OffsetDateTime.ofInstant(e.at(), ZoneOffset.UTC))
              .toArray(OffsetDateTime[]::new))
          .addArrayOfString(column(events, Event::requestId))
          .addArrayOfString(column(events, Event::user))
          .addArrayOfString(column(events, Event::source))
          .addArrayOfString(column(events, Event::cluster))
          .addArrayOfString(column(events, Event::verb))
          .addArrayOfString(column(events, Event::path))
          .addArrayOfString(column(events, Event::resource))
          .addArrayOfString(column(events, Event::namespace))
          .addArrayOfInteger(events.stream().map(Event::status).toArray(Integer[]::new))
          .addArrayOfInteger(events.stream().map(e -> (int) Math.min(Integer.MAX_VALUE, e.latencyMillis()))
              .toArray(Integer[]::new))
          .addArrayOfString(column(events, Event::detail));
    }

    private static String[] column(List<Event> events, Function<Event, String> value) {
      return events.stream().map(value).toArray(String[]::new);
    }
  }

  /** Query filters; null means any. {@code before} is the id cursor of the previous page. */
  public record Filter(String user, String cluster, String verb, Integer status, Instant since, Instant until,
                       String pathPrefix, Long before, int limit) {
  }

  private final Vertx vertx;
  private final Pool pool;
  private final HubConfig.Audit config;
  private final ConcurrentLinkedDeque<Event> queue = new ConcurrentLinkedDeque<>();
  private final AtomicInteger queued = new AtomicInteger();
  private final AtomicLong dropped = new AtomicLong();
  private final AtomicLong rejected = new AtomicLong();
  private long flushTimer = -1;
  private long retentionTimer = -1;
  /** Where every flush runs, so that {@link #flushing} is only ever touched by one thread. */
  private Context context;
  private boolean flushing;

  public AuditLog(Vertx vertx, Pool pool, HubConfig.Audit config) {
    this.vertx = vertx;
    this.pool = pool;
    this.config = config;
  }

  public void start() {
    context = vertx.getOrCreateContext();
    flushTimer = vertx.setPeriodic(config.flushInterval().toMillis(), t -> context.runOnContext(v -> flush()));
    retentionTimer = vertx.setPeriodic(3_600_000, t -> expire());
    expire();
  }

  /** Enqueues a record; never blocks, never fails the caller. */
  public void record(Event event) {
    queue.addLast(event);
    if (queued.incrementAndGet() > config.queueSize() && queue.pollFirst() != null) {
      queued.decrementAndGet();
      if (dropped.incrementAndGet() % 1000 == 1) {
        LOG.error("the audit queue is full ({} records): dropping the oldest; {} dropped so far",
            config.queueSize(), dropped.get());
      }
    }
    if (queued.get() >= config.batchSize() && context != null) {
      context.runOnContext(v -> flush());
    }
  }

  public long dropped() {
    return dropped.get();
  }

  /** Records the database refused to store (each logged once); the rest of their batch was written. */
  public long rejected() {
    return rejected.get();
  }

  public int pending() {
    return queued.get();
  }

  /**
   * Writes what is queued, a batch at a time. When the database is away the batch goes back to the
   * head of the queue and waits for the next flush; when the database refuses the data itself, the
   * batch is split until the one record at fault is found, recorded as rejected and left out, so
   * that it never holds up the others.
   */
  public Future<Void> flush() {
    if (flushing || queue.isEmpty()) {
      return Future.succeededFuture();
    }
    flushing = true;
    List<Event> batch = new ArrayList<>(config.batchSize());
    Event event;
    while (batch.size() < config.batchSize() && (event = queue.pollFirst()) != null) {
      queued.decrementAndGet();
      batch.add(event);
    }
    return write(batch)
        .recover(e -> {
          LOG.warn("cannot write {} audit records, will retry: {}", batch.size(), e.getMessage());
          for (int i = batch.size() - 1; i >= 0; i--) {
            queue.addFirst(batch.get(i));
            queued.incrementAndGet();
          }
          return Future.failedFuture(e);
        })
        .eventually(() -> {
          flushing = false;
          return Future.succeededFuture();
        })
        .compose(v -> queue.isEmpty() ? Future.<Void>succeededFuture() : flush());
  }

  /** Writes the batch; fails only when the database could not be asked (its records are then still due). */
  private Future<Void> write(List<Event> batch) {
    return pool.preparedQuery(INSERT).execute(Event.columns(batch)).<Void>mapEmpty().recover(e -> {
      if (!refusedData(e)) {
        return Future.failedFuture(e);
      }
      if (batch.size() == 1) {
        rejected.incrementAndGet();
        Event bad = batch.get(0);
        LOG.error("the database refused an audit record, which is not stored: {} (request {}, user {}, {} {})",
            Texts.forLog(e.getMessage()), bad.requestId(), Texts.forLog(bad.user()), bad.verb(),
            Texts.forLog(bad.path()));
        return Future.succeededFuture();
      }
      int half = batch.size() / 2;
      List<Event> first = batch.subList(0, half);
      List<Event> second = batch.subList(half, batch.size());
      return write(first).compose(v -> write(second));
    });
  }

  /**
   * Whether PostgreSQL refused what was sent rather than being unreachable: a data exception (class
   * 22, e.g. a byte sequence it cannot store), an integrity violation (23) or a limit such as an
   * index row too large (54).
   */
  private static boolean refusedData(Throwable e) {
    if (!(e instanceof PgException pg) || pg.getSqlState() == null) {
      return false;
    }
    String sqlState = pg.getSqlState();
    return sqlState.startsWith("22") || sqlState.startsWith("23") || sqlState.startsWith("54");
  }

  public Future<JsonObject> query(Filter filter) {
    int limit = Math.max(1, Math.min(MAX_PAGE, filter.limit()));
    List<String> where = new ArrayList<>();
    List<Object> params = new ArrayList<>();
    condition(where, params, "user_name = $", filter.user());
    condition(where, params, "cluster = $", filter.cluster());
    condition(where, params, "verb = $", filter.verb());
    condition(where, params, "status = $", filter.status());
    condition(where, params, "at >= $", filter.since() == null ? null : OffsetDateTime.ofInstant(filter.since(), ZoneOffset.UTC));
    condition(where, params, "at < $", filter.until() == null ? null : OffsetDateTime.ofInstant(filter.until(), ZoneOffset.UTC));
    condition(where, params, "id < $", filter.before());
    if (filter.pathPrefix() != null) {
      params.add(escapeLike(filter.pathPrefix()) + "%");
      where.add("path like $" + params.size() + " escape '\\'");
    }
    params.add(limit + 1);
    String sql = "select id, at, request_id, user_name, source, cluster, verb, path, resource, namespace, status, "
        + "latency_ms, detail from audit_log" + (where.isEmpty() ? "" : " where " + String.join(" and ", where))
        + " order by id desc limit $" + params.size();
    return pool.preparedQuery(sql).execute(Tuple.from(params)).map(rows -> {
      JsonArray items = new JsonArray();
      Long next = null;
      for (var row : rows) {
        if (items.size() == limit) {
          next = items.getJsonObject(items.size() - 1).getLong("id");
          break;
        }
        items.add(new JsonObject()
            .put("id", row.getLong("id"))
            .put("at", row.getOffsetDateTime("at").toInstant().toString())
            .put("requestId", row.getString("request_id"))
            .put("user", row.getString("user_name"))
            .put("source", row.getString("source"))
            .put("cluster", row.getString("cluster"))
            .put("verb", row.getString("verb"))
            .put("path", row.getString("path"))
            .put("resource", row.getString("resource"))
            .put("namespace", row.getString("namespace"))
            .put("status", row.getInteger("status"))
            .put("latencyMillis", row.getInteger("latency_ms"))
            .put("detail", row.getString("detail")));
      }
      return new JsonObject().put("items", items).put("next", next == null ? null : String.valueOf(next));
    }).recover(e -> Future.failedFuture(e instanceof KmcException ? e
        : KmcException.internal("cannot read the audit log", e)));
  }

  private static void condition(List<String> where, List<Object> params, String clause, Object value) {
    if (value != null) {
      params.add(value);
      where.add(clause + params.size());
    }
  }

  private static String escapeLike(String text) {
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_");
  }

  /** Deletes what is older than the retention; every node may do it, the result is the same. */
  private void expire() {
    OffsetDateTime cutoff = OffsetDateTime.now(ZoneOffset.UTC).minus(config.retention());
    pool.preparedQuery("delete from audit_log where at < $1").execute(Tuple.of(cutoff))
        .onSuccess(rows -> {
          if (rows.rowCount() > 0) {
            LOG.info("removed {} audit records older than {}", rows.rowCount(), config.retention());
          }
        })
        .onFailure(e -> LOG.warn("cannot apply the audit retention: {}", e.getMessage()));
  }

  /**
   * Writes what is left, for a graceful stop: waits for a flush under way, then flushes until the
   * queue is empty or the database cannot be reached.
   */
  public Future<Void> close() {
    vertx.cancelTimer(flushTimer);
    vertx.cancelTimer(retentionTimer);
    if (context == null) {
      return Future.succeededFuture();
    }
    Promise<Void> closed = Promise.promise();
    context.runOnContext(v -> drain(closed, System.currentTimeMillis() + CLOSE_MILLIS));
    return closed.future();
  }

  private void drain(Promise<Void> closed, long deadline) {
    if (queue.isEmpty() && !flushing) {
      closed.complete();
    } else if (System.currentTimeMillis() > deadline) {
      LOG.error("stopping with {} audit records not written: the database does not take them", queued.get());
      closed.complete();
    } else if (flushing) {
      vertx.setTimer(10, t -> context.runOnContext(v -> drain(closed, deadline)));
    } else {
      flush().onComplete(ar -> {
        if (ar.failed()) {
          vertx.setTimer(100, t -> context.runOnContext(v -> drain(closed, deadline)));
        } else {
          drain(closed, deadline);
        }
      });
    }
  }
}
