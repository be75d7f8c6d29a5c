package io.kmc.agent.kube;

import io.kmc.ops.BlockingPool;
import io.kmc.common.KmcException;
import io.kmc.common.protocol.ActingUser;
import io.kmc.common.protocol.Frame;
import io.kmc.common.protocol.Limits;
import io.kmc.common.protocol.ProtocolException;
import io.kubernetes.client.openapi.ApiClient;
import io.vertx.core.Context;
import okhttp3.Call;
import okhttp3.Headers;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.ResponseBody;
import okio.Buffer;
import okio.BufferedSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Executes the hub's requests against the kube-apiserver with client-java's HTTP client, and turns
 * the answers into frames: one {@link Frame.Response}, then for large bodies and streams
 * {@link Frame.Data} frames paced by the hub's credits and one {@link Frame.End}.
 *
 * <p>Blocking calls run on two bounded pools (requests, and long-lived streams); frames are handed
 * to the {@link FrameSink} on the Vert.x context, in order. The agent's websocket and the hub's
 * direct mode both drive this class.
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

  /** Request headers the agent passes on; the hub's own credentials and hop-by-hop headers never are. */
  private static final Set<String> FORWARDED_REQUEST_HEADERS = Set.of("content-type", "accept");
  /** Response headers that describe this hop's framing rather than the answer. */
  private static final Set<String> DROPPED_RESPONSE_HEADERS = Set.of("connection", "keep-alive",
      "transfer-encoding", "content-length", "content-encoding", "upgrade", "proxy-connection");

  private final Context context;
  private final KubeAccess kube;
  private final BlockingPool requestPool;
  private final BlockingPool streamPool;
  private final Limits limits;
  private final FrameSink sink;
  private final Observer observer;
  private final Map<String, Exchange> exchanges = new ConcurrentHashMap<>();

  public KubeRequestExecutor(Context context, KubeAccess kube, BlockingPool requestPool, BlockingPool streamPool,
                             Limits limits, FrameSink sink, Observer observer) {
    this.context = context;
    this.kube = kube;
    this.requestPool = requestPool;
    this.streamPool = streamPool;
    this.limits = limits;
    this.sink = sink;
    this.observer = observer;
  }

  /** Handles a request, credit or cancel frame from the hub. */
  public void handle(Frame frame) {
    if (frame instanceof Frame.Request request) {
      start(request);
    } else if (frame instanceof Frame.Credit credit) {
      Exchange exchange = exchanges.get(credit.id());
      if (exchange != null) {
        exchange.credits.release(credit.credits());
      }
    } else if (frame instanceof Frame.Cancel cancel) {
      Exchange exchange = exchanges.get(cancel.id());
      if (exchange != null) {
        exchange.cancel();
      }
    } else {
      sink.send(new Frame.Error(null, ProtocolException.UNEXPECTED_FRAME,
          "the agent does not accept '" + frame.getClass().getSimpleName().toLowerCase(Locale.ROOT) + "' frames"));
    }
  }

  /** Stops everything in progress, e.g. because the connection to the hub is gone. */
  public void cancelAll() {
    exchanges.values().forEach(Exchange::cancel);
    exchanges.clear();
  }

  public int inProgress() {
    return exchanges.size();
  }

  /** Streams (watches, followed logs, large bodies) being served. */
  public long streamsInProgress() {
    return exchanges.values().stream().filter(exchange -> exchange.request.stream()).count();
  }

  /** Requests (not streams) still being answered. */
  public long requestsInProgress() {
    return exchanges.values().stream().filter(exchange -> !exchange.request.stream()).count();
  }

  /** Ends every stream (watches, followed logs); their clients resume elsewhere. Requests carry on. */
  public void cancelStreams() {
    exchanges.values().removeIf(exchange -> {
      if (exchange.request.stream()) {
        exchange.cancel();
        sink.send(new Frame.End(exchange.request.id(), "the agent is moving to another hub node"));
        return true;
      }
      return false;
    });
  }

  private void start(Frame.Request request) {
    if (exchanges.containsKey(request.id())) {
      sink.send(new Frame.Error(request.id(), ProtocolException.UNEXPECTED_FRAME,
          "request id " + request.id() + " is already in progress"));
      return;
    }
    Exchange exchange = new Exchange(request);
    exchanges.put(request.id(), exchange);
    BlockingPool pool = request.stream() ? streamPool : requestPool;
    if (!pool.execute(() -> run(exchange))) {
      exchanges.remove(request.id());
      KmcException busy = KmcException.tooManyRequests("the agent is busy: all "
          + (request.stream() ? "stream" : "request") + " workers are in use; retry later");
      sink.send(Frame.Response.failure(request.id(), busy));
    }
  }

  /** Runs on a pool thread. */
  private void run(Exchange exchange) {
    Frame.Request request = exchange.request;
    boolean headSent = false;
    long started = System.nanoTime();
    try {
      ApiClient client = request.stream() ? kube.streams() : kube.requests();
      Call call = client.getHttpClient().newCall(toHttpRequest(client, request));
      exchange.call = call;
      if (exchange.cancelled) {
        return;
      }
      try (Response response = call.execute()) {
        observer.answered(response.code(), System.nanoTime() - started);
        Map<String, List<String>> headers = responseHeaders(response.headers());
        ResponseBody body = response.body();
        BufferedSource source = body.source();
        if (request.stream()) {
          emit(new Frame.Response(request.id(), response.code(), headers, null, true));
          headSent = true;
          streamBody(exchange, source, true);
        } else {
          byte[] first = readChunk(source, limits.chunkBytes(), false);
          boolean more = first != null && first.length == limits.chunkBytes() && !source.exhausted();
          emit(new Frame.Response(request.id(), response.code(), headers, first, more));
          headSent = true;
          if (more) {
            streamBody(exchange, source, false);
          }
        }
      }
    } catch (IOException | RuntimeException e) {
      if (exchange.cancelled) {
        return;
      }
      if (headSent) {
        emit(new Frame.End(request.id(), "reading from the Kubernetes API server failed: " + describe(e)));
      } else {
        LOG.warn("request {} {} failed: {}", request.method(), request.path(), describe(e));
        emit(Frame.Response.failure(request.id(), KmcException.badGateway(
            "the agent could not reach its Kubernetes API server: " + describe(e))));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      exchanges.remove(request.id());
    }
  }

  private void streamBody(Exchange exchange, BufferedSource source, boolean asAvailable)
      throws IOException, InterruptedException {
    String id = exchange.request.id();
    while (!exchange.cancelled) {
      byte[] chunk = readChunk(source, limits.chunkBytes(), asAvailable);
      if (chunk == null) {
        emit(new Frame.End(id, null));
        return;
      }
      while (!exchange.credits.tryAcquire(1, TimeUnit.SECONDS)) {
        if (exchange.cancelled) {
          return;
        }
      }
      if (exchange.cancelled) {
        return;
      }
      emit(new Frame.Data(id, chunk));
    }
  }

  /**
   * Reads the next chunk, or null at the end of the body. A stream hands on whatever has arrived
   * (a watch event must not wait for the chunk to fill); a plain body fills the chunk.
   */
  private static byte[] readChunk(BufferedSource source, int chunkBytes, boolean asAvailable) throws IOException {
    Buffer buffer = new Buffer();
    if (asAvailable) {
      long read = source.read(buffer, chunkBytes);
      return read < 0 ? null : buffer.readByteArray();
    }
    while (buffer.size() < chunkBytes) {
      long read = source.read(buffer, chunkBytes - buffer.size());
      if (read < 0) {
        break;
      }
    }
    return buffer.size() == 0 ? null : buffer.readByteArray();
  }

  private Request toHttpRequest(ApiClient client, Frame.Request request) {
    String url = kube.basePath() + request.path()
        + (request.query() == null || request.query().isEmpty() ? "" : "?" + request.query());
    HttpUrl httpUrl = HttpUrl.parse(url);
    if (httpUrl == null) {
      throw KmcException.badRequest("not a valid request path: " + request.path());
    }
    Request.Builder builder = new Request.Builder().url(httpUrl);
    String contentType = null;
    for (Map.Entry<String, List<String>> header : request.headers().entrySet()) {
      String name = header.getKey().toLowerCase(Locale.ROOT);
      if (FORWARDED_REQUEST_HEADERS.contains(name)) {
        for (String value : header.getValue()) {
          builder.addHeader(header.getKey(), value);
        }
        if (name.equals("content-type") && !header.getValue().isEmpty()) {
          contentType = header.getValue().get(0);
        }
      }
    }
    if (request.impersonate() && request.user() != null) {
      addImpersonation(builder, request.user());
    }
    kube.authHeaders(client, request.method()).forEach(builder::header);
    builder.method(request.method(), body(request, contentType));
    return builder.build();
  }

  private static RequestBody body(Frame.Request request, String contentType) {
    byte[] body = request.body();
    String method = request.method();
    if (method.equals("GET") || method.equals("HEAD")) {
      return null;
    }
    if (body == null) {
      boolean required = method.equals("POST") || method.equals("PUT") || method.equals("PATCH");
      return required ? RequestBody.create(new byte[0], null) : null;
    }
    return RequestBody.create(body, contentType == null ? null : MediaType.parse(contentType));
  }

  private static void addImpersonation(Request.Builder builder, ActingUser user) {
    builder.header("Impersonate-User", user.name());
    for (String group : user.groups()) {
      builder.addHeader("Impersonate-Group", group);
    }
  }

  private static Map<String, List<String>> responseHeaders(Headers headers) {
    Map<String, List<String>> result = new LinkedHashMap<>();
    for (String name : headers.names()) {
      if (!DROPPED_RESPONSE_HEADERS.contains(name.toLowerCase(Locale.ROOT))) {
        result.put(name, new ArrayList<>(headers.values(name)));
      }
    }
    return result;
  }

  private void emit(Frame frame) {
    context.runOnContext(v -> sink.send(frame));
  }

  private static String describe(Throwable e) {
    String message = e.getMessage();
    return message == null ? e.getClass().getSimpleName() : message;
  }

  /** One request or stream in progress. */
  private static final class Exchange {
    final Frame.Request request;
    final Semaphore credits;
    volatile Call call;
    volatile boolean cancelled;

    Exchange(Frame.Request request) {
      this.request = request;
      this.credits = new Semaphore(request.credits());
    }

    void cancel() {
      cancelled = true;
      Call current = call;
      if (current != null) {
        current.cancel();
      }
      credits.release(Integer.MAX_VALUE / 2);
    }
  }
}
