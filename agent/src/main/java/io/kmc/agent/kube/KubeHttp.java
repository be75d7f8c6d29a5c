package io.kmc.agent.kube;

import io.kmc.agent.AgentClock;
import io.kmc.ops.BlockingPool;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.TrustOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The agent's non-blocking way to its kube-apiserver: Vert.x HTTP clients configured from a
 * {@link KubeAccess}, the credentials as they are now, and the bound on requests and streams in
 * progress.
 *
 * <p>Two clients, one for requests and one for streams, each with its own connection pool: over
 * HTTP/1.1 every open watch holds a connection for as long as it lasts, and two thousand of them
 * must not leave a {@code GET} waiting for one. Over TLS both offer HTTP/2 (ALPN), which the
 * kube-apiserver speaks, so that streams multiplex over a few connections; a server that declines
 * gets HTTP/1.1. Plain {@code http} servers get HTTP/1.1 (the kube-apiserver does no h2c).
 *
 * <p>HTTP/2 flow-control windows bound what a paused response may hold: 64 KiB per stream (the
 * default) for watches, of which there can be thousands, 256 KiB for request bodies, which are few
 * and want throughput. The connection windows are large enough that paused streams never block the
 * others on their connection.
 *
 * <p>A bearer token read from a file (in-cluster, kubelet rotates it) is read again every
 * {@code tokenReload} with the Vert.x file system, and at once when the API server answers 401; one
 * from a kubeconfig's exec plugin or auth provider is fetched again through client-java on a worker
 * thread when the API server answers 401. Everything here may be used from any thread.
 */
public final class KubeHttp {

  /** Limits and tuning, from the agent's {@code kubernetes.*} configuration. */
  public record Settings(int maxRequests, int maxStreams, int maxConnections, Duration requestTimeout,
                         boolean http2, Duration tokenReload) {

    public static final int DEFAULT_MAX_REQUESTS = 256;
    public static final int DEFAULT_MAX_STREAMS = 2048;
    public static final int DEFAULT_MAX_CONNECTIONS = 32;
    public static final Duration DEFAULT_TOKEN_RELOAD = Duration.ofMinutes(1);

    public Settings {
      if (maxRequests < 1 || maxStreams < 1 || maxConnections < 1) {
        throw new IllegalArgumentException("limits must be positive");
      }
    }

    /** The defaults, with this request timeout. */
    public static Settings defaults(Duration requestTimeout) {
      return new Settings(DEFAULT_MAX_REQUESTS, DEFAULT_MAX_STREAMS, DEFAULT_MAX_CONNECTIONS, requestTimeout, true,
          DEFAULT_TOKEN_RELOAD);
    }

    public Settings withLimits(int requests, int streams) {
      return new Settings(requests, streams, maxConnections, requestTimeout, http2, tokenReload);
    }
  }

  private static final Logger LOG = LoggerFactory.getLogger(KubeHttp.class);
  /** HTTP/2 streams a kube-apiserver allows per connection at the least; sizes the HTTP/2 pools. */
  private static final int STREAMS_PER_CONNECTION = 100;
  private static final int REQUEST_STREAM_WINDOW = 256 * 1024;
  private static final int CONNECTION_WINDOW = 16 * 1024 * 1024;
  /** Running an exec plugin is not cheap: at most once in this long, however many 401s arrive. */
  private static final long EXEC_RELOAD_INTERVAL_MILLIS = 10_000;

  private final Vertx vertx;
  private final KubeAccess kube;
  private final Settings settings;
  private final BlockingPool blocking;
  /** Largest websocket message of a session the agent takes from its API server (kubectl cp sends 32 KiB). */
  private static final int WEBSOCKET_MESSAGE_BYTES = 4 * 1024 * 1024;

  private final HttpClientAgent requests;
  private final HttpClientAgent streams;
  /** For exec, attach and port-forward: websockets to the API server, with the same trust and credentials. */
  private final WebSocketClient webSockets;
  private final AtomicInteger requestsInProgress = new AtomicInteger();
  private final AtomicInteger streamsInProgress = new AtomicInteger();
  private final long reloadTimer;
  private volatile String authorization;
  private Future<Void> reloading;
  private long lastReload;

  private KubeHttp(Vertx vertx, KubeAccess kube, Settings settings, BlockingPool blocking) {
    this.vertx = vertx;
    this.kube = kube;
    this.settings = settings;
    this.blocking = blocking;
    this.authorization = kube.authorization();
    int requestConnections = ceilDiv(settings.maxRequests(), STREAMS_PER_CONNECTION);
    this.requests = vertx.httpClientBuilder()
        .with(options(REQUEST_STREAM_WINDOW))
        .with(new PoolOptions()
            .setHttp1MaxSize(settings.maxConnections())
            .setHttp2MaxSize(Math.max(1, Math.min(settings.maxConnections(), requestConnections)))
            .setMaxWaitQueueSize(settings.maxRequests()))
        .build();
    this.streams = vertx.httpClientBuilder()
        .with(options(Http2Settings.DEFAULT_INITIAL_WINDOW_SIZE))
        .with(new PoolOptions()
            .setHttp1MaxSize(settings.maxStreams())
            .setHttp2MaxSize(ceilDiv(settings.maxStreams(), STREAMS_PER_CONNECTION) + 1)
            .setMaxWaitQueueSize(settings.maxStreams()))
        .build();
    this.webSockets = vertx.createWebSocketClient(webSocketOptions());
    this.reloadTimer = kube.tokenFile() == null ? -1
        : vertx.setPeriodic(settings.tokenReload().toMillis(), t -> reloadCredentials());
  }

  /**
   * Clients for {@code kube}'s API server. {@code blocking} runs what client-java must do blocking
   * (an exec plugin that fetches a new token).
   */
  public static KubeHttp create(Vertx vertx, KubeAccess kube, Settings settings, BlockingPool blocking) {
    return new KubeHttp(vertx, kube, settings, blocking);
  }

  private HttpClientOptions options(int streamWindow) {
    URI base = kube.baseUri();
    boolean tls = "https".equalsIgnoreCase(base.getScheme());
    int timeoutMillis = (int) Math.min(Integer.MAX_VALUE, settings.requestTimeout().toMillis());
    HttpClientOptions options = new HttpClientOptions()
        .setConnectTimeout(timeoutMillis)
        .setKeepAlive(true)
        .setTcpNoDelay(true)
        .setTcpKeepAlive(true)
        // Bodies pass through as they come; the agent does not ask for gzip, so it never decodes any.
        .setDecompressionSupported(false)
        .setMaxHeaderSize(64 * 1024)
        .setSsl(tls);
    if (tls) {
      if (kube.insecureSkipTlsVerify()) {
        options.setTrustAll(true).setVerifyHost(false);
      } else {
        options.setVerifyHost(true);
        if (kube.trustManager() != null) {
          options.setTrustOptions(TrustOptions.wrap(kube.trustManager()));
        }
      }
      if (kube.keyManager() != null) {
        options.setKeyCertOptions(KeyCertOptions.wrap(kube.keyManager()));
      }
      if (settings.http2()) {
        options.setProtocolVersion(HttpVersion.HTTP_2)
            .setUseAlpn(true)
            .setAlpnVersions(List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1))
            .setInitialSettings(new Http2Settings().setInitialWindowSize(streamWindow))
            .setHttp2ConnectionWindowSize(CONNECTION_WINDOW);
      }
    }
    return options;
  }

  private WebSocketClientOptions webSocketOptions() {
    boolean tls = "https".equalsIgnoreCase(kube.baseUri().getScheme());
    WebSocketClientOptions options = new WebSocketClientOptions()
        .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, settings.requestTimeout().toMillis()))
        .setTcpNoDelay(true)
        .setMaxFrameSize(WEBSOCKET_MESSAGE_BYTES)
        .setMaxMessageSize(WEBSOCKET_MESSAGE_BYTES)
        .setSsl(tls);
    if (tls) {
      if (kube.insecureSkipTlsVerify()) {
        options.setTrustAll(true).setVerifyHost(false);
      } else if (kube.trustManager() != null) {
        options.setTrustOptions(TrustOptions.wrap(kube.trustManager()));
      }
      if (kube.keyManager() != null) {
        options.setKeyCertOptions(KeyCertOptions.wrap(kube.keyManager()));
      }
    }
    return options;
  }

  /** The websocket client for sessions (exec, attach, port-forward) with the API server. */
  public WebSocketClient webSockets() {
    return webSockets;
  }

  private static int ceilDiv(int a, int b) {
    return (a + b - 1) / b;
  }

  public Settings settings() {
    return settings;
  }

  /** The API server's base URI, without a trailing slash. */
  public URI baseUri() {
    return kube.baseUri();
  }

  /** The client for requests ({@code stream} false) or for streams. */
  public HttpClient client(boolean stream) {
    return stream ? streams : requests;
  }

  /** Takes a place for a request or stream; false when all are taken (the caller answers 429). */
  public boolean tryStart(boolean stream) {
    AtomicInteger count = stream ? streamsInProgress : requestsInProgress;
    int limit = stream ? settings.maxStreams() : settings.maxRequests();
    while (true) {
      int now = count.get();
      if (now >= limit) {
        return false;
      }
      if (count.compareAndSet(now, now + 1)) {
        return true;
      }
    }
  }

  /** Gives back a place taken by {@link #tryStart}. */
  public void finished(boolean stream) {
    (stream ? streamsInProgress : requestsInProgress).decrementAndGet();
  }

  /** Requests (not streams) in progress through this client. */
  public int requestsInProgress() {
    return requestsInProgress.get();
  }

  /** Streams in progress through this client. */
  public int streamsInProgress() {
    return streamsInProgress.get();
  }

  /** The {@code Authorization} header to send now, or null. */
  public String authorization() {
    return authorization;
  }

  /** Whether the credentials can be read again (a token file, or a kubeconfig token client-java can fetch again). */
  public boolean credentialsReloadable() {
    return kube.tokenFile() != null || kube.authorizationReader() != null;
  }

  /**
   * Reads the credentials again; completes (never fails) once {@link #authorization()} holds what
   * the source says now. Concurrent callers share one read.
   */
  public synchronized Future<Void> reloadCredentials() {
    if (reloading != null) {
      return reloading;
    }
    Future<String> read;
    if (kube.tokenFile() != null) {
      read = vertx.fileSystem().readFile(kube.tokenFile().toString()).map(bytes -> {
        String token = bytes.toString().trim();
        return token.isEmpty() ? null : "Bearer " + token;
      });
    } else if (kube.authorizationReader() != null
        && AgentClock.currentTimeMillis() - lastReload >= EXEC_RELOAD_INTERVAL_MILLIS) {
      read = blocking.submit(vertx.getOrCreateContext(), kube.authorizationReader());
    } else {
      return Future.succeededFuture();
    }
    lastReload = AgentClock.currentTimeMillis();
    Promise<Void> done = Promise.promise();
    reloading = done.future();
    read.onComplete(result -> {
      if (result.succeeded() && result.result() != null) {
        if (!result.result().equals(authorization)) {
          LOG.info("the credentials for the Kubernetes API server changed; using the new ones");
        }
        authorization = result.result();
      } else if (result.failed()) {
        LOG.warn("cannot read the credentials for the Kubernetes API server again (keeping the current ones): {}",
            result.cause().getMessage());
      }
      synchronized (this) {
        reloading = null;
      }
      done.complete();
    });
    return done.future();
  }

  /** Stops reading the token and closes the connections; whatever is in flight fails. */
  public Future<Void> close() {
    vertx.cancelTimer(reloadTimer);
    return Future.join(requests.close(), streams.close(), webSockets.close()).mapEmpty();
  }

  @Override
  public String toString() {
    return "KubeHttp[" + kube + ", " + settings + "]";
  }
}
