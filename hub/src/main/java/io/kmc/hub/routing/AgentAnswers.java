package io.kmc.hub.routing;

import io.kmc.common.protocol.Frame;
import io.kmc.ops.Texts;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The hub trusts no agent: the head of every answer an agent (or a directly served cluster) sends
 * is checked here before any of it reaches a client. The hub frames bodies itself, so framing and
 * hop-by-hop headers are dropped (an agent that could set {@code Content-Length} could splice a
 * forged answer into another cluster's keep-alive connection); header names must be HTTP tokens,
 * values must hold no CR, LF or NUL, and their number and size are bounded. An answer that breaks
 * these rules is refused as a whole.
 */
public final class AgentAnswers {

  /** Most header fields an answer may carry. */
  static final int MAX_HEADERS = 100;
  /** Most bytes of header names and values together. */
  static final int MAX_HEADER_BYTES = 64 * 1024;

  /** Headers that describe one hop's framing or connection, never the answer itself (RFC 9110 §7.6.1). */
  private static final Set<String> HOP_BY_HOP = Set.of("connection", "keep-alive", "proxy-connection",
      "transfer-encoding", "te", "trailer", "upgrade", "content-length", "proxy-authenticate",
      "proxy-authorization");

  private AgentAnswers() {
  }

  /** Thrown for an answer no client may see; the message says what was wrong, escaped for logs. */
  public static final class Refused extends Exception {
    Refused(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * The answer's head as a client may see it: the same status and body, with only the end-to-end
   * headers, validated.
   */
  public static Frame.Response checked(Frame.Response head) throws Refused {
    return checked(head, false);
  }

  /**
   * As {@link #checked(Frame.Response)}; for an upgrade request (exec, attach, port-forward) a
   * {@code 101} that goes on ({@code more}) is the answer that opens the session.
   */
  public static Frame.Response checked(Frame.Response head, boolean upgrade) throws Refused {
    boolean switching = upgrade && head.status() == 101 && head.more();
    if (!switching && (head.status() < 200 || head.status() > 599)) {
      throw new Refused("status " + head.status() + " is not a final HTTP status (200-599)");
    }
    if (head.headers().size() > MAX_HEADERS) {
      throw new Refused(head.headers().size() + " header fields, more than " + MAX_HEADERS);
    }
    Set<String> named = namedInConnection(head.headers());
    Map<String, List<String>> kept = new LinkedHashMap<>();
    long bytes = 0;
    for (Map.Entry<String, List<String>> header : head.headers().entrySet()) {
      String name = header.getKey();
      if (name == null || !token(name)) {
        throw new Refused("header name '" + Texts.forLog(name) + "' is not an HTTP token");
      }
      List<String> values = header.getValue() == null ? List.of() : header.getValue();
      for (String value : values) {
        if (value == null || !fieldValue(value)) {
          throw new Refused("the value of header '" + name + "' holds a control character");
        }
        bytes += name.length() + value.length();
      }
      if (bytes > MAX_HEADER_BYTES) {
        throw new Refused("headers larger than " + MAX_HEADER_BYTES + " bytes");
      }
      String lower = name.toLowerCase(Locale.ROOT);
      if (!HOP_BY_HOP.contains(lower) && !named.contains(lower)) {
        kept.put(name, new ArrayList<>(values));
      }
    }
    return kept.size() == head.headers().size() ? head
        : new Frame.Response(head.id(), head.status(), kept, head.body(), head.more());
  }

  /** Header names listed in Connection: hop-by-hop too. */
  private static Set<String> namedInConnection(Map<String, List<String>> headers) {
    Set<String> named = new HashSet<>();
    headers.forEach((name, values) -> {
      if (name != null && values != null && name.equalsIgnoreCase("connection")) {
        for (String value : values) {
          for (String option : value == null ? new String[0] : value.split(",")) {
            named.add(option.trim().toLowerCase(Locale.ROOT));
          }
        }
      }
    });
    return named;
  }

  /** RFC 9110 token: one or more tchar. */
  static boolean token(String name) {
    if (name.isEmpty()) {
      return false;
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      boolean tchar = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
      if (!tchar) {
        return false;
      }
    }
    return true;
  }

  /** RFC 9110 field-value: no control characters but tab, so never CR, LF or NUL. */
  static boolean fieldValue(String value) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if ((c < 0x20 && c != '\t') || c == 0x7f) {
        return false;
      }
    }
    return true;
  }
}
