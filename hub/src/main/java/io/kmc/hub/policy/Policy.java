package io.kmc.hub.policy;

import io.kmc.common.KmcException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One admission policy as a user writes it ({@code apiVersion: kmc.io/v1alpha1, kind: Policy}),
 * read strictly: an unknown field, a wrong type or a value out of bounds is a 400 naming the field,
 * so that a typo ({@code mesage:}) never silently weakens a rule. The shape follows Kubernetes'
 * ValidatingAdmissionPolicy: {@code spec.validations} of {@code expression}, {@code message},
 * {@code messageExpression}; {@code spec.match} and {@code spec.action} take the place of the binding.
 */
public record Policy(String name, String description, Action action, FailurePolicy failurePolicy, Match match,
                     List<Validation> validations) {

  public static final String API_VERSION = "kmc.io/v1alpha1";
  public static final String KIND = "Policy";
  /** Validations one policy may hold (ValidatingAdmissionPolicy has no tighter rule; 16 reads well). */
  public static final int MAX_VALIDATIONS = 16;
  private static final int MAX_LIST = 64;
  private static final int MAX_DESCRIPTION = 1024;
  private static final int MAX_MESSAGE = 1024;
  private static final Pattern NAME = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
  private static final Set<String> OPERATIONS = Set.of("CREATE", "UPDATE");

  /** What a violation does: refuse the write, let it through with a warning, or only record it. */
  public enum Action { DENY, WARN, AUDIT }

  /** What an expression that cannot be evaluated (an error, the cost limit) counts as. */
  public enum FailurePolicy { FAIL, IGNORE }

  /**
   * Which writes the policy looks at; an empty list matches everything. {@code kinds} are
   * {@code Kind} or {@code group/Kind} ({@code apps/Deployment}); {@code *} is any.
   */
  public record Match(List<String> kinds, List<String> operations, List<String> clusters,
                      LabelSelector clusterSelector, List<String> namespaces, List<String> excludedNamespaces,
                      LabelSelector objectSelector) {
  }

  /** One rule: {@code expression} must be true; else the message (static, or computed). */
  public record Validation(String expression, String message, String messageExpression) {
  }

  public static String validName(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw KmcException.badRequest("metadata.name must be 1 to 63 lowercase letters, digits and '-', starting and "
          + "ending with a letter or digit");
    }
    return name;
  }

  /** Reads a manifest; 400 with the field's path for anything wrong. Expressions are checked by the compiler. */
  public static Policy fromManifest(JsonObject manifest, int maxExpressionChars) {
    Fields root = new Fields(manifest, "");
    String apiVersion = root.string("apiVersion", true, 64);
    if (!API_VERSION.equals(apiVersion)) {
      throw KmcException.badRequest("apiVersion must be " + API_VERSION);
    }
    String kind = root.string("kind", true, 64);
    if (!KIND.equals(kind)) {
      throw KmcException.badRequest("kind must be " + KIND);
    }
    Fields metadata = root.object("metadata", true);
    String name = validName(metadata.string("name", true, 63));
    metadata.allowOnly("name");
    Fields spec = root.object("spec", true);
    root.allowOnly("apiVersion", "kind", "metadata", "spec");

    String description = spec.string("description", false, MAX_DESCRIPTION);
    Action action = spec.oneOf("action", Action.class, Action.DENY);
    FailurePolicy failure = spec.oneOf("failurePolicy", FailurePolicy.class, FailurePolicy.FAIL);
    Fields matchFields = spec.object("match", false);
    Match match = matchFields == null ? new Match(List.of(), List.of(), List.of(), null, List.of(), List.of(), null)
        : readMatch(matchFields);
    JsonArray validationItems = spec.array("validations", true);
    if (validationItems.isEmpty() || validationItems.size() > MAX_VALIDATIONS) {
      throw KmcException.badRequest("spec.validations must hold 1 to " + MAX_VALIDATIONS + " entries");
    }
    List<Validation> validations = new ArrayList<>();
    for (int i = 0; i < validationItems.size(); i++) {
      String at = "spec.validations[" + i + "]";
      if (!(validationItems.getValue(i) instanceof JsonObject item)) {
        throw KmcException.badRequest(at + " must be an object");
      }
      Fields v = new Fields(item, at + ".");
      String expression = v.string("expression", true, maxExpressionChars);
      String message = v.string("message", false, MAX_MESSAGE);
      String messageExpression = v.string("messageExpression", false, maxExpressionChars);
      v.allowOnly("expression", "message", "messageExpression");
      if (expression.isBlank()) {
        throw KmcException.badRequest(at + ".expression must not be empty");
      }
      validations.add(new Validation(expression, message, messageExpression));
    }
    spec.allowOnly("description", "action", "failurePolicy", "match", "validations");
    return new Policy(name, description, action, failure, match, List.copyOf(validations));
  }

  private static Match readMatch(Fields m) {
    List<String> operations = m.strings("operations").stream().map(op -> op.toUpperCase(Locale.ROOT)).toList();
    for (String op : operations) {
      if (!OPERATIONS.contains(op) && !"*".equals(op)) {
        throw KmcException.badRequest("spec.match.operations may hold CREATE, UPDATE or *");
      }
    }
    Match match = new Match(m.strings("kinds"), operations, m.strings("clusters"),
        LabelSelector.read(m.object("clusterSelector", false)), m.strings("namespaces"),
        m.strings("excludedNamespaces"), LabelSelector.read(m.object("objectSelector", false)));
    m.allowOnly("kinds", "operations", "clusters", "clusterSelector", "namespaces", "excludedNamespaces",
        "objectSelector");
    return match;
  }

  /** The fields of one JSON object, read with their path for error messages, and checked for strays. */
  static final class Fields {
    private final JsonObject json;
    private final String path;

    Fields(JsonObject json, String path) {
      this.json = json;
      this.path = path;
    }

    String string(String field, boolean required, int maxChars) {
      Object value = json.getValue(field);
      if (value == null) {
        if (required) {
          throw KmcException.badRequest(path + field + " is required");
        }
        return null;
      }
      if (!(value instanceof String text)) {
        throw KmcException.badRequest(path + field + " must be a string");
      }
      if (text.length() > maxChars) {
        throw KmcException.badRequest(path + field + " is " + text.length() + " characters long; at most "
            + maxChars + " are allowed");
      }
      if (text.indexOf('\0') >= 0) {
        throw KmcException.badRequest(path + field + " must not contain NUL characters");
      }
      return text;
    }

    Fields object(String field, boolean required) {
      Object value = json.getValue(field);
      if (value == null) {
        if (required) {
          throw KmcException.badRequest(path + field + " is required");
        }
        return null;
      }
      if (!(value instanceof JsonObject object)) {
        throw KmcException.badRequest(path + field + " must be an object");
      }
      return new Fields(object, path + field + ".");
    }

    JsonArray array(String field, boolean required) {
      Object value = json.getValue(field);
      if (value == null) {
        if (required) {
          throw KmcException.badRequest(path + field + " is required");
        }
        return new JsonArray();
      }
      if (!(value instanceof JsonArray array)) {
        throw KmcException.badRequest(path + field + " must be a list");
      }
      return array;
    }

    List<String> strings(String field) {
      JsonArray array = array(field, false);
      if (array.size() > MAX_LIST) {
        throw KmcException.badRequest(path + field + " may hold at most " + MAX_LIST + " entries");
      }
      List<String> result = new ArrayList<>();
      for (Object item : array) {
        if (!(item instanceof String text) || text.isEmpty() || text.length() > 253
            || text.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
          throw KmcException.badRequest(path + field + " must be a list of 1 to 253 character strings");
        }
        result.add(text);
      }
      return List.copyOf(result);
    }

    Map<String, String> stringMap(String field) {
      Fields fields = object(field, false);
      if (fields == null) {
        return Map.of();
      }
      if (fields.json.size() > MAX_LIST) {
        throw KmcException.badRequest(path + field + " may hold at most " + MAX_LIST + " entries");
      }
      Map<String, String> result = new java.util.LinkedHashMap<>();
      for (String key : fields.json.fieldNames()) {
        result.put(key, fields.string(key, true, 253));
      }
      return result;
    }

    <E extends Enum<E>> E oneOf(String field, Class<E> type, E defaultValue) {
      String text = string(field, false, 32);
      if (text == null) {
        return defaultValue;
      }
      for (E value : type.getEnumConstants()) {
        if (value.name().equalsIgnoreCase(text)) {
          return value;
        }
      }
      List<String> names = new ArrayList<>();
      for (E value : type.getEnumConstants()) {
        names.add(value.name().charAt(0) + value.name().substring(1).toLowerCase(Locale.ROOT));
      }
      throw KmcException.badRequest(path + field + " must be one of " + String.join(", ", names));
    }

    String path() {
      return path;
    }

    /** 400 naming the first field that is none of {@code known}: a misspelt field must not go unnoticed. */
    void allowOnly(String... known) {
      Set<String> allowed = Set.of(known);
      for (String field : json.fieldNames()) {
        if (!allowed.contains(field)) {
          String shown = field.length() > 64 ? field.substring(0, 64) + "…" : field;
          throw KmcException.badRequest("unknown field " + path + shown.replaceAll("[^\\x20-\\x7e]", "?")
              + " (allowed here: " + String.join(", ", known) + ")");
        }
      }
    }
  }
}
