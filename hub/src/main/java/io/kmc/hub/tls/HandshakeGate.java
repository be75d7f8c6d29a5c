package io.kmc.hub.tls;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.DelegatingSslContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.Future;
import io.vertx.core.net.SSLEngineOptions;
import io.vertx.core.spi.tls.SslContextFactory;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManagerFactory;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executor;

/**
 * How many TLS handshakes a node runs at once ({@code server.tls.max_concurrent_handshakes}). When a node
 * dies, thousands of agents redial the survivors in the same second. Run all at once, each handshake waits
 * behind the others for the event loops, every one takes longer than the handshake timeout, and the work
 * is thrown away and redone: congestion collapse (docs/scale.md). The gate lets the first N go ahead and
 * holds the rest, accepted but unread, in arrival order; each finished handshake lets the next one read.
 * The admitted ones finish in milliseconds, and a connection that waits past the handshake timeout is
 * closed having cost no cryptography at all. The timeout counts from the accept, waiting included.
 *
 * <p>Vert.x builds a connection's {@link SslHandler} from the engine's {@link SslContext}; the gate is put
 * in there ({@link #engineOptions}), so it sees each connection before anything of it is read.
 */
public final class HandshakeGate {

  private final int limit;
  private final ArrayDeque<Channel> waiting = new ArrayDeque<>();
  private int running;
  private long timedOutWaiting;

  /** @param limit handshakes run at once; 0 runs every one at once */
  public HandshakeGate(int limit) {
    this.limit = limit;
  }

  /** Handshakes under way now. */
  public synchronized int running() {
    return running;
  }

  /** Accepted connections waiting for their handshake to begin. */
  public synchronized int waiting() {
    return waiting.size();
  }

  /** Connections that were closed while they waited (the handshake timeout, or the peer gave up). */
  public synchronized long closedWaiting() {
    return timedOutWaiting;
  }

  /** {@code options} with this gate in front of every server handshake it makes. */
  public SSLEngineOptions engineOptions(SSLEngineOptions options) {
    return limit <= 0 ? options : new GatedEngineOptions(options, this);
  }

  /** Called on the channel's event loop before anything of it is read; {@code done} ends its handshake. */
  void enter(Channel channel, Future<Channel> done) {
    boolean now;
    synchronized (this) {
      now = running < limit;
      if (now) {
        running++;
      } else {
        // Nothing is read until its turn: no ClientHello, so no cryptography is spent on it yet.
        channel.config().setAutoRead(false);
        waiting.add(channel);
      }
    }
    done.addListener(f -> leave(channel));
  }

  private void leave(Channel channel) {
    Channel next;
    synchronized (this) {
      if (waiting.remove(channel)) {
        timedOutWaiting++;
        return;
      }
      running--;
      next = waiting.poll();
      if (next != null) {
        running++;
      }
    }
    if (next != null) {
      // Reading again reads its ClientHello, on its own event loop.
      Channel admitted = next;
      admitted.eventLoop().execute(() -> admitted.config().setAutoRead(true));
    }
  }

  /** The engine's options with every server context it creates gated. */
  private static final class GatedEngineOptions extends SSLEngineOptions {
    private final SSLEngineOptions engine;
    private final HandshakeGate gate;

    GatedEngineOptions(SSLEngineOptions engine, HandshakeGate gate) {
      super(engine);
      this.engine = engine;
      this.gate = gate;
    }

    @Override
    public SSLEngineOptions copy() {
      return new GatedEngineOptions(engine.copy(), gate);
    }

    @Override
    public SslContextFactory sslContextFactory() {
      SslContextFactory factory = engine.sslContextFactory();
      return new SslContextFactory() {
        private boolean forClient;

        @Override
        public SslContextFactory useAlpn(boolean useAlpn) {
          factory.useAlpn(useAlpn);
          return this;
        }

        @Override
        public SslContextFactory clientAuth(ClientAuth clientAuth) {
          factory.clientAuth(clientAuth);
          return this;
        }

        @Override
        public SslContextFactory forClient(boolean forClient) {
          this.forClient = forClient;
          factory.forClient(forClient);
          return this;
        }

        @Override
        public SslContextFactory keyMananagerFactory(KeyManagerFactory kmf) {
          factory.keyMananagerFactory(kmf);
          return this;
        }

        @Override
        public SslContextFactory trustManagerFactory(TrustManagerFactory tmf) {
          factory.trustManagerFactory(tmf);
          return this;
        }

        @Override
        public SslContextFactory enabledCipherSuites(Set<String> enabledCipherSuites) {
          factory.enabledCipherSuites(enabledCipherSuites);
          return this;
        }

        @Override
        public SslContextFactory applicationProtocols(List<String> applicationProtocols) {
          factory.applicationProtocols(applicationProtocols);
          return this;
        }

        @Override
        public SslContextFactory serverName(String serverName) {
          factory.serverName(serverName);
          return this;
        }

        @Override
        public SslContext create() throws SSLException {
          SslContext context = factory.create();
          return forClient ? context : new GatedContext(context, gate);
        }
      };
    }
  }

  /** A server context whose handlers enter the gate when they are added to their connection. */
  private static final class GatedContext extends DelegatingSslContext {
    private final HandshakeGate gate;

    GatedContext(SslContext context, HandshakeGate gate) {
      super(context);
      this.gate = gate;
    }

    @Override
    protected void initEngine(SSLEngine engine) {
    }

    @Override
    protected SslHandler newHandler(ByteBufAllocator alloc, boolean startTls, Executor executor) {
      return new GatedHandler(newEngine(alloc), startTls, executor, gate);
    }

    @Override
    protected SslHandler newHandler(ByteBufAllocator alloc, String peerHost, int peerPort, boolean startTls,
                                    Executor executor) {
      return new GatedHandler(newEngine(alloc, peerHost, peerPort), startTls, executor, gate);
    }
  }

  private static final class GatedHandler extends SslHandler {
    private final HandshakeGate gate;

    GatedHandler(SSLEngine engine, boolean startTls, Executor executor, HandshakeGate gate) {
      super(engine, startTls, executor);
      this.gate = gate;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
      super.handlerAdded(ctx);
      // Added while the accepted connection is registered, before its first read.
      gate.enter(ctx.channel(), handshakeFuture());
    }
  }
}
