package io.kmc.hub.gateway;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AdmissionTest {

  @Test
  void aBurstOverTheRateIsToldToComeBackSpreadOverTheTimeItTakesToDrain() {
    Admission admission = new Admission(10);
    for (int i = 0; i < 10; i++) {
      assertEquals(-1, admission.admit(), "one second's worth goes through at once");
    }
    long longest = 0;
    for (int place = 1; place <= 50; place++) {
      long delay = admission.admit();
      // The n-th turned away waits about n / rate seconds (less what drained meanwhile), plus up to a second.
      assertTrue(delay >= place * 100L - 300 && delay < place * 100L + 1000, "place " + place + ": " + delay);
      longest = Math.max(longest, delay);
    }
    assertTrue(longest >= 4_500, "the fiftieth is told to wait about five seconds: " + longest);
    assertEquals("5", Admission.retryAfterSeconds(4_001));
    assertEquals("1", Admission.retryAfterSeconds(10));
  }

  @Test
  void zeroAdmitsEverything() {
    Admission admission = Admission.unlimited();
    for (int i = 0; i < 10_000; i++) {
      assertEquals(-1, admission.admit());
    }
  }
}
