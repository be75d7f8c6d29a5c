package io.kmc.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.Yaml;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/** {@code -o table|json|yaml}: tables for people (kubectl's layout), JSON and YAML for scripts. */
final class Output {

  enum Format { table, json, yaml }

  /** The {@code -o} option, mixed into every command that prints objects. */
  static final class Options {
    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", description = "table (default), json or yaml.")
    Format format = Format.table;
  }

  /** A table: column names and a function per column. */
  static final class Table {
    private final List<String> headers = new ArrayList<>();
    private final List<Function<JsonNode, String>> columns = new ArrayList<>();

    Table column(String header, Function<JsonNode, String> value) {
      headers.add(header);
      columns.add(value);
      return this;
    }

    void print(PrintWriter out, Iterable<JsonNode> items) {
      List<String[]> rows = new ArrayList<>();
      rows.add(headers.toArray(String[]::new));
      for (JsonNode item : items) {
        String[] row = new String[columns.size()];
        for (int i = 0; i < row.length; i++) {
          String value = columns.get(i).apply(item);
          row[i] = value == null || value.isEmpty() ? "-" : value;
        }
        rows.add(row);
      }
      int[] widths = new int[headers.size()];
      rows.forEach(row -> {
        for (int i = 0; i < row.length; i++) {
          widths[i] = Math.max(widths[i], row[i].length());
        }
      });
      for (String[] row : rows) {
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < row.length; i++) {
          line.append(i == row.length - 1 ? row[i] : String.format("%-" + (widths[i] + 3) + "s", row[i]));
        }
        out.println(line.toString().stripTrailing());
      }
    }
  }

  private Output() {
  }

  /** Prints {@code data} as asked; {@code table} draws {@code items} of it. */
  static void print(Cli cli, Format format, JsonNode data, Iterable<JsonNode> items, Table table) {
    switch (format) {
      case json -> cli.out().println(json(data));
      case yaml -> cli.out().print(yaml(data));
      default -> table.print(cli.out(), items);
    }
    cli.out().flush();
  }

  static String json(JsonNode data) {
    try {
      return HubClient.JSON.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(data);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  static String yaml(JsonNode data) {
    DumperOptions options = new DumperOptions();
    options.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
    return new Yaml(options).dump(HubClient.JSON.convertValue(data, Object.class));
  }

  /** A field as text; null when absent. */
  static String text(JsonNode node, String field) {
    JsonNode value = node.get(field);
    return value == null || value.isNull() ? null : value.asText();
  }

  /** How long ago an RFC 3339 time was, as kubectl shows ages: 45s, 12m, 3h, 9d. */
  static String age(String time) {
    if (time == null) {
      return null;
    }
    try {
      return duration(Duration.between(Instant.parse(time), Instant.now()));
    } catch (DateTimeParseException e) {
      return time;
    }
  }

  static String duration(Duration d) {
    long seconds = Math.max(0, d.getSeconds());
    if (seconds < 120) {
      return seconds + "s";
    }
    if (seconds < 2 * 3600) {
      return seconds / 60 + "m";
    }
    if (seconds < 2 * 86400) {
      return seconds / 3600 + "h";
    }
    return seconds / 86400 + "d";
  }
}
