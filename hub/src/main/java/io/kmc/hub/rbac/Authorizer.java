package io.kmc.hub.rbac;

import io.kmc.common.ClusterNames;
import io.kmc.common.KmcException;
import io.kmc.hub.auth.Authenticator;
import io.kmc.hub.auth.Principal;
import io.kmc.hub.store.ClusterRegistry;
import io.kmc.ops.Texts;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;

/**
 * Decides every call after authentication, with the RBAC policy. Pass-through calls are mapped
 * to the Kubernetes verb, resource, namespace and cluster they act on (as the kube-apiserver would
 * see them); the hub's own API routes name the object and action they need.
 */
public final class Authorizer {

  /** Where the pass-through request's Kubernetes attributes are kept, for the audit log. */
  public static final String KUBE_ATTRIBUTES_KEY = "kmc.kube-attributes";
  /** The domain of the hub's own administrative objects (users, RBAC, audit, cluster registration). */

  private final RbacService rbac;

  public Authorizer(RbacService rbac) {
    this.rbac = rbac;
  }

  /** A route handler that lets the call through if the principal may {@code action} the hub's {@code object}. */
  public Handler<RoutingContext> require(String object, String action) {
    return ctx -> {
      Principal principal = Authenticator.principal(ctx);
      if (allowed(principal, object, action)) {
        ctx.next();
      } else {
        ctx.fail(KmcException.forbidden("user '" + principal.user() + "' may not " + action + " " + object));
      }
    };
  }

  /**
   * The route handler of the Kubernetes pass-through. A cluster the caller has no role in is
   * answered as one that does not exist, so that its existence does not leak.
   */
  public void kube(RoutingContext ctx) {
    String cluster = ctx.pathParam("cluster");
    if (!ClusterNames.valid(cluster)) {
      ctx.fail(KmcException.badRequest("'" + Texts.forLog(cluster) + "' is not a valid cluster name ("
          + ClusterNames.RULE + ")"));
      return;
    }
    if (kube(ctx, cluster, ctx.request().method().name(), KubeRequestAttributes.kubePath(ctx), ctx.request().query())) {
      ctx.next();
    }
  }

  /**
   * Decides a Kubernetes call the hub makes for the caller (the typed API composes them) exactly as
   * the pass-through's: true if it may go on; otherwise the request has been failed (404 for a
   * cluster the caller has no role in, 403 for the rest). The call's attributes are kept for the audit log.
   *
   * @throws KmcException.ClientError 400 when the path is not one the hub can read safely
   */
  public boolean kube(RoutingContext ctx, String cluster, String method, String path, String query) {
    Principal principal = Authenticator.principal(ctx);
    KubeRequestAttributes attributes = KubeRequestAttributes.parse(method, path, query);
    ctx.put(KUBE_ATTRIBUTES_KEY, attributes);
    if (!rbac.canSeeCluster(principal, cluster)) {
      ctx.fail(ClusterRegistry.notFound(cluster));
      return false;
    }
    String domain = attributes.domain(cluster);
    if (rbac.allowed(principal, domain, attributes.object(), attributes.verb())) {
      return true;
    }
    String where = attributes.namespace() == null || attributes.namespace().isEmpty()
        ? "cluster " + cluster : "namespace " + attributes.namespace() + " of cluster " + cluster;
    String what = attributes.resourceRequest() ? attributes.object() : "the non-resource path " + path;
    ctx.fail(KmcException.forbidden("user '" + principal.user() + "' may not " + attributes.verb() + " " + what
        + " in " + where));
    return false;
  }

  /** Whether the principal has any role in the cluster (to list it or fetch a kubeconfig for it). */
  public boolean canSeeCluster(Principal principal, String cluster) {
    return rbac.canSeeCluster(principal, cluster);
  }

  /** A handler for per-cluster reads: lets the call through if the principal has any role in the cluster. */
  public Handler<RoutingContext> requireClusterAccess(String pathParam) {
    return ctx -> {
      Principal principal = Authenticator.principal(ctx);
      String cluster = ctx.pathParam(pathParam);
      if (canSeeCluster(principal, cluster) || allowed(principal, "clusters", "get")) {
        ctx.next();
      } else {
        // The same answer as for a cluster that does not exist: names are not disclosed to outsiders.
        ctx.fail(ClusterRegistry.notFound(cluster));
      }
    };
  }

  /**
   * Where in a cluster the principal may {@code verb} a resource: everywhere (all namespaces and the
   * cluster-scoped objects), in the listed namespaces only, or nowhere (no namespaces, not all).
   */
  public record Scope(boolean all, java.util.Set<String> namespaces) {
    public static final Scope NONE = new Scope(false, java.util.Set.of());

    public boolean none() {
      return !all && namespaces.isEmpty();
    }
  }

  /** See {@link Scope}; for answers computed from the index, which RBAC filters in the query. */
  public Scope scope(Principal principal, String cluster, String resource, String verb) {
    if (!rbac.canSeeCluster(principal, cluster)) {
      return Scope.NONE;
    }
    if (rbac.allowed(principal, cluster + "/", resource, verb)) {
      return new Scope(true, java.util.Set.of());
    }
    java.util.Set<String> namespaces = new java.util.TreeSet<>();
    for (String namespace : rbac.namespacesNamed(principal, cluster)) {
      if (rbac.allowed(principal, cluster + "/" + namespace, resource, verb)) {
        namespaces.add(namespace);
      }
    }
    return new Scope(false, namespaces);
  }

  public boolean allowed(Principal principal, String object, String action) {
    return rbac.allowed(principal, Rbac.KMC_DOMAIN, object, action);
  }

  /**
   * Whether the principal may {@code verb} the Kubernetes {@code resource} in a namespace of a cluster
   * (or its cluster-scoped objects when {@code namespace} is empty), as a call through the hub would be decided.
   */
  public boolean allowed(Principal principal, String cluster, String namespace, String resource, String verb) {
    return rbac.canSeeCluster(principal, cluster)
        && rbac.allowed(principal, cluster + "/" + (namespace == null ? "" : namespace), resource, verb);
  }
}
