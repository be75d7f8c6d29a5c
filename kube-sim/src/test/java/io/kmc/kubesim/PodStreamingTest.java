package io.kmc.kubesim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.http.WebSocketFrame;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetSocket;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * exec, attach and port-forward through the simulator's HTTP entry point, with a scripted client
 * that speaks the wire protocols byte by byte: the websocket channel protocols (v5, v4, base64),
 * the kubelet's websocket port-forward, and SPDY as kubectl tunnels it. Real kubectl runs the same
 * paths in {@link KubectlExecIT}.
 */
@ExtendWith(VertxExtension.class)
class PodStreamingTest {

  private static final String POD = """
      {"apiVersion":"v1","kind":"Pod","metadata":{"name":"box","namespace":"default"},
       "spec":{"containers":[{"name":"main","image":"busybox:1","env":[{"name":"GREETING","value":"hello"}],
                              "ports":[{"containerPort":80}]},
                             {"name":"side","image":"busybox:1"}]}}""";

  private Vertx vertx;
  private KubeSim sim;
  private WebSocketClient client;

  @BeforeEach
  void startSimulator(Vertx vertx) {
    this.vertx = vertx;
    sim = await(KubeSim.start(vertx, new KubeSimOptions().controllerDelayMillis(5)));
    client = vertx.createWebSocketClient();
    await(sim.create(new JsonObject(POD)));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (!"Running".equals(Json.stringAt(await(sim.get("v1", "Pod", "default", "box")), "status.phase"))) {
      assertTrue(System.nanoTime() < deadline, "the pod never ran");
      sleep(10);
    }
  }

  @AfterEach
  void stopSimulator() {
    await(client.close());
    await(sim.close());
  }

  @Test
  @Timeout(value = 20, timeUnit = TimeUnit.SECONDS)
  void v5CarriesStdinInFramesOfAnySizeAndEndsItWithTheCloseSignal() {
    Session session = connect(exec("main", "stdin", "stdout", "stderr") + "&command=sha256sum", "v5.channel.k8s.io");
    assertEquals("v5.channel.k8s.io", session.socket.subProtocol());
    byte[] data = new byte[3 * 1024 * 1024 + 11];
    new Random(3).nextBytes(data);
    // One message of 200 KiB, fragmented into frames: the channel byte is on the first frame only.
    session.socket.writeFrame(WebSocketFrame.binaryFrame(Buffer.buffer(new byte[] {0}).appendBytes(data, 0, 70_000),
        false));
    session.socket.writeFrame(WebSocketFrame.continuationFrame(Buffer.buffer().appendBytes(data, 70_000, 70_000),
        false));
    session.socket.writeFrame(WebSocketFrame.continuationFrame(Buffer.buffer().appendBytes(data, 140_000, 64_800),
        true));
    for (int offset = 204_800; offset < data.length; offset += 32 * 1024) {
      int length = Math.min(32 * 1024, data.length - offset);
      session.socket.writeBinaryMessage(Buffer.buffer(new byte[] {0}).appendBytes(data, offset, length));
    }
    session.socket.writeBinaryMessage(Buffer.buffer(new byte[] {(byte) 255, 0}));
    await(session.closed.future());
    assertEquals(sha256(data) + "  -\n", session.text(1));
    assertEquals(new JsonObject().put("metadata", new JsonObject()).put("status", "Success"), session.status());
    assertEquals(1, session.messages.get(0).getUnsignedByte(0), "an empty stdout message says the stream is ready");
    assertEquals(1, session.messages.get(0).length());
    assertEquals((short) 1000, session.socket.closeStatusCode());
  }

  /**
   * What {@code kubectl cp} does with a 50 MB file, at the wire: a tar stream into {@code tar xmf -},
   * then {@code tar cf -} back. Both directions are flow-controlled end to end, so this takes about
   * as much memory as the file itself, and the event loop is never stuck long enough for Vert.x to
   * complain.
   */
  @Test
  @Timeout(value = 60, timeUnit = TimeUnit.SECONDS)
  void fiftyMegabytesGoThroughTarBothWays() throws Exception {
    byte[] content = new byte[50 * 1024 * 1024];
    new Random(50).nextBytes(content);
    java.io.ByteArrayOutputStream archive = new java.io.ByteArrayOutputStream();
    try (org.apache.commons.compress.archivers.tar.TarArchiveOutputStream tar =
        new org.apache.commons.compress.archivers.tar.TarArchiveOutputStream(archive)) {
      org.apache.commons.compress.archivers.tar.TarArchiveEntry entry =
          new org.apache.commons.compress.archivers.tar.TarArchiveEntry("big.bin");
      entry.setSize(content.length);
      tar.putArchiveEntry(entry);
      tar.write(content);
      tar.closeArchiveEntry();
    }
    Session upload = connect(exec("main", "stdin", "stdout", "stderr")
        + "&command=tar&command=-xmf&command=-&command=-C&command=%2Ftmp", "v5.channel.k8s.io");
    Promise<Void> sent = Promise.promise();
    vertx.runOnContext(v -> pump(upload.socket, archive.toByteArray(), 0, sent));
    await(sent.future());
    await(upload.closed.future());
    assertEquals("Success", upload.status().getString("status"), upload.text(2));

    Session download = connect(exec("main", "stdout", "stderr") + "&command=tar&command=cf&command=-"
        + "&command=%2Ftmp%2Fbig.bin", "v5.channel.k8s.io");
    await(download.closed.future());
    assertEquals("tar: Removing leading `/' from member names\n", download.text(2));
    try (org.apache.commons.compress.archivers.tar.TarArchiveInputStream tar =
        new org.apache.commons.compress.archivers.tar.TarArchiveInputStream(
            new java.io.ByteArrayInputStream(download.data(1).getBytes()))) {
      assertEquals("tmp/big.bin", tar.getNextEntry().getName());
      assertArrayEquals(content, tar.readAllBytes());
    }
  }

  /** Sends stdin in 32 KiB messages as fast as the socket takes them, then half-closes it. */
  private static void pump(WebSocket socket, byte[] data, int from, Promise<Void> done) {
    int offset = from;
    while (offset < data.length) {
      int length = Math.min(32 * 1024, data.length - offset);
      socket.writeBinaryMessage(Buffer.buffer(length + 1).appendByte((byte) 0).appendBytes(data, offset, length));
      offset += length;
      if (socket.writeQueueFull()) {
        int next = offset;
        socket.drainHandler(v -> pump(socket, data, next, done));
        return;
      }
    }
    socket.writeBinaryMessage(Buffer.buffer(new byte[] {(byte) 255, 0}));
    done.tryComplete();
  }

  @Test
  @Timeout(value = 20, timeUnit = TimeUnit.SECONDS)
  void v4SeparatesStdoutAndStderrAndReportsTheExitCode() {
    Session session = connect(exec("main", "stdout", "stderr")
        + "&command=sh&command=-c&command=echo+%24GREETING%3B+echo+oops+%3E%262%3B+exit+3", "v4.channel.k8s.io");
    await(session.closed.future());
    assertEquals("hello\n", session.text(1));
    assertEquals("oops\n", session.text(2));
    JsonObject status = session.status();
    assertEquals("Failure", status.getString("status"));
    assertEquals("NonZeroExitCode", status.getString("reason"));
    assertEquals(new JsonObject().put("reason", "ExitCode").put("message", "3"),
        status.getJsonObject("details").getJsonArray("causes").getJsonObject(0));
    assertEquals("command terminated with non-zero exit code: error executing command [sh -c echo $GREETING; "
        + "echo oops >&2; exit 3], exit code 3", status.getString("message"));
  }

  @Test
  @Timeout(value = 20, timeUnit = TimeUnit.SECONDS)
  void base64ProtocolsUseTextFramesWithADigitForTheChannel() {
    Session session = connect(exec("main", "stdout") + "&command=echo&command=hi", "v4.base64.channel.k8s.io");
    await(session.closed.future());
    assertTrue(session.texts.contains("1" + Base64.getEncoder().encodeToString("hi\n".getBytes(StandardCharsets.UTF_8))),
        session.texts.toString());
    assertTrue(session.texts.contains("3" + Base64.getEncoder().encodeToString(
        "{\"metadata\":{},\"status\":\"Success\"}".getBytes(StandardCharsets.UTF_8))), session.texts.toString());
  }

  @Test
  @Timeout(value = 20, timeUnit = TimeUnit.SECONDS)
  void aTtySessionTakesResizeMessagesAndEchoesWhatIsTyped() {
    Session session = connect(exec("main", "stdin", "stdout", "stderr") + "&tty=true&command=sh",
        "v5.channel.k8s.io");
    session.send(4, "{\"Width\":132,\"Height\":43}\n");
    session.send(0, "stty size; tput cols\r");
    session.send(4, "{\"Width\":90,");
    session.send(4, "\"Height\":20}\n");
    session.send(0, "stty size\rexit 2\r");
    await(session.closed.future());
    assertEquals("# stty size; tput cols\r\n43 132\r\n132\r\n# stty size\r\n20 90\r\n# exit 2\r\n", session.text(1));
    assertEquals("", session.text(2), "a TTY has no separate stderr");
    assertEquals("2", session.status().getJsonObject("details").getJsonArray("causes").getJsonObject(0)
        .getString("message"));
  }

  @Test
  @Timeout(value = 20, timeUnit = TimeUnit.SECONDS)
  void attachEchoesStdinUntilItEnds() {
    Session session = connect("/api/v1/namespaces/default/pods/box/attach?container=side&stdin=true&stdout=true",
        "v5.channel.k8s.io");
    session.send(0, "line one\n");
    session.send(0, "line two\n");
    session.socket.writeBinaryMessage(Buffer.buffer(new byte[] {(byte) 255, 0}));
    await(session.closed.future());
    assertEquals("line one\nline two\n", session.text(1));
    assertEquals("Success", session.status().getString("status"));
  }

  @Test
  @Timeout(value = 20, timeUnit = TimeUnit.SECONDS)
  void requestsAreCheckedAsTheApiserverChecksThem() {
    assertRejected(404, "pods \"ghost\" not found", "/api/v1/namespaces/default/pods/ghost/exec?command=ls&stdout=true");
    assertRejected(400, "container nope is not valid for pod box", exec("nope", "stdout") + "&command=ls");
    assertRejected(400, "a container name must be specified for pod box, choose one of: [main side]",
        "/api/v1/namespaces/default/pods/box/exec?command=ls&stdout=true");
    assertRejected(400, "you must specify at least one command for the container", exec("main", "stdout"));
    assertRejected(400, "you must specify at least 1 of stdin, stdout, stderr", exec("main") + "&command=ls");
    assertRejected(400, "query parameter \"port\" is required", "/api/v1/namespaces/default/pods/box/portforward",
        "v4.channel.k8s.io");
    assertRejected(400, "requested protocol(s) are not supported: [v5.channel.k8s.io]; supports "
        + "[SPDY/3.1+portforward.k8s.io, v4.channel.k8s.io, v4.base64.channel.k8s.io, ]",
        "/api/v1/namespaces/default/pods/box/portforward?ports=80");
    Session unknownCommand = connect(exec("main", "stdout", "stderr") + "&command=frobnicate", "v5.channel.k8s.io");
    await(unknownCommand.closed.future());
    assertEquals("sh: frobnicate: not found\n", unknownCommand.text(2));
    assertEquals("127", unknownCommand.status().getJsonObject("details").getJsonArray("causes").getJsonObject(0)
        .getString("message"));
    markSucceeded();
    assertRejected(400, "container not found (\"main\")", exec("main", "stdout") + "&command=ls");
  }

  @Test
  @Timeout(value = 20, timeUnit = TimeUnit.SECONDS)
  void portForwardOverChannelsPrefixesEachChannelWithItsPortAndEchoes() {
    Session session = connect("/api/v1/namespaces/default/pods/box/portforward?ports=80,8080", "v4.channel.k8s.io");
    session.send(0, "to eighty");
    session.send(2, "to 8080");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (session.data(2).length() < 2 + 7 || session.data(0).length() < 2 + 9) {
      assertTrue(System.nanoTime() < deadline, "no echo: " + session.messages);
      sleep(10);
    }
    assertArrayEquals(new byte[] {80, 0}, session.data(0).getBytes(0, 2), "port 80, little-endian");
    assertArrayEquals(new byte[] {80, 0}, session.data(1).getBytes(0, 2));
    assertArrayEquals(new byte[] {(byte) 0x90, 0x1f}, session.data(2).getBytes(0, 2), "port 8080");
    assertEquals("to eighty", session.data(0).getString(2, session.data(0).length()));
    assertEquals("to 8080", session.data(2).getString(2, session.data(2).length()));
    await(session.socket.close());
  }

  @Test
  @Timeout(value = 20, timeUnit = TimeUnit.SECONDS)
  void portForwardOverSpdyInAWebsocketEchoesEachConnection() {
    Session session = connect("/api/v1/namespaces/default/pods/box/portforward", "SPDY/3.1+portforward.k8s.io");
    SpdyClient spdy = new SpdyClient(data -> session.socket.writeBinaryMessage(data));
    session.socket.binaryMessageHandler(spdy::receive);
    spdy.open(1, Map.of("streamtype", "error", "port", "80", "requestid", "0"), true);
    spdy.open(3, Map.of("streamtype", "data", "port", "80", "requestid", "0"), false);
    spdy.send(3, "ping", false);
    spdy.send(3, "pong", true);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (!(spdy.finished.contains(3) && spdy.finished.contains(1))) {
      assertTrue(System.nanoTime() < deadline, "streams never finished: " + spdy.finished);
      sleep(10);
    }
    assertEquals(List.of(1, 3), spdy.replied, "every stream is accepted with a SYN_REPLY");
    assertEquals("pingpong", spdy.data(3));
    assertEquals("", spdy.data(1), "no error");
    spdy.ping(7);
    while (!spdy.pongs.contains(7)) {
      assertTrue(System.nanoTime() < deadline, "no PING answer");
      sleep(10);
    }
    await(session.socket.close());
  }

  @Test
  @Timeout(value = 20, timeUnit = TimeUnit.SECONDS)
  void execOverPlainSpdyAfterAPostUpgrade() {
    io.vertx.core.net.NetClient netClient = vertx.createNetClient();
    NetSocket socket = await(netClient.connect(sim.port(), "127.0.0.1"));
    Buffer head = Buffer.buffer();
    SpdyClient spdy = new SpdyClient(socket::write);
    boolean[] upgraded = {false};
    socket.handler(data -> {
      if (upgraded[0]) {
        spdy.receive(data);
        return;
      }
      head.appendBuffer(data);
      int end = head.toString(StandardCharsets.ISO_8859_1).indexOf("\r\n\r\n");
      if (end >= 0) {
        upgraded[0] = true;
        spdy.receive(head.getBuffer(end + 4, head.length()));
      }
    });
    socket.write("POST /api/v1/namespaces/default/pods/box/exec?container=main&command=cat&stdin=true&stdout=true"
        + " HTTP/1.1\r\nHost: sim\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
        + "X-Stream-Protocol-Version: v5.channel.k8s.io\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n"
        + "Content-Length: 0\r\n\r\n");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (!upgraded[0]) {
      assertTrue(System.nanoTime() < deadline, "no upgrade: " + head);
      sleep(10);
    }
    String response = head.toString(StandardCharsets.ISO_8859_1);
    assertTrue(response.startsWith("HTTP/1.1 101 Switching Protocols\r\n"), response);
    assertTrue(response.toLowerCase().contains("x-stream-protocol-version: v4.channel.k8s.io"), response);
    spdy.open(1, Map.of("streamtype", "error"), false);
    spdy.open(3, Map.of("streamtype", "stdin"), false);
    spdy.open(5, Map.of("streamtype", "stdout"), false);
    spdy.send(3, "over spdy\n", true);
    while (!spdy.finished.contains(1)) {
      assertTrue(System.nanoTime() < deadline, "the error stream never finished");
      sleep(10);
    }
    assertEquals("over spdy\n", spdy.data(5));
    assertEquals("{\"metadata\":{},\"status\":\"Success\"}", spdy.data(1));
    await(netClient.close());
  }

  // ---- a scripted client ----

  private String exec(String container, String... streams) {
    StringBuilder uri = new StringBuilder("/api/v1/namespaces/default/pods/box/exec?container=" + container);
    for (String stream : streams) {
      uri.append('&').append(stream).append("=true");
    }
    return uri.toString();
  }

  /** One websocket session: every message, by channel, and the end. */
  private static final class Session {
    final WebSocket socket;
    final List<Buffer> messages = new ArrayList<>();
    final List<String> texts = new java.util.concurrent.CopyOnWriteArrayList<>();
    final Promise<Void> closed = Promise.promise();

    Session(WebSocket socket) {
      this.socket = socket;
      socket.binaryMessageHandler(message -> {
        synchronized (messages) {
          messages.add(message);
        }
      });
      socket.textMessageHandler(texts::add);
      socket.closeHandler(v -> closed.tryComplete());
    }

    void send(int channel, String text) {
      socket.writeBinaryMessage(Buffer.buffer(new byte[] {(byte) channel}).appendString(text));
    }

    Buffer data(int channel) {
      Buffer all = Buffer.buffer();
      synchronized (messages) {
        for (Buffer message : messages) {
          if (message.length() > 0 && message.getUnsignedByte(0) == channel) {
            all.appendBuffer(message.getBuffer(1, message.length()));
          }
        }
      }
      return all;
    }

    String text(int channel) {
      return data(channel).toString(StandardCharsets.UTF_8);
    }

    JsonObject status() {
      return new JsonObject(data(3));
    }
  }

  private Session connect(String uri, String protocol) {
    WebSocketConnectOptions options = new WebSocketConnectOptions().setHost("127.0.0.1").setPort(sim.port())
        .setURI(uri).addSubProtocol(protocol);
    Promise<Session> session = Promise.promise();
    vertx.runOnContext(v -> client.connect(options).map(Session::new).onComplete(session));
    return await(session.future());
  }

  /** The pod's containers have all exited, so the kubelet has nothing to stream to. */
  private void markSucceeded() {
    try {
      java.net.http.HttpResponse<String> response = java.net.http.HttpClient.newHttpClient().send(
          java.net.http.HttpRequest.newBuilder(java.net.URI.create(sim.url()
                  + "/api/v1/namespaces/default/pods/box/status"))
              .method("PATCH", java.net.http.HttpRequest.BodyPublishers.ofString(
                  "{\"status\":{\"phase\":\"Succeeded\"}}"))
              .header("Content-Type", "application/merge-patch+json").build(),
          java.net.http.HttpResponse.BodyHandlers.ofString());
      assertEquals(200, response.statusCode(), response.body());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  private void assertRejected(int status, String message, String uri) {
    assertRejected(status, message, uri, "v5.channel.k8s.io");
  }

  private void assertRejected(int status, String message, String uri, String protocol) {
    WebSocketConnectOptions options = new WebSocketConnectOptions().setHost("127.0.0.1").setPort(sim.port())
        .setURI(uri).addSubProtocol(protocol);
    Throwable failure = awaitFailure(client.connect(options));
    assertTrue(failure instanceof UpgradeRejectedException, String.valueOf(failure));
    UpgradeRejectedException rejected = (UpgradeRejectedException) failure;
    assertEquals(status, rejected.getStatus());
    JsonObject body = new JsonObject(rejected.getBody());
    assertEquals("Status", body.getString("kind"));
    assertEquals(message, body.getString("message"));
  }

  /** Just enough of a SPDY client to open streams and read what comes back. */
  private static final class SpdyClient {
    private final SpdyFrames frames = new SpdyFrames();
    private final java.util.function.Consumer<Buffer> out;
    final List<Integer> replied = new java.util.concurrent.CopyOnWriteArrayList<>();
    final List<Integer> finished = new java.util.concurrent.CopyOnWriteArrayList<>();
    final List<Integer> pongs = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final Map<Integer, Buffer> data = new java.util.concurrent.ConcurrentHashMap<>();

    SpdyClient(java.util.function.Consumer<Buffer> out) {
      this.out = out;
    }

    synchronized void receive(Buffer bytes) {
      for (SpdyFrames.Frame frame : frames.read(bytes)) {
        if (!frame.control()) {
          data.computeIfAbsent(frame.streamId(), id -> Buffer.buffer()).appendBuffer(frame.payload());
          if (frame.fin()) {
            finished.add(frame.streamId());
          }
        } else if (frame.type() == SpdyFrames.SYN_REPLY) {
          replied.add(frame.streamId());
        } else if (frame.type() == SpdyFrames.PING) {
          pongs.add(frame.payload().getInt(0));
        }
      }
    }

    synchronized void open(int id, Map<String, String> headers, boolean fin) {
      out.accept(frames.synStream(id, headers, fin));
    }

    void send(int id, String text, boolean fin) {
      out.accept(SpdyFrames.data(id, Buffer.buffer(text), fin));
    }

    void ping(int id) {
      out.accept(SpdyFrames.ping(Buffer.buffer().appendInt(id)));
    }

    String data(int id) {
      return data.getOrDefault(id, Buffer.buffer()).toString(StandardCharsets.UTF_8);
    }
  }

  // ---- waiting ----

  private static <T> T await(Future<T> future) {
    try {
      return future.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("not completed within 10 s: " + e, e);
    }
  }

  private static Throwable awaitFailure(Future<?> future) {
    try {
      future.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      throw new AssertionError("expected a failure");
    } catch (java.util.concurrent.ExecutionException e) {
      return e.getCause();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  private static String sha256(byte[] data) {
    try {
      return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(data));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
