package io.kmc.hub.api;

import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Turns a request into the route template it was served by ({@code /api/v1/clusters/:name}), the
 * bounded label request metrics use instead of the raw path.
 */
final class RouteLabels {

  private record Template(String path, Set<HttpMethod> methods, Pattern pattern) {
  }

  private final List<Template> templates = new ArrayList<>();
  /**
   * The label of each route that, having served a request, names its template: all but the prefix
   * routes of the handlers every request under them passes ({@code /api/*}), which say nothing.
   */
  private final Map<String, String> byRoutePath = new HashMap<>();

  /**
   * Learns the routes of a router: exact ones first, then prefix routes ({@code /k8s/clusters/:cluster/*},
   * which Vert.x reports without the star), longest first.
   */
  RouteLabels(Router router) {
    List<Template> prefixes = new ArrayList<>();
    for (Route route : router.getRoutes()) {
      String path = route.getPath();
      if (path == null) {
        continue;
      }
      Set<HttpMethod> methods = route.methods() == null ? Set.of() : route.methods();
      if (path.endsWith("/")) {
        prefixes.add(new Template(path + "*", methods, Pattern.compile(compile(path).pattern() + ".*")));
      } else {
        templates.add(new Template(path, methods, compile(path)));
      }
    }
    prefixes.sort(Comparator.comparingInt((Template t) -> t.path().length()).reversed());
    templates.addAll(prefixes);
    for (Template template : templates) {
      String routePath = template.path().endsWith("/*") ? template.path().substring(0, template.path().length() - 1)
          : template.path();
      boolean coversOthers = template.path().endsWith("/*") && templates.stream()
          .anyMatch(other -> other != template && other.path().length() > routePath.length() && other.path().startsWith(routePath));
      if (!coversOthers) {
        byRoutePath.put(routePath, template.path());
      }
    }
  }

  /**
   * The template of the route that ended the request, without matching its path again: what most
   * requests get; those ended by a shared handler or a failure handler are matched by path.
   */
  String label(RoutingContext ctx) {
    Route route = ctx.currentRoute();
    String known = route == null || route.getPath() == null ? null : byRoutePath.get(route.getPath());
    return known != null ? known : label(ctx.request().method(), ctx.normalizedPath());
  }

  String label(HttpMethod method, String path) {
    for (Template template : templates) {
      if ((template.methods().isEmpty() || template.methods().contains(method)) && template.pattern().matcher(path).matches()) {
        return template.path();
      }
    }
    return "unmatched";
  }

  private static Pattern compile(String template) {
    return Pattern.compile(Arrays.stream(template.split("/", -1))
        .map(segment -> segment.startsWith(":") ? "[^/]+" : segment.equals("*") ? ".*" : Pattern.quote(segment))
        .collect(Collectors.joining("/")));
  }
}
