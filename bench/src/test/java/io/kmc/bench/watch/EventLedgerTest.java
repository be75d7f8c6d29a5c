package io.kmc.bench.watch;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class EventLedgerTest {

  private static String added(int number) {
    return "{\"type\":\"ADDED\",\"object\":{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\""
        + EventLedger.PREFIX + number + "\",\"namespace\":\"watched\",\"resourceVersion\":\"" + (1000 + number)
        + "\"}}}";
  }

  @Test
  void findsTheChangeNumberOfAnAddedEvent() {
    assertEquals(42, EventLedger.numberOf(added(42)));
    assertEquals(-1, EventLedger.numberOf("{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{}}}"));
    assertEquals(-1, EventLedger.numberOf("{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"other\"}}}"));
  }

  @Test
  void followsOnlyTheChangesFromItsOffset() {
    EventLedger ledger = new EventLedger(1, 2, 100);
    ledger.line(0, added(5), 1_000);
    ledger.line(0, added(100), 1_000);
    ledger.line(0, added(101), 1_000);
    assertEquals(1, ledger.otherLines());
    assertEquals(1, ledger.complete(2));
  }

  @Test
  void countsLostDuplicatedAndReorderedEvents() {
    EventLedger ledger = new EventLedger(2, 10, 0);
    for (int i = 0; i < 3; i++) {
      ledger.changed(i, 1_000);
    }
    // Watch 0 gets everything in order; watch 1 gets 0, 2, 2, 1 and a bookmark.
    ledger.line(0, added(0), 2_000);
    ledger.line(0, added(1), 3_000);
    ledger.line(0, added(2), 4_000);
    ledger.line(1, added(0), 2_000);
    ledger.line(1, added(2), 5_000);
    ledger.line(1, added(2), 6_000);
    ledger.line(1, "{\"type\":\"BOOKMARK\",\"object\":{}}", 6_000);
    assertEquals(1, ledger.complete(3));
    assertEquals(1, ledger.lost(3));
    ledger.line(1, added(1), 7_000);

    assertEquals(2, ledger.complete(3));
    assertEquals(0, ledger.lost(3));
    assertEquals(7, ledger.delivered());
    assertEquals(1, ledger.duplicated());
    assertEquals(2, ledger.outOfOrder()); // the second 2, and 1 after 2
    assertEquals(1, ledger.otherLines());
    assertEquals(6_000, ledger.gaps().getMaxValue(), 10);
  }
}
