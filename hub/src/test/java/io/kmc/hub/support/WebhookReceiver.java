package io.kmc.hub.support;

import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntUnaryOperator;

/**
 * A webhook receiver for tests: a real HTTP server on a port the system picks, which records every
 * request it gets and answers each path as the test says (by default 200).
 */
public final class WebhookReceiver implements AutoCloseable {

  /** One request as received, with the status it was answered with. */
  public record Received(String path, MultiMap headers, String body, int status) {
    public JsonObject json() {
      return new JsonObject(body);
    }

    public String header(String name) {
      return headers.get(name);
    }
  }

  private final HttpServer server;
  private final List<Received> received = new CopyOnWriteArrayList<>();
  /** Per path: the status to answer, given how many requests the path had before this one. */
  private final Map<String, IntUnaryOperator> answers = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> counts = new ConcurrentHashMap<>();

  public WebhookReceiver(Vertx vertx) {
    server = vertx.createHttpServer().requestHandler(request -> request.body().onSuccess(body -> {
      String path = request.path();
      int before = counts.computeIfAbsent(path, p -> new AtomicInteger()).getAndIncrement();
      int status = answers.getOrDefault(path, n -> 200).applyAsInt(before);
      received.add(new Received(path, MultiMap.caseInsensitiveMultiMap().addAll(request.headers()), body.toString(),
          status));
      request.response().setStatusCode(status).end(status < 300 ? "ok" : "receiver failing on purpose");
    }));
    Fleet.await(server.listen(0, "127.0.0.1"));
  }

  /** How {@code path} answers: the function gets the number of requests the path had before. */
  public WebhookReceiver answer(String path, IntUnaryOperator status) {
    answers.put(path, status);
    return this;
  }

  public String url(String path) {
    return "http://127.0.0.1:" + server.actualPort() + path;
  }

  public List<Received> at(String path) {
    return received.stream().filter(r -> r.path().equals(path)).toList();
  }

  /** What {@code path} received and answered with a 2xx. */
  public List<Received> acceptedAt(String path) {
    return at(path).stream().filter(r -> r.status() < 300).toList();
  }

  @Override
  public void close() {
    Fleet.await(server.close());
  }
}
