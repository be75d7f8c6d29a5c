package io.kmc.hub.rbac;

import io.kmc.common.KmcException;
import io.kmc.common.KubeQuery;
import io.vertx.ext.web.RoutingContext;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * What a Kubernetes REST request does, as RBAC needs it: read from the method, path and query the
 * way the kube-apiserver's {@code RequestInfoFactory} reads them
 * ({@code k8s.io/apiserver/pkg/endpoints/request/requestinfo.go}), so that the hub authorizes what
 * the cluster will execute. Missing parts are empty strings, never null.
 *
 * <p>Where this differs from the apiserver, it is on purpose:
 * <ul>
 *   <li>The {@code namespaces} resource itself ({@code /api/v1/namespaces/shop}, its {@code status}
 *       and {@code finalize}) has no namespace here; the apiserver sets its own name as namespace,
 *       which would let a binding in namespace shop delete or finalize namespace shop.</li>
 *   <li>A path that the apiserver would read in a way the hub cannot vouch for (an empty segment as
 *       in {@code /api/v1/namespaces//pods}, a {@code .} or {@code ..} segment, a broken percent
 *       escape, {@code /api/v1/watch} with nothing after it) is refused with a 400
 *       {@link KmcException.ClientError} instead of being guessed at.</li>
 *   <li>A method the apiserver has no verb for (OPTIONS...) keeps its lower-case name as the verb
 *       (the apiserver uses ""); only a policy granting every verb allows it.</li>
 *   <li>A list with {@code fieldSelector=metadata.name=x} does not fill in {@link #name()}: kmc has no
 *       per-name rules, so the name would change nothing.</li>
 * </ul>
 *
 * <p>Like the apiserver, the path is percent-decoded before it is split, so {@code %2F} separates
 * segments. The hub must forward the path it authorized, unchanged.
 *
 * @param verb            the Kubernetes verb (get, list, watch, create, update, patch, delete,
 *                        deletecollection, or watch/proxy from a legacy path prefix); for a non-resource
 *                        request, the lower-case HTTP method
 * @param apiGroup        "" for the core group ({@code /api})
 * @param resourceRequest false for discovery, version, health and other non-resource paths
 * @param path            the decoded path, without trailing slash
 */
public record KubeRequestAttributes(String verb, String apiGroup, String apiVersion, String resource,
                                    String subresource, String namespace, String name, boolean resourceRequest,
                                    String path) {

  /** Where the Kubernetes API of each member cluster is served through the hub: {@code /k8s/clusters/{name}/…}. */
  public static final String PASSTHROUGH_PREFIX = "/k8s/clusters/";

  /** The object of /api, /apis, /version, /openapi and the health endpoints. */
  public static final String DISCOVERY = "discovery";
  /** The object of every other non-resource path (/metrics, /logs, /debug...): only "*" grants it. */
  public static final String NON_RESOURCE = "nonresource";
  /**
   * Subresources that reach past the object (into a container, through a proxy, to a credential),
   * so that they are objects of their own ({@code pods/exec}) rather than part of their parent:
   * reading pods must not open a shell in them.
   */
  public static final Set<String> SEPARATE_SUBRESOURCES = Set.of("exec", "attach", "portforward", "proxy", "token");
  /** The subresources of a pod that open an interactive session, whatever the method. */
  public static final Set<String> INTERACTIVE_SUBRESOURCES = Set.of("exec", "attach", "portforward");

  private static final String NAMESPACES = "namespaces";
  /** Subresources of a namespace; anything else after a namespace's name is a resource in it. */
  private static final Set<String> NAMESPACE_SUBRESOURCES = Set.of("status", "finalize");
  private static final Set<String> PUBLIC_INFO_PATHS = Set.of("/version", "/healthz", "/livez", "/readyz");

  /** The Kubernetes path of a pass-through call: what follows {@code /k8s/clusters/{name}}, normalized. */
  public static String kubePath(RoutingContext ctx) {
    String path = ctx.normalizedPath().substring(PASSTHROUGH_PREFIX.length() + ctx.pathParam("cluster").length());
    return path.isEmpty() ? "/" : path;
  }

  /**
   * Reads a request to a member cluster's API.
   *
   * @param method the HTTP method
   * @param path   the path below the cluster's prefix, e.g. {@code /api/v1/namespaces/shop/pods}
   * @param query  the raw query string, or null
   * @throws KmcException.ClientError 400 when the path is not one the hub can read safely
   */
  public static KubeRequestAttributes parse(String method, String path, String query) {
    String httpMethod = method.toUpperCase(Locale.ROOT);
    List<String> parts = segments(decodePath(path));
    String cleanPath = "/" + String.join("/", parts);
    String prefix = parts.isEmpty() ? "" : parts.get(0);
    boolean grouped = prefix.equals("apis");
    if (!(grouped || prefix.equals("api")) || parts.size() < (grouped ? 4 : 3)) {
      return new KubeRequestAttributes(httpMethod.toLowerCase(Locale.ROOT), "", "", "", "", "", "", false, cleanPath);
    }
    String apiGroup = grouped ? parts.get(1) : "";
    String apiVersion = parts.get(grouped ? 2 : 1);
    List<String> rest = parts.subList(grouped ? 3 : 2, parts.size());

    String verb;
    if (rest.get(0).equals("watch") || rest.get(0).equals("proxy")) {
      if (rest.size() < 2) {
        throw KmcException.badRequest("'" + cleanPath + "' names no resource to " + rest.get(0));
      }
      verb = rest.get(0);
      rest = rest.subList(1, rest.size());
    } else {
      verb = verbOf(httpMethod);
    }

    String namespace = "";
    if (rest.get(0).equals(NAMESPACES) && rest.size() > 1) {
      namespace = rest.get(1);
      if (rest.size() > 2 && !NAMESPACE_SUBRESOURCES.contains(rest.get(2))) {
        rest = rest.subList(2, rest.size());
      }
    }
    String resource = rest.get(0);
    String name = rest.size() > 1 ? rest.get(1) : "";
    // Everything after a proxy's name is the proxied path, not a subresource.
    String subresource = rest.size() > 2 && !verb.equals("proxy") ? rest.get(2) : "";
    if (resource.equals(NAMESPACES)) {
      namespace = "";
    }
    if (name.isEmpty() && verb.equals("get")) {
      verb = watchRequested(query) ? "watch" : "list";
    } else if (name.isEmpty() && verb.equals("delete")) {
      verb = "deletecollection";
    }
    if (resource.equals("pods") && INTERACTIVE_SUBRESOURCES.contains(subresource)) {
      // A websocket exec opens with a GET; it is authorized as the apiserver does since 1.31: create.
      verb = "create";
    }
    return new KubeRequestAttributes(verb, apiGroup, apiVersion, resource, subresource, namespace, name, true,
        cleanPath);
  }

  /**
   * The RBAC object: the resource, {@code <resource>/<subresource>} for the
   * {@link #SEPARATE_SUBRESOURCES} and proxies, {@link #DISCOVERY} or {@link #NON_RESOURCE}.
   */
  public String object() {
    if (!resourceRequest) {
      return isDiscovery(path) ? DISCOVERY : NON_RESOURCE;
    }
    if (verb.equals("proxy")) {
      return resource + "/proxy";
    }
    return SEPARATE_SUBRESOURCES.contains(subresource) ? resource + "/" + subresource : resource;
  }

  /** The RBAC domain: {@code <cluster>/<namespace>}, or {@code <cluster>/} when there is no namespace. */
  public String domain(String cluster) {
    return cluster + "/" + namespace;
  }

  private static boolean isDiscovery(String path) {
    return path.equals("/api") || path.startsWith("/api/")
        || path.equals("/apis") || path.startsWith("/apis/")
        || path.equals("/openapi") || path.startsWith("/openapi/")
        || PUBLIC_INFO_PATHS.contains(path);
  }

  private static String verbOf(String httpMethod) {
    return switch (httpMethod) {
      case "GET", "HEAD" -> "get";
      case "POST" -> "create";
      case "PUT" -> "update";
      case "PATCH" -> "patch";
      case "DELETE" -> "delete";
      default -> httpMethod.toLowerCase(Locale.ROOT);
    };
  }

  /** As the apiserver reads {@code watch}: see {@link KubeQuery#isTrue}. */
  private static boolean watchRequested(String query) {
    return KubeQuery.flag(query, "watch");
  }

  private static String decodePath(String path) {
    String decoded = KubeQuery.unescape(path, false);
    if (decoded == null) {
      throw KmcException.badRequest("the path '" + path + "' has a broken percent escape or is not UTF-8");
    }
    return decoded;
  }

  /** The segments between slashes; leading and trailing slashes do not count, as for the apiserver. */
  private static List<String> segments(String path) {
    int start = 0;
    int end = path.length();
    while (start < end && path.charAt(start) == '/') {
      start++;
    }
    while (end > start && path.charAt(end - 1) == '/') {
      end--;
    }
    List<String> parts = new ArrayList<>();
    if (start == end) {
      return parts;
    }
    for (String part : path.substring(start, end).split("/", -1)) {
      if (part.isEmpty() || part.equals(".") || part.equals("..")) {
        throw KmcException.badRequest("the path '" + path + "' has an empty, '.' or '..' segment");
      }
      parts.add(part);
    }
    return parts;
  }
}
