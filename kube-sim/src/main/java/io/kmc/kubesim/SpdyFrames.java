package io.kmc.kubesim;

import io.vertx.core.buffer.Buffer;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * SPDY/3.1 framing, the part Kubernetes uses (moby/spdystream, behind client-go's exec, attach and
 * port-forward): data frames, and the control frames SYN_STREAM, SYN_REPLY, RST_STREAM, PING and
 * GOAWAY. Header blocks are zlib-compressed with the protocol's dictionary, one compression context
 * per direction for the whole connection, each block ending with a sync flush, as SPDY requires.
 * One instance per connection; not thread-safe.
 *
 * <p>Flow control frames (SETTINGS, WINDOW_UPDATE) are read and ignored, and never sent: spdystream
 * neither sends nor honours them, and relies on TCP for back-pressure; so does the simulator.
 */
final class SpdyFrames {

  static final int VERSION = 3;
  static final int SYN_STREAM = 1;
  static final int SYN_REPLY = 2;
  static final int RST_STREAM = 3;
  static final int SETTINGS = 4;
  static final int PING = 6;
  static final int GOAWAY = 7;
  static final int HEADERS = 8;
  static final int WINDOW_UPDATE = 9;
  static final int FLAG_FIN = 0x01;
  /** RST_STREAM status: the stream is torn down because it is no longer wanted. */
  static final int CANCEL = 5;
  /** The biggest frame payload SPDY can carry (24 bits of length). */
  static final int MAX_PAYLOAD = 0xffffff;

  /** A frame read off the connection. {@code headers} is set for SYN_STREAM, SYN_REPLY and HEADERS. */
  record Frame(boolean control, int type, int streamId, int flags, Buffer payload, Map<String, List<String>> headers) {
    boolean fin() {
      return (flags & FLAG_FIN) != 0;
    }
  }

  /** A connection that broke the protocol; the session answers with GOAWAY and closes. */
  static final class ProtocolException extends RuntimeException {
    ProtocolException(String message) {
      super(message, null, false, false);
    }
  }

  private final Inflater inflater = new Inflater();
  private final Deflater deflater = new Deflater();
  private Buffer pending = Buffer.buffer();
  private int offset;

  SpdyFrames() {
    deflater.setDictionary(SpdyDictionary.bytes());
  }

  /** Adds bytes read off the connection and returns the frames now complete, in order. */
  List<Frame> read(Buffer data) {
    pending.appendBuffer(data);
    List<Frame> frames = new java.util.ArrayList<>();
    while (pending.length() - offset >= 8) {
      int first = pending.getInt(offset);
      int flagsAndLength = pending.getInt(offset + 4);
      int length = flagsAndLength & 0xffffff;
      if (pending.length() - offset < 8 + length) {
        break;
      }
      Buffer payload = pending.getBuffer(offset + 8, offset + 8 + length);
      offset += 8 + length;
      int flags = flagsAndLength >>> 24;
      if (first < 0) {
        int version = (first >>> 16) & 0x7fff;
        if (version != VERSION) {
          throw new ProtocolException("unsupported SPDY version " + version);
        }
        frames.add(parseControl(first & 0xffff, flags, payload));
      } else {
        frames.add(new Frame(false, 0, first, flags, payload, null));
      }
    }
    if (offset > 0 && offset >= pending.length() / 2) {
      pending = pending.getBuffer(offset, pending.length());
      offset = 0;
    }
    return frames;
  }

  private Frame parseControl(int type, int flags, Buffer payload) {
    switch (type) {
      case SYN_STREAM -> {
        require(payload, 10, "SYN_STREAM");
        int streamId = payload.getInt(0) & 0x7fffffff;
        return new Frame(true, type, streamId, flags, payload, headers(payload.getBuffer(10, payload.length())));
      }
      case SYN_REPLY, HEADERS -> {
        require(payload, 4, "SYN_REPLY/HEADERS");
        Map<String, List<String>> headers = headers(payload.getBuffer(4, payload.length()));
        return new Frame(true, type, payload.getInt(0) & 0x7fffffff, flags, payload, headers);
      }
      case RST_STREAM, WINDOW_UPDATE -> {
        require(payload, 8, "RST_STREAM/WINDOW_UPDATE");
        return new Frame(true, type, payload.getInt(0) & 0x7fffffff, flags, payload, null);
      }
      case PING -> {
        require(payload, 4, "PING");
        return new Frame(true, type, 0, flags, payload, null);
      }
      default -> {
        return new Frame(true, type, 0, flags, payload, null);
      }
    }
  }

  private static void require(Buffer payload, int bytes, String frame) {
    if (payload.length() < bytes) {
      throw new ProtocolException(frame + " frame too short: " + payload.length() + " bytes");
    }
  }

  /** Decompresses a header block: a count, then length-prefixed names and NUL-separated values. */
  private Map<String, List<String>> headers(Buffer compressed) {
    Buffer block = inflate(compressed.getBytes());
    Map<String, List<String>> headers = new LinkedHashMap<>();
    if (block.length() == 0) {
      return headers;
    }
    int position = 0;
    int count = block.getInt(position);
    position += 4;
    for (int i = 0; i < count; i++) {
      int nameLength = block.getInt(position);
      String name = block.getString(position + 4, position + 4 + nameLength, "UTF-8").toLowerCase(java.util.Locale.ROOT);
      position += 4 + nameLength;
      int valueLength = block.getInt(position);
      String value = block.getString(position + 4, position + 4 + valueLength, "UTF-8");
      position += 4 + valueLength;
      headers.put(name, List.of(value.split("\0", -1)));
    }
    return headers;
  }

  private Buffer inflate(byte[] compressed) {
    inflater.setInput(compressed);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] chunk = new byte[4096];
    try {
      while (true) {
        int n = inflater.inflate(chunk);
        if (n > 0) {
          out.write(chunk, 0, n);
          if (out.size() > MAX_PAYLOAD) {
            throw new ProtocolException("header block too large");
          }
        } else if (inflater.needsDictionary()) {
          inflater.setDictionary(SpdyDictionary.bytes());
        } else if (inflater.needsInput() || inflater.finished()) {
          break;
        }
      }
    } catch (DataFormatException e) {
      throw new ProtocolException("bad header block: " + e.getMessage());
    } catch (IndexOutOfBoundsException e) {
      throw new ProtocolException("truncated header block");
    }
    return Buffer.buffer(out.toByteArray());
  }

  private byte[] deflate(Map<String, String> headers) {
    Buffer block = Buffer.buffer().appendInt(headers.size());
    headers.forEach((name, value) -> {
      byte[] nameBytes = name.toLowerCase(java.util.Locale.ROOT).getBytes(StandardCharsets.UTF_8);
      byte[] valueBytes = value.getBytes(StandardCharsets.UTF_8);
      block.appendInt(nameBytes.length).appendBytes(nameBytes).appendInt(valueBytes.length).appendBytes(valueBytes);
    });
    deflater.setInput(block.getBytes());
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] chunk = new byte[4096];
    int n;
    do {
      n = deflater.deflate(chunk, 0, chunk.length, Deflater.SYNC_FLUSH);
      out.write(chunk, 0, n);
    } while (n == chunk.length);
    return out.toByteArray();
  }

  // ---- writing ----

  /** Opens a stream, as a client does; the simulator never does, its tests do. */
  Buffer synStream(int streamId, Map<String, String> headers, boolean fin) {
    byte[] block = deflate(headers);
    return control(SYN_STREAM, fin ? FLAG_FIN : 0, Buffer.buffer(10 + block.length).appendInt(streamId).appendInt(0)
        .appendShort((short) 0).appendBytes(block));
  }

  Buffer synReply(int streamId, Map<String, String> headers) {
    byte[] block = deflate(headers);
    return control(SYN_REPLY, 0, Buffer.buffer(4 + block.length).appendInt(streamId).appendBytes(block));
  }

  static Buffer data(int streamId, Buffer data, boolean fin) {
    return Buffer.buffer(8 + data.length()).appendInt(streamId & 0x7fffffff)
        .appendInt((fin ? FLAG_FIN << 24 : 0) | data.length()).appendBuffer(data);
  }

  static Buffer rstStream(int streamId, int status) {
    return control(RST_STREAM, 0, Buffer.buffer(8).appendInt(streamId).appendInt(status));
  }

  static Buffer ping(Buffer payload) {
    return control(PING, 0, payload);
  }

  static Buffer goAway(int lastGoodStreamId) {
    return control(GOAWAY, 0, Buffer.buffer(8).appendInt(lastGoodStreamId).appendInt(0));
  }

  private static Buffer control(int type, int flags, Buffer payload) {
    return Buffer.buffer(8 + payload.length()).appendInt(0x80000000 | (VERSION << 16) | type)
        .appendInt((flags << 24) | payload.length()).appendBuffer(payload);
  }

  /** Frees the compression contexts. */
  void close() {
    inflater.end();
    deflater.end();
  }
}
