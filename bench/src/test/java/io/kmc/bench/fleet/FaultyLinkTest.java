package io.kmc.bench.fleet;

import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The misbehaving hop of the chaos bench misbehaves only as asked: nothing reordered, nothing leaked. */
class FaultyLinkTest {

  private Vertx vertx;
  private FaultyLink link;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    NetServer echo = vertx.createNetServer().connectHandler(socket -> socket.handler(socket::write));
    echo.listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    link = FaultyLink.start(vertx, echo.actualPort());
  }

  @AfterEach
  void stop() throws Exception {
    link.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void aDelayThatEndsDoesNotLetLaterBytesOvertake() throws Exception {
    StringBuilder received = new StringBuilder();
    NetSocket socket = connect(received);
    link.delay(200);
    for (int i = 0; i < 50; i++) {
      socket.write(i + ",");
      if (i == 25) {
        link.delay(0);
      }
    }
    StringBuilder expected = new StringBuilder();
    for (int i = 0; i < 50; i++) {
      expected.append(i).append(',');
    }
    awaitText(received, expected.toString());
    assertEquals(1, link.accepted());
  }

  @Test
  void aBlackholedConnectionHearsNothingWhileANewOnePasses() throws Exception {
    StringBuilder first = new StringBuilder();
    NetSocket silent = connect(first);
    silent.write("before;");
    awaitText(first, "before;");
    link.blackhole();
    silent.write("lost;");
    StringBuilder second = new StringBuilder();
    NetSocket fresh = connect(second);
    fresh.write("fresh;");
    awaitText(second, "fresh;");
    Thread.sleep(200);
    synchronized (first) {
      assertEquals("before;", first.toString());
    }
    assertEquals(2, link.accepted());
  }

  @Test
  void aResetClosesEveryConnection() throws Exception {
    Promise<Void> closed = Promise.promise();
    StringBuilder received = new StringBuilder();
    NetSocket socket = connect(received);
    socket.closeHandler(v -> closed.tryComplete());
    socket.write("through;");
    awaitText(received, "through;"); // the link holds the connection now
    link.reset();
    closed.future().await(10, TimeUnit.SECONDS);
    assertTrue(closed.future().succeeded());
  }

  private NetSocket connect(StringBuilder received) throws Exception {
    NetSocket socket = vertx.createNetClient().connect(link.port(), "127.0.0.1").await(10, TimeUnit.SECONDS);
    socket.handler(chunk -> {
      synchronized (received) {
        received.append(chunk.toString(StandardCharsets.UTF_8));
      }
    });
    return socket;
  }

  private static void awaitText(StringBuilder received, String expected) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 10_000;
    while (System.currentTimeMillis() < deadline) {
      synchronized (received) {
        if (received.length() >= expected.length()) {
          break;
        }
      }
      Thread.sleep(10);
    }
    synchronized (received) {
      assertEquals(expected, received.toString());
    }
  }
}
