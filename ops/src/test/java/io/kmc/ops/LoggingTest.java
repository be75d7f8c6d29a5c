package io.kmc.ops;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** log.file_path with max_size, max_backups and max_age, as an operator configures them. */
class LoggingTest {

  private static final Logger LOG = LoggerFactory.getLogger(LoggingTest.class);

  @AfterEach
  void back() {
    Logging.configure(LogSettings.textToConsole(), "test");
  }

  @Test
  void rotatesAtMaxSizeAndKeepsMaxBackups(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("kmc.log");
    Logging.configure(new LogSettings("info", "json", file, 8 * 1024, 3, Duration.ofDays(1)), "test");
    String filler = "x".repeat(900);
    for (int i = 0; i < 60; i++) {
      LOG.atInfo().addKeyValue("line", i).log("line {} {}", i, filler);
      if (i % 10 == 9) {
        Thread.sleep(Logging.SIZE_CHECK_MILLIS + 50); // the size is looked at no more often
      }
    }
    try (Stream<Path> files = Files.list(dir)) {
      assertEquals(List.of("kmc.log", "kmc.log.1", "kmc.log.2", "kmc.log.3"),
          files.map(p -> p.getFileName().toString()).sorted().toList());
    }
    // The newest line is in the live file, the rotated ones are older, every line whole JSON.
    List<String> live = Files.readAllLines(file);
    assertEquals("59", new JsonObject(live.get(live.size() - 1)).getJsonArray("kvpList").getJsonObject(0).getString("line"));
    for (String name : List.of("kmc.log.1", "kmc.log.2", "kmc.log.3")) {
      List<String> lines = Files.readAllLines(dir.resolve(name));
      assertFalse(lines.isEmpty(), name);
      lines.forEach(line -> assertTrue(new JsonObject(line).getString("formattedMessage").startsWith("line "), name));
      assertTrue(Files.size(dir.resolve(name)) < 16 * 1024, name + " was rotated near max_size");
    }
  }

  @Test
  void textLinesKeepFieldsApartFromTheMessage(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("text.log");
    Logging.configure(new LogSettings("info", "text", file, 1024 * 1024, 1, Duration.ofDays(1)), "test");
    LOG.atInfo().addKeyValue("cluster", "demo-a").log("agent shutting down");
    LOG.info("no fields");
    List<String> lines = Files.readAllLines(file);
    assertTrue(lines.get(0).endsWith(" - agent shutting down cluster='demo-a'"), lines.get(0));
    assertTrue(lines.get(1).endsWith(" - no fields"), "no trailing space: [" + lines.get(1) + "]");
  }

  @Test
  void dropsBackupsBeyondTheCountOrOlderThanMaxAge(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("agent.log");
    Files.writeString(dir.resolve("agent.log.1"), "recent\n");
    Files.writeString(dir.resolve("agent.log.2"), "old\n");
    Files.setLastModifiedTime(dir.resolve("agent.log.2"), FileTime.from(Instant.now().minus(Duration.ofDays(3))));
    Files.writeString(dir.resolve("agent.log.9"), "beyond max_backups\n");
    Files.writeString(dir.resolve("agent.log.keep"), "not ours\n");

    Logging.configure(new LogSettings("info", "text", file, 1024 * 1024, 5, Duration.ofDays(2)), "test");
    LOG.info("started");

    assertTrue(Files.exists(dir.resolve("agent.log.1")));
    assertFalse(Files.exists(dir.resolve("agent.log.2")), "older than max_age");
    assertFalse(Files.exists(dir.resolve("agent.log.9")), "beyond max_backups");
    assertTrue(Files.exists(dir.resolve("agent.log.keep")));
    assertTrue(Files.readString(file).contains("started"));
  }
}
