package io.kmc.cli;

import java.time.Duration;

/** Durations as the hub writes them: 30s, 15m, 12h, 90d. */
final class Durations {

  private Durations() {
  }

  static Duration parse(String text, String option) {
    if (text != null && text.matches("\\d+[smhd]")) {
      long amount = Long.parseLong(text.substring(0, text.length() - 1));
      return switch (text.charAt(text.length() - 1)) {
        case 's' -> Duration.ofSeconds(amount);
        case 'm' -> Duration.ofMinutes(amount);
        case 'h' -> Duration.ofHours(amount);
        default -> Duration.ofDays(amount);
      };
    }
    throw new CliException(option + " must be a duration such as 30s, 15m, 12h or 7d, not '" + text + "'");
  }
}
