package io.kmc.bench.sessions;

import io.kmc.bench.fleet.Fleet;
import io.kmc.bench.report.Flags;
import io.kmc.bench.report.MachineInfo;
import io.kmc.bench.report.Table;
import io.kmc.hub.api.KubePassthrough;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ClientWebSocket;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.PrintStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Interactive sessions through the hub against the same session straight to the simulator, in the
 * same run: the round trip of one keystroke through {@code exec cat} (a websocket speaking
 * {@code v5.channel.k8s.io}: one stdin message out, its echo on stdout back), and the copy of a
 * large file into the pod and back, as {@code kubectl cp} carries it (through exec, stdin in 32 KB
 * messages, stdout back). The client is a Vert.x websocket speaking the channel protocol, not
 * kubectl: kubectl sends no token over plain HTTP, and the bench fleet is plain HTTP
 * ({@code SessionsIT} runs the real kubectl cp through TLS hubs).
 */
public final class SessionBench {

  public static final String USAGE = """
      sessions [--echoes N] [--rounds N] [--warmup N] [--cp-mb N] [--copies N]
        --echoes N   keystroke round trips per target and round, one at a time (default 2000)
        --rounds N   rounds; the order of targets rotates (default 3)
        --warmup N   unmeasured round trips per target first, for the JIT (default 500)
        --cp-mb N    size of the file copied into the pod and back, in MB (default 50)
        --copies N   copies each way per target (default 3)""";

  public static final Map<String, String> DEFAULTS = Map.of("--echoes", "2000", "--rounds", "3", "--warmup", "500",
      "--cp-mb", "50", "--copies", "3");

  private static final String CLUSTER = "bench";
  private static final String POD = "box";

  private final Flags flags;
  private final PrintStream out;

  public SessionBench(Flags flags, PrintStream out) {
    this.flags = flags;
    this.out = out;
  }

  private record Target(String name, int port, String prefix, String token) {
  }

  public void run() throws Exception {
    int echoes = flags.integer("--echoes", 1, 1_000_000);
    int rounds = flags.integer("--rounds", 1, 100);
    int warmup = flags.integer("--warmup", 0, 1_000_000);
    int cpMb = flags.integer("--cp-mb", 1, 2048);
    int copies = flags.integer("--copies", 1, 100);
    MachineInfo.printHeader(out, "interactive-session", flags.describe());

    Vertx clientVertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(1));
    try (Fleet fleet = Fleet.start(new Fleet.Spec(List.of(Fleet.AgentSpec.inJvm(CLUSTER))))) {
      startPod(fleet);
      String hubPrefix = KubePassthrough.PREFIX + CLUSTER;
      List<Target> targets = List.of(
          new Target("direct", fleet.sim().port(), "", fleet.simToken()),
          new Target("one node", fleet.nodeA().port(), hubPrefix, fleet.adminToken()),
          new Target("two nodes", fleet.nodeB().port(), hubPrefix, fleet.adminToken()));
      WebSocketClient client = clientVertx.createWebSocketClient();

      out.printf("echo: warming up, %d round trips per target%n", warmup);
      for (Target target : targets) {
        echoes(client, target, warmup);
      }
      Map<String, List<long[]>> percentiles = new LinkedHashMap<>();
      targets.forEach(t -> percentiles.put(t.name(), new ArrayList<>()));
      for (int round = 0; round < rounds; round++) {
        out.printf("echo: round %d of %d (load average %s)%n", round + 1, rounds,
            MachineInfo.currentLoadAverage().orElse("unknown"));
        List<Target> order = new ArrayList<>(targets);
        Collections.rotate(order, -(round % targets.size()));
        for (Target target : order) {
          long[] nanos = echoes(client, target, echoes);
          Arrays.sort(nanos);
          percentiles.get(target.name()).add(new long[] {at(nanos, 0.50), at(nanos, 0.99), nanos[nanos.length - 1]});
        }
      }

      byte[] payload = new byte[cpMb * 1_000_000];
      new Random(50).nextBytes(payload);
      byte[] digest = sha256(payload);
      Map<String, List<Long>> uploads = new LinkedHashMap<>();
      Map<String, List<Long>> downloads = new LinkedHashMap<>();
      for (int copy = 0; copy < copies; copy++) {
        out.printf("copy: %d of %d (load average %s)%n", copy + 1, copies,
            MachineInfo.currentLoadAverage().orElse("unknown"));
        List<Target> order = new ArrayList<>(targets);
        Collections.rotate(order, -(copy % order.size()));
        for (Target target : order) {
          long start = System.nanoTime();
          upload(clientVertx, client, target, payload);
          uploads.computeIfAbsent(target.name(), n -> new ArrayList<>()).add(System.nanoTime() - start);
          start = System.nanoTime();
          byte[] back = download(client, target);
          downloads.computeIfAbsent(target.name(), n -> new ArrayList<>()).add(System.nanoTime() - start);
          if (!Arrays.equals(digest, sha256(back))) {
            throw new IllegalStateException(target.name() + ": the file read back (" + back.length
                + " bytes) is not the one sent");
          }
        }
      }
      report(percentiles, uploads, downloads, cpMb);
    } finally {
      clientVertx.close().await(30, TimeUnit.SECONDS);
    }
  }

  private void report(Map<String, List<long[]>> percentiles, Map<String, List<Long>> uploads,
                      Map<String, List<Long>> downloads, int cpMb) {
    out.println();
    out.println("## Keystroke round trip (exec cat, one message out and its echo back, closed loop)");
    out.println();
    long directP50 = median(percentiles.get("direct"), 0);
    long directP99 = median(percentiles.get("direct"), 1);
    Table echo = new Table("target", "p50 µs", "p99 µs", "max µs", "p50 Δ µs", "p99 Δ µs");
    percentiles.forEach((name, samples) -> {
      long p50 = median(samples, 0);
      long p99 = median(samples, 1);
      long max = samples.stream().mapToLong(s -> s[2]).max().orElse(0);
      echo.row(name, micros(p50), micros(p99), micros(max),
          name.equals("direct") ? "–" : micros(p50 - directP50), name.equals("direct") ? "–" : micros(p99 - directP99));
    });
    out.print(echo.render());
    out.println();
    out.printf("## Copy of %d MB into the pod and back (what kubectl cp carries; median of the copies)%n", cpMb);
    out.println();
    long directUp = medianOf(uploads.get("direct"));
    long directDown = medianOf(downloads.get("direct"));
    Table cp = new Table("target", "upload s", "MB/s", "× direct", "download s", "MB/s", "× direct");
    for (String name : uploads.keySet()) {
      long up = medianOf(uploads.get(name));
      long down = medianOf(downloads.get(name));
      cp.row(name, seconds(up), rate(cpMb, up), ratio(up, directUp), seconds(down), rate(cpMb, down),
          ratio(down, directDown));
    }
    out.print(cp.render());
  }

  /** The pod whose {@code cat} echoes, running. */
  private static void startPod(Fleet fleet) throws Exception {
    JsonObject pod = new JsonObject()
        .put("apiVersion", "v1").put("kind", "Pod")
        .put("metadata", new JsonObject().put("name", POD).put("namespace", "default"))
        .put("spec", new JsonObject().put("containers", new JsonArray().add(new JsonObject()
            .put("name", "main").put("image", "busybox:1.36"))));
    fleet.sim().create(pod).await(30, TimeUnit.SECONDS);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      JsonObject current = fleet.sim().get("v1", "Pod", "default", POD).await(30, TimeUnit.SECONDS);
      if (current != null && "Running".equals(current.getJsonObject("status", new JsonObject()).getString("phase"))) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the simulated pod did not start: " + current);
      }
      Fleet.sleep(50);
    }
  }

  /** {@code n} keystroke round trips on one session; each one's time in ns. */
  private static long[] echoes(WebSocketClient client, Target target, int n) throws Exception {
    ClientWebSocket ws = client.webSocket();
    long[] nanos = new long[n];
    Promise<Void> done = Promise.promise();
    Buffer keystroke = Buffer.buffer(new byte[] {0, 'x'});
    long[] sentAt = new long[1];
    int[] count = new int[1];
    ws.binaryMessageHandler(message -> {
      if (message.length() < 2 || message.getByte(0) != 1) {
        return; // not stdout: the status at the end, or stderr
      }
      nanos[count[0]++] = System.nanoTime() - sentAt[0];
      if (count[0] == n) {
        done.tryComplete();
      } else {
        sentAt[0] = System.nanoTime();
        ws.writeBinaryMessage(keystroke);
      }
    });
    ws.closeHandler(v -> done.tryFail(target.name() + ": the session closed after " + count[0] + " echoes"));
    connect(ws, target, "command=cat&stdin=true");
    if (n == 0) {
      done.tryComplete();
    } else {
      sentAt[0] = System.nanoTime();
      ws.writeBinaryMessage(keystroke);
    }
    await(done, ws, 10L + n / 50);
    return nanos;
  }

  /** {@code sh -c 'cat > /tmp/payload.bin'} fed the payload on stdin, in messages of 32 KB, then stdin closed. */
  private static void upload(Vertx vertx, WebSocketClient client, Target target, byte[] payload) throws Exception {
    ClientWebSocket ws = client.webSocket();
    Promise<Void> done = Promise.promise();
    ws.binaryMessageHandler(message -> {
      if (message.length() > 0 && message.getByte(0) == 3) {
        done.tryComplete(); // the status: the command ended
      }
    });
    ws.closeHandler(v -> done.tryComplete());
    connect(ws, target, "command=sh&command=-c&command=cat%20%3E%20/tmp/payload.bin&stdin=true");
    int[] offset = {0};
    Runnable[] pump = new Runnable[1];
    pump[0] = () -> {
      while (offset[0] < payload.length && !ws.writeQueueFull()) {
        int length = Math.min(32 * 1024, payload.length - offset[0]);
        ws.writeBinaryMessage(Buffer.buffer(length + 1).appendByte((byte) 0).appendBytes(payload, offset[0], length));
        offset[0] += length;
      }
      if (offset[0] < payload.length) {
        ws.drainHandler(v -> pump[0].run());
      } else {
        ws.drainHandler(null);
        ws.writeBinaryMessage(Buffer.buffer(new byte[] {(byte) 255, 0})); // v5: stdin is closed
      }
    };
    // the client's only event loop, where the socket's handlers run too
    vertx.runOnContext(v -> pump[0].run());
    await(done, ws, 600);
  }

  /** {@code cat /tmp/payload.bin}: what comes on stdout. */
  private static byte[] download(WebSocketClient client, Target target) throws Exception {
    ClientWebSocket ws = client.webSocket();
    Promise<Void> done = Promise.promise();
    Buffer received = Buffer.buffer();
    ws.binaryMessageHandler(message -> {
      if (message.length() > 0 && message.getByte(0) == 1) {
        received.appendBuffer(message, 1, message.length() - 1);
      } else if (message.length() > 0 && message.getByte(0) == 3) {
        done.tryComplete();
      }
    });
    ws.closeHandler(v -> done.tryComplete());
    connect(ws, target, "command=cat&command=/tmp/payload.bin");
    await(done, ws, 600);
    return received.getBytes();
  }

  /**
   * Connects a socket whose handlers are already set: the simulator starts writing as soon as the
   * upgrade is done, and messages that arrive before a handler is set are lost.
   */
  private static void connect(ClientWebSocket ws, Target target, String query) throws Exception {
    String path = target.prefix() + "/api/v1/namespaces/default/pods/" + POD + "/exec?container=main&stdout=true&"
        + "stderr=true&" + query;
    ws.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(target.port()).setURI(path)
        .addSubProtocol("v5.channel.k8s.io").addHeader("Authorization", "Bearer " + target.token()))
        .await(30, TimeUnit.SECONDS);
  }

  private static void await(Promise<Void> done, WebSocket ws, long seconds) throws Exception {
    try {
      done.future().await(seconds, TimeUnit.SECONDS);
    } finally {
      ws.close().await(10, TimeUnit.SECONDS);
    }
  }

  private static byte[] sha256(byte[] data) throws Exception {
    return MessageDigest.getInstance("SHA-256").digest(data);
  }

  private static long at(long[] sorted, double quantile) {
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(quantile * sorted.length) - 1)];
  }

  private static long median(List<long[]> samples, int index) {
    return medianOf(samples.stream().map(s -> s[index]).toList());
  }

  private static long medianOf(List<Long> values) {
    List<Long> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    return sorted.get(sorted.size() / 2);
  }

  private static String micros(long nanos) {
    return String.valueOf(Math.round(nanos / 1e3));
  }

  private static String seconds(long nanos) {
    return String.format("%.2f", nanos / 1e9);
  }

  private static String rate(int mb, long nanos) {
    return String.format("%.0f", mb / (nanos / 1e9));
  }

  private static String ratio(long value, long base) {
    return String.format("%.2f", (double) value / base);
  }
}
