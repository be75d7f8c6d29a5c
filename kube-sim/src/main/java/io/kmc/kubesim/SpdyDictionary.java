package io.kmc.kubesim;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The zlib dictionary SPDY/3 header compression starts from, as the SPDY/3 specification defines it
 * (section 2.6.10.1): common header names and values, each prefixed with its 32-bit length, followed
 * by a run of status lines, dates and media types without lengths. 1423 bytes, Adler-32 0xe3c6a7c2
 * (checked by a test: a wrong byte makes every header block unreadable to the peer).
 */
final class SpdyDictionary {

  private static final List<String> WORDS = List.of("options", "head", "post", "put", "delete", "trace", "accept",
      "accept-charset", "accept-encoding", "accept-language", "accept-ranges", "age", "allow", "authorization",
      "cache-control", "connection", "content-base", "content-encoding", "content-language", "content-length",
      "content-location", "content-md5", "content-range", "content-type", "date", "etag", "expect", "expires", "from",
      "host", "if-match", "if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "last-modified",
      "location", "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range", "referer",
      "retry-after", "server", "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "vary", "via", "warning",
      "www-authenticate", "method", "get", "status", "200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie",
      "keep-alive", "origin");

  private static final String TAIL = "100101201202205206300302303304305306307402405406407408409410411412413414415"
      + "416417502504505203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request"
      + "401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented"
      + "503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 "
      + "Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,application/xml,"
      + "application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=gzip,deflate,sdch"
      + "charset=utf-8charset=iso-8859-1,utf-,*,enq=0.";

  private static final byte[] BYTES = build();

  private SpdyDictionary() {
  }

  /** A copy of the dictionary. */
  static byte[] bytes() {
    return BYTES.clone();
  }

  private static byte[] build() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (String word : WORDS) {
      byte[] bytes = word.getBytes(StandardCharsets.US_ASCII);
      out.write(bytes.length >>> 24);
      out.write(bytes.length >>> 16);
      out.write(bytes.length >>> 8);
      out.write(bytes.length);
      out.writeBytes(bytes);
    }
    out.writeBytes(TAIL.getBytes(StandardCharsets.US_ASCII));
    return out.toByteArray();
  }
}
