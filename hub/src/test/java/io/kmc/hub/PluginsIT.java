package io.kmc.hub;

import io.kmc.hub.support.Fleet;
import io.kmc.hub.support.WebhookReceiver;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import java.io.IOException;
import java.io.OutputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The example plugin (plugins/example), compiled from its sources and packed into a jar here, in the
 * plugins directory of a hub next to three broken jars: the hub starts, /ready names each broken jar
 * and why, and the plugin's Teams channel and CEL functions work through the hub's API.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PluginsIT {

  private static final Path EXAMPLE = Path.of("..", "plugins", "example", "src", "main");

  private static Fleet fleet;
  private static Hub hub;
  private static Vertx receiverVertx;
  private static WebhookReceiver receiver;

  @BeforeAll
  static void start() throws Exception {
    fleet = new Fleet();
    Path plugins = Files.createDirectories(fleet.workDir().resolve("plugins"));
    buildExamplePlugin(plugins.resolve("kmc-plugin-example.jar"));
    Files.write(plugins.resolve("broken.jar"), "this is not a zip file".getBytes(StandardCharsets.UTF_8));
    jar(plugins.resolve("future.jar"), Map.of("META-INF/kmc-plugin.properties", "name=future\napi-version=99\n",
        "META-INF/services/io.kmc.plugin.KmcPlugin", "io.kmc.future.FuturePlugin\n"));
    jar(plugins.resolve("hollow.jar"), Map.of("META-INF/kmc-plugin.properties", "name=hollow\napi-version=1\n",
        "META-INF/services/io.kmc.plugin.KmcPlugin", "io.kmc.nowhere.MissingPlugin\n"));
    fleet.hubSettings(Map.of("KMC_PLUGINS_DIR", plugins.toString()));
    hub = fleet.hubs(1).get(0);
    receiverVertx = Vertx.vertx();
    receiver = new WebhookReceiver(receiverVertx);
  }

  @AfterAll
  static void stop() {
    if (fleet != null) {
      fleet.close();
    }
    if (receiver != null) {
      receiver.close();
      Fleet.await(receiverVertx.close());
    }
  }

  @Test
  void brokenJarsAreLeftOutAndNamedOnReadyWhileTheHubServes() {
    HttpResponse<String> ready = fleet.call(hub, "GET", "/ready", null, null);
    assertEquals(200, ready.statusCode(), ready.body());
    String detail = new JsonObject(ready.body()).getJsonObject("checks").getJsonObject("plugins").getString("detail");
    assertTrue(detail.startsWith("1 loaded (example from kmc-plugin-example.jar); 3 left out"), detail);
    assertTrue(detail.contains("broken.jar: not a readable jar"), detail);
    assertTrue(detail.contains("future.jar: plugin future was built for plugin API version 99; this hub has version 1"),
        detail);
    assertTrue(detail.contains("hollow.jar: ServiceConfigurationError") && detail.contains("MissingPlugin"), detail);
  }

  @Test
  void thePluginsChannelTypeDeliversThroughTheOutbox() {
    HttpResponse<String> created = fleet.call(hub, "POST", "/api/v1/notifications/channels", fleet.adminToken(),
        new JsonObject().put("name", "team-room").put("type", "teams")
            .put("config", new JsonObject().put("url", receiver.url("/teams/connector-token"))));
    assertEquals(201, created.statusCode(), created.body());
    assertFalse(created.body().contains("connector-token"), "the plugin's secret field is kept secret: " + created.body());
    HttpResponse<String> bad = fleet.call(hub, "POST", "/api/v1/notifications/channels", fleet.adminToken(),
        new JsonObject().put("name", "bad-room").put("type", "teams").put("config", new JsonObject().put("url", "x")));
    assertEquals(400, bad.statusCode(), "the plugin validates its config: " + bad.body());
    assertTrue(bad.body().contains("config.url must be the connector's https URL"), bad.body());

    assertEquals(201, fleet.call(hub, "POST", "/api/v1/clusters", fleet.adminToken(),
        new JsonObject().put("name", "teams-target")).statusCode());
    assertEquals(201, fleet.call(hub, "POST", "/api/v1/notifications/subscriptions", fleet.adminToken(),
        new JsonObject().put("name", "teams-rotations").put("channels", new JsonArray().add("team-room"))
            .put("clusters", new JsonArray().add("teams-target"))).statusCode());
    assertEquals(200, fleet.call(hub, "POST", "/api/v1/clusters/teams-target/token", fleet.adminToken(), null)
        .statusCode());

    WebhookReceiver.Received card = Fleet.awaitValue(Duration.ofSeconds(20), () -> receiver
        .at("/teams/connector-token").stream().findFirst().orElse(null), "the Teams card");
    JsonObject body = card.json();
    assertEquals("MessageCard", body.getString("@type"));
    assertEquals("kmc: cluster.token_rotated", body.getString("title"));
    assertTrue(body.getJsonArray("sections").getJsonObject(0).getJsonArray("facts").encode()
        .contains("teams-target"), body.encode());
  }

  @Test
  void policiesCanCallThePluginsFunctions() {
    JsonObject policy = new JsonObject().put("apiVersion", "kmc.io/v1alpha1").put("kind", "Policy")
        .put("metadata", new JsonObject().put("name", "trusted-registry"))
        .put("spec", new JsonObject().put("action", "deny")
            .put("validations", new JsonArray().add(new JsonObject()
                .put("expression", "object.spec.containers.all(c, imageRegistry(c.image) == 'registry.example.com' "
                    + "&& semverAtLeast(c.image.split(':')[1], '1.4'))")
                .put("messageExpression", "'from ' + imageRegistry(object.spec.containers[0].image)"))));
    JsonObject trusted = evaluate(policy, "registry.example.com/web:1.10.2");
    assertTrue(trusted.getBoolean("allowed"), trusted.encode());
    JsonObject old = evaluate(policy, "registry.example.com/web:1.3");
    assertFalse(old.getBoolean("allowed"), old.encode());
    JsonObject hub = evaluate(policy, "nginx:1.27");
    assertFalse(hub.getBoolean("allowed"), hub.encode());
    assertEquals("from docker.io", hub.getJsonArray("violations").getJsonObject(0).getString("message"));
  }

  private static JsonObject evaluate(JsonObject policy, String image) {
    JsonObject pod = new JsonObject().put("apiVersion", "v1").put("kind", "Pod")
        .put("metadata", new JsonObject().put("name", "p").put("namespace", "default"))
        .put("spec", new JsonObject().put("containers", new JsonArray().add(new JsonObject().put("name", "c")
            .put("image", image))));
    HttpResponse<String> response = fleet.call(hub, "POST", "/api/v1/policies/evaluate", fleet.adminToken(),
        new JsonObject().put("object", pod).put("policy", policy));
    assertEquals(200, response.statusCode(), response.body());
    return new JsonObject(response.body());
  }

  /** Compiles plugins/example's sources against this class path and packs them with its resources. */
  private static void buildExamplePlugin(Path jar) throws IOException {
    Path classes = Files.createTempDirectory("kmc-plugin-example-classes");
    List<String> sources;
    try (Stream<Path> files = Files.walk(EXAMPLE.resolve("java"))) {
      sources = files.filter(f -> f.toString().endsWith(".java")).map(Path::toString).toList();
    }
    JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
    List<String> arguments = new ArrayList<>(List.of("--release", "17", "-proc:none", "-d", classes.toString(),
        "-classpath", System.getProperty("java.class.path")));
    arguments.addAll(sources);
    int status = compiler.run(null, null, null, arguments.toArray(String[]::new));
    assertEquals(0, status, "the example plugin compiles");
    try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
      for (Path root : List.of(classes, EXAMPLE.resolve("resources"))) {
        try (Stream<Path> files = Files.walk(root)) {
          for (Path file : files.filter(Files::isRegularFile).sorted().toList()) {
            out.putNextEntry(new JarEntry(root.relativize(file).toString().replace('\\', '/')));
            Files.copy(file, out);
            out.closeEntry();
          }
        }
      }
    }
  }

  private static void jar(Path jar, Map<String, String> entries) throws IOException {
    try (OutputStream file = Files.newOutputStream(jar); JarOutputStream out = new JarOutputStream(file)) {
      for (Map.Entry<String, String> entry : entries.entrySet()) {
        out.putNextEntry(new JarEntry(entry.getKey()));
        out.write(entry.getValue().getBytes(StandardCharsets.UTF_8));
        out.closeEntry();
      }
    }
  }
}
