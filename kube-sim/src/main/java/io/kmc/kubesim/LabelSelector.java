package io.kmc.kubesim;

import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code labelSelector} query language: {@code a=b}, {@code a==b}, {@code a!=b},
 * {@code a in (x,y)}, {@code a notin (x)}, {@code a}, {@code !a}, {@code a>1}, {@code a<1},
 * comma meaning AND.
 */
final class LabelSelector {

  private enum Operator { EXISTS, NOT_EXISTS, EQUALS, NOT_EQUALS, IN, NOT_IN, GREATER, LESS }

  private record Requirement(String key, Operator operator, Set<String> values) {

    boolean matches(JsonObject labels) {
      boolean present = labels.containsKey(key);
      String value = present ? String.valueOf(labels.getValue(key)) : null;
      return switch (operator) {
        case EXISTS -> present;
        case NOT_EXISTS -> !present;
        case EQUALS, IN -> present && values.contains(value);
        case NOT_EQUALS, NOT_IN -> !present || !values.contains(value);
        case GREATER -> present && compareNumber(value) > 0;
        case LESS -> present && compareNumber(value) < 0;
      };
    }

    private int compareNumber(String value) {
      try {
        return Long.compare(Long.parseLong(value), Long.parseLong(values.iterator().next()));
      } catch (NumberFormatException e) {
        return 0;
      }
    }
  }

  private static final Pattern SET_TERM = Pattern.compile("^(\\S+)\\s+(in|notin)\\s*\\((.*)\\)$");
  private static final LabelSelector EVERYTHING = new LabelSelector(List.of());

  private final List<Requirement> requirements;

  private LabelSelector(List<Requirement> requirements) {
    this.requirements = requirements;
  }

  static LabelSelector parse(String selector) {
    if (selector == null || selector.isBlank()) {
      return EVERYTHING;
    }
    List<Requirement> requirements = new ArrayList<>();
    for (String term : splitTopLevel(selector)) {
      requirements.add(parseTerm(term.trim(), selector));
    }
    return new LabelSelector(requirements);
  }

  /** A selector from a LabelSelector object (matchLabels + matchExpressions), as in a Deployment's spec. */
  static LabelSelector fromObject(JsonObject selector) {
    if (selector == null) {
      return EVERYTHING;
    }
    List<Requirement> requirements = new ArrayList<>();
    selector.getJsonObject("matchLabels", new JsonObject()).forEach(e ->
        requirements.add(new Requirement(e.getKey(), Operator.EQUALS, Set.of(String.valueOf(e.getValue())))));
    for (Object o : selector.getJsonArray("matchExpressions", new io.vertx.core.json.JsonArray())) {
      JsonObject expression = (JsonObject) o;
      Set<String> values = new java.util.HashSet<>();
      expression.getJsonArray("values", new io.vertx.core.json.JsonArray()).forEach(v -> values.add(String.valueOf(v)));
      Operator operator = switch (expression.getString("operator", "")) {
        case "In" -> Operator.IN;
        case "NotIn" -> Operator.NOT_IN;
        case "DoesNotExist" -> Operator.NOT_EXISTS;
        default -> Operator.EXISTS;
      };
      requirements.add(new Requirement(expression.getString("key"), operator, values));
    }
    return new LabelSelector(requirements);
  }

  boolean matches(JsonObject object) {
    if (requirements.isEmpty()) {
      return true;
    }
    JsonObject metadata = object.getJsonObject("metadata", new JsonObject());
    JsonObject labels = metadata.getJsonObject("labels", new JsonObject());
    for (Requirement requirement : requirements) {
      if (!requirement.matches(labels)) {
        return false;
      }
    }
    return true;
  }

  private static Requirement parseTerm(String term, String whole) {
    if (term.isEmpty()) {
      throw invalid(whole);
    }
    Matcher set = SET_TERM.matcher(term);
    if (set.matches()) {
      Set<String> values = new java.util.LinkedHashSet<>();
      for (String value : set.group(3).split(",")) {
        values.add(value.trim());
      }
      return new Requirement(set.group(1), "in".equals(set.group(2)) ? Operator.IN : Operator.NOT_IN, values);
    }
    if (term.startsWith("!")) {
      return new Requirement(checkedKey(term.substring(1).trim(), whole), Operator.NOT_EXISTS, Set.of());
    }
    String[] operators = {"!=", "==", "=", ">", "<"};
    for (String operator : operators) {
      int at = term.indexOf(operator);
      if (at > 0) {
        String key = checkedKey(term.substring(0, at).trim(), whole);
        String value = term.substring(at + operator.length()).trim();
        Operator op = switch (operator) {
          case "!=" -> Operator.NOT_EQUALS;
          case ">" -> Operator.GREATER;
          case "<" -> Operator.LESS;
          default -> Operator.EQUALS;
        };
        return new Requirement(key, op, Set.of(value));
      }
    }
    return new Requirement(checkedKey(term, whole), Operator.EXISTS, Set.of());
  }

  private static String checkedKey(String key, String whole) {
    if (key.isEmpty() || key.contains(" ") || key.contains("(") || key.contains(")")) {
      throw invalid(whole);
    }
    return key;
  }

  private static KubeApiException invalid(String selector) {
    return KubeApiException.badRequest("unable to parse requirement: found '" + selector + "', expected: identifier");
  }

  /** Splits on commas outside parentheses, so {@code a in (x,y),b} is two terms. */
  private static List<String> splitTopLevel(String selector) {
    List<String> terms = new ArrayList<>();
    int depth = 0;
    int start = 0;
    for (int i = 0; i < selector.length(); i++) {
      char c = selector.charAt(i);
      if (c == '(') {
        depth++;
      } else if (c == ')') {
        depth--;
      } else if (c == ',' && depth == 0) {
        terms.add(selector.substring(start, i));
        start = i + 1;
      }
    }
    terms.add(selector.substring(start));
    return terms;
  }
}
