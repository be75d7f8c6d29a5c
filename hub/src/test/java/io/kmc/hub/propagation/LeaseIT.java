package io.kmc.hub.propagation;

import io.kmc.hub.store.Database;
import io.kmc.hub.support.Fleet;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.TimeUnit;

import static io.kmc.hub.support.Fleet.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The controller lease on a real PostgreSQL: one holder at a time, a takeover only after expiry
 * with a new epoch, and the writes of the holder that lost it change nothing.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LeaseIT {

  @Test
  void oneHolderAtATimeAndAStaleHoldersWritesAreFencedOff() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      Database database = Fleet.database(vertx, "pool_size: 2");
      PropagationStore store = new PropagationStore(database.pool());
      Lease a = new Lease(database.pool(), "node-a", 3_000);
      Lease b = new Lease(database.pool(), "node-b", 3_000);

      Lease.Fence first = await(a.tick());
      assertNotNull(first);
      assertNull(await(b.tick()), "held by a");
      assertEquals(first, await(a.tick()), "a renews with the same epoch");
      PropagationStore.ClusterStatus status = new PropagationStore.ClusterStatus("p", "c1", "applying", null, 1, false,
          null, new JsonArray(), false, null);
      await(store.writeStatus(first, status));

      Thread.sleep(3_200); // a stops renewing: its 3 s lease expires (a loaded machine took 1 s for the above)
      assertNull(a.current(), "a stopped acting before the database's expiry");
      Lease.Fence second = await(b.tick());
      assertNotNull(second, "b takes the expired lease");
      assertEquals(first.epoch() + 1, second.epoch());

      Throwable fenced = assertThrows(IllegalStateException.class, () -> await(store.writeStatus(first,
          status.with("applied", null)))).getCause();
      assertTrue(fenced instanceof PropagationStore.FencedOut, String.valueOf(fenced));
      assertFalse(await(store.event(first, "p", "c1", "Applied", "late", 0, false)), "a's event is not recorded");
      assertEquals("applying", await(store.status("p")).get(0).state(), "a's late write changed nothing");
      await(store.writeStatus(second, status.with("applied", null)));
      assertEquals("applied", await(store.status("p")).get(0).state());
      assertNull(await(a.tick()), "a cannot renew what b holds");
      await(database.close());
    } finally {
      await(vertx.close());
    }
  }
}
