package io.kmc.ops;

import io.kmc.common.config.ConfigReader;

import java.nio.file.Path;
import java.time.Duration;

/**
 * The {@code log:} section: level, format (JSON lines for log collectors, or readable text), and an
 * optional file rotated by size and age.
 *
 * @param maxSizeBytes a file is rotated (renamed to {@code file.1}) when it reaches this size
 * @param maxBackups   rotated files kept ({@code file.1} … {@code file.N})
 * @param maxAge       rotated files older than this are deleted
 */
public record LogSettings(String level, String format, Path file, long maxSizeBytes, int maxBackups, Duration maxAge) {

  public static LogSettings read(ConfigReader c, String defaultFormat) {
    String level = c.oneOf("log.level", "info", "Least severe level written.", "trace", "debug", "info", "warn", "error");
    String format = c.oneOf("log.format", defaultFormat,
        "json: one JSON object per line (for log collectors); text: readable lines.", "json", "text");
    String file = c.string("log.file_path", null, "Write to this file (rotated) instead of standard output.");
    int maxSize = c.bytes("log.max_size", 100 * 1024 * 1024, 1024 * 1024, Integer.MAX_VALUE,
        "Size at which the log file is rotated.");
    int maxBackups = c.integer("log.max_backups", 5, 0, 1000, "Rotated log files kept.");
    Duration maxAge = c.duration("log.max_age", Duration.ofDays(7), Duration.ofHours(1), Duration.ofDays(3650),
        "Rotated log files older than this are deleted.");
    return new LogSettings(level, format, file == null ? null : Path.of(file), maxSize, maxBackups, maxAge);
  }

  public static LogSettings textToConsole() {
    return new LogSettings("info", "text", null, 100L * 1024 * 1024, 5, Duration.ofDays(7));
  }
}
