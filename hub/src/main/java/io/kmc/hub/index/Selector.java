package io.kmc.hub.index;

import io.kmc.common.KmcException;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A label selector in Kubernetes' query syntax: {@code a=b}, {@code a==b}, {@code a!=b},
 * {@code a in (x,y)}, {@code a notin (x)}, {@code a} (exists), {@code !a} (does not exist); commas
 * join requirements, all of which must hold. Matches label maps here (cluster labels) and becomes
 * SQL over the index's JSONB labels ({@link SqlWhere}).
 */
public record Selector(List<Requirement> requirements) {

  public enum Operator { EQUALS, NOT_EQUALS, IN, NOT_IN, EXISTS, NOT_EXISTS }

  public record Requirement(String key, Operator operator, Set<String> values) {
  }

  public static final Selector EVERYTHING = new Selector(List.of());
  private static final int MAX_LENGTH = 4096;
  private static final int MAX_REQUIREMENTS = 32;
  private static final Pattern KEY = Pattern.compile("([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?");
  private static final Pattern VALUE = Pattern.compile("([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?");
  private static final Pattern SET_TERM = Pattern.compile("^(\\S+)\\s+(in|notin)\\s*\\((.*)\\)$");

  /** Parses {@code text}; null or blank selects everything. A bad selector is a 400 naming {@code param}. */
  public static Selector parse(String text, String param) {
    if (text == null || text.isBlank()) {
      return EVERYTHING;
    }
    if (text.length() > MAX_LENGTH) {
      throw KmcException.badRequest(param + " is longer than " + MAX_LENGTH + " characters");
    }
    List<Requirement> requirements = new ArrayList<>();
    for (String term : splitTopLevel(text)) {
      requirements.add(term(term.trim(), param));
    }
    if (requirements.size() > MAX_REQUIREMENTS) {
      throw KmcException.badRequest(param + " has more than " + MAX_REQUIREMENTS + " requirements");
    }
    return new Selector(List.copyOf(requirements));
  }

  private static Requirement term(String term, String param) {
    Matcher set = SET_TERM.matcher(term);
    if (set.matches()) {
      Set<String> values = new LinkedHashSet<>();
      for (String value : set.group(3).split(",")) {
        values.add(value(value.trim(), term, param));
      }
      return new Requirement(key(set.group(1), term, param),
          set.group(2).equals("in") ? Operator.IN : Operator.NOT_IN, Set.copyOf(values));
    }
    int notEquals = term.indexOf("!=");
    if (notEquals > 0) {
      return new Requirement(key(term.substring(0, notEquals).trim(), term, param), Operator.NOT_EQUALS,
          Set.of(value(term.substring(notEquals + 2).trim(), term, param)));
    }
    int equals = term.indexOf('=');
    if (equals > 0) {
      int valueAt = term.startsWith("==", equals) ? equals + 2 : equals + 1;
      return new Requirement(key(term.substring(0, equals).trim(), term, param), Operator.EQUALS,
          Set.of(value(term.substring(valueAt).trim(), term, param)));
    }
    if (term.startsWith("!")) {
      return new Requirement(key(term.substring(1).trim(), term, param), Operator.NOT_EXISTS, Set.of());
    }
    return new Requirement(key(term, term, param), Operator.EXISTS, Set.of());
  }

  private static String key(String key, String term, String param) {
    if (key.length() > 317 || !KEY.matcher(key).matches()) {
      throw KmcException.badRequest(param + ": '" + term + "' does not name a label key");
    }
    return key;
  }

  private static String value(String value, String term, String param) {
    if (value.length() > 63 || !VALUE.matcher(value).matches()) {
      throw KmcException.badRequest(param + ": '" + term + "' has an invalid label value");
    }
    return value;
  }

  /** Splits on commas outside parentheses. */
  private static List<String> splitTopLevel(String text) {
    List<String> terms = new ArrayList<>();
    int depth = 0;
    int start = 0;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '(') {
        depth++;
      } else if (c == ')') {
        depth--;
      } else if (c == ',' && depth == 0) {
        terms.add(text.substring(start, i));
        start = i + 1;
      }
    }
    terms.add(text.substring(start));
    return terms;
  }

  public boolean matches(Map<String, String> labels) {
    for (Requirement r : requirements) {
      String value = labels.get(r.key());
      boolean holds = switch (r.operator()) {
        case EQUALS, IN -> value != null && r.values().contains(value);
        case NOT_EQUALS, NOT_IN -> value == null || !r.values().contains(value);
        case EXISTS -> value != null;
        case NOT_EXISTS -> value == null;
      };
      if (!holds) {
        return false;
      }
    }
    return true;
  }

  public boolean everything() {
    return requirements.isEmpty();
  }
}
