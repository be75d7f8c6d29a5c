package io.kmc.hub.config;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Text the operator may supply as a file, with a built-in default shipped in the jar. */
public final class Resources {

  private Resources() {
  }

  /** The file's text if {@code file} is set, else the resource {@code io/kmc/hub/<resource>}. Blocking I/O. */
  public static String read(Path file, String resource) {
    try {
      if (file != null) {
        return Files.readString(file);
      }
      try (InputStream in = Resources.class.getResourceAsStream("/io/kmc/hub/" + resource)) {
        if (in == null) {
          throw new IllegalStateException("built-in resource " + resource + " is missing from the hub jar");
        }
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + (file != null ? file : resource) + ": " + e.getMessage(), e);
    }
  }
}
