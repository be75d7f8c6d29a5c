package io.kmc.hub.index;

import io.kmc.common.KmcException;
import io.vertx.core.json.JsonObject;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * The field filters of a fleet question, as search takes them (docs/api.md): {@code name},
 * {@code namePrefix}, {@code nameContains}, {@code owner} ({@code Kind/name}) and
 * {@code summary.<field>}, each an exact text. Parsed once here for both search (which turns them into
 * SQL, {@link SqlWhere}) and live streams (which test each change against them, {@link #matches}).
 * Nulls mean "any".
 */
public record FieldFilter(String name, String namePrefix, String nameContains, String owner,
                          Map<String, String> summary) {

  public static final FieldFilter NONE = new FieldFilter(null, null, null, null, Map.of());
  private static final String SUMMARY_PREFIX = "summary.";
  private static final Pattern SUMMARY_FIELD = Pattern.compile("[A-Za-z][A-Za-z0-9_]{0,62}");

  public FieldFilter {
    summary = Map.copyOf(summary);
  }

  /**
   * The filters among named values (query parameters, or the fields of a JSON message).
   *
   * @param names every name given, of which those starting with {@code summary.} are summary filters
   * @param value the text given for a name, or null; fails with a 400 when it is not text
   * @throws KmcException 400 on a value too long or a summary field that cannot be one
   */
  public static FieldFilter parse(Iterable<String> names, Function<String, String> value) {
    Map<String, String> summary = new LinkedHashMap<>();
    for (String name : names) {
      if (name.startsWith(SUMMARY_PREFIX)) {
        String field = name.substring(SUMMARY_PREFIX.length());
        if (!SUMMARY_FIELD.matcher(field).matches()) {
          throw KmcException.badRequest("'" + name + "' does not name a summary field");
        }
        String text = value.apply(name);
        if (text != null && text.length() > 1024) {
          throw KmcException.badRequest(name + " is longer than 1024 characters");
        }
        if (text != null) {
          summary.put(field, text);
        }
      }
    }
    return new FieldFilter(bounded(value.apply("name"), "name", 253),
        bounded(value.apply("namePrefix"), "namePrefix", 253),
        bounded(value.apply("nameContains"), "nameContains", 253), bounded(value.apply("owner"), "owner", 320),
        summary);
  }

  /** A query parameter: null when absent or empty, a 400 when longer than {@code max}. */
  public static String bounded(String value, String name, int max) {
    if (value == null || value.isEmpty()) {
      return null;
    }
    if (value.length() > max) {
      throw KmcException.badRequest(name + " is longer than " + max + " characters");
    }
    return value;
  }

  public boolean none() {
    return name == null && namePrefix == null && nameContains == null && owner == null && summary.isEmpty();
  }

  /** Whether an object passes every filter; {@code summary} values compare as text, as search compares them. */
  public boolean matches(String objectName, String objectOwner, JsonObject objectSummary) {
    if (name != null && !name.equals(objectName)
        || namePrefix != null && (objectName == null || !objectName.startsWith(namePrefix))
        || nameContains != null && (objectName == null || !objectName.contains(nameContains))
        || owner != null && !owner.equals(objectOwner)) {
      return false;
    }
    for (Map.Entry<String, String> field : summary.entrySet()) {
      Object actual = objectSummary == null ? null : objectSummary.getValue(field.getKey());
      if (actual == null || !field.getValue().equals(summaryText(actual))) {
        return false;
      }
    }
    return true;
  }

  /** A summary value as PostgreSQL's {@code ->>} renders it: strings bare, anything else as JSON. */
  private static String summaryText(Object value) {
    if (value instanceof String text) {
      return text;
    }
    if (value instanceof JsonObject || value instanceof io.vertx.core.json.JsonArray) {
      return value.toString();
    }
    return String.valueOf(value);
  }
}
