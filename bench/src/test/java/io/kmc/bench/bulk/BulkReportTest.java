package io.kmc.bench.bulk;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BulkReportTest {

  private static final long MS = 1_000_000;

  @Test
  void ratiosAndHubCpuAreAgainstTheDirectRow() {
    Map<String, BulkReport.Samples> samples = new LinkedHashMap<>();
    BulkReport.Samples direct = new BulkReport.Samples();
    direct.add(List.of(100 * MS, 80 * MS, 90 * MS), 100 * MS, 0);
    samples.put(BulkReport.DIRECT, direct);
    BulkReport.Samples oneNode = new BulkReport.Samples();
    oneNode.add(List.of(150 * MS, 170 * MS, 160 * MS), 400 * MS, 100 * MS);
    samples.put(BulkReport.ONE_NODE, oneNode);
    BulkReport report = new BulkReport(10_000_000, samples);

    String table = report.table();
    // 10 MB in 0.16 s = 62.5 MB/s, 1.78× direct; hub CPU 400 − 100 − 100 = 200 ms, so 50 MB per hub CPU-second.
    assertTrue(table.contains("| one node (v2) |    0.160 |"), table);
    assertTrue(table.contains("1.78"), table);
    assertTrue(table.contains("|             200 |               50 |"), table);
    assertEquals("one node (v2): 1.78× direct (goal ≤ 2×): met", report.verdicts().get(0));
  }

  @Test
  void medianOfAnEvenCountIsTheMeanOfTheMiddleTwo() {
    assertEquals(2.5, BulkReport.medianNanos(List.of(4L, 1L, 2L, 3L)));
  }
}
