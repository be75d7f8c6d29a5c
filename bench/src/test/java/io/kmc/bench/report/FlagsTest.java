package io.kmc.bench.report;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FlagsTest {

  private static final Map<String, String> DEFAULTS = Map.of("--count", "3", "--rate", "2.5", "--v1", "true");

  @Test
  void defaultsAndGivenValues() {
    Flags flags = Flags.parse(List.of("--count", "7", "--v1", "false"), DEFAULTS);
    assertEquals(7, flags.integer("--count", 1, 10));
    assertEquals(2.5, flags.number("--rate", 0, 100));
    assertFalse(flags.bool("--v1"));
    assertTrue(Flags.parse(List.of(), DEFAULTS).bool("--v1"));
  }

  @Test
  void badFlagsAreNamed() {
    assertTrue(assertThrows(IllegalArgumentException.class, () -> Flags.parse(List.of("--nope", "1"), DEFAULTS))
        .getMessage().contains("--nope"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> Flags.parse(List.of("--count"), DEFAULTS))
        .getMessage().contains("needs a value"));
    Flags flags = Flags.parse(List.of("--count", "70", "--rate", "x"), DEFAULTS);
    assertTrue(assertThrows(IllegalArgumentException.class, () -> flags.integer("--count", 1, 10))
        .getMessage().contains("between 1 and 10"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> flags.number("--rate", 0, 1))
        .getMessage().contains("--rate"));
  }
}
