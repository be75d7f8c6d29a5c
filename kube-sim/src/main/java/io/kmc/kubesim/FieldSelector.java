package io.kmc.kubesim;

import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code fieldSelector} query language ({@code path=value}, {@code path==value},
 * {@code path!=value}, comma meaning AND). The real apiserver allows only a few paths per kind
 * (metadata.name, metadata.namespace, status.phase, spec.nodeName, ...); any dotted path is
 * accepted here, a missing field comparing as the empty string.
 */
final class FieldSelector {

  private record Requirement(String path, boolean equal, String value) {
    boolean matches(JsonObject object) {
      return equal == value.equals(Json.stringAt(object, path));
    }
  }

  private static final FieldSelector EVERYTHING = new FieldSelector(List.of());

  private final List<Requirement> requirements;

  private FieldSelector(List<Requirement> requirements) {
    this.requirements = requirements;
  }

  static FieldSelector parse(String selector) {
    if (selector == null || selector.isBlank()) {
      return EVERYTHING;
    }
    List<Requirement> requirements = new ArrayList<>();
    for (String term : selector.split(",")) {
      String t = term.trim();
      int notEqual = t.indexOf("!=");
      int doubleEqual = t.indexOf("==");
      int equal = t.indexOf('=');
      if (notEqual > 0) {
        requirements.add(new Requirement(t.substring(0, notEqual), false, t.substring(notEqual + 2)));
      } else if (doubleEqual > 0) {
        requirements.add(new Requirement(t.substring(0, doubleEqual), true, t.substring(doubleEqual + 2)));
      } else if (equal > 0) {
        requirements.add(new Requirement(t.substring(0, equal), true, t.substring(equal + 1)));
      } else {
        throw KubeApiException.badRequest("invalid selector: '" + selector + "'; can't understand '" + t + "'");
      }
    }
    return new FieldSelector(requirements);
  }

  boolean matches(JsonObject object) {
    for (Requirement requirement : requirements) {
      if (!requirement.matches(object)) {
        return false;
      }
    }
    return true;
  }
}
