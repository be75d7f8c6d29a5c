package io.kmc.hub.api;

import io.kmc.common.ClusterNames;
import io.kmc.common.KmcException;
import io.kmc.hub.auth.Authenticator;
import io.kmc.hub.auth.Principal;
import io.kmc.hub.auth.TokenService;
import io.kmc.hub.notify.Event;
import io.kmc.hub.notify.EventType;
import io.kmc.hub.notify.Notifier;
import io.kmc.hub.rbac.Authorizer;
import io.kmc.hub.routing.Presence;
import io.kmc.hub.store.ClusterRecord;
import io.kmc.hub.store.ClusterRegistry;
import io.kmc.hub.store.InstallLinks;
import io.kmc.hub.store.TokenHashes;
import io.kmc.ops.Texts;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;

/**
 * {@code /api/v1/clusters}: the cluster registry (register, change, rotate the join token,
 * disable, delete), each cluster with its live connection state, a kubeconfig that reaches it
 * through the hub, and the manifest that installs its agent.
 */
public final class ClustersApi {

  /** The kubeconfig context of the fleet view. */
  public static final String FLEET_CONTEXT = "fleet";

  /** Where install links live: outside /api, since they are used without a bearer token. */
  public static final String INSTALL_PATH = "/install/";

  /** Header carrying the join token to embed in an agent manifest (never put in a URL). */
  public static final String JOIN_TOKEN_HEADER = "X-Kmc-Join-Token";

  private final ClusterRegistry registry;
  private final Presence presence;
  private final Authorizer authorizer;
  private final TokenService tokens;
  private final long pingTimeoutMillis;
  private final String publicUrl;
  private final String caData;
  private final Duration kubeconfigTokenLifetime;
  private final AgentManifest manifests;
  private final boolean impersonateByDefault;
  private final Install install;
  private final Notifier notifier;

  /**
   * How install commands are made: the links that serve manifests, how long they work, and the
   * hub's public-key pin for curl: set when clients cannot trust the hub's certificate through the
   * system's CAs (self-signed, or a private CA); null when they can (a public certificate, or TLS
   * ending at a proxy in front).
   */
  public record Install(InstallLinks links, Duration lifetime, String publicKeyPin) {
  }

  public ClustersApi(ClusterRegistry registry, Presence presence, Authorizer authorizer, TokenService tokens,
                     long pingTimeoutMillis, String publicUrl, String caPem, Duration kubeconfigTokenLifetime,
                     AgentManifest manifests, boolean impersonateByDefault, Install install, Notifier notifier) {
    this.registry = registry;
    this.presence = presence;
    this.authorizer = authorizer;
    this.tokens = tokens;
    this.pingTimeoutMillis = pingTimeoutMillis;
    this.publicUrl = publicUrl;
    this.caData = caPem == null ? null : Base64.getEncoder().encodeToString(
        caPem.getBytes(StandardCharsets.US_ASCII));
    this.kubeconfigTokenLifetime = kubeconfigTokenLifetime;
    this.manifests = manifests;
    this.impersonateByDefault = impersonateByDefault;
    this.install = install;
    this.notifier = notifier;
  }

  /** Most clusters one page of {@code GET /api/v1/clusters} holds. */
  static final int MAX_PAGE = 5_000;

  /**
   * The clusters the caller has a role in (all of them for admins), by name. With {@code limit} at
   * most that many, and a {@code continue} token in the answer when there are more, to pass back for
   * the next page; without {@code limit} all of them, as before paging existed.
   */
  public void list(RoutingContext ctx) {
    Principal principal = Authenticator.principal(ctx);
    boolean all = authorizer.allowed(principal, "clusters", "list");
    int limit = pageLimit(ctx.queryParams().get("limit"));
    String after = continueAfter(ctx.queryParams().get("continue"));
    // Ten thousand clusters are ~5 MB of JSON, ~0.3 s of CPU to build and encode (several seconds on a
    // loaded machine): on a worker, not on the event loop, which also carries agents' tunnels.
    presence.all()
        .compose(entries -> ctx.vertx().executeBlocking(() -> page(principal, all, limit, after, entries), false))
        .onSuccess(page -> Bodies.json(ctx, page))
        .onFailure(ctx::fail);
  }

  /** One page of the cluster list as JSON bytes. */
  private Buffer page(Principal principal, boolean all, int limit, String after, Map<String, Presence.Entry> entries) {
    long now = System.currentTimeMillis();
    JsonArray items = new JsonArray();
    String last = null;
    boolean more = false;
    for (ClusterRecord cluster : registry.list()) {
      if (after != null && cluster.name().compareTo(after) <= 0
          || !all && !authorizer.canSeeCluster(principal, cluster.name())) {
        continue;
      }
      if (items.size() == limit) {
        more = true;
        break;
      }
      items.add(describe(cluster, entries.get(cluster.name()), now));
      last = cluster.name();
    }
    JsonObject answer = new JsonObject().put("items", items);
    if (more) {
      answer.put("continue", Base64.getUrlEncoder().withoutPadding()
          .encodeToString(last.getBytes(StandardCharsets.UTF_8)));
    }
    return answer.toBuffer();
  }

  private static int pageLimit(String limit) {
    if (limit == null) {
      return Integer.MAX_VALUE;
    }
    try {
      int value = Integer.parseInt(limit.trim());
      if (value >= 1 && value <= MAX_PAGE) {
        return value;
      }
    } catch (NumberFormatException e) {
      // answered below
    }
    throw KmcException.badRequest("limit must be a whole number from 1 to " + MAX_PAGE + ", was '"
        + Texts.forLog(limit) + "'");
  }

  /** The name the previous page ended with, from its continue token; null for the first page. */
  private static String continueAfter(String token) {
    if (token == null || token.isEmpty()) {
      return null;
    }
    try {
      String name = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
      if (ClusterNames.valid(name)) {
        return name;
      }
    } catch (IllegalArgumentException e) {
      // answered below
    }
    throw KmcException.badRequest("continue must be the token of a previous page's answer");
  }

  public void get(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    found(name)
        .compose(cluster -> presence.get(name).map(entry -> describe(cluster, entry, System.currentTimeMillis())))
        .onSuccess(body -> Bodies.json(ctx, body))
        .onFailure(ctx::fail);
  }

  /**
   * {@code POST} {@code {"name", "displayName"?, "description"?, "labels"?, "enabled"?, "impersonate"?,
   * "access"?}}: registers a cluster; the answer holds its join token (shown this once), the agent's
   * access level, and an install command that works once, pasted as it is.
   */
  public void create(RoutingContext ctx) {
    JsonObject body = Bodies.object(ctx);
    String name = Bodies.string(body, "name", true);
    Map<String, String> labels = Bodies.labels(body, "labels");
    Boolean enabled = Bodies.bool(body, "enabled");
    Boolean impersonate = Bodies.bool(body, "impersonate");
    AgentManifest.Access access = AgentManifest.Access.parse(Bodies.string(body, "access", false),
        impersonate == null ? impersonateByDefault : impersonate);
    if (impersonate != null && impersonate != (access == AgentManifest.Access.IMPERSONATE)) {
      throw KmcException.badRequest("impersonate: " + impersonate + " needs access "
          + (impersonate ? "impersonate" : "read or manage") + ", not " + access.label());
    }
    String user = Authenticator.principal(ctx).user();
    registry.create(name, Bodies.string(body, "displayName", false, 256), Bodies.string(body, "description", false),
            labels == null ? Map.of() : labels, enabled == null || enabled, access == AgentManifest.Access.IMPERSONATE)
        .compose(created -> withInstall(ctx, name, created.token(), access, user,
            describe(created.cluster(), null, System.currentTimeMillis()).put("token", created.token())))
        .onSuccess(answer -> Bodies.json(ctx, 201, answer))
        .onFailure(ctx::fail);
  }

  /** {@code PATCH} with any of displayName, description, labels, enabled, impersonate. */
  public void update(RoutingContext ctx) {
    JsonObject body = Bodies.object(ctx);
    ClusterRegistry.Changes changes = new ClusterRegistry.Changes(Bodies.string(body, "displayName", false, 256),
        Bodies.string(body, "description", false), Bodies.labels(body, "labels"), Bodies.bool(body, "enabled"),
        Bodies.bool(body, "impersonate"));
    registry.update(ctx.pathParam("name"), changes)
        .onSuccess(cluster -> Bodies.json(ctx, describe(cluster, null, System.currentTimeMillis())))
        .onFailure(ctx::fail);
  }

  public void delete(RoutingContext ctx) {
    registry.delete(ctx.pathParam("name")).onSuccess(v -> Bodies.noContent(ctx)).onFailure(ctx::fail);
  }

  /**
   * {@code POST /api/v1/clusters/{name}/token} ({@code ?access=} optional): a new join token and a new
   * install command; agents using the old token are dropped, older install links stop working.
   */
  public void rotateToken(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    String requested = ctx.queryParams().get("access");
    String user = Authenticator.principal(ctx).user();
    found(name)
        .compose(cluster -> {
          AgentManifest.Access access = AgentManifest.Access.parse(requested, cluster.impersonate());
          return registry.rotateToken(name).compose(token -> {
            notifier.emit(Event.of(EventType.TOKEN_ROTATED, name, null, "the join token of cluster " + name
                + " was rotated by " + user + "; its agent must use the new one", new JsonObject().put("by", user)));
            return withInstall(ctx, name, token, access, user, new JsonObject().put("name", name).put("token", token));
          });
        })
        .onSuccess(answer -> Bodies.json(ctx, answer))
        .onFailure(ctx::fail);
  }

  /**
   * {@code GET /install/{secret}}, without a bearer token: the agent manifest of an install link,
   * join token included, served once (by any hub node) while the link lasts.
   */
  public void install(RoutingContext ctx) {
    install.links().redeem(ctx.pathParam("secret"))
        .compose(link -> found(link.cluster()).map(cluster -> manifests.render(cluster.name(), baseUrl(ctx),
            link.joinToken(), AgentManifest.Access.parse(link.access(), cluster.impersonate()))))
        .onSuccess(yaml -> ctx.response()
            .putHeader(HttpHeaders.CONTENT_TYPE, "application/yaml")
            .putHeader(HttpHeaders.CACHE_CONTROL, "no-store")
            .end(yaml))
        .onFailure(ctx::fail);
  }

  /**
   * {@code GET /api/v1/clusters/{name}/agent.yaml}: the agent's install manifest. With the join token
   * in the {@value #JOIN_TOKEN_HEADER} header (checked against the stored hash) the Secret carries
   * it, so that {@code kubectl apply -f} of the answer is the whole install.
   */
  public void agentManifest(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    String token = ctx.request().getHeader(JOIN_TOKEN_HEADER);
    String access = ctx.queryParams().get("access");
    found(name).onSuccess(cluster -> {
      if (cluster.direct()) {
        throw KmcException.badRequest("cluster '" + name + "' is served directly by the hub and needs no agent");
      }
      if (token != null && !TokenHashes.matches(TokenHashes.sha256(token), cluster.tokenSha256())) {
        throw KmcException.badRequest("the " + JOIN_TOKEN_HEADER + " header is not the join token of cluster '"
            + name + "'");
      }
      AgentManifest.Access level = AgentManifest.Access.parse(access, cluster.impersonate());
      ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/yaml")
          .end(manifests.render(cluster.name(), baseUrl(ctx), token, level));
    }).onFailure(ctx::fail);
  }

  /**
   * A kubeconfig whose single context reaches the cluster through this hub, with a new API token of
   * the caller (named after the cluster, revocable like any other).
   */
  public void kubeconfig(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    Principal principal = Authenticator.principal(ctx);
    found(name)
        .compose(cluster -> tokens.createApiToken(principal.user(), "kubeconfig " + name + " " + Instant.now(),
            kubeconfigTokenLifetime))
        .onSuccess(created -> {
          String server = baseUrl(ctx) + KubePassthrough.PREFIX + name;
          Map<String, String> servers = new java.util.LinkedHashMap<>();
          servers.put(name, server);
          if (!name.equals(FLEET_CONTEXT)) {
            // Every cluster the user may see, read-only, from the fleet index (docs/api.md).
            servers.put(FLEET_CONTEXT, baseUrl(ctx) + FleetView.PREFIX);
          }
          String yaml = Kubeconfigs.render(servers, "kmc-" + principal.user(), created.secret(), name,
              caData);
          ctx.response()
              .putHeader(HttpHeaders.CONTENT_TYPE, "application/yaml")
              .putHeader("Content-Disposition", "attachment; filename=\"" + name + ".kubeconfig\"")
              .end(yaml);
        })
        .onFailure(ctx::fail);
  }

  /**
   * Adds to {@code answer} the agent's access level and an install command that works pasted as it
   * is where only curl and kubectl are: a single-use link (no bearer token needed) fetched with the
   * hub's public key pinned when its certificate is self-signed, piped to {@code kubectl apply}.
   */
  private Future<JsonObject> withInstall(RoutingContext ctx, String cluster, String joinToken,
                                         AgentManifest.Access access, String user, JsonObject answer) {
    return install.links().issue(cluster, access.label(), joinToken, install.lifetime(), user).map(link -> {
      String url = baseUrl(ctx) + INSTALL_PATH + link.secret();
      // The pin replaces the certificate check that -k turns off: curl still refuses any other key.
      String fetch = install.publicKeyPin() != null && url.startsWith("https:")
          ? "curl -fsSk --pinnedpubkey '" + install.publicKeyPin() + "' '" + url + "'"
          : "curl -fsS '" + url + "'";
      return answer.put("access", access.label())
          .put("installCommand", fetch + " | kubectl apply -f -")
          .put("installUrl", url)
          .put("installExpiresAt", link.expiresAt().toInstant().toString())
          .put("hubUrl", baseUrl(ctx));
    });
  }

  private Future<ClusterRecord> found(String name) {
    return registry.find(name).compose(cluster -> cluster == null
        ? Future.failedFuture(ClusterRegistry.notFound(name))
        : Future.succeededFuture(cluster));
  }

  private String baseUrl(RoutingContext ctx) {
    return baseUrl(ctx, publicUrl);
  }

  /** The URL users reach the hub at: {@code server.public_url}, else what the request was sent to. */
  static String baseUrl(RoutingContext ctx, String publicUrl) {
    if (publicUrl != null) {
      return publicUrl.endsWith("/") ? publicUrl.substring(0, publicUrl.length() - 1) : publicUrl;
    }
    String host = ctx.request().authority() == null ? "localhost" : ctx.request().authority().toString();
    return ctx.request().scheme() + "://" + host;
  }

  private JsonObject describe(ClusterRecord cluster, Presence.Entry entry, long now) {
    boolean live = presence.live(entry, pingTimeoutMillis, now);
    JsonObject connection = new JsonObject().put("connected", live);
    if (entry != null) {
      connection.put("node", entry.node())
          .put("mode", entry.mode())
          .put("connectedSince", Instant.ofEpochMilli(entry.connectedAt()).toString())
          .put("lastSeen", Instant.ofEpochMilli(entry.lastSeen()).toString())
          .put("agentVersion", entry.agentVersion())
          .put("kubernetesVersion", entry.kubernetesVersion())
          .put("protocolVersion", entry.protocolVersion())
          .put("latencyMillis", entry.latencyMillis() < 0 ? null : entry.latencyMillis());
    }
    return new JsonObject()
        .put("name", cluster.name())
        .put("displayName", cluster.displayName())
        .put("description", cluster.description())
        .put("mode", cluster.direct() ? "direct" : "agent")
        .put("enabled", cluster.enabled())
        .put("impersonate", cluster.impersonate())
        .put("labels", ClusterRegistry.labelsJson(cluster.labels()))
        .put("createdAt", cluster.createdAt().toInstant().toString())
        .put("updatedAt", cluster.updatedAt().toInstant().toString())
        .put("connection", connection);
  }
}
