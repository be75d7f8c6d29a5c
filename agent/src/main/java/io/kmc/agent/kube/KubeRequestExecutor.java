package io.kmc.agent.kube;

import io.kmc.common.KmcException;
import io.kmc.common.KmcVersion;
import io.kmc.common.protocol.ActingUser;
import io.kmc.common.protocol.Frame;
import io.kmc.common.protocol.UpgradedMessages;
import io.kmc.common.protocol.Limits;
import io.kmc.common.protocol.ProtocolException;
import io.kmc.ops.Texts;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLException;
import java.net.ConnectException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;

/**
 * Executes the hub's requests against the kube-apiserver with a non-blocking Vert.x HTTP client
 * ({@link KubeHttp}), and turns the answers into frames: one {@link Frame.Response}, then for large
 * bodies and streams {@link Frame.Data} frames paced by the hub's credits and one {@link Frame.End}.
 *
 * <p>Everything runs on the executor's Vert.x context: no thread waits for a request, a body or a
 * watch. Back-pressure goes from the hub's credits to the kube-apiserver: a response whose next
 * chunk has no credit to travel with is paused, so the HTTP client stops reading it (TCP, or HTTP/2
 * flow control, then holds the server back) and the executor holds at most one chunk of it plus
 * what the network had already delivered. A credit resumes it. Frames reach the {@link FrameSink}
 * on the context, in order. The agent's websocket and the hub's direct mode both drive this class.
 */
public final class KubeRequestExecutor {

  /** Told how each request went, for metrics. */
  @FunctionalInterface
  public interface Observer {
    Observer NONE = (status, nanos) -> { };

    /** The kube-apiserver's answer started, with this status, after this long. */
    void answered(int status, long nanos);
  }

  /** Receives the frames this executor produces; called on the executor's context. */
  @FunctionalInterface
  public interface FrameSink {
    void send(Frame frame);
  }

  private static final Logger LOG = LoggerFactory.getLogger(KubeRequestExecutor.class);

  /**
   * Request headers the agent passes on; the hub's own credentials and hop-by-hop headers never are.
   * Not {@code Content-Encoding}: the kube-apiserver does not decode compressed request bodies, and
   * the hub's body limit must bound what the API server gets.
   */
  private static final Set<String> FORWARDED_REQUEST_HEADERS = Set.of("content-type", "accept");
  /**
   * Response headers that describe this hop's framing rather than the answer. {@code
   * Content-Encoding} is kept: the agent does not ask for gzip, but a body the server encoded anyway
   * passes through encoded and must say so.
   */
  private static final Set<String> DROPPED_RESPONSE_HEADERS = Set.of("connection", "keep-alive",
      "transfer-encoding", "content-length", "upgrade", "proxy-connection", "te", "trailer");
  private static final String USER_AGENT = "kmc-agent/" + KmcVersion.current();

  private final Context context;
  private final Vertx vertx;
  private final KubeHttp http;
  private final Limits limits;
  private final FrameSink sink;
  private final Observer observer;
  /** Changed on the context only; a concurrent map so that metrics and shutdown may read it from anywhere. */
  private final Map<String, Exchange> exchanges = new ConcurrentHashMap<>();
  /** Exec, attach and port-forward sessions in progress. */
  private final Map<String, KubeSession> sessions = new ConcurrentHashMap<>();

  public KubeRequestExecutor(Context context, KubeHttp http, Limits limits, FrameSink sink, Observer observer) {
    this.context = context;
    this.vertx = context.owner();
    this.http = http;
    this.limits = limits;
    this.sink = sink;
    this.observer = observer;
  }

  /** Handles a request, credit or cancel frame from the hub. */
  public void handle(Frame frame) {
    onContext(() -> {
      if (frame instanceof Frame.Request request) {
        start(request);
      } else if (frame instanceof Frame.Credit credit) {
        Exchange exchange = exchanges.get(credit.id());
        KubeSession session = sessions.get(credit.id());
        if (exchange != null) {
          exchange.credit(credit.credits());
        } else if (session != null) {
          session.credit(credit.credits());
        }
      } else if (frame instanceof Frame.Cancel cancel) {
        Exchange exchange = exchanges.get(cancel.id());
        KubeSession session = sessions.get(cancel.id());
        if (exchange != null) {
          exchange.cancel();
        } else if (session != null) {
          session.cancel();
        }
      } else if (frame instanceof Frame.Data data && sessions.containsKey(data.id())) {
        sessions.get(data.id()).fromHub(data.data());
      } else {
        sink.send(new Frame.Error(null, ProtocolException.UNEXPECTED_FRAME,
            "the agent does not accept '" + frame.getClass().getSimpleName().toLowerCase(Locale.ROOT) + "' frames"));
      }
    });
  }

  /** Stops everything in progress, e.g. because the connection to the hub is gone. Sends nothing. */
  public void cancelAll() {
    onContext(() -> {
      List.copyOf(exchanges.values()).forEach(Exchange::cancel);
      List.copyOf(sessions.values()).forEach(KubeSession::cancel);
    });
  }

  public int inProgress() {
    return exchanges.size() + sessions.size();
  }

  /** Streams (watches, followed logs, sessions) being served. */
  public long streamsInProgress() {
    return exchanges.values().stream().filter(exchange -> exchange.stream).count() + sessions.size();
  }

  /** Requests (not streams) still being answered, large bodies included. */
  public long requestsInProgress() {
    return exchanges.values().stream().filter(exchange -> !exchange.stream).count();
  }

  /**
   * Ends every stream (watches, followed logs: their clients resume elsewhere) and session (its
   * client is told it ended). Requests carry on.
   */
  public void cancelStreams() {
    onContext(() -> {
      for (Map.Entry<String, KubeSession> session : List.copyOf(sessions.entrySet())) {
        session.getValue().cancel();
        sink.send(new Frame.End(session.getKey(), "the agent is moving to another hub node"));
      }
      for (Exchange exchange : List.copyOf(exchanges.values())) {
        if (exchange.stream) {
          exchange.cancel();
          sink.send(new Frame.End(exchange.request.id(), "the agent is moving to another hub node"));
        }
      }
    });
  }

  private void onContext(Runnable action) {
    if (Vertx.currentContext() == context) {
      action.run();
    } else {
      context.runOnContext(v -> action.run());
    }
  }

  private void start(Frame.Request request) {
    if (exchanges.containsKey(request.id()) || sessions.containsKey(request.id())) {
      sink.send(new Frame.Error(request.id(), ProtocolException.UNEXPECTED_FRAME,
          "request id " + request.id() + " is already in progress"));
      return;
    }
    if (!http.tryStart(request.stream())) {
      // Too many streams is the callers' doing (429); too many requests in progress is the agent's capacity,
      // shared by every caller (503, like the hub's own queue): e.g. it still works on the requests of a
      // connection it just dropped while the hub sends them again on the new one.
      KmcException busy = request.stream()
          ? KmcException.tooManyRequests("the agent is busy: " + http.settings().maxStreams()
              + " streams are open (kubernetes.max_streams); retry later")
          : KmcException.unavailable("the agent is busy: " + http.settings().maxRequests()
              + " requests are in progress (kubernetes.max_requests); retry later", 1);
      sink.send(Frame.Response.failure(request.id(), busy));
      return;
    }
    RequestOptions options;
    try {
      options = requestOptions(request);
    } catch (IllegalArgumentException e) {
      http.finished(request.stream());
      sink.send(Frame.Response.failure(request.id(), KmcException.badRequest(Texts.forLog(e.getMessage()))));
      return;
    }
    if (UpgradedMessages.isUpgrade(request)) {
      KubeSession session = new KubeSession(http, request, sink, () -> {
        if (sessions.remove(request.id()) != null) {
          http.finished(request.stream());
        }
      });
      sessions.put(request.id(), session);
      session.open(options.getURI(), request.impersonate() ? request.user() : null, USER_AGENT);
      return;
    }
    Exchange exchange = new Exchange(request, options);
    exchanges.put(request.id(), exchange);
    try {
      exchange.send();
    } catch (RuntimeException e) {
      exchange.failed(e);
    }
  }

  private RequestOptions requestOptions(Frame.Request request) {
    URI base = http.baseUri();
    boolean tls = "https".equalsIgnoreCase(base.getScheme());
    int port = base.getPort() > 0 ? base.getPort() : tls ? 443 : 80;
    String basePath = base.getRawPath() == null ? "" : base.getRawPath();
    String uri = basePath + requestTarget(request.path())
        + (request.query() == null || request.query().isEmpty() ? "" : "?" + requestTarget(request.query()));
    RequestOptions options = new RequestOptions()
        .setMethod(HttpMethod.valueOf(request.method()))
        .setHost(base.getHost())
        .setPort(port)
        .setSsl(tls)
        .setURI(uri)
        .setFollowRedirects(false)
        // Getting a connection (from the pool, or a new one) is bounded for streams too.
        .setConnectTimeout(http.settings().requestTimeout().toMillis());
    MultiMap headers = HttpHeaders.headers();
    options.setHeaders(headers);
    for (Map.Entry<String, List<String>> header : request.headers().entrySet()) {
      if (FORWARDED_REQUEST_HEADERS.contains(header.getKey().toLowerCase(Locale.ROOT))) {
        for (String value : header.getValue()) {
          headers.add(header.getKey(), value);
        }
      }
    }
    if (request.impersonate() && request.user() != null) {
      addImpersonation(headers, request.user());
    }
    headers.set("User-Agent", USER_AGENT);
    return options;
  }

  /**
   * The path or query as it may stand in a request line: what the hub sends is already
   * percent-encoded, but a space, a control character or a non-ASCII one would break the line (or
   * smuggle a header), so those are percent-encoded as UTF-8, as a URL parser would.
   */
  static String requestTarget(String raw) {
    StringBuilder out = null;
    for (int i = 0; i < raw.length(); i++) {
      char c = raw.charAt(i);
      boolean safe = c > 0x20 && c < 0x7f && c != '#';
      if (!safe && out == null) {
        out = new StringBuilder(raw.length() + 16).append(raw, 0, i);
      }
      if (out != null) {
        if (safe) {
          out.append(c);
        } else {
          int end = Character.isHighSurrogate(c) && i + 1 < raw.length() ? i + 2 : i + 1;
          for (byte b : raw.substring(i, end).getBytes(StandardCharsets.UTF_8)) {
            out.append('%').append(Character.toUpperCase(Character.forDigit((b >> 4) & 0xf, 16)))
                .append(Character.toUpperCase(Character.forDigit(b & 0xf, 16)));
          }
          i = end - 1;
        }
      }
    }
    return out == null ? raw : out.toString();
  }

  private static void addImpersonation(MultiMap headers, ActingUser user) {
    headers.set("Impersonate-User", user.name());
    for (String group : user.groups()) {
      headers.add("Impersonate-Group", group);
    }
  }

  private static Map<String, List<String>> responseHeaders(MultiMap headers) {
    Map<String, List<String>> result = new LinkedHashMap<>();
    for (String name : headers.names()) {
      if (!DROPPED_RESPONSE_HEADERS.contains(name.toLowerCase(Locale.ROOT)) && !name.startsWith(":")) {
        result.put(name, new ArrayList<>(headers.getAll(name)));
      }
    }
    return result;
  }

  /** What went wrong, for a Status message: says what a TLS failure means rather than only how Java words it. */
  private String describe(Throwable e) {
    String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    URI base = http.baseUri();
    for (Throwable cause = e; cause != null; cause = cause.getCause()) {
      if (cause instanceof CertificateException) {
        return "its certificate is not trusted (not signed by the cluster's CA, or not for "
            + base.getHost() + "): " + Texts.forLog(cause.getMessage());
      }
    }
    if (e instanceof SSLException) {
      return "the TLS handshake with " + base.getHost() + ":" + base.getPort() + " failed: " + Texts.forLog(message);
    }
    if (e instanceof ConnectException) {
      return "cannot connect to " + base + ": " + Texts.forLog(message);
    }
    return Texts.forLog(message);
  }

  /**
   * One request or stream in progress, from the request to the last frame. Runs on the context.
   *
   * <p>The body is kept as the buffers the client delivered ({@code pending}) until a frame can
   * take it: a stream sends whatever has arrived (a watch event must not wait for a chunk to fill),
   * a plain body sends full chunks. With a full chunk waiting and no credit, the response is paused.
   */
  private final class Exchange {
    final Frame.Request request;
    final RequestOptions options;
    final boolean stream;
    final long started = System.nanoTime();
    final ArrayDeque<Buffer> pending = new ArrayDeque<>();
    int pendingBytes;
    /** Bytes of the first pending buffer already sent. */
    int pendingOffset;
    int credits;
    HttpClientRequest httpRequest;
    HttpClientResponse response;
    String authorizationUsed;
    boolean retriedAfter401;
    boolean headSent;
    boolean upstreamEnded;
    boolean paused;
    boolean done;
    boolean pumping;
    long timer = -1;
    long lastActivity;

    Exchange(Frame.Request request, RequestOptions options) {
      this.request = request;
      this.options = options;
      this.stream = request.stream();
      this.credits = request.credits();
    }

    void send() {
      authorizationUsed = http.authorization();
      if (authorizationUsed != null) {
        options.getHeaders().set("Authorization", authorizationUsed);
      } else {
        options.getHeaders().remove("Authorization");
      }
      if (!stream) {
        long timeout = http.settings().requestTimeout().toMillis();
        if (request.timeoutMillis() > 0) {
          timeout = Math.min(timeout, request.timeoutMillis());
        }
        long millis = timeout;
        startTimer(millis, () -> failed(new TimeoutException("no answer within " + millis + " ms")));
      }
      http.client(stream).request(options)
          .compose(req -> {
            // Failures reach the response future or the response's handler; a reset by the agent itself is no news.
            req.exceptionHandler(ignored -> { });
            if (done) {
              req.reset();
              return Future.failedFuture("cancelled");
            }
            httpRequest = req;
            Buffer body = body();
            return body == null ? req.send() : req.send(body);
          })
          .onComplete(result -> {
            if (done) {
              return;
            }
            if (result.succeeded()) {
              head(result.result());
            } else {
              failed(result.cause());
            }
          });
    }

    Buffer body() {
      String method = request.method();
      if (method.equals("GET") || method.equals("HEAD")) {
        return null;
      }
      if (request.body() == null) {
        boolean required = method.equals("POST") || method.equals("PUT") || method.equals("PATCH");
        return required ? Buffer.buffer() : null;
      }
      return Buffer.buffer(request.body());
    }

    void head(HttpClientResponse answer) {
      if (answer.statusCode() == 401 && !retriedAfter401 && http.credentialsReloadable()) {
        retryWithFreshCredentials(answer);
        return;
      }
      cancelTimer();
      response = answer;
      observer.answered(answer.statusCode(), System.nanoTime() - started);
      answer.handler(this::received);
      answer.exceptionHandler(this::failed);
      answer.endHandler(v -> upstreamEnded());
      if (stream) {
        sendHead(null, true);
      } else {
        lastActivity = System.nanoTime();
        watchIdle();
      }
    }

    /**
     * The API server refused the credentials: perhaps kubelet rotated the token since it was read.
     * Read it again; with a different one, ask again (nothing was executed), else give the 401 back.
     */
    void retryWithFreshCredentials(HttpClientResponse refused) {
      retriedAfter401 = true;
      refused.pause();
      http.reloadCredentials().onComplete(v -> onContext(() -> {
        if (done) {
          return;
        }
        String now = http.authorization();
        if (now != null && !now.equals(authorizationUsed)) {
          // The refusal's small body is read and dropped, so that its connection can serve again.
          refused.handler(ignored -> { });
          refused.resume();
          LOG.info("request {} {} was refused with 401; asking again with the credentials read since",
              request.method(), Texts.forLog(request.path()));
          send();
        } else {
          head(refused);
          refused.resume();
        }
      }));
    }

    void received(Buffer data) {
      if (done || data.length() == 0) {
        return;
      }
      lastActivity = System.nanoTime();
      pending.add(data);
      pendingBytes += data.length();
      if (!headSent && pendingBytes > limits.chunkBytes()) {
        sendHead(take(limits.chunkBytes()), true);
      }
      pump();
    }

    void upstreamEnded() {
      if (done) {
        return;
      }
      upstreamEnded = true;
      cancelTimer();
      if (!headSent) {
        if (pendingBytes <= limits.chunkBytes()) {
          byte[] all = pendingBytes == 0 ? null : take(pendingBytes);
          finish();
          sink.send(new Frame.Response(request.id(), response.statusCode(), responseHeaders(response.headers()), all,
              false));
          return;
        }
        sendHead(take(limits.chunkBytes()), true);
      }
      pump();
    }

    void sendHead(byte[] firstChunk, boolean more) {
      headSent = true;
      sink.send(new Frame.Response(request.id(), response.statusCode(), responseHeaders(response.headers()), firstChunk,
          more));
    }

    void credit(int granted) {
      credits = (int) Math.min(Integer.MAX_VALUE, (long) credits + granted);
      pump();
    }

    /** Sends what credits allow, ends when all is sent, and pauses or resumes the response. */
    void pump() {
      if (pumping || done || !headSent) {
        return;
      }
      pumping = true;
      try {
        while (!done && credits > 0 && sendable()) {
          byte[] chunk = take(Math.min(limits.chunkBytes(), pendingBytes));
          credits--;
          sink.send(new Frame.Data(request.id(), chunk));
        }
        if (done) {
          return;
        }
        if (upstreamEnded && pendingBytes == 0) {
          finish();
          sink.send(new Frame.End(request.id(), null));
          return;
        }
        boolean full = pendingBytes >= limits.chunkBytes();
        if (full && !paused && !upstreamEnded) {
          paused = true;
          response.pause();
        } else if (!full && paused) {
          paused = false;
          lastActivity = System.nanoTime();
          response.resume();
        }
      } finally {
        pumping = false;
      }
    }

    boolean sendable() {
      return stream ? pendingBytes > 0 : pendingBytes >= limits.chunkBytes() || (upstreamEnded && pendingBytes > 0);
    }

    /** The next {@code length} pending bytes (at most {@link #pendingBytes}). */
    byte[] take(int length) {
      byte[] out = new byte[length];
      int filled = 0;
      while (filled < length) {
        Buffer first = pending.peekFirst();
        int available = first.length() - pendingOffset;
        int n = Math.min(available, length - filled);
        first.getBytes(pendingOffset, pendingOffset + n, out, filled);
        filled += n;
        if (n == available) {
          pending.removeFirst();
          pendingOffset = 0;
        } else {
          pendingOffset += n;
        }
      }
      pendingBytes -= length;
      return out;
    }

    void failed(Throwable e) {
      if (done) {
        return;
      }
      String why = describe(e);
      HttpClientRequest current = httpRequest;
      finish();
      if (current != null) {
        current.reset();
      }
      if (headSent) {
        sink.send(new Frame.End(request.id(), "reading from the Kubernetes API server failed: " + why));
      } else {
        LOG.warn("request {} {} failed: {}", request.method(), Texts.forLog(request.path()), why);
        // Out of time (the request's own deadline, what the hub had left of it) is a timeout, not a bad gateway;
        // a full connection pool to the API server is the agent being busy.
        KmcException failure = e instanceof TimeoutException
            ? KmcException.timeout("the Kubernetes API server did not answer the agent in time: " + why)
            : e instanceof io.vertx.core.http.ConnectionPoolTooBusyException
            ? KmcException.unavailable("the agent is busy: " + why, 1)
            : KmcException.badGateway("the agent could not reach its Kubernetes API server: " + why);
        sink.send(Frame.Response.failure(request.id(), failure));
      }
    }

    /** The hub wants nothing more: the HTTP request is reset (the connection closed, or the HTTP/2 stream reset). */
    void cancel() {
      if (done) {
        return;
      }
      HttpClientRequest current = httpRequest;
      finish();
      if (current != null) {
        current.reset();
      }
    }

    void finish() {
      done = true;
      cancelTimer();
      pending.clear();
      pendingBytes = 0;
      if (exchanges.remove(request.id(), this)) {
        http.finished(stream);
      }
    }

    /**
     * While a plain body is read, the server may not go silent for longer than the request timeout
     * (as a read timeout would say); time spent paused for credits does not count.
     */
    void watchIdle() {
      long timeoutNanos = http.settings().requestTimeout().toNanos();
      long left = paused ? timeoutNanos : timeoutNanos - (System.nanoTime() - lastActivity);
      if (left <= 0) {
        failed(new TimeoutException("no data for " + http.settings().requestTimeout().toMillis() + " ms"));
      } else {
        startTimer(Math.max(1, left / 1_000_000), this::watchIdle);
      }
    }

    void startTimer(long millis, Runnable onTimeout) {
      cancelTimer();
      timer = vertx.setTimer(millis, t -> {
        timer = -1;
        onTimeout.run();
      });
    }

    void cancelTimer() {
      if (timer >= 0) {
        vertx.cancelTimer(timer);
        timer = -1;
      }
    }
  }
}
