package io.kmc.bench.scale;

import io.kmc.bench.report.Flags;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** fleet-sim's simulator options are checked before anything starts, and named when wrong. */
class FleetSimOptionsTest {

  private static Exception refused(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    FleetSimBench bench = new FleetSimBench(Flags.parse(List.of(args), FleetSimBench.DEFAULTS),
        new PrintStream(out, true, StandardCharsets.UTF_8));
    Exception e = assertThrows(IllegalArgumentException.class, bench::run);
    assertEquals("", out.toString(StandardCharsets.UTF_8), "nothing ran");
    return e;
  }

  @Test
  void badSimulatorOptionsAreNamed() {
    assertTrue(refused("--sim-tls", "rsa").getMessage().contains("--sim-tls"));
    assertTrue(refused("--max-dialing", "0").getMessage().contains("--max-dialing"));
    assertTrue(refused("--sim-event-loops", "0").getMessage().contains("--sim-event-loops"));
  }

  @Test
  void defaultsBoundTheDialsInFlight() {
    Flags flags = Flags.parse(List.of(), FleetSimBench.DEFAULTS);
    assertEquals(64, flags.integer("--max-dialing", 1, 100_000));
    assertEquals("openssl", flags.string("--sim-tls"));
    assertEquals(Runtime.getRuntime().availableProcessors(), flags.integer("--sim-event-loops", 1, 256));
  }

  @Test
  void stormNamesTheStatusOfAFailedRead() {
    assertEquals("503", StormBench.status(new IllegalStateException("GET /k8s/clusters/sim-00001/x: 503 {\"reason\":\"gone\"}")));
    assertEquals("TimeoutException", StormBench.status(new java.util.concurrent.TimeoutException("no answer")));
  }
}
