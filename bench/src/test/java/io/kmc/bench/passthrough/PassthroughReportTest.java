package io.kmc.bench.passthrough;

import io.kmc.bench.load.RunResult;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PassthroughReportTest {

  private static RunResult latency(long p50Micros) {
    return new RunResult(1000, 0, 1.0, p50Micros * 1000, p50Micros * 1200, p50Micros * 2000, p50Micros * 5000, 0, null);
  }

  private static RunResult throughput(long perSecond, long errors) {
    return new RunResult(perSecond, errors, 1.0, 1_000_000, 2_000_000, 3_000_000, 4_000_000, perSecond * 50_000,
        errors == 0 ? null : "HTTP 504: timeout");
  }

  private final PassthroughReport report = new PassthroughReport(List.of(
      new PassthroughReport.Row("direct", latency(100), throughput(10_000, 0), Double.NaN),
      new PassthroughReport.Row("reference", latency(200), throughput(9_000, 0), Double.NaN),
      new PassthroughReport.Row("one node", latency(600), throughput(8_000, 0), 1),
      new PassthroughReport.Row("two nodes", latency(2_300), throughput(5_000, 2), 2)));

  @Test
  void theSummaryComparesEveryRowWithTheFirst() {
    List<String> lines = report.summaryTable().lines().toList();

    assertEquals("| target    | p50 ms | p90 ms | p99 ms | max ms | req/s | CPU µs/req | p50 Δ ms | req/s % of direct | errors |",
        lines.get(0));
    assertEquals("| :-------- | -----: | -----: | -----: | -----: | ----: | ---------: | -------: | ----------------: | -----: |",
        lines.get(1));
    assertEquals("| direct    |  0.100 |  0.120 |  0.200 |  0.500 | 10000 |         50 |        — |                 — |      0 |",
        lines.get(2));
    assertEquals("| reference |  0.200 |  0.240 |  0.400 |  1.000 |  9000 |         50 |   +0.100 |              90 % |      0 |",
        lines.get(3));
    assertEquals("| one node  |  0.600 |  0.720 |  1.200 |  3.000 |  8000 |         50 |   +0.500 |              80 % |      0 |",
        lines.get(4));
    assertEquals("| two nodes |  2.300 |  2.760 |  4.600 | 11.500 |  5000 |         50 |   +2.200 |              50 % |      2 |",
        lines.get(5));
  }

  @Test
  void verdictsSayWhichGoalsWereMetAndThatErrorsVoidTheRun() {
    List<String> verdicts = report.verdicts();

    assertTrue(verdicts.stream().noneMatch(line -> line.startsWith("reference")), "references are not judged");
    assertEquals("one node: p50 overhead +0.500 ms (goal ≤ 1 ms): met", verdicts.get(0));
    assertEquals("one node: throughput 80 % of direct (goal ≥ 70 %): met", verdicts.get(1));
    assertEquals("two nodes: p50 overhead +2.200 ms (goal ≤ 2 ms): NOT met", verdicts.get(2));
    assertEquals("two nodes: throughput 50 % of direct (goal ≥ 70 %): NOT met", verdicts.get(3));
    assertTrue(verdicts.get(4).startsWith("two nodes: 2 ERRORS"), verdicts.get(4));
    assertTrue(verdicts.get(4).endsWith("HTTP 504: timeout"), verdicts.get(4));
  }

  @Test
  void oneNodeIsJudgedAgainstTheReference() {
    List<String> verdicts = report.verdicts();

    // CPU per request is 50 µs everywhere; one node makes 8,000/s against the reference's 9,000/s.
    assertEquals("one node: CPU per request 1.0× the reference's (goal ≤ 2.5×): met", verdicts.get(5));
    assertEquals("one node: requests/s 89 % of the reference's (goal ≥ 50 %): met", verdicts.get(6));
    assertEquals("two nodes: CPU per request 1.0× the reference's", verdicts.get(7));
    assertEquals("two nodes: requests/s 56 % of the reference's", verdicts.get(8));
  }

  @Test
  void targetsRotateFromRoundToRound() {
    assertEquals(List.of("b", "c", "a"), PassthroughBench.rotated(List.of("a", "b", "c"), 1));
    assertEquals(List.of("a", "b", "c"), PassthroughBench.rotated(List.of("a", "b", "c"), 3));
  }
}
