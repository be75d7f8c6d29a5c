package io.kmc.common.protocol;

import java.io.ByteArrayOutputStream;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The meta of request and response frames as fields in a fixed order instead of JSON, for peers
 * that both said {@link BinaryFrames#BINARY_HEADS} (flag {@link BinaryFrames#FLAG_BINARY_HEAD} in the
 * frame's header). Integers are big-endian; a string is its UTF-8 length as an i32 (-1: absent)
 * followed by its bytes; headers are a count, then per header its name, a count and the values.
 *
 * <pre>
 * request:  method, path, query (may be absent), headers, user present (u8), [user name (may be
 *           absent), group count, groups], flags (u8: 1 impersonate, 2 stream), credits (i32),
 *           timeout in ms (i64)
 * response: status (u16), flags (u8: 1 more), headers
 * </pre>
 */
final class BinaryHeads {

  private static final int IMPERSONATE = 1;
  private static final int STREAM = 2;
  private static final int MORE = 1;

  private BinaryHeads() {
  }

  static byte[] encode(Frame.Exchange frame) {
    Writer out = new Writer();
    if (frame instanceof Frame.Request r) {
      out.string(r.method());
      out.string(r.path());
      out.string(r.query());
      out.headers(r.headers());
      out.write(r.user() == null ? 0 : 1);
      if (r.user() != null) {
        out.string(r.user().name());
        out.integer(r.user().groups().size());
        r.user().groups().forEach(out::string);
      }
      out.write((r.impersonate() ? IMPERSONATE : 0) | (r.stream() ? STREAM : 0));
      out.integer(r.credits());
      out.integer((int) (r.timeoutMillis() >>> 32));
      out.integer((int) r.timeoutMillis());
    } else if (frame instanceof Frame.Response r) {
      out.write(r.status() >>> 8);
      out.write(r.status());
      out.write(r.more() ? MORE : 0);
      out.headers(r.headers());
    } else {
      throw new IllegalArgumentException("binary heads are for requests and responses, not "
          + frame.getClass().getSimpleName());
    }
    return out.toByteArray();
  }

  /**
   * The request or response in {@code meta} (a slice of a message), with its id and body. A meta
   * that ends early, runs on, or describes an invalid frame is a {@link ProtocolException}.
   */
  static Frame.Exchange decode(byte type, String id, ByteBuffer meta, byte[] body) {
    try {
      Frame.Exchange frame;
      if (type == BinaryFrames.REQUEST) {
        String method = string(meta);
        String path = string(meta);
        String query = string(meta);
        Map<String, List<String>> headers = headers(meta);
        ActingUser user = null;
        if (meta.get() != 0) {
          String name = string(meta);
          List<String> groups = strings(meta);
          user = new ActingUser(name, groups);
        }
        int flags = meta.get();
        int credits = meta.getInt();
        long timeoutMillis = meta.getLong();
        frame = new Frame.Request(id, method, path, query, headers, body, user, (flags & IMPERSONATE) != 0,
            (flags & STREAM) != 0, credits, timeoutMillis);
      } else if (type == BinaryFrames.RESPONSE) {
        int status = meta.getShort() & 0xFFFF;
        boolean more = (meta.get() & MORE) != 0;
        frame = new Frame.Response(id, status, headers(meta), body, more);
      } else {
        throw new ProtocolException(ProtocolException.MALFORMED_FRAME, "binary heads are for requests and responses, "
            + "not frames of type " + type);
      }
      if (meta.hasRemaining()) {
        throw new ProtocolException(ProtocolException.MALFORMED_FRAME, "binary head has " + meta.remaining()
            + " byte(s) after its last field");
      }
      return frame;
    } catch (BufferUnderflowException e) {
      throw new ProtocolException(ProtocolException.MALFORMED_FRAME, "binary head ends before its last field");
    } catch (IllegalArgumentException e) {
      throw new ProtocolException(ProtocolException.MALFORMED_FRAME, e.getMessage());
    }
  }

  private static String string(ByteBuffer in) {
    int length = in.getInt();
    if (length == -1) {
      return null;
    }
    if (length < 0 || length > in.remaining()) {
      throw new IllegalArgumentException("binary head string length " + length + " does not fit in the frame");
    }
    String text = new String(in.array(), in.arrayOffset() + in.position(), length, StandardCharsets.UTF_8);
    in.position(in.position() + length);
    return text;
  }

  /** A count, no larger than the bytes left could hold (each item takes at least 4). */
  private static int count(ByteBuffer in) {
    int count = in.getInt();
    if (count < 0 || count > in.remaining() / 4) {
      throw new IllegalArgumentException("binary head count " + count + " does not fit in the frame");
    }
    return count;
  }

  private static List<String> strings(ByteBuffer in) {
    int count = count(in);
    List<String> strings = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      String value = string(in);
      if (value == null) {
        throw new IllegalArgumentException("binary head list holds an absent string");
      }
      strings.add(value);
    }
    return strings;
  }

  private static Map<String, List<String>> headers(ByteBuffer in) {
    int count = count(in);
    Map<String, List<String>> headers = new LinkedHashMap<>(Math.max(4, count * 2));
    for (int i = 0; i < count; i++) {
      String name = string(in);
      if (name == null) {
        throw new IllegalArgumentException("binary head has a header without a name");
      }
      headers.put(name, strings(in));
    }
    return headers;
  }

  private static final class Writer extends ByteArrayOutputStream {
    Writer() {
      super(256);
    }

    void integer(int value) {
      write(value >>> 24);
      write(value >>> 16);
      write(value >>> 8);
      write(value);
    }

    void string(String text) {
      if (text == null) {
        integer(-1);
        return;
      }
      byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
      integer(bytes.length);
      write(bytes, 0, bytes.length);
    }

    void headers(Map<String, List<String>> headers) {
      integer(headers.size());
      headers.forEach((name, values) -> {
        string(name);
        List<String> present = values == null ? List.of() : values;
        integer(present.size());
        present.forEach(this::string);
      });
    }
  }
}
