package io.kmc.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class ClusterNamesTest {

  private static final Pattern RULE = Pattern.compile("[a-z]([-a-z0-9]{0,61}[a-z0-9])?");

  @Test
  void acceptsWhatTheRuleAccepts() {
    for (String name : new String[] {"a", "prod", "eu-west-1", "a1", "a-b", "x".repeat(63)}) {
      assertTrue(ClusterNames.valid(name), name);
    }
    for (String name : new String[] {"", "1a", "-a", "a-", "A", "prod_1", "pröd", "a.b", "x".repeat(64), " a"}) {
      assertFalse(ClusterNames.valid(name), name);
    }
    assertFalse(ClusterNames.valid(null));
  }

  @Test
  void agreesWithTheRegularExpressionOnRandomNames() {
    Random random = new Random(42);
    String alphabet = "ab-z09A_.";
    for (int i = 0; i < 100_000; i++) {
      StringBuilder name = new StringBuilder();
      int length = random.nextInt(5) == 0 ? 60 + random.nextInt(6) : random.nextInt(6);
      for (int j = 0; j < length; j++) {
        name.append(alphabet.charAt(random.nextInt(alphabet.length())));
      }
      String text = name.toString();
      assertEquals(RULE.matcher(text).matches(), ClusterNames.valid(text), text);
    }
  }
}
