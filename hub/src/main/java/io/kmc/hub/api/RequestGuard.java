package io.kmc.hub.api;

import io.kmc.common.KmcException;
import io.kmc.common.KubeQuery;
import io.kmc.hub.web.Errors;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The first look at every request, before anything decodes its path or query: a broken percent
 * escape, or (on the hub's own API) a control character once decoded, is a 400 here. Past this
 * point every handler may decode the path and parameters without failing, and no name the hub
 * stores or looks up can hold a NUL byte.
 */
final class RequestGuard {

  private static final Logger LOG = LoggerFactory.getLogger(RequestGuard.class);

  private RequestGuard() {
  }

  /** The problem with the request's path or query, or null if there is none. */
  static String problem(HttpServerRequest request) {
    String path = request.path();
    String query = request.query();
    if (!KubeQuery.wellEscaped(path) || (query != null && !KubeQuery.wellEscaped(query))) {
      return "the request has a broken percent escape (each '%' must be followed by two hex digits)";
    }
    String decodedPath = KubeQuery.unescape(path, false);
    if (decodedPath == null) {
      return "the request path is not UTF-8 once decoded";
    }
    if (!path.startsWith(Errors.KUBE_PREFIX)) {
      // The hub's own names never hold control characters; the member cluster judges its own paths.
      String decodedQuery = query == null ? "" : KubeQuery.unescape(query, true);
      if (hasControl(decodedPath) || hasControl(decodedQuery)) {
        return "the request path or query holds a control character";
      }
    }
    return null;
  }

  /** Answers 400 itself when the request is unreadable; else passes it on. */
  static void check(RoutingContext ctx) {
    String problem = problem(ctx.request());
    if (problem == null) {
      ctx.next();
      return;
    }
    LOG.debug("refused {} from {}: {}", ctx.request().method(), ctx.request().remoteAddress(), problem);
    Errors.respond(ctx, KmcException.badRequest(problem));
  }

  private static boolean hasControl(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c < 0x20 || c == 0x7f) {
        return true;
      }
    }
    return false;
  }
}
