package io.kmc.hub.support;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;

import java.util.ArrayList;
import java.util.List;

/**
 * A TCP relay that can stop relaying without closing anything, the way a load balancer that
 * forgot a connection behaves: both ends keep an open socket on which nothing arrives.
 */
public final class Blackhole implements AutoCloseable {

  private final NetServer server;
  private final NetClient client;
  private final List<NetSocket> sockets = new ArrayList<>();
  private volatile boolean swallowing;

  private Blackhole(NetServer server, NetClient client) {
    this.server = server;
    this.client = client;
  }

  public static Future<Blackhole> start(Vertx vertx, int targetPort) {
    NetClient client = vertx.createNetClient();
    NetServer server = vertx.createNetServer();
    Blackhole relay = new Blackhole(server, client);
    server.connectHandler(inbound -> {
      inbound.pause();
      client.connect(targetPort, "127.0.0.1").onSuccess(outbound -> {
        relay.sockets.add(inbound);
        relay.sockets.add(outbound);
        inbound.handler(data -> {
          if (!relay.swallowing) {
            outbound.write(data);
          }
        });
        outbound.handler(data -> {
          if (!relay.swallowing) {
            inbound.write(data);
          }
        });
        inbound.closeHandler(v -> outbound.close());
        outbound.closeHandler(v -> inbound.close());
        inbound.resume();
      }).onFailure(e -> inbound.close());
    });
    return server.listen(0, "127.0.0.1").map(relay);
  }

  public int port() {
    return server.actualPort();
  }

  /** From now on, bytes in either direction vanish; connections stay open. */
  public void swallow() {
    swallowing = true;
  }

  /** Relays again, for new connections and old ones. */
  public void relay() {
    swallowing = false;
  }

  @Override
  public void close() {
    sockets.forEach(NetSocket::close);
    server.close();
    client.close();
  }
}
