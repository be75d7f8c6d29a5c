package io.kmc.hub;

import io.kmc.hub.api.OpenApiDoc;
import io.kmc.hub.support.Fleet;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Route;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpResponse;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The OpenAPI document at {@code /api/v1/openapi.json} lists exactly the routes a running hub
 * serves. A route added to the hub (ApiVerticle, TypedApi, ...) must be added to
 * {@code hub/src/main/resources/openapi.yaml}: the failure names it.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class OpenApiIT {

  /** What a route without methods answers: the pass-through takes every method. */
  private static final List<String> ANY_METHOD = List.of("GET", "PUT", "POST", "PATCH", "DELETE");
  private static final Set<String> DOCUMENTED_METHODS = Set.of("get", "put", "post", "patch", "delete", "head",
      "options");

  private static Fleet fleet;
  private static Hub hub;

  @BeforeAll
  static void start() {
    fleet = new Fleet();
    hub = fleet.hubs(1).get(0);
  }

  @AfterAll
  static void stop() {
    fleet.close();
  }

  @Test
  void theDocumentListsEveryRouteTheHubServesAndNoOther() {
    Set<String> served = served(hub.apiRoutes());
    assertTrue(served.contains("POST /api/v1/clusters/{cluster}/deployments"), "the typed API is registered: " + served);
    assertTrue(served.contains("GET /k8s/fleet/{path}") && served.contains("DELETE /k8s/fleet/{path}"),
        "the fleet view is registered with its methods: " + served);
    Set<String> documented = documented(OpenApiDoc.load());

    Set<String> missing = new TreeSet<>(served);
    missing.removeAll(documented);
    Set<String> stale = new TreeSet<>(documented);
    stale.removeAll(served);
    if (!missing.isEmpty() || !stale.isEmpty()) {
      fail("hub/src/main/resources/openapi.yaml is out of step with the hub's routes."
          + (missing.isEmpty() ? "" : "\n  served but not documented (add them):\n    " + String.join("\n    ", missing))
          + (stale.isEmpty() ? "" : "\n  documented but not served (remove them):\n    " + String.join("\n    ", stale)));
    }
  }

  @Test
  void theDocumentIsServedAsJsonWithoutAToken() {
    HttpResponse<String> answer = fleet.call(hub, "GET", OpenApiDoc.PATH, null, null);
    assertEquals(200, answer.statusCode(), answer.body());
    assertEquals("application/json", answer.headers().firstValue("Content-Type").orElse(""));
    assertEquals(OpenApiDoc.load(), new JsonObject(answer.body()));
  }

  /**
   * "METHOD /path/{param}" for every route that answers requests. Routes without a path (the
   * guards, the 404 at the end) and method-less prefix routes without parameters (request id,
   * audit, authentication and body handlers ahead of /api/, /k8s/clusters/ and /k8s/fleet/) only pass
   * requests on; the fleet view's own route names its methods so that it is held to the document.
   * A prefix route ({@code /k8s/clusters/:cluster/*}, which Vert.x reports as {@code .../:cluster/})
   * is documented with its rest as {@code {path}}.
   */
  static Set<String> served(List<Route> routes) {
    Set<String> served = new TreeSet<>();
    for (Route route : routes) {
      String path = route.getPath();
      if (path == null) {
        continue;
      }
      Set<HttpMethod> methods = route.methods();
      boolean anyMethod = methods == null || methods.isEmpty();
      if (anyMethod && !path.contains(":")) {
        continue;
      }
      String template = path.replaceAll(":([A-Za-z0-9_]+)", "{$1}") + (route.isExactPath() ? "" : "{path}");
      if (anyMethod) {
        ANY_METHOD.forEach(method -> served.add(method + " " + template));
      } else {
        methods.forEach(method -> served.add(method.name() + " " + template));
      }
    }
    return served;
  }

  static Set<String> documented(JsonObject document) {
    Set<String> documented = new TreeSet<>();
    JsonObject paths = document.getJsonObject("paths");
    for (String path : paths.fieldNames()) {
      for (String key : paths.getJsonObject(path).fieldNames()) {
        if (DOCUMENTED_METHODS.contains(key)) {
          documented.add(key.toUpperCase(Locale.ROOT) + " " + path);
        }
      }
    }
    return documented;
  }
}
