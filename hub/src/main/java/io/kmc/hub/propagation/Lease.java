package io.kmc.hub.propagation;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;

/**
 * The controller lease: one row in PostgreSQL ({@code propagation_lease}) with a holder, an epoch
 * and an expiry, all compared against the database's clock (never a node's). The holder renews it;
 * any node takes it once it has expired, which increments the epoch. Every status write of the
 * controller carries the epoch and holder and changes nothing unless they still hold the lease
 * (see {@link PropagationStore}): a node that was paused or cut off past its expiry cannot write
 * over its successor. Locally, a node stops acting a safety margin before the expiry it was given.
 */
public final class Lease {

  /** The lease as held: who, and the epoch that fences their writes. */
  public record Fence(String holder, long epoch) {
  }

  private final Pool pool;
  private final String holder;
  private final long ttlMillis;
  private volatile Fence held;
  /** Local monotonic deadline (nanoTime) after which this node no longer acts as the holder. */
  private volatile long validUntilNanos;

  public Lease(Pool pool, String holder, long ttlMillis) {
    this.pool = pool;
    this.holder = holder;
    this.ttlMillis = ttlMillis;
  }

  /** The fence if this node holds the lease now (with a margin before its expiry), else null. */
  public Fence current() {
    Fence fence = held;
    return fence != null && System.nanoTime() < validUntilNanos ? fence : null;
  }

  /**
   * Renews the lease if this node holds it, else takes it if it has expired. Completes with the
   * fence held afterwards, or null when another node holds it.
   */
  public Future<Fence> tick() {
    long started = System.nanoTime();
    Double interval = (double) ttlMillis;
    Fence mine = held;
    Future<io.vertx.sqlclient.RowSet<io.vertx.sqlclient.Row>> attempt = mine == null
        ? pool.preparedQuery("update propagation_lease set holder = $1, epoch = epoch + 1, expires_at = now() + $2::float8 * interval '1 millisecond' "
            + "where name = 'controller' and (expires_at < now() or holder is null or holder = $1) returning epoch")
            .execute(Tuple.of(holder, interval))
        : pool.preparedQuery("update propagation_lease set expires_at = now() + $2::float8 * interval '1 millisecond' where name = 'controller' "
            + "and holder = $1 and epoch = $3 and expires_at > now() returning epoch")
            .execute(Tuple.of(holder, interval, mine.epoch()));
    return attempt.map(rows -> {
      if (rows.size() == 0) {
        held = null;
        return null;
      }
      Fence fence = new Fence(holder, rows.iterator().next().getLong(0));
      held = fence;
      // The database counts from when it ran the statement, after we sent it: our own deadline, counted from
      // before we sent it, with a third of the lease kept as a margin, ends first.
      validUntilNanos = started + (ttlMillis * 2 / 3) * 1_000_000L;
      return fence;
    }).recover(e -> {
      // Unsure whether the renewal went through: act as if it did not (the fence still guards the writes).
      if (System.nanoTime() >= validUntilNanos) {
        held = null;
      }
      return Future.failedFuture(e);
    });
  }

  /** Gives the lease up (a graceful stop): another node takes over at once rather than after the expiry. */
  public Future<Void> release() {
    Fence mine = held;
    held = null;
    if (mine == null) {
      return Future.succeededFuture();
    }
    return pool.preparedQuery("update propagation_lease set expires_at = now() - interval '1 second' "
            + "where name = 'controller' and holder = $1 and epoch = $2").execute(Tuple.of(holder, mine.epoch()))
        .mapEmpty();
  }

  public String holder() {
    return holder;
  }
}
