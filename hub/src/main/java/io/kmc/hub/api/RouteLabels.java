package io.kmc.hub.api;

import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
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
