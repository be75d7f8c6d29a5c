package io.kmc.hub.support;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;

/**
 * HTTP/1.1 over a plain socket, byte for byte as a test writes it: for requests no client library
 * will send (broken escapes, odd headers), several requests on one keep-alive connection, and for
 * reading answers exactly as framed on the wire.
 */
public final class RawHttp implements AutoCloseable {

  /** One answer as read off the wire; {@code status} -1 when the connection ended or timed out first. */
  public record Answer(int status, Map<String, String> headers, String body, long millis) {
    public String header(String name) {
      return headers.get(name.toLowerCase(Locale.ROOT));
    }
  }

  /** The body of an answer whose head came and whose body was still streaming when the read timed out. */
  public static final String STILL_STREAMING = "still streaming";

  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;

  public RawHttp(int port, int readTimeoutMillis) throws IOException {
    socket = new Socket();
    socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
    socket.setSoTimeout(readTimeoutMillis);
    in = socket.getInputStream();
    out = socket.getOutputStream();
  }

  /** A request line, headers (Host and Content-Length added) and a body, as given. */
  public static String request(String method, String target, String bearer, String body, String... headers) {
    StringBuilder text = new StringBuilder(method).append(' ').append(target).append(" HTTP/1.1\r\n")
        .append("Host: 127.0.0.1\r\n");
    if (bearer != null) {
      text.append("Authorization: Bearer ").append(bearer).append("\r\n");
    }
    for (String header : headers) {
      text.append(header).append("\r\n");
    }
    byte[] bytes = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
    if (body != null) {
      text.append("Content-Length: ").append(bytes.length).append("\r\n");
    }
    return text.append("\r\n").append(body == null ? "" : body).toString();
  }

  /** Sends one request and reads its answer on a fresh connection (the head alone for HEAD). */
  public static Answer exchange(int port, String request, int timeoutMillis) throws IOException {
    try (RawHttp http = new RawHttp(port, timeoutMillis)) {
      http.write(request);
      return request.startsWith("HEAD ") ? http.readHead() : http.read();
    }
  }

  public void write(String request) throws IOException {
    out.write(request.getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  /** Reads the next answer on this connection, framed by its own Content-Length or chunks. */
  public Answer read() throws IOException {
    long started = System.nanoTime();
    Answer head = readHead();
    if (head.status() < 0) {
      return head;
    }
    try {
      byte[] body;
      if ("chunked".equalsIgnoreCase(head.header("transfer-encoding"))) {
        ByteArrayOutputStream chunks = new ByteArrayOutputStream();
        for (int size = chunkSize(); size > 0; size = chunkSize()) {
          chunks.write(in.readNBytes(size));
          line();
        }
        line();
        body = chunks.toByteArray();
      } else if (head.header("content-length") != null) {
        body = in.readNBytes(Integer.parseInt(head.header("content-length")));
      } else {
        body = new byte[0];
      }
      return new Answer(head.status(), head.headers(), new String(body, StandardCharsets.UTF_8), elapsed(started));
    } catch (SocketTimeoutException e) {
      // The head came, the body is still streaming (a watch): the answer stands, still open.
      return new Answer(head.status(), head.headers(), STILL_STREAMING, elapsed(started));
    } catch (IOException | RuntimeException e) {
      // The body broke off (the server reset the connection): the head stands, the time says when.
      return new Answer(head.status(), head.headers(), "broken off: " + e, elapsed(started));
    }
  }

  /** Everything the peer sends until it closes the connection or the read times out. */
  public String readRest() throws IOException {
    ByteArrayOutputStream rest = new ByteArrayOutputStream();
    byte[] buffer = new byte[8192];
    try {
      for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
        rest.write(buffer, 0, n);
      }
    } catch (SocketTimeoutException e) {
      // what arrived so far
    }
    return rest.toString(StandardCharsets.UTF_8);
  }

  /** Reads the status line and headers of the next answer, leaving its body to be read. */
  public Answer readHead() throws IOException {
    long started = System.nanoTime();
    try {
      return head(started);
    } catch (SocketTimeoutException e) {
      return new Answer(-1, Map.of(), "timed out", elapsed(started));
    } catch (IOException e) {
      return new Answer(-1, Map.of(), "connection ended: " + e, elapsed(started));
    }
  }

  private Answer head(long started) throws IOException {
    String statusLine = line();
    if (statusLine == null) {
      return new Answer(-1, Map.of(), "", elapsed(started));
    }
    Map<String, String> headers = new LinkedHashMap<>();
    for (String line = line(); line != null && !line.isEmpty(); line = line()) {
      int colon = line.indexOf(':');
      headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim());
    }
    return new Answer(Integer.parseInt(statusLine.split(" ", 3)[1]), headers, "", elapsed(started));
  }

  /**
   * Lines of a streamed (chunked) body whose head was read, as they arrive: until a line matches,
   * {@code maxLines} arrived, the stream ended or the read timed out.
   */
  public List<String> streamedLinesUntil(Predicate<String> last, int maxLines) throws IOException {
    List<String> lines = new ArrayList<>();
    StringBuilder pending = new StringBuilder();
    try {
      while (lines.size() < maxLines && (lines.isEmpty() || !last.test(lines.get(lines.size() - 1)))) {
        String sizeLine = line();
        if (sizeLine == null) {
          break;
        }
        int size = Integer.parseInt(sizeLine.trim(), 16);
        if (size == 0) {
          break;
        }
        pending.append(new String(in.readNBytes(size), StandardCharsets.UTF_8));
        line();
        for (int newline = pending.indexOf("\n"); newline >= 0; newline = pending.indexOf("\n")) {
          String line = pending.substring(0, newline);
          lines.add(line);
          pending.delete(0, newline + 1);
          if (last.test(line)) {
            return lines;
          }
        }
      }
    } catch (SocketTimeoutException e) {
      // what arrived so far
    }
    return lines;
  }

  private int chunkSize() throws IOException {
    String line = line();
    if (line == null) {
      throw new EOFException("the connection ended inside a chunked body");
    }
    return Integer.parseInt(line.trim(), 16);
  }

  private String line() throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int b;
    while ((b = in.read()) >= 0) {
      if (b == '\n') {
        byte[] bytes = line.toByteArray();
        int length = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
        return new String(bytes, 0, length, StandardCharsets.UTF_8);
      }
      line.write(b);
    }
    return line.size() == 0 ? null : line.toString(StandardCharsets.UTF_8);
  }

  private static long elapsed(long startedNanos) {
    return (System.nanoTime() - startedNanos) / 1_000_000;
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
