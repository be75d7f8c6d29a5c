package io.kmc.kubesim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

class LabelSelectorTest {

  private static final JsonObject WEB = labelled(new JsonObject().put("app", "web").put("tier", "front"));
  private static final JsonObject DB = labelled(new JsonObject().put("app", "db"));

  @Test
  void equalityAndInequality() {
    assertTrue(LabelSelector.parse("app=web").matches(WEB));
    assertTrue(LabelSelector.parse("app==web").matches(WEB));
    assertFalse(LabelSelector.parse("app=web").matches(DB));
    assertTrue(LabelSelector.parse("app!=web").matches(DB));
    assertTrue(LabelSelector.parse("tier!=back").matches(DB), "!= matches objects without the label");
  }

  @Test
  void setsAndExistence() {
    assertTrue(LabelSelector.parse("app in (db, web)").matches(WEB));
    assertFalse(LabelSelector.parse("app notin (web)").matches(WEB));
    assertTrue(LabelSelector.parse("tier").matches(WEB));
    assertFalse(LabelSelector.parse("tier").matches(DB));
    assertTrue(LabelSelector.parse("!tier").matches(DB));
    assertTrue(LabelSelector.parse("app in (web,db),tier,!missing").matches(WEB), "commas inside parentheses");
    assertTrue(LabelSelector.parse("").matches(DB));
  }

  @Test
  void garbageIsABadRequest() {
    assertEquals(400, assertThrows(KubeApiException.class, () -> LabelSelector.parse("a b c")).code());
    assertEquals(400, assertThrows(KubeApiException.class, () -> LabelSelector.parse("a=b,,")).code());
  }

  @Test
  void fieldSelectorsCompareDottedPaths() {
    JsonObject pod = new JsonObject().put("metadata", new JsonObject().put("name", "p").put("namespace", "n"))
        .put("status", new JsonObject().put("phase", "Running"));
    assertTrue(FieldSelector.parse("metadata.name=p,status.phase==Running").matches(pod));
    assertFalse(FieldSelector.parse("status.phase!=Running").matches(pod));
    assertTrue(FieldSelector.parse("spec.nodeName=").matches(pod), "a missing field is the empty string");
  }

  private static JsonObject labelled(JsonObject labels) {
    return new JsonObject().put("metadata", new JsonObject().put("labels", labels));
  }
}
