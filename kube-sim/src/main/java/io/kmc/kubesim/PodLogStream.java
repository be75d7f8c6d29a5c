package io.kmc.kubesim;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerResponse;

import java.time.Instant;
import java.util.function.Consumer;

/**
 * Generated container logs for {@code pods/{name}/log}. Lines are made up (the pods are fake) but
 * each container has one log, the same for every reader: line {@code n} was written at the pod's
 * creation time plus {@code n} intervals. So {@code tailLines}, {@code sinceTime},
 * {@code sinceSeconds} and {@code timestamps} behave as against a kubelet, and a follower that comes
 * back with {@code sinceTime} carries on where it was. With {@code follow} each line is written when
 * its time comes, until the client goes away, the pod is deleted or the simulator closes.
 */
final class PodLogStream extends SimStream {

  /** Most lines one request returns from the past when it names no tail (the kubelet has no such cap). */
  private static final int MAX_SINCE_LINES = 10_000;

  private final String namespace;
  private final String pod;
  private final String container;
  private final boolean timestamps;
  private final long startMillis;
  private final long intervalMillis;
  private long next;
  private long timer = -1;

  PodLogStream(Vertx vertx, ObjectStore store, HttpServerResponse response, String namespace, String pod,
      String container, boolean timestamps, long startMillis, long intervalMillis, Consumer<SimStream> onEnd) {
    super(vertx, store, response, onEnd);
    this.namespace = namespace;
    this.pod = pod;
    this.container = container;
    this.timestamps = timestamps;
    this.startMillis = startMillis;
    this.intervalMillis = intervalMillis;
  }

  /**
   * Writes the lines already written that the request asks for, then either ends or keeps following.
   *
   * @param since     the first time of interest (sinceTime, or now minus sinceSeconds), or null
   * @param tailLines the last this many of those, or -1
   * @param noTail    how many lines to give when neither since nor a tail is asked for
   */
  void start(Instant since, long tailLines, int noTail, boolean follow) {
    open("text/plain");
    long written = writtenBy(System.currentTimeMillis());
    long from = since == null ? 1 : Math.max(1, firstAtOrAfter(since.toEpochMilli()));
    long count = Math.max(0, written - from + 1);
    if (tailLines >= 0) {
      count = Math.min(count, tailLines);
    } else {
      count = Math.min(count, since == null ? noTail : MAX_SINCE_LINES);
    }
    StringBuilder first = new StringBuilder();
    for (long n = written - count + 1; n <= written; n++) {
      first.append(render(n));
    }
    if (first.length() > 0) {
      response.write(first.toString());
    } else {
      response.writeHead();
    }
    if (!follow) {
      end();
      return;
    }
    next = written + 1;
    store.addListener(this);
    scheduleNext();
  }

  private void scheduleNext() {
    long due = startMillis + next * intervalMillis;
    timer = vertx.setTimer(Math.max(1, due - System.currentTimeMillis()), id -> {
      if (ended) {
        return;
      }
      long written = writtenBy(System.currentTimeMillis());
      StringBuilder lines = new StringBuilder();
      for (; next <= written; next++) {
        lines.append(render(next));
      }
      if (lines.length() > 0) {
        response.write(lines.toString());
      }
      scheduleNext();
    });
  }

  /** A followed log ends when its pod goes away, as the kubelet's stream does. */
  @Override
  public void onChange(ObjectStore.Change change) {
    if (change.type().equals("DELETED") && change.groupResource().equals("pods")
        && pod.equals(Json.name(change.object())) && namespace.equals(Json.namespace(change.object()))) {
      end();
    }
  }

  /** How many lines the container has written by then. */
  private long writtenBy(long millis) {
    return Math.max(0, (millis - startMillis) / intervalMillis);
  }

  private long firstAtOrAfter(long millis) {
    return Math.max(1, (millis - startMillis + intervalMillis - 1) / intervalMillis);
  }

  private String render(long number) {
    String line = line(pod, container, number);
    return timestamps ? Instant.ofEpochMilli(startMillis + number * intervalMillis) + " " + line : line;
  }

  /** The n-th made-up line a container writes; also what {@code kubectl attach} shows without stdin. */
  static String line(String pod, String container, long number) {
    return "kube-sim " + pod + "/" + container + " line " + number + "\n";
  }

  @Override
  protected void cancelTimers() {
    vertx.cancelTimer(timer);
  }
}
