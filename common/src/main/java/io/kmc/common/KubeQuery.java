package io.kmc.common;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Query strings and escapes read the way the kube-apiserver reads them, so that the hub, the agent
 * and the simulator agree with it (and with each other) about what a request asks for.
 *
 * <p>Boolean parameters ({@code watch}, {@code follow}, {@code allowWatchBookmarks}...) follow
 * apimachinery's {@code Convert_Slice_string_To_bool}: only an absent parameter, {@code 0} or
 * {@code false} in any case is false; every other value, the empty one included, is true. That is
 * looser than Go's {@code strconv.ParseBool} ({@code watch=f} is a watch to the apiserver), and it is
 * what clients rely on: the Python client sends {@code watch=True}.
 */
public final class KubeQuery {

  private KubeQuery() {
  }

  /** A boolean parameter's value as the apiserver reads it; null (absent) is false. */
  public static boolean isTrue(String value) {
    return value != null && !(value.equals("0") || value.equalsIgnoreCase("false"));
  }

  /** Whether the raw query string turns the boolean parameter {@code name} on. */
  public static boolean flag(String query, String name) {
    return isTrue(first(query, name));
  }

  /**
   * The first value of {@code name} in a raw query string, decoded, or null. Pairs are read as Go's
   * {@code url.ParseQuery} does: a pair holding ';' or a broken escape is skipped.
   */
  public static String first(String query, String name) {
    if (query == null || query.isEmpty()) {
      return null;
    }
    for (String pair : query.split("&")) {
      if (pair.isEmpty() || pair.contains(";")) {
        continue;
      }
      int equals = pair.indexOf('=');
      String key = unescape(equals < 0 ? pair : pair.substring(0, equals), true);
      String value = equals < 0 ? "" : unescape(pair.substring(equals + 1), true);
      if (key != null && value != null && key.equals(name)) {
        return value;
      }
    }
    return null;
  }

  /**
   * Percent-decodes as Go's {@code url.PathUnescape} or, for a query, {@code QueryUnescape} ('+' is a
   * space): null for a broken escape. A path must be UTF-8, so that no two byte sequences read as the
   * same name; in a query, bytes that are not become U+FFFD, which compares as Go's raw bytes would.
   */
  public static String unescape(String text, boolean query) {
    if (text.indexOf('%') < 0 && !(query && text.indexOf('+') >= 0)) {
      return text;
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(text.length());
    int i = 0;
    while (i < text.length()) {
      char c = text.charAt(i);
      if (c == '%') {
        int high = i + 2 < text.length() ? hex(text.charAt(i + 1)) : -1;
        int low = high < 0 ? -1 : hex(text.charAt(i + 2));
        if (low < 0) {
          return null;
        }
        bytes.write(high * 16 + low);
        i += 3;
      } else if (c == '+' && query) {
        bytes.write(' ');
        i++;
      } else {
        int next = i + 1;
        while (next < text.length() && text.charAt(next) != '%' && !(query && text.charAt(next) == '+')) {
          next++;
        }
        bytes.writeBytes(text.substring(i, next).getBytes(StandardCharsets.UTF_8));
        i = next;
      }
    }
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(query ? CodingErrorAction.REPLACE : CodingErrorAction.REPORT)
          .onUnmappableCharacter(query ? CodingErrorAction.REPLACE : CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes.toByteArray()))
          .toString();
    } catch (CharacterCodingException e) {
      return null;
    }
  }

  /** Whether every percent escape in the text is well formed (two ASCII hex digits). */
  public static boolean wellEscaped(String text) {
    for (int i = text.indexOf('%'); i >= 0; i = text.indexOf('%', i + 3)) {
      if (i + 2 >= text.length() || hex(text.charAt(i + 1)) < 0 || hex(text.charAt(i + 2)) < 0) {
        return false;
      }
    }
    return true;
  }

  /** ASCII hex only: {@link Character#digit} would also take other scripts' digits. */
  private static int hex(char c) {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
  }
}
