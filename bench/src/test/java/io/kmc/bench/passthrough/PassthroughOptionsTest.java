package io.kmc.bench.passthrough;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class PassthroughOptionsTest {

  @Test
  void optionsHaveDefaultsAndNameTheBadFlag() {
    assertEquals(PassthroughOptions.DEFAULTS, PassthroughOptions.parse(List.of()));
    PassthroughOptions options = PassthroughOptions.parse(List.of("--seconds", "2.5", "--rounds", "5"));
    assertEquals(2500, options.measure().toMillis());
    assertEquals(5, options.rounds());

    IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
        () -> PassthroughOptions.parse(List.of("--second", "2")));
    assertEquals("unknown option --second", unknown.getMessage());
    IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
        () -> PassthroughOptions.parse(List.of("--rounds", "0")));
    assertEquals("--rounds must be between 1 and 100, was 0", bad.getMessage());
  }
}
