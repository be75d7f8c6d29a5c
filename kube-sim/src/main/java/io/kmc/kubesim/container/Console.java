package io.kmc.kubesim.container;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import java.io.ByteArrayOutputStream;

/**
 * The client's end of a process: the bytes it sends to stdin and the outputs it reads. Without a
 * TTY that is a plain pipe. With one, it behaves like the kernel's terminal in canonical mode (what
 * {@code kubectl exec -it} expects, since kubectl puts the local terminal in raw mode): typed
 * characters are echoed, erased with backspace, handed over a line at a time on Enter, Ctrl-C
 * interrupts the foreground program, Ctrl-D on an empty line is an end of input, and output newlines
 * become CR LF. stderr is merged into stdout, as there is one terminal.
 */
public final class Console {

  private static final byte[] ERASE = {'\b', ' ', '\b'};

  private final Pipe stdin;
  private final Output rawOut;
  private final Stdio stdio;
  private final Terminal terminal;
  private final ByteArrayOutputStream line = new ByteArrayOutputStream();
  private int escape;

  /** {@code stdinBufferBytes}: how much typed-ahead input is held before the client is told to wait. */
  public Console(Output clientStdout, Output clientStderr, boolean tty, long stdinBufferBytes) {
    this.stdin = new Pipe(stdinBufferBytes);
    this.rawOut = clientStdout;
    if (tty) {
      terminal = new Terminal();
      Output terminalOut = data -> clientStdout.write(onlcr(data));
      stdio = new Stdio(stdin, terminalOut, terminalOut, terminal);
    } else {
      terminal = null;
      stdio = new Stdio(stdin, clientStdout, clientStderr, null);
    }
  }

  /** The streams the process gets. */
  public Stdio stdio() {
    return stdio;
  }

  /** The terminal (for resize messages), or null without a TTY. */
  public Terminal terminal() {
    return terminal;
  }

  /**
   * Bytes from the client's stdin. The future completes when the process can take more; until then
   * the client should not be read from.
   */
  public Future<Void> input(Buffer data) {
    if (terminal == null) {
      return stdin.write(data);
    }
    Future<Void> accepted = Future.succeededFuture();
    ByteArrayOutputStream echo = new ByteArrayOutputStream();
    for (byte b : data.getBytes()) {
      if (escape > 0) {
        escape = escapeState(escape, b);
        continue;
      }
      switch (b) {
        case '\r', '\n' -> {
          line.write('\n');
          echo.writeBytes(new byte[] {'\r', '\n'});
          flushEcho(echo);
          accepted = stdin.write(Buffer.buffer(line.toByteArray()));
          line.reset();
        }
        case 0x7f, '\b' -> {
          if (eraseLastCharacter()) {
            echo.writeBytes(ERASE);
          }
        }
        case 0x15 -> {
          while (eraseLastCharacter()) {
            echo.writeBytes(ERASE);
          }
        }
        case 0x03 -> {
          echo.writeBytes(new byte[] {'^', 'C', '\r', '\n'});
          line.reset();
          flushEcho(echo);
          terminal.interrupt();
        }
        case 0x04 -> {
          flushEcho(echo);
          if (line.size() == 0) {
            stdin.endOnce();
          } else {
            accepted = stdin.write(Buffer.buffer(line.toByteArray()));
            line.reset();
          }
        }
        case 0x1b -> escape = 1;
        default -> {
          if ((b & 0xff) >= 0x20 || b == '\t') {
            line.write(b);
            echo.write(b);
          }
        }
      }
    }
    flushEcho(echo);
    return accepted;
  }

  /** The client closed its stdin: every later read sees the end. */
  public void endInput() {
    if (line.size() > 0) {
      stdin.write(Buffer.buffer(line.toByteArray()));
      line.reset();
    }
    stdin.end();
  }

  /** The process is gone: later input is dropped. */
  public void close() {
    stdin.close();
  }

  private void flushEcho(ByteArrayOutputStream echo) {
    if (echo.size() > 0) {
      rawOut.write(Buffer.buffer(echo.toByteArray()));
      echo.reset();
    }
  }

  /** Skips an escape sequence (arrow keys and the like: ESC [ ... final byte); 0 once it is over. */
  private static int escapeState(int state, byte b) {
    if (state == 1) {
      return b == '[' || b == 'O' ? 2 : 0;
    }
    return b >= 0x40 && b <= 0x7e ? 0 : 2;
  }

  private boolean eraseLastCharacter() {
    byte[] bytes = line.toByteArray();
    if (bytes.length == 0) {
      return false;
    }
    int end = bytes.length - 1;
    while (end > 0 && (bytes[end] & 0xc0) == 0x80) {
      end--;
    }
    line.reset();
    line.write(bytes, 0, end);
    return true;
  }

  private static Buffer onlcr(Buffer data) {
    byte[] bytes = data.getBytes();
    int newlines = 0;
    for (byte b : bytes) {
      if (b == '\n') {
        newlines++;
      }
    }
    if (newlines == 0) {
      return data;
    }
    byte[] translated = new byte[bytes.length + newlines];
    int j = 0;
    for (byte b : bytes) {
      if (b == '\n') {
        translated[j++] = '\r';
      }
      translated[j++] = b;
    }
    return Buffer.buffer(translated);
  }
}
