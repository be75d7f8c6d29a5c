package io.kmc.bench.load;

import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class RunResultTest {

  @Test
  void percentilesComeFromTheHistogramWithinItsPrecision() {
    Histogram latencies = new Histogram(3);
    for (long micros = 1; micros <= 1000; micros++) {
      latencies.recordValue(micros * 1000);
    }
    RunResult result = RunResult.of(latencies, 0, 2.0, 4_000_000, null);

    assertEquals(1000, result.requests());
    assertEquals(500_000, result.p50Nanos(), 500);
    assertEquals(900_000, result.p90Nanos(), 900);
    assertEquals(990_000, result.p99Nanos(), 990);
    assertEquals(1_000_000, result.maxNanos(), 1000);
    assertEquals(500.0, result.requestsPerSecond());
    assertEquals(4.0, result.cpuMicrosPerRequest());
  }

  @Test
  void anEmptyRunHasNoRateAndNoPercentiles() {
    RunResult result = RunResult.of(new Histogram(3), 3, 1.0, 0, "HTTP 503");

    assertEquals(0, result.requests());
    assertEquals(0, result.p99Nanos());
    assertEquals(0.0, result.cpuMicrosPerRequest());
    assertEquals(3, result.errors());
  }

  @Test
  void roundsFoldIntoTheirMedianTheWorstMaximumAndAllErrors() {
    RunResult slow = new RunResult(1000, 0, 1.0, 900, 950, 990, 5000, 90_000_000, null);
    RunResult middle = new RunResult(2000, 1, 1.0, 500, 600, 700, 800, 100_000_000, "HTTP 502");
    RunResult fast = new RunResult(3000, 0, 1.0, 100, 200, 300, 400, 90_000_000, null);

    RunResult median = RunResult.medianOf(List.of(fast, slow, middle));

    assertEquals(2000, median.requests());
    assertEquals(500, median.p50Nanos());
    assertEquals(600, median.p90Nanos());
    assertEquals(700, median.p99Nanos());
    assertEquals(5000, median.maxNanos());
    assertEquals(50.0, median.cpuMicrosPerRequest(), 1e-9);
    assertEquals(1, median.errors());
    assertEquals("HTTP 502", median.firstError());
  }

  @Test
  void anEvenNumberOfRoundsTakesTheMeanOfTheMiddleTwo() {
    RunResult a = new RunResult(1000, 0, 2.0, 100, 100, 100, 100, 0, null);
    RunResult b = new RunResult(3000, 0, 2.0, 300, 300, 300, 300, 0, null);

    RunResult median = RunResult.medianOf(List.of(a, b));

    assertEquals(1000.0, median.requestsPerSecond());
    assertEquals(200, median.p50Nanos());
    assertNull(median.firstError());
    assertThrows(IllegalArgumentException.class, () -> RunResult.medianOf(List.of()));
  }
}
