package io.kmc.ops;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

class TextsTest {

  @Test
  void escapesControlCharactersAndBoundsLength() {
    assertNull(Texts.bounded(null, 10));
    String plain = "cluster c1 ok";
    assertSame(plain, Texts.bounded(plain, 100), "clean text is not copied");
    assertEquals("a\\u0000b", Texts.bounded("a\u0000b", 100));
    assertEquals("line\\n2024-01-01 INFO forged", Texts.bounded("line\n2024-01-01 INFO forged", 100));
    assertEquals("a\\r\\tb\\u007f", Texts.bounded("a\r\tb\u007f", 100));
    assertEquals("abcd…", Texts.bounded("abcdefghij", 5));
    assertEquals(5, Texts.bounded("x".repeat(10_000), 5).length());
    assertEquals("a\\u0…", Texts.bounded("a\u0001bcdefgh", 5));
    assertEquals("a\uFFFDb", Texts.bounded("a\uD800b", 100), "a lone surrogate cannot be stored as UTF-8");
    assertEquals("a\uD83D\uDE00b", Texts.bounded("a\uD83D\uDE00b", 100), "a pair is kept");
    assertEquals("ab…", Texts.bounded("ab\uD83D\uDE00cdef", 4), "a pair is never cut in half");
    assertEquals(200, Texts.forLog("y".repeat(10_000)).length());
  }
}
