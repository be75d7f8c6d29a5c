package io.kmc.hub.index;

import io.kmc.common.KmcException;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SelectorTest {

  @Test
  void readsEveryOperator() {
    Selector selector = Selector.parse("app=web, tier==front,env!=prod,zone in (a, b),team notin (x),owner,!legacy",
        "labelSelector");
    assertEquals(7, selector.requirements().size());
    assertEquals(new Selector.Requirement("zone", Selector.Operator.IN, Set.of("a", "b")),
        selector.requirements().get(3));
    assertEquals(Selector.Operator.NOT_EXISTS, selector.requirements().get(6).operator());
    Map<String, String> labels = Map.of("app", "web", "tier", "front", "env", "dev", "zone", "b", "team", "y",
        "owner", "me");
    assertTrue(selector.matches(labels));
    assertFalse(selector.matches(Map.of("app", "web")));
    assertTrue(Selector.parse("example.com/role=db", "x").matches(Map.of("example.com/role", "db")));
    assertTrue(Selector.parse("", "x").everything());
  }

  @Test
  void refusesWhatIsNotASelector() {
    for (String bad : new String[] {"a in (b", "=b", "a=b c", "a=" + "v".repeat(64), "a b=c", "a in (b;c)",
        "'; drop table fleet_objects; --"}) {
      KmcException e = assertThrows(KmcException.class, () -> Selector.parse(bad, "labelSelector"), bad);
      assertEquals(400, e.status());
      assertTrue(e.getMessage().startsWith("labelSelector"), e.getMessage());
    }
  }
}
