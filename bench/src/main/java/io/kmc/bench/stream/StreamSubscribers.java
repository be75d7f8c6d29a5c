package io.kmc.bench.stream;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The subscribers of {@link StreamBench}, in a JVM of their own so that the bench's JVM holds only
 * the hub nodes (whose heap and CPU are measured) and the stand-in agent. Talks to its parent on
 * stdin/stdout: prints {@code READY} once every subscription has its (empty) initial state, reads
 * {@code END <changes>} when the last change was sent, prints {@code RESULT <json>} once every
 * subscriber has seen every change or nothing came for 20 s.
 *
 * <p>Every change of the run is one object's new resourceVersion, numbered 1, 2, 3… in the order the
 * stand-in agent made them, so each subscriber checks its events against that sequence: a number
 * skipped is a lost event, one seen again or out of order is a duplicate. A change carries the
 * {@code System.nanoTime()} of its making in a label; both JVMs read the same monotonic clock (Linux
 * CLOCK_MONOTONIC), so the difference on arrival is the change → delivery latency. Messages are
 * scanned for those fields rather than parsed whole, to keep this JVM's share of the two cores small.
 *
 * <p>{@code idle} mode opens sockets with many subscriptions each, on one node, and holds them until
 * {@code END}.
 */
public final class StreamSubscribers {

  private StreamSubscribers() {
  }

  /** One socket's subscriber and what it checked. */
  private static final class Subscriber {
    final WebSocket ws;
    long next = 1;
    long received;
    long lost;
    long duplicates;
    volatile boolean initialDone;
    volatile String failure;

    Subscriber(WebSocket ws) {
      this.ws = ws;
    }
  }

  /**
   * Args: {@code events|idle <port,port,...> <token> <sockets> <subscriptions per socket> <cluster> <namespace>}.
   */
  public static void main(String[] args) throws Exception {
    String mode = args[0];
    List<Integer> ports = new ArrayList<>();
    for (String port : args[1].split(",")) {
      ports.add(Integer.parseInt(port));
    }
    String token = args[2];
    int sockets = Integer.parseInt(args[3]);
    int perSocket = Integer.parseInt(args[4]);
    String cluster = args[5];
    String namespace = args[6];
    Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2));
    WebSocketClient client = vertx.createWebSocketClient(new WebSocketClientOptions()
        .setMaxConnections(sockets + 10).setMaxFrameSize(1 << 20).setMaxMessageSize(16 << 20));
    Histogram latency = new ConcurrentHistogram(3);
    AtomicLong lastEvent = new AtomicLong(System.nanoTime());
    CountDownLatch ready = new CountDownLatch(sockets * perSocket);
    List<Subscriber> subscribers = new ArrayList<>();
    for (int s = 0; s < sockets; s++) {
      int port = ports.get(s % ports.size());
      WebSocket ws = client.connect(new WebSocketConnectOptions().setPort(port).setHost("127.0.0.1")
          .setURI("/api/v1/stream").addHeader("Authorization", "Bearer " + token)).await(60, TimeUnit.SECONDS);
      Subscriber subscriber = new Subscriber(ws);
      subscribers.add(subscriber);
      ws.textMessageHandler(text -> received(subscriber, text, latency, lastEvent, ready));
      for (int i = 0; i < perSocket; i++) {
        ws.writeTextMessage(new JsonObject().put("type", "subscribe").put("id", "s" + i).put("version", "v1")
            .put("resource", "configmaps").put("clusters", new JsonArray().add(cluster))
            .put("namespace", namespace).encode());
      }
    }
    if (!ready.await(120, TimeUnit.SECONDS)) {
      throw new IllegalStateException("subscriptions without an initial state: " + ready.getCount());
    }
    long startCpu = io.kmc.bench.load.ProcessCpu.jvmNanos();
    System.out.println("READY");
    System.out.flush();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line = in.readLine();
    if ("idle".equals(mode) || line == null) {
      vertx.close().await(30, TimeUnit.SECONDS);
      return;
    }
    long expected = Long.parseLong(line.substring("END ".length()).trim());
    long cpuBefore = startCpu;
    while (System.nanoTime() - lastEvent.get() < TimeUnit.SECONDS.toNanos(20)
        && !subscribers.stream().allMatch(s -> s.failure != null || s.next > expected)) {
      Thread.sleep(20);
    }
    long finished = lastEvent.get();
    JsonObject result = new JsonObject().put("subscribers", subscribers.size()).put("lastEventNanos", finished);
    long received = 0;
    long lost = 0;
    long duplicates = 0;
    List<String> failures = new ArrayList<>();
    for (Subscriber subscriber : subscribers) {
      synchronized (subscriber) {
        received += subscriber.received;
        lost += subscriber.lost + Math.max(0, expected + 1 - subscriber.next);
        duplicates += subscriber.duplicates;
        if (subscriber.failure != null && failures.size() < 5) {
          failures.add(subscriber.failure);
        }
      }
    }
    result.put("received", received).put("lost", lost).put("duplicates", duplicates)
        .put("failures", new JsonArray(failures))
        .put("p50", latency.getValueAtPercentile(50)).put("p99", latency.getValueAtPercentile(99))
        .put("max", latency.getMaxValue()).put("n", latency.getTotalCount())
        .put("cpuNanos", io.kmc.bench.load.ProcessCpu.jvmNanos() - cpuBefore);
    System.out.println("RESULT " + result.encode());
    System.out.flush();
    vertx.close().await(30, TimeUnit.SECONDS);
  }

  private static void received(Subscriber subscriber, String text, Histogram latency, AtomicLong lastEvent,
                               CountDownLatch ready) {
    long now = System.nanoTime();
    if (text.startsWith("{\"type\":\"MODIFIED\"") || text.startsWith("{\"type\":\"ADDED\"")) {
      long rv = Long.parseLong(field(text, "\"resourceVersion\":\""));
      long made = Long.parseLong(field(text, "\"t\":\""));
      latency.recordValue(Math.max(0, (now - made) / 1000));
      lastEvent.set(now);
      synchronized (subscriber) {
        subscriber.received++;
        if (rv == subscriber.next) {
          subscriber.next++;
        } else if (rv > subscriber.next) {
          subscriber.lost += rv - subscriber.next;
          subscriber.next = rv + 1;
        } else {
          subscriber.duplicates++;
        }
      }
      return;
    }
    JsonObject message = new JsonObject(text);
    switch (message.getString("type", "")) {
      case "INITIAL_STATE_DONE" -> ready.countDown();
      case "SUBSCRIBED", "BOOKMARK", "CLUSTER" -> { }
      default -> subscriber.failure = text.length() > 300 ? text.substring(0, 300) : text;
    }
  }

  private static String field(String text, String key) {
    int start = text.indexOf(key);
    if (start < 0) {
      throw new IllegalStateException("no " + key + " in " + text);
    }
    start += key.length();
    return text.substring(start, text.indexOf('"', start));
  }
}
