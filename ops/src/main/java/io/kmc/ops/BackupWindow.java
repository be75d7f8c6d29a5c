package io.kmc.ops;

import ch.qos.logback.core.rolling.FixedWindowRollingPolicy;
import ch.qos.logback.core.rolling.RolloverFailure;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

/**
 * Rotation as {@code log.max_size}, {@code log.max_backups} and {@code log.max_age} promise (the
 * semantics of lumberjack, which the seed's keys come from): the full file becomes {@code file.1},
 * {@code file.1} becomes {@code file.2} and so on; at most {@code maxBackups} rotated files are
 * kept, and none older than {@code maxAge}. Rotation only renames (no compression on the logging
 * thread), so the disk used is at most {@code max_size × (max_backups + 1)}.
 */
final class BackupWindow extends FixedWindowRollingPolicy {

  private final Path file;
  private final int maxBackups;
  private final Duration maxAge;

  BackupWindow(Path file, int maxBackups, Duration maxAge) {
    this.file = file;
    this.maxBackups = maxBackups;
    this.maxAge = maxAge;
    setFileNamePattern(file + ".%i");
    setMinIndex(1);
    setMaxIndex(Math.max(1, maxBackups));
  }

  @Override
  protected int getMaxWindowSize() {
    return Math.max(1, maxBackups);
  }

  @Override
  public void start() {
    super.start();
    prune();
  }

  @Override
  public void rollover() throws RolloverFailure {
    super.rollover();
    prune();
  }

  /** Deletes rotated files beyond {@code maxBackups} or older than {@code maxAge}. */
  void prune() {
    Path dir = file.toAbsolutePath().getParent();
    String prefix = file.getFileName() + ".";
    Instant oldest = Instant.now().minus(maxAge);
    try (DirectoryStream<Path> rotated = Files.newDirectoryStream(dir, prefix + "*")) {
      for (Path candidate : rotated) {
        String suffix = candidate.getFileName().toString().substring(prefix.length());
        if (!suffix.matches("[0-9]{1,9}")) {
          continue;
        }
        if (Integer.parseInt(suffix) > maxBackups
            || Files.getLastModifiedTime(candidate).toInstant().isBefore(oldest)) {
          Files.deleteIfExists(candidate);
        }
      }
    } catch (IOException | UncheckedIOException e) {
      addWarn("cannot prune old log files in " + dir + ": " + e.getMessage());
    }
  }
}
