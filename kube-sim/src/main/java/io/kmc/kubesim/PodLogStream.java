package io.kmc.kubesim;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerResponse;
import java.time.Instant;
import java.util.function.Consumer;

/**
 * Generated container logs for {@code pods/{name}/log}. Lines are made up (the pods are fake)
 * but numbered and timestamped, so tests can tell them apart; with {@code follow} a new line
 * is written every {@code intervalMillis} until the client goes away or the simulator closes.
 */
final class PodLogStream extends SimStream {

  private final String namespace;
  private final String pod;
  private final String container;
  private final boolean timestamps;
  private long lineNumber;
  private long timer = -1;

  PodLogStream(Vertx vertx, ObjectStore store, HttpServerResponse response, String namespace, String pod,
      String container, boolean timestamps, Consumer<SimStream> onEnd) {
    super(vertx, store, response, onEnd);
    this.namespace = namespace;
    this.pod = pod;
    this.container = container;
    this.timestamps = timestamps;
  }

  /** Writes the first {@code initialLines} lines, then either ends or keeps following. */
  void start(int initialLines, boolean follow, long intervalMillis) {
    open("text/plain");
    StringBuilder first = new StringBuilder();
    for (int i = 0; i < initialLines; i++) {
      first.append(nextLine());
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
    timer = vertx.setPeriodic(intervalMillis, id -> {
      if (!ended) {
        response.write(nextLine());
      }
    });
    store.addListener(this);
  }

  /** A followed log ends when its pod goes away, as the kubelet's stream does. */
  @Override
  public void onChange(ObjectStore.Change change) {
    if (change.type().equals("DELETED") && change.groupResource().equals("pods")
        && pod.equals(Json.name(change.object())) && namespace.equals(Json.namespace(change.object()))) {
      end();
    }
  }

  private String nextLine() {
    lineNumber++;
    String line = line(pod, container, lineNumber);
    return timestamps ? Instant.now() + " " + line : line;
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
