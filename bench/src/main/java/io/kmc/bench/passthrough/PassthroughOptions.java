package io.kmc.bench.passthrough;

import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * Command-line options of {@code passthrough}. The defaults keep a whole run under two minutes on
 * the project's 2-core machines: 3 rounds × 3 targets × 2 modes × (1 s warm-up + 4 s measured),
 * after a first warm-up of 3 s per target.
 *
 * @param measure     measured time per target, per mode, per round
 * @param warmup      unmeasured load before each measured run (the first warm-up is three times this)
 * @param rounds      rounds of the whole sequence; the report gives the median of each figure
 * @param inFlight    concurrent requests of the throughput mode
 * @param connections keep-alive connections of the throughput mode (requests beyond them queue in the client)
 */
public record PassthroughOptions(Duration measure, Duration warmup, int rounds, int inFlight, int connections) {

  public static final String USAGE = """
      passthrough [--seconds N] [--warmup N] [--rounds N] [--in-flight N] [--connections N]
        --seconds N      measured seconds per target and mode, each round (default 4)
        --warmup N       warm-up seconds before each measured run (default 1; 3× that once at start)
        --rounds N       rounds; the report takes the median per target (default 3)
        --in-flight N    concurrent requests when measuring throughput (default 16)
        --connections N  keep-alive connections when measuring throughput (default 8)""";

  public static final PassthroughOptions DEFAULTS = new PassthroughOptions(Duration.ofSeconds(4), Duration.ofSeconds(1),
      3, 16, 8);

  /** Parses the arguments after the benchmark's name; a bad one is an {@link IllegalArgumentException} naming it. */
  public static PassthroughOptions parse(List<String> args) {
    PassthroughOptions options = DEFAULTS;
    for (int i = 0; i < args.size(); i++) {
      String flag = args.get(i);
      if (i + 1 >= args.size()) {
        throw new IllegalArgumentException(flag + " needs a value");
      }
      String value = args.get(++i);
      options = switch (flag) {
        case "--seconds" -> options.with(seconds(flag, value, 0.1), options.warmup, options.rounds, options.inFlight,
            options.connections);
        case "--warmup" -> options.with(options.measure, seconds(flag, value, 0), options.rounds, options.inFlight,
            options.connections);
        case "--rounds" -> options.with(options.measure, options.warmup, count(flag, value, 1, 100), options.inFlight,
            options.connections);
        case "--in-flight" -> options.with(options.measure, options.warmup, options.rounds, count(flag, value, 1, 4096),
            options.connections);
        case "--connections" -> options.with(options.measure, options.warmup, options.rounds, options.inFlight,
            count(flag, value, 1, 1024));
        default -> throw new IllegalArgumentException("unknown option " + flag);
      };
    }
    return options;
  }

  private PassthroughOptions with(Duration measure, Duration warmup, int rounds, int inFlight, int connections) {
    return new PassthroughOptions(measure, warmup, rounds, inFlight, connections);
  }

  private static Duration seconds(String flag, String value, double min) {
    try {
      double seconds = Double.parseDouble(value);
      if (seconds < min || seconds > 3600) {
        throw new IllegalArgumentException(flag + " must be between " + min + " and 3600 seconds, was " + value);
      }
      return Duration.ofMillis(Math.round(seconds * 1000));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(flag + " must be a number of seconds, was '" + value + "'");
    }
  }

  private static int count(String flag, String value, int min, int max) {
    try {
      int count = Integer.parseInt(value);
      if (count < min || count > max) {
        throw new IllegalArgumentException(flag + " must be between " + min + " and " + max + ", was " + value);
      }
      return count;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(flag + " must be a whole number, was '" + value + "'");
    }
  }

  public String describe() {
    return String.format(Locale.ROOT,
        "%d round(s); per target and mode %.1f s warm-up + %.1f s measured; latency at 1 request on 1 connection, "
            + "throughput at %d in flight over %d connection(s)",
        rounds, warmup.toMillis() / 1000.0, measure.toMillis() / 1000.0, inFlight, connections);
  }
}
