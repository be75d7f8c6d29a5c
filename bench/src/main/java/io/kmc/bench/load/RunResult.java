package io.kmc.bench.load;

import org.HdrHistogram.Histogram;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.ToDoubleFunction;
import java.util.function.ToLongFunction;

/**
 * What one measured run gave: the successful requests completed in the measurement window, their
 * latency percentiles, and every failed or wrong answer (warm-up included).
 *
 * @param errors     responses that were not 200 with the expected body, or requests that failed
 * @param seconds    length of the measurement window
 * @param cpuNanos   CPU time used in the window by everything measured (see {@link ProcessCpu})
 * @param firstError what the first error was, or null
 */
public record RunResult(long requests, long errors, double seconds, long p50Nanos, long p90Nanos, long p99Nanos,
                        long maxNanos, long cpuNanos, String firstError) {

  public static RunResult of(Histogram latencies, long errors, double seconds, long cpuNanos, String firstError) {
    if (latencies.getTotalCount() == 0) {
      return new RunResult(0, errors, seconds, 0, 0, 0, 0, cpuNanos, firstError);
    }
    return new RunResult(latencies.getTotalCount(), errors, seconds, latencies.getValueAtPercentile(50),
        latencies.getValueAtPercentile(90), latencies.getValueAtPercentile(99), latencies.getMaxValue(), cpuNanos,
        firstError);
  }

  public double requestsPerSecond() {
    return seconds <= 0 ? 0 : requests / seconds;
  }

  /** CPU time of the whole process per successful request: what one request costs on this machine. */
  public double cpuMicrosPerRequest() {
    return requests == 0 ? 0 : cpuNanos / 1e3 / requests;
  }

  /**
   * Folds the rounds of one target into one row: the median of each percentile, of the rate and of
   * the CPU per request (damping a round that a noisy neighbour slowed down), the largest maximum,
   * and all errors.
   */
  public static RunResult medianOf(List<RunResult> rounds) {
    if (rounds.isEmpty()) {
      throw new IllegalArgumentException("no rounds to summarise");
    }
    double seconds = rounds.get(0).seconds();
    long requests = Math.round(median(rounds, RunResult::requestsPerSecond) * seconds);
    String firstError = rounds.stream().map(RunResult::firstError).filter(Objects::nonNull).findFirst().orElse(null);
    long cpuNanos = Math.round(median(rounds, RunResult::cpuMicrosPerRequest) * 1e3 * requests);
    return new RunResult(requests, rounds.stream().mapToLong(RunResult::errors).sum(), seconds,
        medianLong(rounds, RunResult::p50Nanos), medianLong(rounds, RunResult::p90Nanos),
        medianLong(rounds, RunResult::p99Nanos), rounds.stream().mapToLong(RunResult::maxNanos).max().orElse(0),
        cpuNanos, firstError);
  }

  /** The middle value; for an even count, the mean of the two middle ones. */
  static double median(List<RunResult> rounds, ToDoubleFunction<RunResult> value) {
    double[] values = rounds.stream().mapToDouble(value).sorted().toArray();
    int middle = values.length / 2;
    return values.length % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
  }

  private static long medianLong(List<RunResult> rounds, ToLongFunction<RunResult> value) {
    long[] values = rounds.stream().mapToLong(value).toArray();
    Arrays.sort(values);
    int middle = values.length / 2;
    return values.length % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
  }
}
