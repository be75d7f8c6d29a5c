package io.kmc.kubesim;

import io.kmc.common.KubeQuery;
import io.kmc.kubesim.container.Container;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetSocket;
import io.vertx.ext.web.RoutingContext;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pods' streaming subresources, {@code exec}, {@code attach} and {@code portforward}: checks the
 * request as the apiserver does (pod, container, command, streams), then upgrades the connection to
 * whichever protocol the client speaks:
 *
 * <ul>
 *   <li>websocket with the channel subprotocols ({@code v5.channel.k8s.io} down to {@code channel.k8s.io},
 *       binary or base64): exec and attach from kubectl 1.30 on, browsers, client libraries;
 *       port-forward for clients that speak it directly ({@code v4.channel.k8s.io}, ports from the query);</li>
 *   <li>websocket carrying SPDY ({@code SPDY/3.1+portforward.k8s.io}): port-forward from kubectl 1.31 on;</li>
 *   <li>SPDY/3.1 over the upgraded HTTP connection: everything from older kubectl, and the fallback
 *       current kubectl uses when a websocket upgrade fails.</li>
 * </ul>
 */
final class PodStreaming {

  private static final Logger LOG = LoggerFactory.getLogger(PodStreaming.class);

  static final Set<String> SUBRESOURCES = Set.of("exec", "attach", "portforward");
  static final String SPDY_TUNNEL_PORT_FORWARD = "SPDY/3.1+portforward.k8s.io";
  static final String PORT_FORWARD_PROTOCOL = "portforward.k8s.io";
  private static final String SPDY = "SPDY/3.1";
  private static final String STREAM_PROTOCOL_HEADER = "X-Stream-Protocol-Version";
  /** The remote command protocols served over SPDY, preferred first (v5 is websocket-only). */
  private static final List<String> SPDY_COMMAND_PROTOCOLS =
      List.of("v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io");
  private static final List<ChannelWebSocket.Protocol> COMMAND_WEBSOCKET_PROTOCOLS = List.of(
      ChannelWebSocket.Protocol.V5, ChannelWebSocket.Protocol.V4, ChannelWebSocket.Protocol.V4_BASE64,
      ChannelWebSocket.Protocol.V1, ChannelWebSocket.Protocol.V1_BASE64, ChannelWebSocket.Protocol.NONE);
  private static final List<ChannelWebSocket.Protocol> PORT_FORWARD_WEBSOCKET_PROTOCOLS = List.of(
      ChannelWebSocket.Protocol.V4, ChannelWebSocket.Protocol.V4_BASE64, ChannelWebSocket.Protocol.NONE);

  private final Vertx vertx;
  private final KubeSimOptions options;
  private final Registry registry;
  private final ContainerRuntime runtime;

  PodStreaming(Vertx vertx, KubeSimOptions options, Registry registry, ContainerRuntime runtime) {
    this.vertx = vertx;
    this.options = options;
    this.registry = registry;
    this.runtime = runtime;
  }

  void serve(RoutingContext ctx, ResourceType pods, ApiPath path) {
    HttpMethod method = ctx.request().method();
    if (method != HttpMethod.GET && method != HttpMethod.POST) {
      throw KubeApiException.methodNotAllowed();
    }
    JsonObject pod = registry.get(pods, path.namespace(), path.name());
    if (path.subresource().equals("portforward")) {
      portForward(ctx, pod);
    } else {
      command(ctx, pod, path.subresource().equals("attach"));
    }
  }

  // ---- exec and attach ----

  private void command(RoutingContext ctx, JsonObject pod, boolean attach) {
    MultiMap params = ctx.queryParams();
    String container = container(pod, params.get("container"));
    List<String> command = attach ? List.of() : params.getAll("command");
    if (!attach && command.isEmpty()) {
      throw KubeApiException.badRequest("you must specify at least one command for the container");
    }
    boolean tty = KubeQuery.isTrue(params.get("tty"));
    boolean stdin = KubeQuery.isTrue(params.get("stdin"));
    boolean stdout = KubeQuery.isTrue(params.get("stdout"));
    // With a TTY there is no separate stderr: the kubelet drops it, and so does the sim.
    boolean stderr = KubeQuery.isTrue(params.get("stderr")) && !tty;
    if (!stdin && !stdout && !stderr) {
      throw KubeApiException.badRequest("you must specify at least 1 of stdin, stdout, stderr");
    }
    running(pod, container);
    RemoteCommand.Request request = new RemoteCommand.Request(Json.namespace(pod), Json.name(pod), container,
        command, stdin, stdout, stderr, tty);
    Container target = runtime.container(pod, container);
    long[] lines = {0};
    java.util.function.Supplier<String> logLine = () -> PodLogStream.line(request.pod(), container, ++lines[0]);
    HttpServerRequest http = ctx.request();
    if (isWebSocket(http)) {
      ChannelWebSocket.Protocol protocol = ChannelWebSocket.Protocol.negotiate(offered(http),
          COMMAND_WEBSOCKET_PROTOCOLS);
      if (protocol == null) {
        throw unsupported(offered(http), COMMAND_WEBSOCKET_PROTOCOLS.stream().map(p -> p.header()).toList());
      }
      upgradeWebSocket(ctx, protocol.header()).onSuccess(socket -> RemoteCommand.run(request, target,
          new WebSocketCommandChannels(new ChannelWebSocket(socket, protocol), request), logLine,
          options.logLineIntervalMillis()));
    } else if (isSpdy(http)) {
      String protocol = negotiateSpdy(http, SPDY_COMMAND_PROTOCOLS);
      upgradeSpdy(ctx, protocol).onSuccess(link -> new SpdyCommandChannels(request, protocol,
          options.streamCreationTimeoutMillis()).open(new SpdySession(link, vertx), ready ->
              RemoteCommand.run(request, target, ready, logLine, options.logLineIntervalMillis())));
    } else {
      throw KubeApiException.badRequest("Upgrade request required");
    }
  }

  /**
   * The container a request means: the named one, which must exist, or the only one; as the
   * apiserver, a pod with several containers needs a name, and the message lists them.
   */
  private static String container(JsonObject pod, String requested) {
    List<String> names = new ArrayList<>();
    for (Object container : Json.arrayAt(pod, "spec", "containers")) {
      if (container instanceof JsonObject json) {
        names.add(json.getString("name"));
      }
    }
    List<String> initNames = new ArrayList<>();
    for (Object container : Json.arrayAt(pod, "spec", "initContainers")) {
      if (container instanceof JsonObject json) {
        initNames.add(json.getString("name"));
      }
    }
    if (requested == null || requested.isEmpty()) {
      if (names.size() == 1) {
        return names.get(0);
      }
      if (names.isEmpty()) {
        throw KubeApiException.badRequest("a container name must be specified for pod " + Json.name(pod));
      }
      String message = "a container name must be specified for pod " + Json.name(pod) + ", choose one of: ["
          + String.join(" ", names) + "]";
      if (!initNames.isEmpty()) {
        message += " or one of the init containers: [" + String.join(" ", initNames) + "]";
      }
      throw KubeApiException.badRequest(message);
    }
    if (!names.contains(requested) && !initNames.contains(requested)) {
      throw KubeApiException.badRequest("container " + requested + " is not valid for pod " + Json.name(pod));
    }
    return requested;
  }

  /**
   * The pod must be on a node (the apiserver's check) and running (the kubelet's: it only streams
   * to a running container).
   */
  private static void running(JsonObject pod, String container) {
    if (Json.stringAt(pod, "spec.nodeName").isEmpty()) {
      throw KubeApiException.badRequest("pod " + Json.name(pod) + " does not have a host assigned");
    }
    if (!"Running".equals(Json.stringAt(pod, "status.phase"))) {
      throw KubeApiException.badRequest(container == null
          ? "pod " + Json.name(pod) + " is not running (phase " + Json.stringAt(pod, "status.phase") + ")"
          : "container not found (\"" + container + "\")");
    }
  }

  // ---- port-forward ----

  private void portForward(RoutingContext ctx, JsonObject pod) {
    running(pod, null);
    HttpServerRequest http = ctx.request();
    PortForward forward = new PortForward(Json.namespace(pod) + "/" + Json.name(pod));
    if (isWebSocket(http)) {
      List<String> offered = offered(http);
      if (offered.contains(SPDY_TUNNEL_PORT_FORWARD)) {
        upgradeWebSocket(ctx, SPDY_TUNNEL_PORT_FORWARD).onSuccess(socket -> forward.overSpdy(
            new SpdySession(SpdySession.Link.of(socket), vertx)));
        return;
      }
      ChannelWebSocket.Protocol protocol = ChannelWebSocket.Protocol.negotiate(offered,
          PORT_FORWARD_WEBSOCKET_PROTOCOLS);
      if (protocol == null) {
        List<String> supported = new ArrayList<>(List.of(SPDY_TUNNEL_PORT_FORWARD));
        PORT_FORWARD_WEBSOCKET_PROTOCOLS.forEach(p -> supported.add(p.header()));
        throw unsupported(offered, supported);
      }
      List<Integer> ports = ports(ctx.queryParams());
      upgradeWebSocket(ctx, protocol.header()).onSuccess(socket ->
          forward.overChannels(new ChannelWebSocket(socket, protocol), ports));
    } else if (isSpdy(http)) {
      String protocol = negotiateSpdy(http, List.of(PORT_FORWARD_PROTOCOL));
      upgradeSpdy(ctx, protocol).onSuccess(link ->
          forward.overSpdy(new SpdySession(link, vertx)));
    } else {
      throw KubeApiException.badRequest("Upgrade request required");
    }
  }

  /** The ports of a websocket port-forward: {@code ports} (the apiserver's name) or {@code port} (the kubelet's). */
  private static List<Integer> ports(MultiMap params) {
    List<String> values = new ArrayList<>(params.getAll("ports"));
    values.addAll(params.getAll("port"));
    if (values.isEmpty()) {
      throw KubeApiException.badRequest("query parameter \"port\" is required");
    }
    List<Integer> ports = new ArrayList<>();
    for (String value : values) {
      for (String port : value.split(",")) {
        try {
          int number = Integer.parseInt(port.strip());
          if (number < 1 || number > 65535) {
            throw new NumberFormatException();
          }
          ports.add(number);
        } catch (NumberFormatException e) {
          throw KubeApiException.badRequest("unable to parse \"" + value + "\" as a port");
        }
      }
    }
    return ports;
  }

  // ---- upgrades ----

  private static boolean isWebSocket(HttpServerRequest request) {
    return "websocket".equalsIgnoreCase(request.getHeader(HttpHeaders.UPGRADE));
  }

  private static boolean isSpdy(HttpServerRequest request) {
    String upgrade = request.getHeader(HttpHeaders.UPGRADE);
    return upgrade != null && upgrade.toLowerCase(java.util.Locale.ROOT).startsWith("spdy/3");
  }

  /** Subprotocols the client offers, in its order. */
  private static List<String> offered(HttpServerRequest request) {
    List<String> offered = new ArrayList<>();
    for (String header : request.headers().getAll("Sec-WebSocket-Protocol")) {
      for (String protocol : header.split(",")) {
        if (!protocol.isBlank()) {
          offered.add(protocol.strip());
        }
      }
    }
    return offered;
  }

  private static KubeApiException unsupported(List<String> offered, List<String> supported) {
    return KubeApiException.badRequest("requested protocol(s) are not supported: " + offered + "; supports "
        + supported);
  }

  /** Accepts the websocket with this subprotocol (none for ""); the handshake answers what the sim chose. */
  private static io.vertx.core.Future<io.vertx.core.http.ServerWebSocket> upgradeWebSocket(RoutingContext ctx,
      String protocol) {
    if (!protocol.isEmpty()) {
      ctx.response().headers().set("Sec-WebSocket-Protocol", protocol);
    }
    return ctx.request().toWebSocket().onFailure(error -> LOG.debug("websocket upgrade failed", error));
  }

  /** The first protocol the client offers that the server speaks, as apimachinery's Handshake picks it. */
  private static String negotiateSpdy(HttpServerRequest request, List<String> supported) {
    List<String> offered = new ArrayList<>();
    request.headers().getAll(STREAM_PROTOCOL_HEADER).forEach(header -> {
      for (String protocol : header.split(",")) {
        offered.add(protocol.strip());
      }
    });
    if (offered.isEmpty()) {
      throw KubeApiException.badRequest("unable to upgrade: " + STREAM_PROTOCOL_HEADER + " is required");
    }
    for (String protocol : offered) {
      if (supported.contains(protocol)) {
        return protocol;
      }
    }
    throw new KubeApiException(403, "Forbidden", "unable to upgrade: unable to negotiate protocol: client supports "
        + offered + ", server accepts " + supported, null);
  }

  /** Answers 101 Switching Protocols to SPDY/3.1 and hands over the raw connection. */
  private static io.vertx.core.Future<SpdySession.Link> upgradeSpdy(RoutingContext ctx, String protocol) {
    ctx.response().headers()
        .set(HttpHeaders.CONNECTION, "Upgrade")
        .set(HttpHeaders.UPGRADE, SPDY)
        .set(STREAM_PROTOCOL_HEADER, protocol);
    io.vertx.core.Future<NetSocket> socket = ctx.request().method() == HttpMethod.GET ? ctx.request().toNetSocket()
        : upgradeAfterPost(ctx.response());
    return socket.map(SpdySession.Link::of).onFailure(error -> LOG.warn("SPDY upgrade failed", error));
  }

  /**
   * client-go upgrades to SPDY with a POST, but Vert.x hands a connection over as a raw socket only
   * for GET (and CONNECT): its public {@code toNetSocket()} refuses the POST before doing exactly what
   * is needed here. So the response's own upgrade is called as for a GET. The sim is test support,
   * never on a runtime path, and a Vert.x upgrade that changes this fails the SPDY tests loudly.
   */
  @SuppressWarnings("unchecked")
  private static io.vertx.core.Future<NetSocket> upgradeAfterPost(HttpServerResponse response) {
    try {
      Method netSocket = response.getClass().getDeclaredMethod("netSocket", HttpMethod.class, MultiMap.class);
      netSocket.setAccessible(true);
      MultiMap upgradeHeaders = MultiMap.caseInsensitiveMultiMap().add(HttpHeaders.CONNECTION, "Upgrade");
      return (io.vertx.core.Future<NetSocket>) netSocket.invoke(response, HttpMethod.GET, upgradeHeaders);
    } catch (ReflectiveOperationException | RuntimeException e) {
      return io.vertx.core.Future.failedFuture(new IllegalStateException(
          "this Vert.x cannot upgrade a POST to SPDY: " + e, e));
    }
  }

  /** Discovery's entries for the streaming subresources, as the apiserver lists them. */
  static JsonObject discoveryEntry(String subresource) {
    String kind = switch (subresource) {
      case "exec" -> "PodExecOptions";
      case "attach" -> "PodAttachOptions";
      default -> "PodPortForwardOptions";
    };
    return new JsonObject().put("kind", kind).put("verbs", new JsonArray().add("create").add("get"));
  }
}
