package io.kmc.hub;

import io.kmc.common.config.ConfigReader;
import io.kmc.common.protocol.Limits;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The hub's configuration, read from YAML with {@code KMC_...} environment overrides. Every key is
 * listed in docs/configuration.md (a test keeps the two in step).
 */
public record HubConfig(Path dataDir, Server server, Clustering cluster, Tunnel tunnel, List<StaticToken> tokens,
                        List<ClusterEntry> clusters) {

  public record Server(String host, int port, String publicUrl, int maxBodyBytes, Tls tls) {
  }

  /**
   * TLS of the API port. kubectl only sends credentials over TLS, so it is on by default, with a
   * self-signed certificate kept under the data directory unless certificate files are given.
   */
  public record Tls(String mode, Path certFile, Path keyFile, Path caFile, List<String> hosts) {
    public boolean enabled() {
      return !"off".equals(mode);
    }
  }

  /** How hub nodes find each other. Disabled: a single node with a local event bus. */
  public record Clustering(boolean enabled, String name, String host, String publicHost, int port,
                           List<String> members, boolean kubernetesDiscovery, String kubernetesServiceName,
                           String kubernetesNamespace, int eventBusPort) {
  }

  public record Tunnel(Limits limits, Duration helloTimeout, Duration sessionAnnounceGrace) {
  }

  /** A bearer token for the hub's API, stored as the SHA-256 of the token. */
  public record StaticToken(String user, List<String> groups, String tokenSha256) {
  }

  /**
   * A member cluster. With {@code kubeconfig} the hub serves it directly; otherwise an agent
   * connects with the join token whose SHA-256 is {@code tokenSha256}.
   */
  public record ClusterEntry(String name, String displayName, String tokenSha256, Path kubeconfig,
                             String kubeContext, boolean enabled, Map<String, String> labels) {
    public boolean direct() {
      return kubeconfig != null;
    }
  }

  public static HubConfig read(ConfigReader c) {
    Path dataDir = Path.of(c.string("data.dir", "./kmc-data", "Directory for the hub's own files (generated TLS certificate)."));
    String tlsMode = c.oneOf("server.tls.mode", "self-signed",
        "TLS of the API port: a generated self-signed certificate, certificate files, or off (plain HTTP).",
        "self-signed", "files", "off");
    String certFile = c.string("server.tls.cert_file", null, "PEM certificate (chain) for mode files.");
    String keyFile = c.string("server.tls.key_file", null, "PEM private key for mode files.");
    String caFile = c.string("server.tls.ca_file", null,
        "PEM CA bundle clients should trust, put into kubeconfigs; leave empty for a publicly trusted certificate.");
    List<String> tlsHosts = c.strings("server.tls.hosts", List.of(),
        "Extra host names and addresses for the self-signed certificate (localhost and this host are always in).");
    if ("files".equals(tlsMode) && (certFile == null || keyFile == null)) {
      c.problem("server.tls.mode", "files needs server.tls.cert_file and server.tls.key_file");
    }
    Tls tls = new Tls(tlsMode, certFile == null ? null : Path.of(certFile), keyFile == null ? null : Path.of(keyFile),
        caFile == null ? null : Path.of(caFile), tlsHosts);
    Server server = new Server(
        c.string("server.host", "0.0.0.0", "Address the API, pass-through and agent endpoint listen on."),
        c.integer("server.port", 8080, 0, 65535, "Port of the API, pass-through and agent endpoint (0 picks a free one)."),
        c.string("server.public_url", null,
            "URL users and agents reach the hub at (put in kubeconfigs); derived from the request if unset."),
        c.bytes("server.max_body_bytes", Limits.DEFAULT_MAX_BODY_BYTES, 1024, 64 * 1024 * 1024,
            "Largest request body accepted (the kube-apiserver's own limit is 3MiB)."),
        tls);

    Clustering cluster = new Clustering(
        c.bool("cluster.enabled", false, "Join other hub nodes in one Vert.x cluster (Hazelcast)."),
        c.string("cluster.name", "kmc", "Hazelcast cluster name; nodes with other names do not join."),
        c.string("cluster.host", "127.0.0.1", "Interface Hazelcast and the event bus bind to."),
        c.string("cluster.public_host", null, "Address other nodes reach this one at, if not cluster.host."),
        c.integer("cluster.port", 5701, 0, 65535, "Hazelcast member port (0 picks a free one)."),
        c.strings("cluster.members", List.of(), "Hazelcast TCP-IP members (host or host:port) to join."),
        c.bool("cluster.kubernetes.enabled", false, "Find members through the Kubernetes API (headless Service)."),
        c.string("cluster.kubernetes.service_name", "kmc-hub-hazelcast", "Headless Service selecting the hub pods."),
        c.string("cluster.kubernetes.namespace", null, "Namespace of that Service; the pod's own if unset."),
        c.integer("cluster.event_bus_port", 0, 0, 65535, "Event-bus TCP port (0 picks a free one)."));

    Limits defaults = Limits.DEFAULTS;
    int maxFrame = c.bytes("tunnel.max_frame_bytes", defaults.maxFrameBytes(), 64 * 1024, 256 * 1024 * 1024,
        "Largest websocket message accepted from an agent; larger ones get a frame-too-large error.");
    int chunk = c.bytes("tunnel.chunk_bytes", defaults.chunkBytes(), 1024, 16 * 1024 * 1024,
        "Bodies larger than this travel from the agent as several data frames.");
    int inFlight = c.integer("tunnel.max_in_flight_requests", defaults.maxInFlightRequests(), 1, 1_000_000,
        "Requests outstanding per agent; more are refused with 429.");
    int streams = c.integer("tunnel.max_open_streams", defaults.maxOpenStreams(), 1, 1_000_000,
        "Streams (watches, followed logs, large bodies) open per agent; more are refused with 429.");
    int credits = c.integer("tunnel.stream_credits", defaults.streamCredits(), 1, 1024,
        "Data frames an agent may send ahead of the reader, per stream.");
    Duration requestTimeout = c.duration("tunnel.request_timeout", Duration.ofMillis(defaults.requestTimeoutMillis()),
        Duration.ofMillis(100), Duration.ofMinutes(30), "Time an agent has to answer (504 after).");
    Duration pingInterval = c.duration("tunnel.ping_interval", Duration.ofMillis(defaults.pingIntervalMillis()),
        Duration.ofMillis(50), Duration.ofMinutes(10), "How often hub and agent ping each other.");
    Duration pingTimeout = c.duration("tunnel.ping_timeout", Duration.ofMillis(defaults.pingTimeoutMillis()),
        Duration.ofMillis(100), Duration.ofMinutes(30), "Silence after which either side drops the connection.");
    Duration helloTimeout = c.duration("tunnel.hello_timeout", Duration.ofSeconds(10), Duration.ofMillis(100),
        Duration.ofMinutes(5), "Time an agent has to send hello after the websocket opens.");
    Limits limits = null;
    try {
      limits = new Limits(maxFrame, server.maxBodyBytes(), chunk, inFlight, streams, credits,
          requestTimeout.toMillis(), pingInterval.toMillis(), pingTimeout.toMillis());
    } catch (IllegalArgumentException e) {
      c.problem("tunnel", e.getMessage());
    }
    Tunnel tunnel = new Tunnel(limits, helloTimeout, Duration.ofSeconds(5));

    List<StaticToken> tokens = new ArrayList<>();
    for (ConfigReader t : c.sections("auth.tokens", "Static API bearer tokens (user, groups, token_sha256).")) {
      String user = t.requiredString("user", "User name the token authenticates as.");
      List<String> groups = t.strings("groups", List.of(), "Groups of that user.");
      String hash = t.requiredString("token_sha256", "Hex SHA-256 of the token (sha256sum of the token text).");
      if (hash != null && !isSha256Hex(hash)) {
        t.problem("token_sha256", "must be 64 hexadecimal characters");
      }
      tokens.add(new StaticToken(user, groups, hash == null ? null : hash.toLowerCase(Locale.ROOT)));
    }

    List<ClusterEntry> clusters = new ArrayList<>();
    Set<String> names = new HashSet<>();
    for (ConfigReader e : c.sections("clusters", "Member clusters (agent-connected or direct).")) {
      String name = e.requiredString("name", "Cluster name: lowercase letters, digits and '-', at most 63.");
      String display = e.string("display_name", null, "Human-friendly name.");
      String hash = e.string("token_sha256", null, "Hex SHA-256 of the agent's join token.");
      String kubeconfig = e.string("kubeconfig", null, "Kubeconfig file: the hub serves this cluster itself (direct mode).");
      String context = e.string("context", null, "Kubeconfig context for direct mode.");
      boolean enabled = e.bool("enabled", true, "A disabled cluster refuses its agent and its requests.");
      Map<String, String> labels = e.stringMap("labels", "Labels for selecting clusters.");
      if (name != null && !ClusterNames.valid(name)) {
        e.problem("name", "'" + name + "' is not a valid cluster name (" + ClusterNames.RULE + ")");
      }
      if (name != null && !names.add(name)) {
        e.problem("name", "'" + name + "' is listed twice");
      }
      if (hash == null && kubeconfig == null) {
        e.problem("token_sha256", "is required unless kubeconfig is set (direct mode)");
      }
      if (hash != null && !isSha256Hex(hash)) {
        e.problem("token_sha256", "must be 64 hexadecimal characters");
      }
      clusters.add(new ClusterEntry(name, display == null ? name : display,
          hash == null ? null : hash.toLowerCase(Locale.ROOT), kubeconfig == null ? null : Path.of(kubeconfig),
          context, enabled, labels));
    }
    return new HubConfig(dataDir, server, cluster, tunnel, List.copyOf(tokens), List.copyOf(clusters));
  }

  private static boolean isSha256Hex(String text) {
    return text.matches("[0-9a-fA-F]{64}");
  }
}
