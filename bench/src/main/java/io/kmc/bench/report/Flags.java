package io.kmc.bench.report;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code --name value} options of a benchmark, each with a default; a name that is not among the
 * defaults, a flag without a value or a value out of range is an {@link IllegalArgumentException}
 * naming it, which {@code BenchMain} prints with the usage.
 */
public final class Flags {

  private final Map<String, String> values;

  private Flags(Map<String, String> values) {
    this.values = values;
  }

  /** @param defaults every accepted flag (with its dashes) and its default value */
  public static Flags parse(List<String> args, Map<String, String> defaults) {
    Map<String, String> values = new LinkedHashMap<>(defaults);
    for (int i = 0; i < args.size(); i++) {
      String flag = args.get(i);
      if (!defaults.containsKey(flag)) {
        throw new IllegalArgumentException("unknown option " + flag);
      }
      if (i + 1 >= args.size()) {
        throw new IllegalArgumentException(flag + " needs a value");
      }
      values.put(flag, args.get(++i));
    }
    return new Flags(values);
  }

  public int integer(String flag, int min, int max) {
    String value = values.get(flag);
    try {
      int number = Integer.parseInt(value.trim());
      if (number < min || number > max) {
        throw new IllegalArgumentException(flag + " must be between " + min + " and " + max + ", was " + value);
      }
      return number;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(flag + " must be a whole number, was '" + value + "'");
    }
  }

  public double number(String flag, double min, double max) {
    String value = values.get(flag);
    try {
      double number = Double.parseDouble(value.trim());
      if (!(number >= min && number <= max)) {
        throw new IllegalArgumentException(flag + " must be between " + min + " and " + max + ", was " + value);
      }
      return number;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(flag + " must be a number, was '" + value + "'");
    }
  }

  public String string(String flag) {
    return values.get(flag).trim();
  }

  public boolean bool(String flag) {
    String value = values.get(flag).trim();
    return switch (value) {
      case "true", "yes", "on" -> true;
      case "false", "no", "off" -> false;
      default -> throw new IllegalArgumentException(flag + " must be true or false, was '" + value + "'");
    };
  }

  /** The options as given or defaulted, for the report's header. */
  public String describe() {
    StringBuilder out = new StringBuilder();
    values.forEach((flag, value) -> out.append(out.length() == 0 ? "" : " ").append(flag).append(' ').append(value));
    return out.toString();
  }
}
