package io.kmc.bench.fleet;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP hop between agents and a hub node that can misbehave the way load balancers and networks
 * do: forward faithfully, delay every chunk, reset every connection, or blackhole the connections
 * open at that moment (their bytes vanish, neither side is told; new connections pass, as behind a
 * load balancer that forgot its idle flows).
 */
public final class FaultyLink implements AutoCloseable {

  private final Vertx vertx;
  private final NetServer server;
  private final NetClient client;
  private final Set<Pair> pairs = ConcurrentHashMap.newKeySet();
  private final AtomicInteger accepted = new AtomicInteger();
  private final AtomicLong lastAcceptedAt = new AtomicLong();
  private volatile long delayMillis;

  private record Held(long due, Buffer chunk) {
  }

  /** One client connection and its connection to the target; touched on its event loop only. */
  private final class Pair {
    final NetSocket inbound;
    NetSocket outbound;
    volatile boolean blackholed;

    Pair(NetSocket inbound) {
      this.inbound = inbound;
    }

    /** Chunks held back, per direction, in order: a chunk never overtakes another when the delay changes. */
    final java.util.ArrayDeque<Held> towardsTarget = new java.util.ArrayDeque<>();
    final java.util.ArrayDeque<Held> towardsClient = new java.util.ArrayDeque<>();

    void forward(Buffer chunk, NetSocket to, NetSocket from) {
      if (blackholed) {
        return;
      }
      java.util.ArrayDeque<Held> queue = from == inbound ? towardsTarget : towardsClient;
      long delay = delayMillis;
      if (delay == 0 && queue.isEmpty()) {
        write(chunk, to, from);
        return;
      }
      queue.add(new Held(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(delay), chunk));
      if (queue.size() == 1) {
        vertx.setTimer(Math.max(1, delay), t -> release(queue, to, from));
      }
    }

    /** Writes the chunks that are due, in order; comes back for the rest when the first of them is due. */
    private void release(java.util.ArrayDeque<Held> queue, NetSocket to, NetSocket from) {
      long now = System.nanoTime();
      while (!queue.isEmpty() && queue.peek().due() <= now) {
        write(queue.poll().chunk(), to, from);
      }
      if (!queue.isEmpty()) {
        long wait = TimeUnit.NANOSECONDS.toMillis(queue.peek().due() - now) + 1;
        vertx.setTimer(wait, t -> release(queue, to, from));
      }
    }

    private void write(Buffer chunk, NetSocket to, NetSocket from) {
      if (blackholed) {
        return;
      }
      to.write(chunk);
      if (to.writeQueueFull()) {
        from.pause();
        to.drainHandler(v -> from.resume());
      }
    }

    void close() {
      pairs.remove(this);
      inbound.close();
      if (outbound != null) {
        outbound.close();
      }
    }
  }

  private FaultyLink(Vertx vertx, NetServer server, NetClient client) {
    this.vertx = vertx;
    this.server = server;
    this.client = client;
  }

  /** Listens on a free loopback port and forwards to {@code targetPort} on loopback. */
  public static FaultyLink start(Vertx vertx, int targetPort) {
    NetClient client = vertx.createNetClient();
    NetServer server = vertx.createNetServer();
    FaultyLink link = new FaultyLink(vertx, server, client);
    server.connectHandler(inbound -> link.accept(inbound, targetPort));
    await(server.listen(0, "127.0.0.1"));
    return link;
  }

  private void accept(NetSocket inbound, int targetPort) {
    accepted.incrementAndGet();
    lastAcceptedAt.set(System.nanoTime());
    Pair pair = new Pair(inbound);
    pairs.add(pair);
    inbound.pause();
    client.connect(targetPort, "127.0.0.1").onComplete(connected -> {
      if (connected.failed()) {
        pair.close();
        return;
      }
      NetSocket outbound = connected.result();
      pair.outbound = outbound;
      inbound.handler(chunk -> pair.forward(chunk, outbound, inbound));
      outbound.handler(chunk -> pair.forward(chunk, inbound, outbound));
      // A blackholed flow hears of no close either: the peer's close is one more packet lost.
      inbound.closeHandler(v -> {
        if (!pair.blackholed) {
          pair.close();
        }
      });
      outbound.closeHandler(v -> {
        if (!pair.blackholed) {
          pair.close();
        }
      });
      inbound.resume();
    });
  }

  public int port() {
    return server.actualPort();
  }

  /** Connections accepted since the link started. */
  public int accepted() {
    return accepted.get();
  }

  /** System.nanoTime() of the last connection accepted, 0 if none. */
  public long lastAcceptedAt() {
    return lastAcceptedAt.get();
  }

  /** The connections open now go silent both ways, for good; later ones pass. */
  public void blackhole() {
    for (Pair pair : pairs) {
      pair.blackholed = true;
    }
  }

  /** Every chunk from now on is held {@code millis} before it is passed on (0: none). */
  public void delay(long millis) {
    delayMillis = millis;
  }

  /** Closes every connection open now, both ways, at once. */
  public void reset() {
    for (Pair pair : Set.copyOf(pairs)) {
      pair.close();
    }
  }

  @Override
  public void close() {
    for (Pair pair : Set.copyOf(pairs)) {
      pair.close();
    }
    await(server.close());
    await(client.close());
  }

  private static <T> T await(Future<T> future) {
    try {
      return future.await(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e.getMessage(), e);
    }
  }
}
