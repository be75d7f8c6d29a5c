package io.kmc.hub.notify;

import io.kmc.common.KmcException;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/** The notification tables (V12__notifications.sql): channels, subscriptions and the delivery outbox. */
final class NotificationStore {

  /** A delivery as the dispatcher works it. */
  record Claimed(long id, String channel, JsonObject event, int attempts) {
  }

  private static final String UNIQUE_VIOLATION = "23505";
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(NotificationStore.class);

  private final Pool pool;

  NotificationStore(Pool pool) {
    this.pool = pool;
  }

  // Channels

  Future<List<Channel>> channels() {
    return pool.query("select * from notification_channels order by name").execute().map(rows -> {
      List<Channel> result = new ArrayList<>();
      rows.forEach(row -> result.add(channel(row)));
      return result;
    });
  }

  Future<Channel> channel(String name) {
    return pool.preparedQuery("select * from notification_channels where name = $1").execute(Tuple.of(name))
        .map(rows -> rows.size() == 0 ? null : channel(rows.iterator().next()));
  }

  Future<Channel> createChannel(Channel c, String user) {
    return pool.preparedQuery("insert into notification_channels (name, type, config, secrets, rate_per_minute, "
            + "max_attempts, created_by) values ($1, $2, $3, $4, $5, $6, $7) returning *")
        .execute(Tuple.of(c.name(), c.type(), c.config(), c.secrets(), c.ratePerMinute(), c.maxAttempts(), user))
        .map(rows -> channel(rows.iterator().next()))
        .recover(e -> Future.failedFuture(conflict(e, "channel '" + c.name() + "' already exists; PUT replaces it")));
  }

  Future<Channel> putChannel(Channel c, String user) {
    return pool.preparedQuery("insert into notification_channels (name, type, config, secrets, rate_per_minute, "
            + "max_attempts, created_by) values ($1, $2, $3, $4, $5, $6, $7) on conflict (name) do update set "
            + "type = excluded.type, config = excluded.config, secrets = excluded.secrets, "
            + "rate_per_minute = excluded.rate_per_minute, max_attempts = excluded.max_attempts, updated_at = now() "
            + "returning *")
        .execute(Tuple.of(c.name(), c.type(), c.config(), c.secrets(), c.ratePerMinute(), c.maxAttempts(), user))
        .map(rows -> channel(rows.iterator().next()));
  }

  /** Deletes a channel; 409 while a subscription sends to it. */
  Future<Void> deleteChannel(String name) {
    return subscriptions().compose(subscriptions -> {
      List<String> users = subscriptions.stream().filter(s -> s.channels().contains(name)).map(Subscription::name)
          .toList();
      if (!users.isEmpty()) {
        return Future.failedFuture(new KmcException.ClientError(409, "Conflict", "channel '" + name
            + "' is used by subscription(s) " + users + "; change or delete them first"));
      }
      return pool.preparedQuery("delete from notification_channels where name = $1").execute(Tuple.of(name))
          .compose(rows -> rows.rowCount() == 0 ? Future.failedFuture(KmcException.notFound("no channel named '"
              + name + "'")) : Future.<Void>succeededFuture());
    });
  }

  private static Channel channel(Row row) {
    return new Channel(row.getString("name"), row.getString("type"), json(row.getValue("config")),
        json(row.getValue("secrets")), row.getInteger("rate_per_minute"), row.getInteger("max_attempts"),
        row.getString("created_by"), row.getOffsetDateTime("created_at"), row.getOffsetDateTime("updated_at"));
  }

  // Subscriptions

  /** The stored subscriptions; one this hub cannot read (written by another version) is left out and logged. */
  Future<List<Subscription>> subscriptions() {
    return pool.query("select * from notification_subscriptions order by name").execute().map(rows -> {
      List<Subscription> result = new ArrayList<>();
      rows.forEach(row -> {
        try {
          result.add(subscription(row));
        } catch (KmcException e) {
          LOG.error("notification subscription '{}' is stored but not valid here, so it is not in force: {}",
              row.getString("name"), e.getMessage());
        }
      });
      return result;
    });
  }

  Future<Subscription> subscription(String name) {
    return pool.preparedQuery("select * from notification_subscriptions where name = $1").execute(Tuple.of(name))
        .map(rows -> rows.size() == 0 ? null : subscription(rows.iterator().next()));
  }

  Future<Subscription> createSubscription(Subscription s, String user) {
    return pool.preparedQuery("insert into notification_subscriptions (name, spec, created_by) values ($1, $2, $3) "
            + "returning *").execute(Tuple.of(s.name(), s.spec(), user))
        .map(rows -> subscription(rows.iterator().next()))
        .recover(e -> Future.failedFuture(conflict(e, "subscription '" + s.name() + "' already exists; PUT replaces it")));
  }

  Future<Subscription> putSubscription(Subscription s, String user) {
    return pool.preparedQuery("insert into notification_subscriptions (name, spec, created_by) values ($1, $2, $3) "
            + "on conflict (name) do update set spec = excluded.spec, updated_at = now() returning *")
        .execute(Tuple.of(s.name(), s.spec(), user)).map(rows -> subscription(rows.iterator().next()));
  }

  Future<Void> deleteSubscription(String name) {
    return pool.preparedQuery("delete from notification_subscriptions where name = $1").execute(Tuple.of(name))
        .compose(rows -> rows.rowCount() == 0 ? Future.failedFuture(KmcException.notFound("no subscription named '"
            + name + "'")) : Future.<Void>succeededFuture());
  }

  private static Subscription subscription(Row row) {
    JsonObject spec = json(row.getValue("spec"));
    Subscription s = Subscription.read(spec, row.getString("name"));
    return new Subscription(s.name(), s.eventTypes(), s.clusters(), s.clusterSelector(), s.selectorJson(),
        s.minSeverity(), s.channels(), s.enabled(), row.getString("created_by"), row.getOffsetDateTime("created_at"),
        row.getOffsetDateTime("updated_at"));
  }

  // The outbox

  /** One delivery per channel; a repeat of the same event and channel is ignored. */
  Future<Integer> enqueue(Event event, List<String> channels) {
    List<Tuple> batch = new ArrayList<>();
    JsonObject json = event.toJson();
    for (String channel : channels) {
      batch.add(Tuple.of(UUID.fromString(event.id()), event.type().id(), event.severity().id(), event.cluster(),
          channel, json));
    }
    return pool.preparedQuery("insert into notification_deliveries (event_id, event_type, severity, cluster, channel, "
            + "event) values ($1, $2, $3, $4, $5, $6) on conflict (event_id, channel) do nothing")
        .executeBatch(batch).map(rows -> channels.size());
  }

  /**
   * Takes up to {@code limit} due deliveries for this node: pending ones whose time has come, and
   * sending ones whose node let the lease run out. {@code FOR UPDATE SKIP LOCKED} keeps two nodes
   * claiming at the same moment from taking the same row; the lease keeps a taken row from others.
   */
  Future<List<Claimed>> claim(String node, int limit, Duration lease) {
    return pool.preparedQuery("update notification_deliveries set state = 'sending', claimed_by = $1, "
            + "lease_until = now() + $2 * interval '1 millisecond', updated_at = now() "
            + "where id in (select id from notification_deliveries "
            + "where (state = 'pending' and next_attempt_at <= now()) or (state = 'sending' and lease_until < now()) "
            + "order by next_attempt_at, id limit $3 for update skip locked) "
            + "returning id, channel, event, attempts")
        .execute(Tuple.of(node, lease.toMillis(), limit)).map(rows -> {
          List<Claimed> claimed = new ArrayList<>();
          rows.forEach(row -> claimed.add(new Claimed(row.getLong("id"), row.getString("channel"),
              json(row.getValue("event")), row.getInteger("attempts"))));
          return claimed;
        });
  }

  /** Only while this node still holds it: a row another node took over after the lease is theirs. */
  Future<Boolean> delivered(long id, String node) {
    return pool.preparedQuery("update notification_deliveries set state = 'delivered', attempts = attempts + 1, "
            + "delivered_at = now(), lease_until = null, last_error = null, updated_at = now() "
            + "where id = $1 and claimed_by = $2 and state = 'sending'")
        .execute(Tuple.of(id, node)).map(rows -> rows.rowCount() == 1);
  }

  Future<Boolean> failed(long id, String node, String error, boolean dead, long retryInMillis) {
    return pool.preparedQuery("update notification_deliveries set state = $3, attempts = attempts + 1, "
            + "last_error = $4, lease_until = null, next_attempt_at = now() + $5 * interval '1 millisecond', "
            + "updated_at = now() where id = $1 and claimed_by = $2 and state = 'sending'")
        .execute(Tuple.of(id, node, dead ? "dead" : "pending", error, retryInMillis)).map(rows -> rows.rowCount() == 1);
  }

  /** Puts a claimed delivery back without counting an attempt (its channel is over its rate). */
  Future<Void> postpone(long id, String node, long millis) {
    return pool.preparedQuery("update notification_deliveries set state = 'pending', lease_until = null, "
            + "next_attempt_at = now() + $3 * interval '1 millisecond', updated_at = now() "
            + "where id = $1 and claimed_by = $2 and state = 'sending'")
        .execute(Tuple.of(id, node, millis)).mapEmpty();
  }

  /** Hands back what this node claimed and did not send (it is stopping). */
  Future<Void> release(String node) {
    return pool.preparedQuery("update notification_deliveries set state = 'pending', lease_until = null, "
            + "updated_at = now() where claimed_by = $1 and state = 'sending'").execute(Tuple.of(node)).mapEmpty();
  }

  /** A dead delivery goes back to pending, with its attempts counted afresh. */
  Future<Void> retry(long id) {
    return pool.preparedQuery("update notification_deliveries set state = 'pending', attempts = 0, "
            + "next_attempt_at = now(), updated_at = now() where id = $1 and state = 'dead'")
        .execute(Tuple.of(id)).compose(rows -> rows.rowCount() == 1 ? Future.<Void>succeededFuture()
            : Future.failedFuture(KmcException.notFound("no dead delivery " + id)));
  }

  Future<List<JsonObject>> deliveries(String state, String channel, String cluster, String type, long beforeId,
                                      int limit) {
    return pool.preparedQuery("select id, event_id, event_type, severity, cluster, channel, event, state, attempts, "
            + "next_attempt_at, last_error, claimed_by, created_at, delivered_at, updated_at from notification_deliveries "
            + "where ($1::text is null or state = $1) and ($2::text is null or channel = $2) "
            + "and ($3::text is null or cluster = $3) and ($4::text is null or event_type = $4) and id < $5 "
            + "order by id desc limit $6")
        .execute(Tuple.of(state, channel, cluster, type, beforeId, limit)).map(rows -> {
          List<JsonObject> result = new ArrayList<>();
          rows.forEach(row -> {
            JsonObject view = new JsonObject().put("id", row.getLong("id"))
                .put("eventId", row.getUUID("event_id").toString()).put("eventType", row.getString("event_type"))
                .put("severity", row.getString("severity")).put("cluster", row.getString("cluster"))
                .put("channel", row.getString("channel")).put("state", row.getString("state"))
                .put("attempts", row.getInteger("attempts")).put("lastError", row.getString("last_error"))
                .put("createdAt", instant(row.getOffsetDateTime("created_at")))
                .put("updatedAt", instant(row.getOffsetDateTime("updated_at")))
                .put("event", json(row.getValue("event")));
            if ("pending".equals(row.getString("state"))) {
              view.put("nextAttemptAt", instant(row.getOffsetDateTime("next_attempt_at")));
            }
            if (row.getOffsetDateTime("delivered_at") != null) {
              view.put("deliveredAt", instant(row.getOffsetDateTime("delivered_at")));
            }
            if (row.getString("claimed_by") != null) {
              view.put("node", row.getString("claimed_by")); // the hub node that made the last attempt
            }
            result.add(view);
          });
          return result;
        });
  }

  /** Pending (including sending) and dead deliveries, for the gauges. */
  Future<long[]> backlog() {
    return pool.query("select count(*) filter (where state in ('pending', 'sending')), "
        + "count(*) filter (where state = 'dead') from notification_deliveries where state <> 'delivered'")
        .execute().map(rows -> {
          Row row = rows.iterator().next();
          return new long[] {row.getLong(0), row.getLong(1)};
        });
  }

  Future<Integer> purge(Duration retention) {
    return pool.preparedQuery("delete from notification_deliveries where state in ('delivered', 'dead') "
            + "and updated_at < now() - $1 * interval '1 millisecond'")
        .execute(Tuple.of(retention.toMillis())).map(rows -> rows.rowCount());
  }

  private static String instant(OffsetDateTime time) {
    return time == null ? null : time.toInstant().toString();
  }

  private static JsonObject json(Object value) {
    return value instanceof JsonObject json ? json : new JsonObject();
  }

  private static Throwable conflict(Throwable e, String message) {
    return e instanceof PgException pg && UNIQUE_VIOLATION.equals(pg.getSqlState())
        ? new KmcException.ClientError(409, "AlreadyExists", message) : e;
  }
}
