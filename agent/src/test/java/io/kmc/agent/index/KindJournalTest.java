package io.kmc.agent.index;

import io.kmc.common.protocol.Frame;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What a journal sends: changes as they come, only what a reconnecting hub missed, or a relist. */
class KindJournalTest {

  private static final IndexedKind PODS = IndexedKind.parse("v1/pods").discovered("Pod", true);
  private final AtomicLong seqs = new AtomicLong();

  private static Frame.IndexedObject pod(String name, String rv) {
    return new Frame.IndexedObject("uid-" + name, "default", name, rv, Map.of("app", "web"), null, null, Map.of());
  }

  @Test
  void sendsEachChangeOnceAndTheWatermarkOnTheLastBatch() {
    KindJournal journal = new KindJournal(PODS, 100);
    for (int i = 0; i < 5; i++) {
      journal.upsert(pod("p" + i, "1"));
    }
    journal.upsert(pod("p0", "1"));
    List<Frame.Index> frames = journal.changes(seqs::incrementAndGet, 2);
    assertEquals(3, frames.size());
    assertNull(frames.get(0).watermark());
    assertNull(frames.get(1).watermark());
    assertTrue(frames.get(2).watermark().endsWith(":5"), "an unchanged object is no change");
    assertFalse(journal.hasChanges());
    journal.delete("default", "p1");
    journal.upsert(pod("p2", "2"));
    Frame.Index next = journal.changes(seqs::incrementAndGet, 10).get(0);
    assertEquals(List.of(new Frame.IndexedKey("default", "p1")), next.deletes());
    assertEquals("p2", next.upserts().get(0).name());
  }

  @Test
  void resumesFromTheHubsWatermarkOrRelists() {
    KindJournal journal = new KindJournal(PODS, 2);
    journal.upsert(pod("a", "1"));
    journal.upsert(pod("b", "1"));
    journal.upsert(pod("c", "1"));
    String held = journal.changes(seqs::incrementAndGet, 10).get(0).watermark();
    journal.upsert(pod("a", "2"));
    journal.delete("default", "b");

    List<Frame.Index> resumed = journal.resume(held, seqs::incrementAndGet, 10);
    assertEquals(1, resumed.size());
    assertFalse(resumed.get(0).relistStart());
    assertEquals(List.of("a"), resumed.get(0).upserts().stream().map(Frame.IndexedObject::name).toList());
    assertEquals(List.of(new Frame.IndexedKey("default", "b")), resumed.get(0).deletes());
    assertEquals(List.of(), journal.resume(journal.watermark(), seqs::incrementAndGet, 10), "nothing missed");

    List<Frame.Index> relist = journal.resume("other-epoch:3", seqs::incrementAndGet, 1);
    assertEquals(2, relist.size(), "a and c");
    assertTrue(relist.get(0).relistStart() && !relist.get(0).relistEnd());
    assertTrue(relist.get(1).relistEnd() && relist.get(1).watermark() != null);

    // More deletions than remembered: a hub that saw none of them needs a relist.
    String before = journal.watermark();
    journal.upsert(pod("d", "1"));
    journal.upsert(pod("e", "1"));
    journal.delete("default", "a");
    journal.delete("default", "c");
    journal.delete("default", "d");
    assertTrue(journal.resume(before, seqs::incrementAndGet, 10).get(0).relistStart());
    assertTrue(journal.resume(null, seqs::incrementAndGet, 10).get(0).relistStart());
  }
}
