package io.kmc.common.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Renders the keys an application reads as the Markdown table of docs/configuration.md, so that a
 * test can check the document against the code.
 */
public final class ConfigDocs {

  private ConfigDocs() {
  }

  public static String table(List<ConfigReader.Key> keys) {
    StringBuilder table = new StringBuilder()
        .append("| key | environment | type | default | meaning |\n")
        .append("| --- | --- | --- | --- | --- |\n");
    for (ConfigReader.Key key : keys) {
      boolean listOfSections = key.path().endsWith("[]") || key.path().contains("[].");
      table.append("| `").append(key.path()).append("` | ")
          .append(listOfSections ? "–" : "`" + ConfigReader.envName(key.path()) + "`").append(" | ")
          .append(key.type()).append(" | ")
          .append(key.defaultValue().isEmpty() ? "–" : "`" + key.defaultValue() + "`").append(" | ")
          .append(key.description().replace("|", "\\|")).append(" |\n");
    }
    return table.toString();
  }

  /**
   * The generated table for a section of the reference; with the system property
   * {@code kmc.updateDocs=true} the document is rewritten with it first (how the reference is kept
   * up to date: {@code mvn test -Dtest=ConfigurationDocTest -Dkmc.updateDocs=true}).
   */
  public static String documented(Path document, String name, String generated) throws IOException {
    if (Boolean.getBoolean("kmc.updateDocs")) {
      String text = Files.readString(document);
      int[] bounds = bounds(text, document, name);
      Files.writeString(document, text.substring(0, bounds[0]) + generated + text.substring(bounds[1]));
    }
    return section(document, name);
  }

  /** The text between {@code <!-- name:start -->} and {@code <!-- name:end -->} in a document. */
  public static String section(Path document, String name) throws IOException {
    String text = Files.readString(document);
    int[] bounds = bounds(text, document, name);
    return text.substring(bounds[0], bounds[1]);
  }

  private static int[] bounds(String text, Path document, String name) {
    String start = "<!-- " + name + ":start -->\n";
    int from = text.indexOf(start);
    int to = text.indexOf("<!-- " + name + ":end -->");
    if (from < 0 || to < from) {
      throw new IllegalStateException(document + " has no section " + name);
    }
    return new int[] {from + start.length(), to};
  }
}
