package io.kmc.common.config;

import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.Tag;
import org.yaml.snakeyaml.representer.Representer;
import org.yaml.snakeyaml.resolver.Resolver;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads typed values out of a YAML document, with environment overrides. A key {@code server.port}
 * is overridden by {@code KMC_SERVER_PORT}. Every problem (wrong type, out of range, missing,
 * unknown key) is collected with its key path and reported at once by {@link #finish()}; secret
 * values never appear in a message.
 *
 * <p>Every key read is recorded in {@link #keys()} with its type, default and description, which
 * is what docs/configuration.md is checked against.
 */
public final class ConfigReader {

  private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)?");
  private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(B|KiB|MiB|GiB)?");

  /** A key the application reads, for the configuration reference. */
  public record Key(String path, String type, String defaultValue, String description) {
  }

  private final Map<String, Object> root;
  private final Map<String, String> env;
  private final List<String> problems;
  private final Set<String> consumed;
  private final Set<String> sectionLists;
  private final Map<String, Key> keys;
  private final String prefix;

  private ConfigReader(Map<String, Object> root, Map<String, String> env, String prefix,
                       List<String> problems, Set<String> consumed, Set<String> sectionLists,
                       Map<String, Key> keys) {
    this.root = root;
    this.env = env;
    this.prefix = prefix;
    this.problems = problems;
    this.consumed = consumed;
    this.sectionLists = sectionLists;
    this.keys = keys;
  }

  public static ConfigReader of(Map<String, Object> yaml, Map<String, String> env) {
    return new ConfigReader(yaml == null ? Map.of() : yaml, env, "", new ArrayList<>(),
        new LinkedHashSet<>(), new LinkedHashSet<>(), new LinkedHashMap<>());
  }

  /** Parses a YAML document; a blank document is an empty configuration. */
  public static ConfigReader fromYaml(String yamlText, Map<String, String> env) {
    return of(parseYaml(yamlText, "configuration"), env);
  }

  public static ConfigReader fromFile(Path file, Map<String, String> env) {
    try {
      return of(parseYaml(Files.readString(file), file.toString()), env);
    } catch (IOException e) {
      throw new ConfigException(List.of("cannot read configuration file " + file + ": " + e.getMessage()));
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> parseYaml(String text, String source) {
    try {
      LoaderOptions options = new LoaderOptions();
      options.setAllowDuplicateKeys(false);
      Object document = new Yaml(new SafeConstructor(options), new Representer(new DumperOptions()),
          new DumperOptions(), options, new ScalarsAsText()).load(text);
      if (document == null) {
        return Map.of();
      }
      if (!(document instanceof Map)) {
        throw new ConfigException(List.of(source + ": the top level must be a mapping of sections"));
      }
      return (Map<String, Object>) document;
    } catch (YAMLException e) {
      throw new ConfigException(List.of(source + " is not valid YAML: " + e.getMessage()));
    }
  }

  /**
   * Keeps every scalar as the text that was written (only {@code ~}, {@code null} and empty are
   * null), and leaves typing to the getters: YAML 1.1 would otherwise read {@code off} as false and
   * an all-digit token hash as a number that loses its leading zeros.
   */
  private static final class ScalarsAsText extends Resolver {
    @Override
    protected void addImplicitResolvers() {
      addImplicitResolver(Tag.NULL, NULL, "~nN\0");
      addImplicitResolver(Tag.NULL, EMPTY, null);
    }
  }

  // ---- typed values -------------------------------------------------------------------------

  public String string(String key, String defaultValue, String description) {
    return value(key, "string", defaultValue, description, false, raw -> raw instanceof String s ? s : String.valueOf(raw));
  }

  /** A string that is never echoed in a message or in {@link #keys()} defaults. */
  public String secret(String key, String defaultValue, String description) {
    return value(key, "string (secret)", defaultValue, description, true, raw -> raw instanceof String s ? s : String.valueOf(raw));
  }

  public String requiredString(String key, String description) {
    String value = string(key, null, description);
    if (value == null || value.isBlank()) {
      problem(key, prefix.isEmpty() ? "is required (set it in the file or as " + envName(key) + ")" : "is required");
    }
    return value;
  }

  public String oneOf(String key, String defaultValue, String description, String... allowed) {
    String value = string(key, defaultValue, description + " One of: " + String.join(", ", allowed) + ".");
    if (value != null && !List.of(allowed).contains(value)) {
      problem(key, "must be one of " + String.join(", ", allowed) + ", not '" + value + "'");
      return defaultValue;
    }
    return value;
  }

  public int integer(String key, int defaultValue, int min, int max, String description) {
    Long value = value(key, "integer", (long) defaultValue, description, false, raw -> parseLong(raw));
    return (int) inRange(key, value, min, max, defaultValue);
  }

  public boolean bool(String key, boolean defaultValue, String description) {
    return value(key, "boolean", defaultValue, description, false, raw -> {
      if (raw instanceof Boolean b) {
        return b;
      }
      String text = String.valueOf(raw).trim().toLowerCase(Locale.ROOT);
      return switch (text) {
        case "true", "yes", "on", "1" -> true;
        case "false", "no", "off", "0" -> false;
        default -> throw new IllegalArgumentException("must be true or false");
      };
    });
  }

  /** A duration such as {@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h}, {@code 7d}; a bare number is seconds. */
  public Duration duration(String key, Duration defaultValue, Duration min, Duration max, String description) {
    Duration value = value(key, "duration", defaultValue, description, false, ConfigReader::parseDuration);
    if (value != null && (value.compareTo(min) < 0 || value.compareTo(max) > 0)) {
      problem(key, "must be between " + format(min) + " and " + format(max) + ", not " + format(value));
      return defaultValue;
    }
    return value;
  }

  /** A size such as {@code 64KiB}, {@code 6MiB}; a bare number is bytes. */
  public int bytes(String key, int defaultValue, int min, int max, String description) {
    Long value = value(key, "size", (long) defaultValue, formatSize(defaultValue), description, false,
        ConfigReader::parseSize);
    return (int) inRange(key, value, min, max, defaultValue);
  }

  public static String formatSize(long bytes) {
    if (bytes > 0 && bytes % (1024 * 1024) == 0) {
      return bytes / (1024 * 1024) + "MiB";
    }
    if (bytes > 0 && bytes % 1024 == 0) {
      return bytes / 1024 + "KiB";
    }
    return String.valueOf(bytes);
  }

  /** A list of strings; from the environment, comma-separated. */
  @SuppressWarnings("unchecked")
  public List<String> strings(String key, List<String> defaultValue, String description) {
    return value(key, "list of strings", defaultValue, description, false, raw -> {
      if (raw instanceof List<?> list) {
        List<String> result = new ArrayList<>();
        for (Object item : list) {
          if (item instanceof Map || item instanceof List) {
            throw new IllegalArgumentException("must be a list of strings");
          }
          result.add(String.valueOf(item));
        }
        return List.copyOf(result);
      }
      String text = String.valueOf(raw).trim();
      return text.isEmpty() ? List.<String>of() : List.of(text.split("\\s*,\\s*"));
    });
  }

  /** A mapping of string keys to string values (labels, for example). */
  public Map<String, String> stringMap(String key, String description) {
    Map<String, String> result = value(key, "map of strings", Map.of(), description, false, raw -> {
      if (!(raw instanceof Map<?, ?> map)) {
        throw new IllegalArgumentException("must be a mapping");
      }
      Map<String, String> copy = new LinkedHashMap<>();
      map.forEach((k, v) -> copy.put(String.valueOf(k), String.valueOf(v)));
      return copy;
    });
    return Map.copyOf(result);
  }

  /**
   * A list of sections (for example {@code clusters:}); each element is read with its own reader
   * whose keys are reported as {@code clusters[0].name}. Not overridable from the environment.
   */
  public List<ConfigReader> sections(String key, String description) {
    String path = path(key);
    keys.putIfAbsent(path + "[]", new Key(path + "[]", "list of sections", "[]", description));
    Object raw = lookup(path);
    sectionLists.add(path);
    if (raw == null) {
      return List.of();
    }
    if (!(raw instanceof List<?> list)) {
      problem(key, "must be a list");
      return List.of();
    }
    List<ConfigReader> result = new ArrayList<>();
    for (int i = 0; i < list.size(); i++) {
      Object item = list.get(i);
      String itemPath = path + "[" + i + "]";
      if (!(item instanceof Map)) {
        problems.add(itemPath + ": must be a mapping");
        continue;
      }
      result.add(new ConfigReader(root, Map.of(), itemPath, problems, consumed, sectionLists, keys));
    }
    return result;
  }

  /** Records a problem found by a cross-field check, with the key it concerns. */
  public void problem(String key, String message) {
    problems.add(path(key) + ": " + message);
  }

  /** Throws a {@link ConfigException} listing every problem, including keys nobody read. */
  public void finish() {
    List<String> all = new ArrayList<>(problems);
    Set<String> unknown = new TreeSet<>();
    collectLeaves(root, "", unknown);
    for (String leaf : unknown) {
      all.add(leaf + ": unknown key");
    }
    if (!all.isEmpty()) {
      throw new ConfigException(all);
    }
  }

  public List<Key> keys() {
    return List.copyOf(keys.values());
  }

  // ---- internals ------------------------------------------------------------------------------

  private <T> T value(String key, String type, T defaultValue, String description, boolean secret,
                      Function<Object, T> parser) {
    String shownDefault = secret ? (defaultValue == null ? "" : "(set)") : describe(defaultValue);
    return value(key, type, defaultValue, shownDefault, description, secret, parser);
  }

  /** Reads one key; {@code shownDefault} is the default as the configuration reference shows it. */
  private <T> T value(String key, String type, T defaultValue, String shownDefault, String description,
                      boolean secret, Function<Object, T> parser) {
    String path = path(key);
    String documentedPath = path.replaceAll("\\[\\d+]", "[]");
    keys.putIfAbsent(documentedPath, new Key(documentedPath, type, shownDefault, description));
    consumed.add(path);
    String envName = envName(path);
    Object raw = prefix.isEmpty() ? env.get(envName) : null;
    String origin = raw != null ? envName : path;
    if (raw == null) {
      raw = lookup(path);
    }
    if (raw == null) {
      return defaultValue;
    }
    if (raw instanceof Map && !"map of strings".equals(type)) {
      problems.add(origin + ": must be a " + type + ", not a mapping");
      return defaultValue;
    }
    try {
      return parser.apply(raw);
    } catch (RuntimeException e) {
      String shown = secret ? "" : " (got '" + raw + "')";
      problems.add(origin + ": " + e.getMessage() + shown);
      return defaultValue;
    }
  }

  private long inRange(String key, Long value, long min, long max, long defaultValue) {
    if (value == null) {
      return defaultValue;
    }
    if (value < min || value > max) {
      problem(key, "must be between " + min + " and " + max + ", not " + value);
      return defaultValue;
    }
    return value;
  }

  private String path(String key) {
    return prefix.isEmpty() ? key : prefix + "." + key;
  }

  /** {@code server.max_body} → {@code KMC_SERVER_MAX_BODY}. */
  public static String envName(String path) {
    return "KMC_" + path.replace('.', '_').replace('-', '_').toUpperCase(Locale.ROOT);
  }

  private Object lookup(String path) {
    Object node = root;
    for (String segment : splitPath(path)) {
      if (node instanceof Map<?, ?> map) {
        node = map.get(segment);
      } else if (node instanceof List<?> list && segment.matches("\\d+")) {
        int index = Integer.parseInt(segment);
        node = index < list.size() ? list.get(index) : null;
      } else {
        return null;
      }
    }
    return node;
  }

  private static List<String> splitPath(String path) {
    List<String> segments = new ArrayList<>();
    for (String part : path.split("\\.")) {
      Matcher m = Pattern.compile("([^\\[]+)((\\[\\d+])*)").matcher(part);
      if (m.matches()) {
        segments.add(m.group(1));
        Matcher idx = Pattern.compile("\\[(\\d+)]").matcher(m.group(2));
        while (idx.find()) {
          segments.add(idx.group(1));
        }
      } else {
        segments.add(part);
      }
    }
    return segments;
  }

  private void collectLeaves(Object node, String path, Set<String> unknown) {
    if (!path.isEmpty() && consumed.contains(path)) {
      return;
    }
    if (node instanceof Map<?, ?> map) {
      if (map.isEmpty() && !path.isEmpty() && !isPrefixOfConsumed(path + ".")) {
        unknown.add(path);
      }
      for (Map.Entry<?, ?> entry : map.entrySet()) {
        String child = path.isEmpty() ? String.valueOf(entry.getKey()) : path + "." + entry.getKey();
        collectLeaves(entry.getValue(), child, unknown);
      }
    } else if (node instanceof List<?> list && sectionLists.contains(path)) {
      for (int i = 0; i < list.size(); i++) {
        if (list.get(i) instanceof Map) {
          collectLeaves(list.get(i), path + "[" + i + "]", unknown);
        }
      }
    } else if (!path.isEmpty() && !(node == null && (isPrefixOfConsumed(path + ".") || sectionLists.contains(path)))) {
      unknown.add(path);
    }
  }

  private boolean isPrefixOfConsumed(String path) {
    for (String c : consumed) {
      if (c.startsWith(path)) {
        return true;
      }
    }
    return false;
  }

  private static Long parseLong(Object raw) {
    if (raw instanceof Number n) {
      if (raw instanceof Double || raw instanceof Float) {
        throw new IllegalArgumentException("must be a whole number");
      }
      return n.longValue();
    }
    try {
      return Long.parseLong(String.valueOf(raw).trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("must be a whole number");
    }
  }

  private static Duration parseDuration(Object raw) {
    String text = String.valueOf(raw).trim();
    Matcher m = DURATION.matcher(text);
    if (!m.matches()) {
      throw new IllegalArgumentException("must be a duration such as 500ms, 30s, 5m, 1h or 7d");
    }
    long amount = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "s" : m.group(2);
    return switch (unit) {
      case "ms" -> Duration.ofMillis(amount);
      case "s" -> Duration.ofSeconds(amount);
      case "m" -> Duration.ofMinutes(amount);
      case "h" -> Duration.ofHours(amount);
      default -> Duration.ofDays(amount);
    };
  }

  private static Long parseSize(Object raw) {
    String text = String.valueOf(raw).trim();
    Matcher m = SIZE.matcher(text);
    if (!m.matches()) {
      throw new IllegalArgumentException("must be a size such as 65536, 64KiB or 6MiB");
    }
    long amount = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "B" : m.group(2);
    return switch (unit) {
      case "KiB" -> amount * 1024;
      case "MiB" -> amount * 1024 * 1024;
      case "GiB" -> amount * 1024 * 1024 * 1024;
      default -> amount;
    };
  }

  private static String describe(Object defaultValue) {
    if (defaultValue == null) {
      return "";
    }
    if (defaultValue instanceof Duration d) {
      return format(d);
    }
    if (defaultValue instanceof List<?> list) {
      return list.isEmpty() ? "[]" : String.join(",", list.stream().map(String::valueOf).toList());
    }
    if (defaultValue instanceof Map<?, ?> map) {
      return map.isEmpty() ? "{}" : map.toString();
    }
    return String.valueOf(defaultValue);
  }

  public static String format(Duration d) {
    long ms = d.toMillis();
    if (ms % 86_400_000 == 0 && ms > 0) {
      return ms / 86_400_000 + "d";
    }
    if (ms % 3_600_000 == 0 && ms > 0) {
      return ms / 3_600_000 + "h";
    }
    if (ms % 60_000 == 0 && ms > 0) {
      return ms / 60_000 + "m";
    }
    if (ms % 1000 == 0) {
      return ms / 1000 + "s";
    }
    return ms + "ms";
  }
}
