package io.kmc.kubesim;

import io.kmc.kubesim.container.Output;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * An exec or attach over SPDY, as the kubelet serves it to client-go's SPDY executor: the client
 * opens one stream per standard stream, named by its {@code streamType} header (error, stdin, stdout,
 * stderr, and resize with a TTY from v3 on); the command starts once all the request asked for are
 * there, or the connection is closed after the stream creation timeout. The error stream carries a
 * JSON Status from v4 on, a plain message before.
 */
final class SpdyCommandChannels implements RemoteCommand.Channels {

  private final RemoteCommand.Request request;
  private final String protocol;
  private final long creationTimeoutMillis;
  private final Map<String, SpdySession.Stream> streams = new HashMap<>();
  private final Set<String> expected = new LinkedHashSet<>();
  private SpdySession session;
  private Runnable gone = () -> { };
  private boolean started;
  private boolean finished;

  SpdyCommandChannels(RemoteCommand.Request request, String protocol, long creationTimeoutMillis) {
    this.request = request;
    this.protocol = protocol;
    this.creationTimeoutMillis = creationTimeoutMillis;
    expected.add("error");
    if (request.stdin()) {
      expected.add("stdin");
    }
    if (request.stdout()) {
      expected.add("stdout");
    }
    if (request.stderr()) {
      expected.add("stderr");
    }
    if (request.tty() && !protocol.equals("v2.channel.k8s.io") && !protocol.equals("channel.k8s.io")) {
      expected.add("resize");
    }
  }

  /** Accepts streams until the expected ones are open, then hands these channels to {@code ready}. */
  void open(SpdySession session, Consumer<SpdyCommandChannels> ready) {
    this.session = session;
    long timer = session.vertx().setTimer(creationTimeoutMillis, id -> {
      if (!started) {
        session.close();
      }
    });
    session.start(stream -> {
      String type = stream.header("streamtype");
      if (type == null || !expected.contains(type) || streams.containsKey(type)) {
        stream.end();
        return;
      }
      streams.put(type, stream);
      if (!started && streams.keySet().containsAll(expected)) {
        started = true;
        session.vertx().cancelTimer(timer);
        ready.accept(this);
      }
    }, () -> {
      session.vertx().cancelTimer(timer);
      gone.run();
    });
  }

  @Override
  public Output stdout() {
    return request.stdout() ? streams.get("stdout")::write : Output.DISCARD;
  }

  @Override
  public Output stderr() {
    return request.stderr() ? streams.get("stderr")::write : Output.DISCARD;
  }

  @Override
  public void start(Function<Buffer, Future<Void>> stdin, Runnable stdinEnd, Function<Buffer, Future<Void>> resize,
      Runnable gone) {
    this.gone = () -> {
      if (!finished) {
        gone.run();
      }
    };
    if (request.stdin()) {
      streams.get("stdin").dataHandler(stdin).endHandler(stdinEnd);
    }
    if (streams.containsKey("resize")) {
      streams.get("resize").dataHandler(resize);
    }
  }

  @Override
  public void finish(JsonObject status) {
    finished = true;
    SpdySession.Stream error = streams.get("error");
    if (protocol.equals("v4.channel.k8s.io")) {
      error.write(status.toBuffer());
    } else if (!"Success".equals(status.getString("status"))) {
      error.write(Buffer.buffer(status.getString("message", "")));
    }
    streams.values().forEach(SpdySession.Stream::end);
    session.close();
  }
}
