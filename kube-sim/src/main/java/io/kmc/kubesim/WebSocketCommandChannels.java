package io.kmc.kubesim;

import io.kmc.kubesim.container.Output;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.util.function.Function;

/**
 * An exec or attach over websocket channels, numbered as the apiserver numbers them: 0 stdin,
 * 1 stdout, 2 stderr, 3 error (the final Status), 4 resize. As the apiserver does, an empty message
 * on the lowest channel the server writes tells the client the connection is ready.
 */
final class WebSocketCommandChannels implements RemoteCommand.Channels {

  static final int STDIN = 0;
  static final int STDOUT = 1;
  static final int STDERR = 2;
  static final int ERROR = 3;
  static final int RESIZE = 4;

  private final ChannelWebSocket socket;
  private final RemoteCommand.Request request;

  WebSocketCommandChannels(ChannelWebSocket socket, RemoteCommand.Request request) {
    this.socket = socket;
    this.request = request;
  }

  @Override
  public Output stdout() {
    return request.stdout() ? data -> socket.write(STDOUT, data) : Output.DISCARD;
  }

  @Override
  public Output stderr() {
    return request.stderr() && !request.tty() ? data -> socket.write(STDERR, data) : Output.DISCARD;
  }

  @Override
  public void start(Function<Buffer, Future<Void>> stdin, Runnable stdinEnd, Function<Buffer, Future<Void>> resize,
      Runnable gone) {
    if (request.stdin()) {
      socket.reader(STDIN, stdin).closeHandler(STDIN, stdinEnd);
    }
    if (request.tty()) {
      socket.reader(RESIZE, resize);
    }
    socket.goneHandler(gone).start();
    int ready = request.stdout() ? STDOUT : request.stderr() && !request.tty() ? STDERR : ERROR;
    socket.write(ready, Buffer.buffer());
  }

  @Override
  public void finish(JsonObject status) {
    if (socket.protocol().statusObjects()) {
      socket.write(ERROR, status.toBuffer());
    } else if (!"Success".equals(status.getString("status"))) {
      socket.write(ERROR, Buffer.buffer(status.getString("message", "")));
    }
    socket.close();
  }
}
