package io.kmc.bench.load;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JvmProcessTest {

  @Test
  void readsTheUsedHeapOfG1() {
    String heapInfo = """
        12345:
         garbage-first heap   total 262144K, used 41234K [0x00000000f0000000, 0x0000000100000000)
          region size 1024K, 3 young (3072K), 0 survivors (0K)
         Metaspace       used 30000K, committed 30500K, reserved 1073152K
        """;
    assertEquals(41234, JvmProcess.parseHeapUsedKib(heapInfo));
    assertThrows(IllegalStateException.class, () -> JvmProcess.parseHeapUsedKib("12345: no such process"));
  }

  @Test
  void readsAClassHistogram() {
    String histogram = """
        4737:
         num     #instances         #bytes  class name (module)
        -------------------------------------------------------
           1:         94102       12265128  [B (java.base@17.0.15)
           2:         81782        1962768  java.lang.String (java.base@17.0.15)
          12:          6561         262440  io.micrometer.core.instrument.Meter$Id
        Total        519966       27215720
        """;
    var bytes = JvmProcess.parseClassHistogram(histogram);
    assertEquals(3, bytes.size());
    assertEquals(12265128L, bytes.get("[B"));
    assertEquals(262440L, bytes.get("io.micrometer.core.instrument.Meter$Id"));
    assertThrows(IllegalStateException.class, () -> JvmProcess.parseClassHistogram("12345: no such process"));
  }

  @Test
  void readsThisProcess() {
    JvmProcess self = new JvmProcess(ProcessHandle.current().pid());
    assertTrue(self.threads() > 1);
    assertTrue(self.rssKib() > 0);
    assertTrue(self.cpuNanos() >= 0);
    assertTrue(self.threadNames().size() > 1);
    var byThread = self.cpuNanosByThread();
    assertTrue(byThread.size() > 1 && byThread.values().stream().mapToLong(Long::longValue).sum() > 0, byThread.toString());
  }
}
