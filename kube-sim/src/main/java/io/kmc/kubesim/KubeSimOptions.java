package io.kmc.kubesim;

/**
 * How a {@link KubeSim} behaves. Fluent setters; the defaults suit tests (random port on loopback,
 * no token, a lively but fast controller).
 */
public final class KubeSimOptions {

  private String host = "127.0.0.1";
  private int port = 0;
  private boolean seed = false;
  /** Volatile: {@link KubeSim#acceptToken} changes it while the simulator serves. */
  private volatile String token = null;
  private long controllerDelayMillis = 50;
  private boolean podsPerDeployment = true;
  private int watchHistory = 1000;
  private long logLineIntervalMillis = 200;
  private String gitVersion = "v1.30.0";
  private int maxBodyBytes = 3 * 1024 * 1024;
  private long bookmarkIntervalMillis = 30_000;
  private int defaultLogLines = 10;
  private long eventTtlMillis = 60 * 60 * 1000;
  private SimCertificate certificate;
  private long containerDiskBytes = 256L * 1024 * 1024;
  private int execWorkerThreads = 4;
  private long streamCreationTimeoutMillis = 30_000;
  private boolean http2 = false;
  private boolean metricsApi = true;

  public String host() {
    return host;
  }

  /** Address to bind; loopback by default. */
  public KubeSimOptions host(String host) {
    this.host = host;
    return this;
  }

  public int port() {
    return port;
  }

  /** Port to bind; 0 (the default) picks a free one, read it with {@link KubeSim#port()}. */
  public KubeSimOptions port(int port) {
    this.port = port;
    return this;
  }

  public boolean seed() {
    return seed;
  }

  /** Whether to start with namespaces, a few ConfigMaps, a coredns-like Deployment and the kubernetes Service. */
  public KubeSimOptions seed(boolean seed) {
    this.seed = seed;
    return this;
  }

  public String token() {
    return token;
  }

  /** When set, every request must carry {@code Authorization: Bearer <token>}, else 401. */
  public KubeSimOptions token(String token) {
    this.token = token;
    return this;
  }

  public long controllerDelayMillis() {
    return controllerDelayMillis;
  }

  /** How long after a workload change its status (and pods) follow; 0 reconciles on the next event-loop turn. */
  public KubeSimOptions controllerDelayMillis(long controllerDelayMillis) {
    this.controllerDelayMillis = controllerDelayMillis;
    return this;
  }

  public boolean podsPerDeployment() {
    return podsPerDeployment;
  }

  /**
   * Whether ReplicaSets (and so Deployments) get (fake, Running) pods, so that {@code kubectl get pods},
   * logs, events and metrics have something to show; without them a ReplicaSet reports its replicas
   * ready at once.
   */
  public KubeSimOptions podsPerDeployment(boolean podsPerDeployment) {
    this.podsPerDeployment = podsPerDeployment;
    return this;
  }

  public int watchHistory() {
    return watchHistory;
  }

  /** How many recent events are kept for watches that resume from a resourceVersion; older ones get 410. */
  public KubeSimOptions watchHistory(int watchHistory) {
    if (watchHistory < 1) {
      throw new IllegalArgumentException("watchHistory must be at least 1, was " + watchHistory);
    }
    this.watchHistory = watchHistory;
    return this;
  }

  public long logLineIntervalMillis() {
    return logLineIntervalMillis;
  }

  /** Interval between generated log lines of a followed pod log. */
  public KubeSimOptions logLineIntervalMillis(long logLineIntervalMillis) {
    this.logLineIntervalMillis = Math.max(1, logLineIntervalMillis);
    return this;
  }

  public String gitVersion() {
    return gitVersion;
  }

  /** The gitVersion served at /version (major and minor are derived from it). */
  public KubeSimOptions gitVersion(String gitVersion) {
    this.gitVersion = gitVersion;
    return this;
  }

  public int maxBodyBytes() {
    return maxBodyBytes;
  }

  /** Request bodies above this size get 413 (the real apiserver's limit is 3 MiB). */
  public KubeSimOptions maxBodyBytes(int maxBodyBytes) {
    this.maxBodyBytes = maxBodyBytes;
    return this;
  }

  public long bookmarkIntervalMillis() {
    return bookmarkIntervalMillis;
  }

  /** How often watches that allow bookmarks receive one. */
  public KubeSimOptions bookmarkIntervalMillis(long bookmarkIntervalMillis) {
    this.bookmarkIntervalMillis = Math.max(1, bookmarkIntervalMillis);
    return this;
  }

  public int defaultLogLines() {
    return defaultLogLines;
  }

  /** How many lines a non-followed pod log returns when tailLines is not given. */
  public KubeSimOptions defaultLogLines(int defaultLogLines) {
    this.defaultLogLines = defaultLogLines;
    return this;
  }

  public long eventTtlMillis() {
    return eventTtlMillis;
  }

  /** How long an Event lives after its last write, like the apiserver's {@code --event-ttl} (default one hour). */
  public KubeSimOptions eventTtlMillis(long eventTtlMillis) {
    if (eventTtlMillis < 1) {
      throw new IllegalArgumentException("eventTtlMillis must be at least 1, was " + eventTtlMillis);
    }
    this.eventTtlMillis = eventTtlMillis;
    return this;
  }

  public SimCertificate certificate() {
    return certificate;
  }

  /** Serve HTTPS with this certificate (kubectl sends a token only over TLS); null (the default) for plain HTTP. */
  public KubeSimOptions certificate(SimCertificate certificate) {
    this.certificate = certificate;
    return this;
  }

  public long containerDiskBytes() {
    return containerDiskBytes;
  }

  /**
   * How much file content each simulated container holds (what {@code kubectl cp} and shell
   * redirections write), default 256 MiB; past it writes fail with "No space left on device".
   * Memory is only used for what is written, and only in containers that were exec'd into.
   */
  public KubeSimOptions containerDiskBytes(long containerDiskBytes) {
    if (containerDiskBytes < 64 * 1024) {
      throw new IllegalArgumentException("containerDiskBytes must be at least 64 KiB, was " + containerDiskBytes);
    }
    this.containerDiskBytes = containerDiskBytes;
    return this;
  }

  public int execWorkerThreads() {
    return execWorkerThreads;
  }

  /**
   * Worker threads for the blocking part of exec sessions (tar archives and checksums of big files),
   * shared by every simulator in the JVM (default 4); more concurrent copies wait their turn.
   */
  public KubeSimOptions execWorkerThreads(int execWorkerThreads) {
    if (execWorkerThreads < 1) {
      throw new IllegalArgumentException("execWorkerThreads must be at least 1, was " + execWorkerThreads);
    }
    this.execWorkerThreads = execWorkerThreads;
    return this;
  }

  public long streamCreationTimeoutMillis() {
    return streamCreationTimeoutMillis;
  }

  /**
   * How long an SPDY exec, attach or port-forward connection may take to open the streams it needs
   * before it is closed; the kubelet's streaming server waits 30 s, the default.
   */
  public KubeSimOptions streamCreationTimeoutMillis(long streamCreationTimeoutMillis) {
    if (streamCreationTimeoutMillis < 1) {
      throw new IllegalArgumentException("streamCreationTimeoutMillis must be at least 1, was "
          + streamCreationTimeoutMillis);
    }
    this.streamCreationTimeoutMillis = streamCreationTimeoutMillis;
    return this;
  }

  public boolean http2() {
    return http2;
  }

  /**
   * With a certificate, also offer HTTP/2 (ALPN), as the kube-apiserver does; clients that do not
   * ask for it keep HTTP/1.1. Off by default.
   */
  public KubeSimOptions http2(boolean http2) {
    this.http2 = http2;
    return this;
  }

  public boolean metricsApi() {
    return metricsApi;
  }

  /**
   * Whether to serve {@code metrics.k8s.io} (NodeMetrics, PodMetrics, and their discovery entries).
   * On by default; off is a cluster without metrics-server, where the group is not found (404).
   */
  public KubeSimOptions metricsApi(boolean metricsApi) {
    this.metricsApi = metricsApi;
    return this;
  }

  @Override
  public String toString() {
    return "KubeSimOptions{host=" + host + ", port=" + port + ", seed=" + seed
        + ", token=" + (token == null ? "none" : "***")
        + ", controllerDelayMillis=" + controllerDelayMillis + ", podsPerDeployment=" + podsPerDeployment
        + ", watchHistory=" + watchHistory + ", logLineIntervalMillis=" + logLineIntervalMillis
        + ", gitVersion=" + gitVersion + ", maxBodyBytes=" + maxBodyBytes + ", eventTtlMillis=" + eventTtlMillis
        + ", tls=" + (certificate != null) + ", http2=" + http2 + ", metricsApi=" + metricsApi + ", containerDiskBytes=" + containerDiskBytes
        + ", execWorkerThreads=" + execWorkerThreads + ", streamCreationTimeoutMillis=" + streamCreationTimeoutMillis
        + "}";
  }
}
