package io.kmc.hub.support;

import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * A Kubernetes watch read off the wire on a thread of {@code readers}: its events as "TYPE name
 * resourceVersion", in order.
 */
public final class Watcher {
  private final List<String> events = new ArrayList<>();
  private final CompletableFuture<Void> opened = new CompletableFuture<>();
  private volatile boolean ended;
  private final RawHttp http;

  public Watcher(Executor readers, String url, String bearer) throws IOException {
    URI uri = URI.create(url);
    http = new RawHttp(uri.getPort(), 120_000);
    http.write(RawHttp.request("GET", uri.getRawPath() + "?" + uri.getRawQuery(), bearer, null));
    readers.execute(this::read);
  }

  private void read() {
    try {
      RawHttp.Answer head = http.readHead();
      opened.complete(null);
      if (head.status() != 200) {
        ended = true;
        return;
      }
      http.streamedLinesUntil(line -> {
        JsonObject event = new JsonObject(line);
        JsonObject metadata = event.getJsonObject("object").getJsonObject("metadata");
        synchronized (events) {
          events.add(event.getString("type") + " " + metadata.getString("name") + " "
              + metadata.getString("resourceVersion"));
        }
        return false;
      }, Integer.MAX_VALUE);
    } catch (Exception e) {
      opened.complete(null);
    }
    ended = true;
  }

  public void awaitOpen() throws Exception {
    opened.get(20, TimeUnit.SECONDS);
  }

  public List<String> events() {
    synchronized (events) {
      return List.copyOf(events);
    }
  }

  public boolean open() {
    return !ended;
  }

  public void close() {
    try {
      http.close();
    } catch (IOException e) {
      // closing anyway
    }
  }
}
