package io.kmc.ops;

/**
 * Text that came from a peer (an agent, a client) made safe to log or store: control characters
 * escaped, so that a message cannot forge log lines or carry a NUL that PostgreSQL refuses, and the
 * length bounded, so that one message cannot flood a log or overflow an index row.
 */
public final class Texts {

  /** What peer text is cut to in log lines. */
  public static final int LOG_CHARS = 200;

  private Texts() {
  }

  /** The text for a log line: escaped, at most {@link #LOG_CHARS} characters; "" for null. */
  public static String forLog(String text) {
    return text == null ? "" : bounded(text, LOG_CHARS);
  }

  /**
   * The text with control characters escaped ({@code \n}, {@code \r}, {@code \t}, {@code \u0000}...)
   * and cut to at most {@code maxChars} characters (an ellipsis marks the cut); null stays null.
   */
  public static String bounded(String text, int maxChars) {
    if (text == null) {
      return null;
    }
    StringBuilder out = null;
    int length = text.length();
    for (int i = 0; i < length; i++) {
      char c = text.charAt(i);
      boolean control = c < 0x20 || c == 0x7f;
      boolean loneSurrogate = Character.isSurrogate(c) && !(Character.isHighSurrogate(c) && i + 1 < length
          && Character.isLowSurrogate(text.charAt(i + 1))) && !(Character.isLowSurrogate(c) && i > 0
          && Character.isHighSurrogate(text.charAt(i - 1)));
      if ((control || loneSurrogate) && out == null) {
        out = new StringBuilder(length + 16).append(text, 0, i);
      }
      if (out != null) {
        if (control) {
          switch (c) {
            case '\n' -> out.append("\\n");
            case '\r' -> out.append("\\r");
            case '\t' -> out.append("\\t");
            default -> out.append(String.format("\\u%04x", (int) c));
          }
        } else if (loneSurrogate) {
          out.append('\uFFFD');
        } else {
          out.append(c);
        }
        if (out.length() > maxChars) {
          break;
        }
      } else if (i >= maxChars) {
        break;
      }
    }
    String clean = out == null ? text : out.toString();
    if (clean.length() <= maxChars) {
      return clean;
    }
    int cut = maxChars - 1;
    if (cut > 0 && Character.isHighSurrogate(clean.charAt(cut - 1))) {
      cut--;
    }
    return clean.substring(0, Math.max(0, cut)) + "…";
  }
}
