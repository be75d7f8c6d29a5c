package io.kmc.hub.tls;

import io.netty.channel.Channel;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.concurrent.Promise;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.NetSocket;
import io.vertx.core.net.PemKeyCertOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import javax.net.ssl.SSLException;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * server.tls.max_concurrent_handshakes: beyond the limit a connection waits, unread, until a handshake
 * ends, and one closed while it waits (the handshake timeout) leaves the queue. A plain TCP connection that
 * never says ClientHello holds the one handshake the gate allows here.
 */
class HandshakeGateTest {

  private final Vertx vertx = Vertx.vertx();
  private final TlsMaterial material = TlsMaterial.generate(List.of());

  @AfterEach
  void close() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @ParameterizedTest
  @ValueSource(strings = {"openssl", "jdk"})
  void aHandshakeWaitsForTheOneBeforeIt(String engine) throws Exception {
    HandshakeGate gate = new HandshakeGate(1);
    HttpServer server = serve(gate, engine);
    NetSocket silent = vertx.createNetClient().connect(server.actualPort(), "127.0.0.1").await(10, TimeUnit.SECONDS);
    AtomicBoolean silentClosed = new AtomicBoolean();
    silent.closeHandler(v -> silentClosed.set(true));
    eventually(() -> gate.running() == 1, "the silent connection holds the handshake");

    HttpClient client = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setTrustAll(true)
        .setVerifyHost(false).setSslHandshakeTimeout(30));
    Future<String> answer = client.request(HttpMethod.GET, server.actualPort(), "127.0.0.1", "/")
        .compose(r -> r.send()).compose(r -> r.body()).map(Buffer::toString);
    eventually(() -> gate.waiting() == 1 || answer.isComplete(), "the second connection waits");
    assertFalse(answer.isComplete(), () -> "answered while its handshake waited: " + answer.result() + " "
        + answer.cause() + "; gate: running " + gate.running() + ", waiting " + gate.waiting() + ", closed waiting "
        + gate.closedWaiting() + "; silent connection closed: " + silentClosed.get());

    silent.close();
    assertEquals("ok", answer.await(30, TimeUnit.SECONDS));
    eventually(() -> gate.running() == 0 && gate.waiting() == 0, "nothing left in the gate");
    assertEquals(0, gate.closedWaiting());
  }

  /** The gate's bookkeeping, step by step, on channels that stand for accepted connections. */
  @Test
  void aConnectionClosedWhileWaitingLeavesTheQueueAndTheNextOneIsLetRead() {
    HandshakeGate gate = new HandshakeGate(1);
    EmbeddedChannel first = new EmbeddedChannel();
    EmbeddedChannel second = new EmbeddedChannel();
    EmbeddedChannel third = new EmbeddedChannel();
    Promise<Channel> firstDone = first.eventLoop().newPromise();
    Promise<Channel> secondDone = second.eventLoop().newPromise();
    Promise<Channel> thirdDone = third.eventLoop().newPromise();
    gate.enter(first, firstDone);
    gate.enter(second, secondDone);
    gate.enter(third, thirdDone);
    assertEquals(1, gate.running());
    assertEquals(2, gate.waiting());
    assertTrue(first.config().isAutoRead());
    assertFalse(second.config().isAutoRead(), "nothing of a waiting connection is read");

    secondDone.setFailure(new SSLException("handshake timed out"));
    assertEquals(1, gate.waiting());
    assertEquals(1, gate.closedWaiting());

    firstDone.setSuccess(first);
    third.runPendingTasks();
    assertTrue(third.config().isAutoRead(), "the next in line reads its ClientHello");
    assertEquals(1, gate.running());
    assertEquals(0, gate.waiting());
    thirdDone.setSuccess(third);
    assertEquals(0, gate.running());
  }

  @Test
  void noLimitLeavesTheEngineAsItIs() {
    TlsEngine engine = TlsEngine.of("jdk");
    assertSame(engine.options(), new HandshakeGate(0).engineOptions(engine.options()));
  }

  private HttpServer serve(HandshakeGate gate, String engine) throws Exception {
    // A handshake timeout (default 10 s) longer than the test, so that a slow machine cannot free the
    // silent connection's place before the second connection arrives.
    return vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0).setSsl(true)
            .setSslHandshakeTimeout(120)
            .setSslEngineOptions(TlsEngine.of(engine).gated(gate).options())
            .setKeyCertOptions(new PemKeyCertOptions().addCertValue(Buffer.buffer(material.certificatePem()))
                .addKeyValue(Buffer.buffer(material.privateKeyPem()))))
        .requestHandler(request -> request.response().end("ok"))
        .listen().await(10, TimeUnit.SECONDS);
  }

  private static void eventually(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within 20 s: " + what);
      }
      Thread.sleep(20);
    }
  }
}
