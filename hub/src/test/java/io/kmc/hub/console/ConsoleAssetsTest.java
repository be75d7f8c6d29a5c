package io.kmc.hub.console;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The console's files as the hub serves them: every file listed, every import served, nothing inline. */
class ConsoleAssetsTest {

  private static final Path DIR = Path.of("src/main/resources/io/kmc/hub/console");
  private static final Pattern IMPORT = Pattern.compile("from '\\./([^']+)'");

  @Test
  void everyFileIsListedAndEveryImportIsServed() throws IOException {
    List<String> entries = Files.readAllLines(DIR.resolve("assets.txt")).stream().map(String::strip)
        .filter(line -> !line.isEmpty() && !line.startsWith("#")).toList();
    // The console's own files are named alone; a library's file from a webjar has its classpath path after it.
    Set<String> listed = entries.stream().filter(line -> !line.contains(" "))
        .collect(Collectors.toCollection(TreeSet::new));
    for (String library : entries.stream().filter(line -> line.contains(" ")).toList()) {
      String path = library.split("\\s+", 2)[1];
      assertTrue(ConsoleAssets.class.getResource(path) != null, library + ": no such file on the classpath");
    }
    Set<String> present;
    try (Stream<Path> files = Files.list(DIR)) {
      present = files.map(p -> p.getFileName().toString())
          .filter(name -> !name.equals("assets.txt") && !name.equals("index.html"))
          .collect(Collectors.toCollection(TreeSet::new));
    }
    assertEquals(present, listed, "assets.txt lists exactly the console's files");
    for (String name : listed) {
      if (name.endsWith(".js")) {
        Matcher imports = IMPORT.matcher(Files.readString(DIR.resolve(name)));
        while (imports.find()) {
          assertTrue(listed.contains(imports.group(1)), name + " imports " + imports.group(1) + ", which is not served");
        }
      }
    }
  }

  @Test
  void thePageNamesTheCurrentVersionAndHoldsNoInlineScriptOrStyle() {
    ConsoleAssets assets = ConsoleAssets.load();
    assertTrue(assets.version().matches("[0-9a-f]{16}"), assets.version());
    String page = assets.pageText();
    assertTrue(page.contains("/ui/assets/" + assets.version() + "/app.js"), page);
    assertFalse(page.contains("@VERSION@"), page);
    assertFalse(Pattern.compile("<script(?![^>]*\\bsrc=)").matcher(page).find(), "an inline script: " + page);
    assertFalse(Pattern.compile("<style|\\sstyle=|\\son[a-z]+=").matcher(page).find(), "inline style or handler: " + page);
  }
}
