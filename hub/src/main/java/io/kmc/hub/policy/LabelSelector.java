package io.kmc.hub.policy;

import io.kmc.common.KmcException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A Kubernetes label selector ({@code matchLabels} and {@code matchExpressions} with {@code In},
 * {@code NotIn}, {@code Exists}, {@code DoesNotExist}), with Kubernetes' meaning: every term must hold.
 */
public record LabelSelector(Map<String, String> matchLabels, List<Requirement> matchExpressions) {

  public record Requirement(String key, String operator, Set<String> values) {
  }

  private static final Set<String> OPERATORS = Set.of("In", "NotIn", "Exists", "DoesNotExist");

  /**
   * Reads a selector at {@code path} (for error messages, ending in a dot) from its JSON; 400 naming
   * the field when it is wrong. Used by other concerns (propagation placement) that select clusters.
   */
  public static LabelSelector parse(JsonObject json, String path) {
    return read(new Policy.Fields(json, path));
  }

  /** Null for an absent selector (which matches everything). */
  static LabelSelector read(Policy.Fields fields) {
    if (fields == null) {
      return null;
    }
    Map<String, String> labels = fields.stringMap("matchLabels");
    JsonArray expressions = fields.array("matchExpressions", false);
    List<Requirement> requirements = new ArrayList<>();
    for (int i = 0; i < expressions.size(); i++) {
      String at = fields.path() + "matchExpressions[" + i + "]";
      if (!(expressions.getValue(i) instanceof JsonObject item)) {
        throw KmcException.badRequest(at + " must be an object");
      }
      Policy.Fields e = new Policy.Fields(item, at + ".");
      String key = e.string("key", true, 317);
      String operator = e.string("operator", true, 16);
      List<String> values = e.strings("values");
      e.allowOnly("key", "operator", "values");
      if (!OPERATORS.contains(operator)) {
        throw KmcException.badRequest(at + ".operator must be In, NotIn, Exists or DoesNotExist");
      }
      boolean needsValues = "In".equals(operator) || "NotIn".equals(operator);
      if (needsValues == values.isEmpty()) {
        throw KmcException.badRequest(at + ".values " + (needsValues ? "must not be empty for " : "must be empty for ")
            + operator);
      }
      requirements.add(new Requirement(key, operator, Set.copyOf(values)));
    }
    fields.allowOnly("matchLabels", "matchExpressions");
    return new LabelSelector(Map.copyOf(labels), List.copyOf(requirements));
  }

  public boolean matches(Map<String, String> labels) {
    for (Map.Entry<String, String> wanted : matchLabels.entrySet()) {
      if (!wanted.getValue().equals(labels.get(wanted.getKey()))) {
        return false;
      }
    }
    for (Requirement r : matchExpressions) {
      String value = labels.get(r.key());
      boolean holds = switch (r.operator()) {
        case "In" -> value != null && r.values().contains(value);
        case "NotIn" -> value == null || !r.values().contains(value);
        case "Exists" -> value != null;
        default -> value == null;
      };
      if (!holds) {
        return false;
      }
    }
    return true;
  }
}
