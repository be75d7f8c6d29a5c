package io.kmc.agent;

import io.kmc.agent.index.IndexSettings;
import io.kmc.agent.kube.KubeHttp;
import io.kmc.common.protocol.AgentEndpoint;
import io.kmc.common.config.ConfigReader;
import io.kmc.common.protocol.Limits;
import io.kmc.common.protocol.ProtocolVersions;
import io.kmc.common.tls.Fingerprints;
import io.kmc.ops.LogSettings;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The agent's configuration: where the hub is, who this cluster is, how to reach the local
 * kube-apiserver. Read from YAML with {@code KMC_...} environment overrides; see
 * docs/configuration.md.
 */
public record AgentConfig(
    List<URI> hubUrls,
    String cluster,
    String token,
    Path tokenFile,
    Path hubCaFile,
    String hubCaSha256,
    boolean insecureSkipTlsVerify,
    Duration connectTimeout,
    Duration initialBackoff,
    Duration maxBackoff,
    int maxMessageBytes,
    List<Integer> protocolVersions,
    String kubernetesMode,
    Path kubeconfig,
    String kubeContext,
    URI kubeApiUrl,
    Path kubeTokenFile,
    Path kubeCaFile,
    Duration kubeRequestTimeout,
    int maxRequests,
    int maxStreams,
    int maxConnections,
    boolean http2,
    Duration tokenReload,
    Duration shutdownGrace,
    boolean managementEnabled,
    String managementHost,
    int managementPort,
    LogSettings log,
    IndexSettings index) {


  public static AgentConfig read(ConfigReader c) {
    List<String> urls = c.strings("hub.urls", List.of(),
        "Hub URLs to dial, tried in turn (wss://host or wss://host/agent/v1/connect; ws:// for local use).");
    String cluster = c.requiredString("hub.cluster", "Name of this member cluster as registered in the hub.");
    String token = c.secret("hub.token", null, "Join token of this cluster. Prefer hub.token_file.");
    String tokenFile = c.string("hub.token_file", null,
        "File holding the join token; read at every dial, so a rotated Secret is picked up without a restart.");
    String caFile = c.string("hub.ca_file", null, "PEM file with the CA (or certificate) the hub's TLS certificate must chain to.");
    String caSha256 = c.string("hub.ca_sha256", null, "SHA-256 fingerprint of the hub's CA certificate (AB:CD:…, as "
        + "the hub logs it at start and kmc login shows it): trust a hub whose certificate chain holds it, without a file.");
    boolean insecure = c.bool("hub.insecure_skip_tls_verify", false, "Skip TLS verification of the hub (testing only).");
    Duration connectTimeout = c.duration("hub.connect_timeout", Duration.ofSeconds(10), Duration.ofMillis(100),
        Duration.ofMinutes(5), "Time allowed for TCP, TLS and the websocket handshake.");
    Duration initialBackoff = c.duration("hub.reconnect.initial_backoff", Duration.ofMillis(500), Duration.ofMillis(10),
        Duration.ofMinutes(1), "First delay before redialling; doubles on each failure, with jitter.");
    Duration maxBackoff = c.duration("hub.reconnect.max_backoff", Duration.ofSeconds(30), Duration.ofMillis(10),
        Duration.ofHours(1), "Largest delay between two dials.");
    int maxMessage = c.bytes("hub.max_message_bytes", Limits.DEFAULT_MAX_FRAME_BYTES, 64 * 1024, 64 * 1024 * 1024,
        "Largest websocket message accepted from the hub.");
    List<Integer> protocolVersions = new ArrayList<>();
    for (String version : c.strings("hub.protocol_versions",
        ProtocolVersions.SUPPORTED.stream().map(String::valueOf).toList(),
        "Protocol versions offered to the hub, e.g. [1] to stay on v1 while hubs are upgraded.")) {
      try {
        int parsed = Integer.parseInt(version.trim());
        if (!ProtocolVersions.SUPPORTED.contains(parsed)) {
          c.problem("hub.protocol_versions", "this agent speaks " + ProtocolVersions.SUPPORTED + ", not " + parsed);
        }
        protocolVersions.add(parsed);
      } catch (NumberFormatException e) {
        c.problem("hub.protocol_versions", "'" + version + "' is not a version number");
      }
    }
    if (protocolVersions.isEmpty()) {
      c.problem("hub.protocol_versions", "must name at least one version");
    }
    String mode = c.oneOf("kubernetes.mode", "in-cluster", "How to reach the local kube-apiserver: the pod's service "
        + "account, a kubeconfig file, or an API URL with a token file (and CA file).", "in-cluster", "kubeconfig",
        "token-file");
    String kubeconfig = c.string("kubernetes.kubeconfig", null, "Kubeconfig file (mode kubeconfig).");
    String context = c.string("kubernetes.context", null, "Kubeconfig context to use; the file's current context if empty.");
    String apiUrl = c.string("kubernetes.api_url", null, "URL of the kube-apiserver (mode token-file), e.g. "
        + "https://10.0.0.1:443.");
    String kubeTokenFile = c.string("kubernetes.token_file", null, "File holding the bearer token (mode token-file); "
        + "re-read every kubernetes.token_reload and at once on a 401.");
    String kubeCaFile = c.string("kubernetes.ca_file", null, "PEM file with the CA the kube-apiserver's certificate "
        + "must chain to (mode token-file); the JVM's trust store if empty.");
    Duration requestTimeout = c.duration("kubernetes.request_timeout", Duration.ofSeconds(30), Duration.ofSeconds(1),
        Duration.ofMinutes(10), "Time the kube-apiserver gets to answer a request, and to go silent while sending "
            + "a body (streams have none).");
    int maxRequests = c.integer("kubernetes.max_requests", KubeHttp.Settings.DEFAULT_MAX_REQUESTS, 1, 100_000,
        "Most requests (not streams) in progress at once, large bodies included; beyond, the agent answers 503.");
    int maxStreams = c.integer("kubernetes.max_streams", KubeHttp.Settings.DEFAULT_MAX_STREAMS, 1, 100_000,
        "Most streams (watches, followed logs) open at once; beyond, the agent answers 429. Over HTTP/1.1 each "
            + "holds a connection to the kube-apiserver.");
    int maxConnections = c.integer("kubernetes.max_connections", KubeHttp.Settings.DEFAULT_MAX_CONNECTIONS, 1, 10_000,
        "HTTP/1.1 connections for requests (streams have their own); more requests wait for one. "
            + "HTTP/2 multiplexes requests over a few.");
    boolean http2 = c.bool("kubernetes.http2", true, "Offer HTTP/2 to an https kube-apiserver (ALPN, falling back to "
        + "HTTP/1.1), so that streams share a few connections.");
    Duration tokenReload = c.duration("kubernetes.token_reload", KubeHttp.Settings.DEFAULT_TOKEN_RELOAD,
        Duration.ofSeconds(1), Duration.ofHours(1), "How often the token file (in-cluster: the service-account "
            + "token kubelet rotates) is read again.");
    String legacyRequests = c.string("workers.requests", null, "Deprecated (an integer; the agent has no request "
        + "threads any more): read as kubernetes.max_requests = workers.requests + workers.queue when that is not "
        + "set.");
    String legacyQueue = c.string("workers.queue", null, "Deprecated (an integer): see workers.requests.");
    String legacyStreams = c.string("workers.streams", null, "Deprecated (an integer): read as kubernetes.max_streams "
        + "when that is not set.");
    Duration shutdownGrace = c.duration("workers.shutdown_grace", Duration.ofSeconds(20), Duration.ZERO,
        Duration.ofMinutes(10), "On SIGTERM: time requests in flight get to finish before the agent disconnects.");
    boolean managementEnabled = c.bool("metrics.enabled", true,
        "Serve /metrics, /healthz and /ready on a port of their own (the management port).");
    String managementHost = c.string("metrics.host", "0.0.0.0", "Address the management port listens on.");
    int managementPort = c.integer("metrics.port", 9091, 0, 65535,
        "The management port (0 picks a free one); not the hub's 9090, so that both run on one machine.");
    LogSettings log = LogSettings.read(c, "json");
    IndexSettings index = IndexSettings.read(c);

    List<URI> hubUrls = new ArrayList<>();
    for (String url : urls) {
      try {
        hubUrls.add(connectUri(url));
      } catch (IllegalArgumentException e) {
        c.problem("hub.urls", e.getMessage());
      }
    }
    if (urls.isEmpty()) {
      c.problem("hub.urls", "is required: at least one hub URL");
    }
    if (token == null && tokenFile == null) {
      c.problem("hub.token", "is required (or hub.token_file)");
    }
    if (caSha256 != null) {
      try {
        caSha256 = Fingerprints.display(caSha256);
      } catch (IllegalArgumentException e) {
        c.problem("hub.ca_sha256", e.getMessage());
      }
      if (caFile != null) {
        c.problem("hub.ca_sha256", "set hub.ca_file or hub.ca_sha256, not both");
      }
    }
    if ("kubeconfig".equals(mode) && kubeconfig == null) {
      c.problem("kubernetes.kubeconfig", "is required when kubernetes.mode is kubeconfig");
    }
    URI kubeApiUrl = null;
    if ("token-file".equals(mode)) {
      if (apiUrl == null) {
        c.problem("kubernetes.api_url", "is required when kubernetes.mode is token-file");
      } else {
        kubeApiUrl = apiUrl(c, apiUrl);
      }
      if (kubeTokenFile == null) {
        c.problem("kubernetes.token_file", "is required when kubernetes.mode is token-file");
      }
    }
    if (legacyRequests != null || legacyQueue != null) {
      int threads = legacyInteger(c, "workers.requests", legacyRequests, 16);
      int queue = legacyInteger(c, "workers.queue", legacyQueue, 256);
      if (maxRequests == KubeHttp.Settings.DEFAULT_MAX_REQUESTS) {
        maxRequests = Math.max(1, threads + queue);
      }
    }
    if (legacyStreams != null && maxStreams == KubeHttp.Settings.DEFAULT_MAX_STREAMS) {
      maxStreams = Math.max(1, legacyInteger(c, "workers.streams", legacyStreams, maxStreams));
    }
    if (maxBackoff.compareTo(initialBackoff) < 0) {
      c.problem("hub.reconnect.max_backoff", "must not be smaller than hub.reconnect.initial_backoff");
    }
    return new AgentConfig(List.copyOf(hubUrls), cluster, token, tokenFile == null ? null : Path.of(tokenFile),
        caFile == null ? null : Path.of(caFile), caSha256, insecure, connectTimeout, initialBackoff, maxBackoff, maxMessage,
        List.copyOf(protocolVersions), mode, kubeconfig == null ? null : Path.of(kubeconfig), context, kubeApiUrl,
        kubeTokenFile == null ? null : Path.of(kubeTokenFile), kubeCaFile == null ? null : Path.of(kubeCaFile),
        requestTimeout, maxRequests, maxStreams, maxConnections, http2, tokenReload, shutdownGrace, managementEnabled,
        managementHost, managementPort, log, index);
  }

  /** What the agent's HTTP client to the kube-apiserver is limited to. */
  public KubeHttp.Settings kubeHttpSettings() {
    return new KubeHttp.Settings(maxRequests, maxStreams, maxConnections, kubeRequestTimeout, http2, tokenReload);
  }

  private static URI apiUrl(ConfigReader c, String url) {
    try {
      URI uri = URI.create(url.trim());
      if (!("https".equals(uri.getScheme()) || "http".equals(uri.getScheme())) || uri.getHost() == null) {
        c.problem("kubernetes.api_url", "'" + url + "' must be an https:// (or http://) URL with a host");
        return null;
      }
      return uri;
    } catch (IllegalArgumentException e) {
      c.problem("kubernetes.api_url", "'" + url + "' is not a URL");
      return null;
    }
  }

  /** A deprecated key's value, for the keys that replace it; a bad value is reported under its own name. */
  private static int legacyInteger(ConfigReader c, String key, String value, int absent) {
    if (value == null) {
      return absent;
    }
    try {
      int parsed = Integer.parseInt(value.trim());
      if (parsed < 0 || parsed > 100_000) {
        c.problem(key, "must be between 0 and 100000, not " + parsed);
        return absent;
      }
      return parsed;
    } catch (NumberFormatException e) {
      c.problem(key, "must be an integer (got '" + value + "')");
      return absent;
    }
  }

  /** Accepts {@code wss://host[:port]} or a full connect URL; http(s) are taken as ws(s). */
  static URI connectUri(String url) {
    URI uri;
    try {
      uri = URI.create(url.trim());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("'" + url + "' is not a URL");
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme();
    String wsScheme = switch (scheme) {
      case "ws", "http" -> "ws";
      case "wss", "https" -> "wss";
      default -> throw new IllegalArgumentException("'" + url + "' must start with wss:// (or ws:// for local use)");
    };
    if (uri.getHost() == null) {
      throw new IllegalArgumentException("'" + url + "' has no host");
    }
    String path = uri.getPath() == null || uri.getPath().isEmpty() || uri.getPath().equals("/")
        ? AgentEndpoint.PATH : uri.getPath();
    return URI.create(wsScheme + "://" + uri.getRawAuthority() + path);
  }

  @Override
  public String toString() {
    return "AgentConfig[hubUrls=" + hubUrls + ", cluster=" + cluster + ", token=" + (token == null ? "unset" : "***")
        + ", tokenFile=" + tokenFile + ", kubernetesMode=" + kubernetesMode + "]";
  }
}
