package io.kmc.hub.config;

import io.kmc.common.ClusterNames;
import io.kmc.common.KmcVersion;
import io.kmc.common.config.ConfigReader;
import io.kmc.common.protocol.Limits;
import io.kmc.ops.LogSettings;

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
public record HubConfig(Path dataDir, Server server, Management management, LogSettings log, Clustering cluster,
                        Tunnel tunnel, Database database, Redis redis, Auth auth, Rbac rbac, Audit audit,
                        List<ClusterEntry> clusters, Policies policies, Notifications notifications,
                        PluginSettings plugins, Index index, Propagation propagation, Streams streams) {

  public record Server(String host, int port, String publicUrl, int maxBodyBytes, Tls tls, String agentImage,
                       Duration shutdownGrace, boolean accessLog, boolean nativeTransport) {
  }

  /** The management port: /healthz, /ready and /metrics, apart from the API. */
  public record Management(boolean enabled, String host, int port, Duration resourceCountInterval,
                           boolean perClusterDetail) {
  }

  /**
   * TLS of the API port. kubectl only sends credentials over TLS, so it is on by default, with a
   * self-signed certificate kept under the data directory unless certificate files are given.
   */
  public record Tls(String mode, Path certFile, Path keyFile, Path caFile, List<String> hosts, String engine,
                    int maxConcurrentHandshakes) {
    public boolean enabled() {
      return !"off".equals(mode);
    }
  }

  /** How hub nodes find each other. Disabled: a single node with a local event bus. */
  public record Clustering(boolean enabled, String name, String host, String publicHost, int port,
                           List<String> members, boolean kubernetesDiscovery, String kubernetesServiceName,
                           String kubernetesNamespace, int eventBusPort, Duration memberTimeout) {
  }

  public record Tunnel(Limits limits, Duration helloTimeout, int admissionRate, int maxQueuedRequests) {
  }

  /** PostgreSQL; with no host, an embedded server whose data lives under the data directory. */
  public record Database(String host, int port, String name, String user, String password, int poolSize,
                         int maxWaitingQueries, String sslMode, Path caFile, int embeddedPort) {
    public boolean embedded() {
      return host == null;
    }

    @Override
    public String toString() {
      return "Database[host=" + host + ", port=" + port + ", name=" + name + ", user=" + user + ", password="
          + masked(password) + ", poolSize=" + poolSize + ", maxWaitingQueries=" + maxWaitingQueries + ", sslMode=" + sslMode + ", caFile=" + caFile
          + ", embeddedPort=" + embeddedPort + "]";
    }
  }

  /** Redis for shared, rebuildable state; with no URL, an in-process store (single node only). */
  public record Redis(String url, String password, String keyPrefix, Duration admissionSync) {
    public boolean configured() {
      return url != null;
    }

    @Override
    public String toString() {
      // A Redis URL may carry the password: redis://:secret@host:6379
      String shown = url == null ? null : url.replaceFirst("//[^@/]*@", "//***@");
      return "Redis[url=" + shown + ", password=" + masked(password) + ", keyPrefix=" + keyPrefix
          + ", admissionSync=" + admissionSync + "]";
    }
  }

  public record Auth(String adminPassword, String issuer, String audience, Duration accessTokenLifetime,
                     Duration refreshTokenLifetime, Duration apiTokenMaxLifetime, Duration kubeconfigTokenLifetime,
                     Path signingKeyFile, int loginAttempts, Duration loginWindow, int requestsPerMinute,
                     Oidc oidc, Duration installLinkLifetime) {
    @Override
    public String toString() {
      return "Auth[adminPassword=" + masked(adminPassword) + ", issuer=" + issuer + ", audience=" + audience
          + ", accessTokenLifetime=" + accessTokenLifetime + ", refreshTokenLifetime=" + refreshTokenLifetime
          + ", apiTokenMaxLifetime=" + apiTokenMaxLifetime + ", kubeconfigTokenLifetime=" + kubeconfigTokenLifetime
          + ", signingKeyFile=" + signingKeyFile + ", loginAttempts=" + loginAttempts + ", loginWindow=" + loginWindow
          + ", requestsPerMinute=" + requestsPerMinute + ", oidc=" + oidc + ", installLinkLifetime="
          + installLinkLifetime + "]";
    }
  }

  /** How a secret shows in a record's text: whether it is set, never its value. */
  private static String masked(String secret) {
    return secret == null ? "unset" : "***";
  }

  /** An external OpenID Connect issuer whose tokens the hub accepts, verified against its JWKS. */
  public record Oidc(String issuer, String audience, String jwksUrl, String usernameClaim, String groupsClaim,
                     Duration jwksRefresh, String clientId) {
    public boolean enabled() {
      return jwksUrl != null;
    }
  }

  public record Rbac(Path modelFile, Path policiesFile, boolean impersonate) {
  }

  public record Audit(Duration retention, Duration flushInterval, int batchSize, int queueSize, boolean recordSessions,
                      int sessionMaxBytes) {
  }

  /**
   * The fleet index agents feed (docs/api.md): whether the hub keeps one, and the bounds it holds
   * agents and callers to.
   */
  public record Index(boolean enabled, int maxBatchObjects, int maxKindsPerCluster, int maxQueuedBatches,
                      int maxPageSize) {
  }

  /** The propagation controller's timing (docs/propagation.md). */
  public record Propagation(Duration resyncInterval, Duration driftInterval, Duration leaseTtl) {
  }

  /** Live resource streams (docs/streams.md): history kept for resuming, and the bounds of each socket. */
  public record Streams(Duration history, int historyMaxChanges, int maxReplay, int bufferEvents,
                        int handoffChanges, int nodeQueue, int maxSubscriptions, Duration ticketLifetime, Duration bookmarkInterval,
                        Duration recheckInterval, Duration credentialCheckInterval) {
  }

  /** The CEL policy engine's bounds (docs/policies.md). */
  public record Policies(int costLimit, int maxExpressionChars, int maxPolicies) {
  }

  /** Notification delivery (docs/notifications.md): the outbox dispatcher's pace, retries and limits. */
  public record Notifications(boolean enabled, Duration pollInterval, int batchSize, int maxAttempts,
                              Duration initialBackoff, Duration maxBackoff, Duration requestTimeout, Duration lease,
                              Duration dedupWindow, int ratePerMinute, Duration retention, Duration disconnectGrace) {
  }

  /** Where plugin jars are loaded from at start (docs/plugins.md). */
  public record PluginSettings(Path dir) {
  }

  /**
   * A member cluster declared in the configuration (upserted into the registry at start). With
   * {@code kubeconfig} the hub serves it directly; otherwise an agent connects with the join token
   * whose SHA-256 is {@code tokenSha256}.
   */
  public record ClusterEntry(String name, String displayName, String tokenSha256, Path kubeconfig,
                             String kubeContext, boolean enabled, Map<String, String> labels) {
    public boolean direct() {
      return kubeconfig != null;
    }
  }

  /** Where the project publishes the agent image; tagged with the release. */
  public static final String AGENT_IMAGE_REPOSITORY = "ghcr.io/kmc-project/kmc-agent";

  /** The configured agent image, or the one of this hub's release. */
  static String agentImage(String configured) {
    return configured != null ? configured : AGENT_IMAGE_REPOSITORY + ":" + KmcVersion.current();
  }

  public static HubConfig read(ConfigReader c) {
    Path dataDir = Path.of(c.string("data.dir", "./kmc-data",
        "Directory for the hub's own files: the embedded database and the generated TLS certificate."));
    Server server = readServer(c);
    Management management = new Management(
        c.bool("metrics.enabled", true,
            "Serve /metrics, /healthz and /ready on a port of their own (the management port), apart from the API."),
        c.string("metrics.host", "0.0.0.0", "Address the management port listens on."),
        c.integer("metrics.port", 9090, 0, 65535, "The management port (0 picks a free one)."),
        c.duration("metrics.resource_count_interval", Duration.ofMinutes(1), Duration.ofSeconds(1),
            Duration.ofDays(1), "How often the node holding an agent refreshes kmc_cluster_resources (objects per "
                + "indexed kind) from the fleet index; nothing is asked of the cluster."),
        c.bool("metrics.per_cluster_detail", false, "Label the latencies (kmc_tunnel_requests_seconds, the "
            + "index batch timer, and kmc_tunnel_latency_seconds, the last heartbeat's round trip), "
            + "kmc_agent_disconnects_total, kmc_index_objects_written_total and kmc_cluster_resources with the "
            + "cluster. Off, one series set serves the whole node (resource counts one per kind) and a cluster has "
            + "only up, last seen and its connect counter: a percentile histogram per cluster is ~70 series (30 MB "
            + "of /metrics at 5,000 clusters), and every per-cluster series ~60 bytes per scrape."));
    LogSettings log = LogSettings.read(c, "json");
    Clustering cluster = readClustering(c);
    Tunnel tunnel = readTunnel(c, server);
    Database database = readDatabase(c);
    Redis redis = new Redis(
        c.string("redis.url", null, "Redis URL (redis://host:6379/0, rediss:// for TLS); unset: an in-process store."),
        c.secret("redis.password", null, "Redis password, if not in the URL."),
        c.string("redis.key_prefix", "kmc:", "Prefix of every key the hub writes."),
        c.duration("redis.admission_sync", Duration.ofMillis(100), Duration.ZERO, Duration.ofSeconds(10),
            "How often a node adds its request counts (rate limits) to Redis and reads again the revocation marks "
                + "in use; between, requests are admitted without a Redis round trip. Revocations reach every node "
                + "at once regardless. 0: one Redis round trip per request."));
    Auth auth = readAuth(c);
    Rbac rbac = new Rbac(
        path(c.string("rbac.model_file", null, "casbin model file; the built-in config/rbac-model.conf if unset.")),
        path(c.string("rbac.policies_file", null,
            "Policies loaded into an empty database at first start; the built-in config/rbac-policies.csv if unset.")),
        c.bool("rbac.impersonate", false,
            "Default for new clusters: the agent impersonates the hub user so member-cluster RBAC applies too."));
    Audit audit = new Audit(
        c.duration("audit.retention", Duration.ofDays(90), Duration.ofHours(1), Duration.ofDays(3650),
            "How long audit records are kept."),
        c.duration("audit.flush_interval", Duration.ofSeconds(1), Duration.ofMillis(10), Duration.ofMinutes(1),
            "Audit records are written in batches at least this often."),
        c.integer("audit.batch_size", 500, 1, 10_000, "Most audit records written in one batch."),
        c.integer("audit.queue_size", 100_000, 100, 10_000_000,
            "Audit records waiting to be written; beyond this the oldest are dropped and counted."),
        c.bool("audit.record_sessions", false, "Record the input and output of exec and attach sessions through the "
            + "hub (asciicast v2, GET /api/v1/audit/sessions/{id}); what users type at a prompt is recorded too."),
        c.bytes("audit.session_max_bytes", 1024 * 1024, 1024, 256 * 1024 * 1024,
            "Most bytes recorded of one session; what comes after is left out and the recording marked truncated."));
    List<ClusterEntry> clusters = readClusters(c);
    Policies policies = new Policies(
        c.integer("policy.cost_limit", 100_000, 100, 100_000_000, "Most CEL expression nodes one policy expression "
            + "may evaluate for one object (a loop's body counts on every turn); past it the evaluation stops and "
            + "counts as the policy's failure."),
        c.integer("policy.max_expression_chars", 4096, 64, 65_536, "Longest CEL expression or message expression "
            + "a policy may hold."),
        c.integer("policy.max_policies", 500, 1, 100_000, "Most policies the hub holds."));
    Notifications notifications = readNotifications(c);
    PluginSettings plugins = new PluginSettings(Path.of(c.string("plugins.dir", "plugins", "Directory of plugin jars "
        + "loaded at start (notification channel types, policy functions); a missing directory means no plugins.")));
    Index index = new Index(
        c.bool("index.enabled", true, "Keep the fleet index that agents feed (search, aggregated lists, the "
            + "fleet view for kubectl, kmc_cluster_resources); agents are told in welcome."),
        c.integer("index.max_batch_objects", 5_000, 1, 100_000, "Most objects (upserts and deletes) in one index "
            + "batch from an agent; a larger batch is refused."),
        c.integer("index.max_kinds_per_cluster", 500, 1, 100_000, "Most kinds one cluster's agent may index; "
            + "batches of further kinds are refused."),
        c.integer("index.max_queued_batches", 64, 1, 10_000, "Index batches of one agent waiting to be written; "
            + "beyond, batches are refused (the agent sends them again after a relist)."),
        c.integer("index.max_page_size", 1_000, 10, 100_000, "Largest page a search or fleet list answers."));
    Propagation propagation = new Propagation(
        c.duration("propagation.resync_interval", Duration.ofSeconds(10), Duration.ofMillis(100), Duration.ofHours(1),
            "How often the propagation controller goes over every propagation even when nothing announced a change "
                + "(it also reacts at once to writes, cluster changes and agents connecting)."),
        c.duration("propagation.drift_interval", Duration.ofMinutes(1), Duration.ofMillis(100), Duration.ofDays(1),
            "How often the controller reads the applied objects back and compares the fields kmc applied "
                + "(drift detection)."),
        c.duration("propagation.lease_ttl", Duration.ofSeconds(6), Duration.ofSeconds(1), Duration.ofMinutes(5),
            "How long the controller lease lasts unrenewed (renewed every third of it): another hub node takes "
                + "over at most about this long after the controller's node dies."));
    Streams streams = new Streams(
        c.duration("stream.history", Duration.ofMinutes(15), Duration.ofSeconds(10), Duration.ofDays(7),
            "How long the hub keeps each change of the index for stream clients that resume; a client "
            + "resuming from further back gets that cluster's current state again (a per-cluster restart)."),
        c.integer("stream.history_max_changes", 100_000, 100, 100_000_000, "Most changes of one cluster kept "
            + "for resuming, whatever their age."),
        c.integer("stream.max_replay", 10_000, 10, 1_000_000, "Most missed changes of one kind of one cluster "
            + "sent to a resuming subscription; beyond, that cluster restarts from its current state."),
        c.integer("stream.buffer_events", 1_000, 10, 1_000_000, "Messages one stream socket may have waiting "
            + "for a slow client; beyond, the socket is closed as too slow, with its resume tokens."),
        c.integer("stream.handoff_changes", 10_000, 100, 10_000_000, "Changes a hub node may have handed to one "
            + "stream socket that the socket's event loop has not taken yet (a busy or stuck loop, a burst); beyond, "
            + "the socket is closed as too slow, with its resume tokens, like one past stream.buffer_events."),
        c.integer("stream.node_queue", 1_000, 10, 1_000_000, "Publications of cluster changes that one hub node "
            + "may have received from the event bus and not yet handed to its stream sockets; beyond, further ones "
            + "are dropped (and logged) and each subscription fills the gap from the change log when the next "
            + "change of that cluster arrives."),
        c.integer("stream.max_subscriptions", 64, 1, 10_000, "Most subscriptions open on one stream socket."),
        c.duration("stream.ticket_lifetime", Duration.ofSeconds(30), Duration.ofSeconds(1), Duration.ofMinutes(10),
            "How long a stream ticket (POST /api/v1/stream/tickets) may wait to be used, once."),
        c.duration("stream.bookmark_interval", Duration.ofSeconds(30), Duration.ofMillis(100), Duration.ofHours(1),
            "How often each subscription gets a BOOKMARK with its resume token when nothing else happens."),
        c.duration("stream.recheck_interval", Duration.ofSeconds(1), Duration.ofMillis(100), Duration.ofMinutes(5),
            "How often each node re-evaluates its subscriptions: clusters that start or stop matching a "
            + "cluster selector, a user's changed permissions, clusters that went stale."),
        c.duration("stream.credential_check_interval", Duration.ofSeconds(30), Duration.ofMillis(100),
            Duration.ofHours(1), "How often each stream socket checks that the token or session it was opened "
            + "with has not been revoked since; a revoked one closes the socket (4001)."));

    if (cluster.enabled() && database.embedded()) {
      c.problem("database.host", "is required when cluster.enabled is true: every hub node must share one database");
    }
    if (cluster.enabled() && !redis.configured()) {
      c.problem("redis.url", "is required when cluster.enabled is true: token revocations and rate limits "
          + "must be shared by every hub node");
    }
    return new HubConfig(dataDir, server, management, log, cluster, tunnel, database, redis, auth, rbac, audit,
        clusters, policies, notifications, plugins, index, propagation, streams);
  }

  private static Notifications readNotifications(ConfigReader c) {
    Notifications n = new Notifications(
        c.bool("notifications.enabled", true, "Send notifications: this node records events in the outbox and "
            + "delivers what is due. Off: events are dropped and nothing is sent from this node."),
        c.duration("notifications.poll_interval", Duration.ofSeconds(1), Duration.ofMillis(10), Duration.ofMinutes(5),
            "How often each node looks for due deliveries in the outbox (a new event is sent at once by its node)."),
        c.integer("notifications.batch_size", 50, 1, 10_000, "Most deliveries one node sends at the same time."),
        c.integer("notifications.max_attempts", 8, 1, 1000, "Attempts before a delivery is dead-lettered "
            + "(a channel's maxAttempts overrides it)."),
        c.duration("notifications.initial_backoff", Duration.ofSeconds(5), Duration.ofMillis(10), Duration.ofHours(1),
            "Wait before the second attempt; doubled after each failure (with some jitter)."),
        c.duration("notifications.max_backoff", Duration.ofMinutes(10), Duration.ofMillis(10), Duration.ofDays(1),
            "Longest wait between two attempts."),
        c.duration("notifications.request_timeout", Duration.ofSeconds(10), Duration.ofMillis(100),
            Duration.ofMinutes(5), "Time a receiver (webhook, Slack, SMTP server) has to accept a delivery."),
        c.duration("notifications.lease", Duration.ofMinutes(1), Duration.ofSeconds(1), Duration.ofHours(1),
            "How long a claimed delivery belongs to its node; after that (the node died mid-send) another node "
                + "takes it. Must exceed notifications.request_timeout."),
        c.duration("notifications.dedup_window", Duration.ofMinutes(5), Duration.ZERO, Duration.ofDays(1),
            "Repeats of a flapping event (same type, cluster and subject) within this window are dropped; 0 keeps all."),
        c.integer("notifications.rate_per_minute", 60, 1, 1_000_000, "Deliveries per minute to one channel, across "
            + "all hub nodes (a channel's rateLimitPerMinute overrides it); more wait for the next minute."),
        c.duration("notifications.retention", Duration.ofDays(7), Duration.ofMinutes(1), Duration.ofDays(3650),
            "How long delivered and dead deliveries stay in the outbox (and GET /api/v1/notifications/deliveries)."),
        c.duration("notifications.disconnect_grace", Duration.ofSeconds(10), Duration.ZERO, Duration.ofHours(1),
            "A cluster must stay without an agent this long before cluster.disconnected is sent (an agent moving "
                + "to another hub node is no disconnection)."));
    if (n.lease().compareTo(n.requestTimeout()) <= 0) {
      c.problem("notifications.lease", "must be longer than notifications.request_timeout");
    }
    return n;
  }

  private static Server readServer(ConfigReader c) {
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
    String engine = c.oneOf("server.tls.engine", "openssl",
        "TLS implementation: openssl (BoringSSL, bundled for Linux x86_64; several times cheaper per handshake, "
            + "so a reconnect storm is absorbed faster) where it loads, else the JDK's, logged at start; jdk: always the JDK's.",
        "openssl", "jdk");
    int maxHandshakes = c.integer("server.tls.max_concurrent_handshakes", 128, 0, 1_000_000,
        "TLS handshakes a node runs at once; further connections wait, accepted but unread, in arrival order "
            + "(their wait counts toward the 10 s handshake timeout). Keeps a reconnect storm from making every "
            + "handshake too slow to finish. 0: no limit.");
    Tls tls = new Tls(tlsMode, path(certFile), path(keyFile), path(caFile), tlsHosts, engine, maxHandshakes);
    return new Server(
        c.string("server.host", "0.0.0.0", "Address the API, pass-through and agent endpoint listen on."),
        c.integer("server.port", 8080, 0, 65535, "Port of the API, pass-through and agent endpoint (0 picks a free one)."),
        c.string("server.public_url", null,
            "URL users and agents reach the hub at (put in kubeconfigs and agent manifests); derived from the request if unset."),
        c.bytes("server.max_body_bytes", Limits.DEFAULT_MAX_BODY_BYTES, 1024, 64 * 1024 * 1024,
            "Largest request body accepted (the kube-apiserver's own limit is 3MiB)."),
        tls,
        agentImage(c.string("server.agent_image", null, "Container image put into the agent manifests the hub "
            + "serves; unset: " + AGENT_IMAGE_REPOSITORY + ":VERSION, VERSION being the hub's own (the agent of its release).")),
        c.duration("server.shutdown_grace", Duration.ofSeconds(30), Duration.ZERO, Duration.ofMinutes(30),
            "On SIGTERM: time given to agents to move and to requests in flight to finish before the node exits."),
        c.bool("server.access_log", false, "Log one line per API and pass-through request (logger io.kmc.hub.access) "
            + "with method, route, status, duration, request id, user and cluster."),
        c.bool("server.native_transport", true, "Use Linux epoll for sockets where it is available (Linux x86_64), "
            + "else Java NIO; the hub logs which it uses at start. Off: always Java NIO."));
  }

  private static Clustering readClustering(ConfigReader c) {
    return new Clustering(
        c.bool("cluster.enabled", false, "Join other hub nodes in one Vert.x cluster (Hazelcast)."),
        c.string("cluster.name", "kmc", "Hazelcast cluster name; nodes with other names do not join."),
        c.string("cluster.host", "127.0.0.1", "Interface Hazelcast and the event bus bind to."),
        c.string("cluster.public_host", null, "Address other nodes reach this one at, if not cluster.host."),
        c.integer("cluster.port", 5701, 0, 65535, "Hazelcast member port (0 picks a free one)."),
        c.strings("cluster.members", List.of(), "Hazelcast TCP-IP members (host or host:port) to join."),
        c.bool("cluster.kubernetes.enabled", false, "Find members through the Kubernetes API (headless Service)."),
        c.string("cluster.kubernetes.service_name", "kmc-hub-hazelcast", "Headless Service selecting the hub pods."),
        c.string("cluster.kubernetes.namespace", null, "Namespace of that Service; the pod's own if unset."),
        c.integer("cluster.event_bus_port", 0, 0, 65535, "Event-bus TCP port (0 picks a free one)."),
        c.duration("cluster.member_timeout", Duration.ofSeconds(15), Duration.ofSeconds(3), Duration.ofMinutes(10),
            "Silence after which the other nodes drop a node from the hub cluster (one frozen by a long GC pause "
            + "or SIGSTOP, or cut off): until then, what it holds of the shared maps cannot be written and requests "
            + "routed to it wait. Keep it below tunnel.ping_timeout, so that a frozen node's agents find the "
            + "cluster taking them elsewhere. A node dropped this way rejoins within about 10 s of being heard again."));
  }

  private static Tunnel readTunnel(ConfigReader c, Server server) {
    Limits defaults = Limits.DEFAULTS;
    int maxFrame = c.bytes("tunnel.max_frame_bytes", defaults.maxFrameBytes(), 64 * 1024, 256 * 1024 * 1024,
        "Largest websocket message accepted from an agent; larger ones get a frame-too-large error.");
    int chunk = c.bytes("tunnel.chunk_bytes", defaults.chunkBytes(), 1024, 16 * 1024 * 1024,
        "Bodies larger than this travel from the agent as several data frames.");
    int inFlight = c.integer("tunnel.max_in_flight_requests", defaults.maxInFlightRequests(), 1, 1_000_000,
        "Requests outstanding per agent; more queue for a slot (tunnel.max_queued_requests).");
    int maxQueued = c.integer("tunnel.max_queued_requests", 1024, 0, 1_000_000,
        "Requests that may queue for an in-flight slot on one agent when tunnel.max_in_flight_requests are "
        + "outstanding (a burst, or the requests sent again to an agent's new connection after the old one went "
        + "silent or its node left). Each waits in the order it was accepted, up to its own deadline "
        + "(tunnel.request_timeout from when the hub accepted it; 504 after). Beyond this many, and while the agent "
        + "has sent nothing for 2 s with every slot taken, requests get 503 with Retry-After and the reason. "
        + "0: refuse at once.");
    int streams = c.integer("tunnel.max_open_streams", defaults.maxOpenStreams(), 1, 1_000_000,
        "Streams (watches, followed logs, large bodies) open per agent; more are refused with 429.");
    int credits = c.integer("tunnel.stream_credits", defaults.streamCredits(), 1, 1024,
        "Data frames an agent may send ahead of the reader, per stream.");
    Duration requestTimeout = c.duration("tunnel.request_timeout", Duration.ofMillis(defaults.requestTimeoutMillis()),
        Duration.ofMillis(100), Duration.ofMinutes(30), "Time an agent has to answer (504 after).");
    Duration pingInterval = c.duration("tunnel.ping_interval", Duration.ofMillis(defaults.pingIntervalMillis()),
        Duration.ofMillis(50), Duration.ofMinutes(10), "How long a connection may be idle before hub or agent pings it (a connection carrying "
        + "anything is not pinged). Each ping costs the hub a little CPU per agent: longer holds more idle agents per core.");
    Duration pingTimeout = c.duration("tunnel.ping_timeout", Duration.ofMillis(defaults.pingTimeoutMillis()),
        Duration.ofMillis(100), Duration.ofMinutes(30), "Silence after which either side drops the connection (a half-open socket, "
        + "e.g. a flow a load balancer forgot): requests in flight on it go again to the agent's next session. "
        + "Keep it at least 1.5 times tunnel.ping_interval: a ping's answer must arrive within the difference.");
    Duration helloTimeout = c.duration("tunnel.hello_timeout", Duration.ofSeconds(10), Duration.ofMillis(100),
        Duration.ofMinutes(5), "Time an agent has to send hello after the websocket opens.");
    int admissionRate = c.integer("tunnel.admission_rate", 200, 0, 1_000_000, "New agent connections a node "
        + "takes per second (bursts up to this many at once); the rest are answered 503 with a Retry-After that "
        + "spreads them out, so that a reconnect storm does not take the node down. 0: no limit.");
    Limits limits = null;
    try {
      limits = new Limits(maxFrame, server.maxBodyBytes(), chunk, inFlight, streams, credits,
          requestTimeout.toMillis(), pingInterval.toMillis(), pingTimeout.toMillis());
    } catch (IllegalArgumentException e) {
      c.problem("tunnel", e.getMessage());
    }
    return new Tunnel(limits, helloTimeout, admissionRate, maxQueued);
  }

  private static Database readDatabase(ConfigReader c) {
    return new Database(
        c.string("database.host", null, "PostgreSQL host; unset: an embedded PostgreSQL under data.dir/postgres."),
        c.integer("database.port", 5432, 1, 65535, "PostgreSQL port."),
        c.string("database.name", "kmc", "Database name."),
        c.string("database.user", "kmc", "Database user."),
        c.secret("database.password", null, "Database password."),
        c.integer("database.pool_size", 8, 1, 1000, "Connections per hub node."),
        c.integer("database.max_waiting_queries", 10_000, 1, 1_000_000, "Queries that may wait for one of the "
            + "node's connections; one more fails at once with 503. A query waits as long as it must (no acquisition "
            + "timeout: vertx-sql-client 5.0.7 loses a connection whose waiter timed out just as it was handed over)."),
        c.oneOf("database.ssl_mode", "disable",
            "TLS to PostgreSQL: require encrypts without checking the server; verify-full also checks its certificate "
                + "and host name.", "disable", "require", "verify-full"),
        path(c.string("database.ca_file", null, "PEM CA the database's certificate must chain to (verify-full); "
            + "the JVM's trust store if unset.")),
        c.integer("database.embedded.port", 0, 0, 65535, "Port of the embedded PostgreSQL (0 picks a free one)."));
  }

  private static Auth readAuth(ConfigReader c) {
    Duration access = c.duration("auth.access_token_lifetime", Duration.ofMinutes(15), Duration.ofMinutes(1),
        Duration.ofDays(1), "Lifetime of the access tokens (JWT) login and refresh hand out.");
    Duration refresh = c.duration("auth.refresh_token_lifetime", Duration.ofHours(12), Duration.ofMinutes(5),
        Duration.ofDays(90), "Lifetime of a login session; refreshing does not extend it.");
    Oidc oidc = new Oidc(
        c.string("auth.oidc.issuer", null, "Issuer (iss) of the external OIDC tokens accepted."),
        c.string("auth.oidc.audience", null, "Audience (aud) those tokens must carry."),
        c.string("auth.oidc.jwks_url", null, "JWKS URL of that issuer; setting it turns OIDC on."),
        c.string("auth.oidc.username_claim", "preferred_username", "Claim holding the user name."),
        c.string("auth.oidc.groups_claim", "groups", "Claim holding the user's groups."),
        c.duration("auth.oidc.jwks_refresh", Duration.ofMinutes(10), Duration.ofSeconds(10), Duration.ofDays(1),
            "How often the JWKS is fetched again (key rotation)."),
        c.string("auth.oidc.client_id", null, "Public OAuth client of that issuer with which kmc login signs users in "
            + "(device flow); unset: kmc login asks for a password."));
    if (oidc.enabled() && (oidc.issuer() == null || oidc.audience() == null)) {
      c.problem("auth.oidc", "jwks_url needs issuer and audience too");
    }
    String adminPassword = c.secret("auth.admin_password", null,
        "Password of the first admin at first start (or KMC_ADMIN_PASSWORD); generated into data.dir if neither is set.");
    return new Auth(adminPassword,
        c.string("auth.issuer", "kmc", "Issuer (iss) of the hub's own tokens."),
        c.string("auth.audience", "kmc", "Audience (aud) of the hub's own tokens."),
        access, refresh,
        c.duration("auth.api_token_max_lifetime", Duration.ofDays(365), Duration.ofMinutes(1), Duration.ofDays(3650),
            "Longest lifetime an API token may be given."),
        c.duration("auth.kubeconfig_token_lifetime", Duration.ofDays(30), Duration.ofMinutes(5), Duration.ofDays(3650),
            "Lifetime of the API token put into a kubeconfig the hub hands out."),
        path(c.string("auth.signing_key_file", null,
            "PEM EC P-256 private key signing the hub's tokens; unset: generated once and kept in the database.")),
        c.integer("auth.login_attempts", 5, 1, 1000, "Failed logins per user (and per source address) within auth.login_window before 429."),
        c.duration("auth.login_window", Duration.ofMinutes(15), Duration.ofSeconds(1), Duration.ofDays(1),
            "Window of auth.login_attempts."),
        c.integer("auth.requests_per_minute", 1200, 1, 10_000_000, "Requests per minute per user or API token before 429."),
        oidc,
        c.duration("auth.install_link_lifetime", Duration.ofHours(1), Duration.ofMinutes(1), Duration.ofDays(7),
            "How long the single-use link in an install command works (it serves the agent manifest with the "
                + "join token, without a bearer token)."));
  }

  private static List<ClusterEntry> readClusters(ConfigReader c) {
    List<ClusterEntry> clusters = new ArrayList<>();
    Set<String> names = new HashSet<>();
    for (ConfigReader e : c.sections("clusters", "Member clusters upserted into the registry at start.")) {
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
          hash == null ? null : hash.toLowerCase(Locale.ROOT), path(kubeconfig), context, enabled, labels));
    }
    return List.copyOf(clusters);
  }

  private static Path path(String value) {
    return value == null ? null : Path.of(value);
  }

  private static boolean isSha256Hex(String text) {
    return text.matches("[0-9a-fA-F]{64}");
  }
}
