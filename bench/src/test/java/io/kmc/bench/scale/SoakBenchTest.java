package io.kmc.bench.scale;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SoakBenchTest {

  private static List<SoakBench.Sample> threads(int... values) {
    List<SoakBench.Sample> samples = new ArrayList<>();
    for (int i = 0; i < values.length; i++) {
      samples.add(new SoakBench.Sample(i + 1, 0, values[i], 0, 0, 0, 0, 0));
    }
    return samples;
  }

  @Test
  void aSeriesThatWandersWithoutTrendIsFlat() {
    SoakBench.Fit fit = SoakBench.fit(threads(60, 44, 46, 43, 45, 44, 46, 43, 45, 44), SoakBench.Sample::threads, 0, 2);
    assertTrue(fit.flat(), fit.toString());
  }

  @Test
  void aSteadyLeakIsGrowingEvenWhenNoisy() {
    // One thread a minute, ±1 of noise: 9 threads more over minutes 2–10.
    SoakBench.Fit fit = SoakBench.fit(threads(40, 41, 43, 43, 45, 45, 47, 47, 49, 49), SoakBench.Sample::threads, 0, 2);
    assertFalse(fit.flat(), fit.toString());
    assertEquals(1.0, fit.slope(), 0.2);
  }

  @Test
  void metricSumsEveryLabelledSample() {
    String exposition = "# HELP vertx_eventbus_handlers x\nvertx_eventbus_handlers{address=\"a\"} 3.0\n"
        + "vertx_eventbus_handlers{address=\"b\"} 4.0\nvertx_eventbus_handlers_total 9\n";
    assertEquals(7.0, SoakBench.metric(exposition, "vertx_eventbus_handlers"));
    assertTrue(Double.isNaN(SoakBench.metric(exposition, "absent")));
  }
}
