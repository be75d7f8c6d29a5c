package io.kmc.hub.store;

import io.kmc.hub.support.Fleet;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.ConnectionPoolTooBusyException;
import io.vertx.sqlclient.Pool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.kmc.hub.support.Fleet.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The hub's database pool on a real PostgreSQL: a query waits for a connection as long as it must
 * (no acquisition timeout, whose race in vertx-sql-client 5.0.7 lost connections for good and stalled
 * a busy node), and a query beyond {@code database.max_waiting_queries} fails at once instead of
 * piling up in the heap.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class DatabasePoolIT {

  @Test
  void waitersOutlastTheOldTimeoutAndOneTooManyIsRefusedAtOnce() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      Database database = Fleet.database(vertx, "pool_size: 1", "max_waiting_queries: 2");
      Pool pool = database.pool();
      // The only connection is held in a transaction for longer than the 10 s acquisition timeout kmc had.
      Future<Integer> holder = pool.withTransaction(conn -> conn.query("select pg_sleep(11)").execute()
          .map(rows -> 0));
      Thread.sleep(500);
      List<Future<Integer>> waiting = List.of(
          pool.withTransaction(conn -> conn.query("select 1").execute().map(rows -> 1)),
          pool.query("select 2").execute().map(rows -> 2));
      Thread.sleep(500);
      long refusedAt = System.nanoTime();
      Throwable refused = await(pool.query("select 3").execute().transform(ar -> Future.succeededFuture(ar.cause())));
      assertInstanceOf(ConnectionPoolTooBusyException.class, refused, "a third waiter is one too many");
      assertTrue(System.nanoTime() - refusedAt < TimeUnit.SECONDS.toNanos(5), "refused at once, not after a wait");

      assertEquals(0, await(holder));
      assertEquals(1, await(waiting.get(0)), "waited about 11 s for the connection and got it");
      assertEquals(2, await(waiting.get(1)));
      // Every connection came back: the pool serves again, many times over.
      for (int i = 0; i < 20; i++) {
        int n = i;
        Future<Integer> served = pool.withTransaction(conn -> conn.query("select 1").execute().map(rows -> n));
        assertEquals(Integer.valueOf(n), await(served));
      }
      await(database.close());
    } finally {
      await(vertx.close());
    }
  }
}
