package io.kmc.hub.index;

import io.kmc.common.protocol.Frame;
import org.junit.jupiter.api.Test;

import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/** What an agent may put in an index batch; anything else is refused whole. */
class IndexValidatorTest {

  private final IndexValidator validator = new IndexValidator(10);

  private static Frame.IndexedObject object(String namespace, String name, Map<String, String> labels,
                                            Map<String, Object> summary) {
    return new Frame.IndexedObject("uid", namespace, name, "7", labels, "ReplicaSet/web-1", "2026-12-01T10:00:00Z",
        summary);
  }

  private static Frame.Index batch(String group, String resource, boolean namespaced, Frame.IndexedObject... objects) {
    return new Frame.Index(1, group, "v1", resource, "Thing", namespaced, "e:1", false, false,
        java.util.Arrays.asList(objects),
        List.of());
  }

  @Test
  void acceptsWhatAnAgentSends() {
    assertNull(validator.problem(batch("apps", "deployments", true,
        object("shop", "web", Map.of("app", "web", "example.com/tier", ""), Map.of("replicas", 3, "ready", true,
            "phase", "Running")))));
    assertNull(validator.problem(batch("", "nodes", false, object(null, "node-1", Map.of(), Map.of()))));
  }

  @Test
  void refusesMalformedBatches() {
    Map<String, Object> manyFields = new HashMap<>();
    for (int i = 0; i < 17; i++) {
      manyFields.put("f" + i, i);
    }
    Map<String, String> manyLabels = new HashMap<>();
    for (int i = 0; i < 65; i++) {
      manyLabels.put("l" + i, "v");
    }
    List<Frame.Index> bad = List.of(
        batch("Apps!", "deployments", true, object("shop", "web", Map.of(), Map.of())),
        batch("apps", "Deployments", true, object("shop", "web", Map.of(), Map.of())),
        batch("apps", "deployments", true, object(null, "web", Map.of(), Map.of())),
        batch("", "nodes", false, object("default", "n", Map.of(), Map.of())),
        batch("apps", "deployments", true, object("Shop", "web", Map.of(), Map.of())),
        batch("apps", "deployments", true, object("shop", "a/b", Map.of(), Map.of())),
        batch("apps", "deployments", true, object("shop", "we\nb", Map.of(), Map.of())),
        batch("apps", "deployments", true, object("shop", "x".repeat(254), Map.of(), Map.of())),
        batch("apps", "deployments", true, object("shop", "web", Map.of("k", "v".repeat(64)), Map.of())),
        batch("apps", "deployments", true, object("shop", "web", manyLabels, Map.of())),
        batch("apps", "deployments", true, object("shop", "web", Map.of(), manyFields)),
        batch("apps", "deployments", true, object("shop", "web", Map.of(), Map.of("spec", Map.of("x", 1)))),
        batch("apps", "deployments", true, object("shop", "web", Map.of(), Map.of("list", List.of(1)))),
        batch("apps", "deployments", true, object("shop", "web", Map.of(), Map.of("bad key", 1))),
        batch("apps", "deployments", true, object("shop", "web", Map.of(), Map.of("s", "x".repeat(257)))),
        batch("apps", "deployments", true, new Frame.IndexedObject("uid", "shop", "web", "7", Map.of(), null,
            "not a time", Map.of())),
        batch("apps", "deployments", true, new Frame.IndexedObject("", "shop", "web", "7", Map.of(), null, null,
            Map.of())),
        batch("apps", "deployments", true, new Frame.IndexedObject("uid", "shop", "web", null, Map.of(), null, null,
            Map.of())),
        batch("apps", "deployments", true, (Frame.IndexedObject) null),
        batch("apps", "deployments", true, Collections.nCopies(11, object("shop", "web", Map.of(), Map.of()))
            .toArray(new Frame.IndexedObject[0])),
        new Frame.Index(1, "apps", "version1", "deployments", "Deployment", true, null, false, false, List.of(),
            List.of()),
        new Frame.Index(1, "apps", "v1", "deployments", "Deployment", true, "bad watermark!", false, false, List.of(),
            List.of()),
        new Frame.Index(1, "apps", "v1", "deployments", "Deployment", true, null, false, false, List.of(),
            List.of(new Frame.IndexedKey(null, "web"))));
    for (Frame.Index frame : bad) {
      assertNotNull(validator.problem(frame), "refused: " + frame);
    }
  }
}
