package io.kmc.hub;

import io.kmc.hub.support.Fleet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The official Python and JavaScript Kubernetes clients, unmodified, with a kubeconfig downloaded
 * from the hub (TLS, bearer token), against a member cluster whose agent is on the other hub node:
 * CRUD, label selectors, a 404, a watch, a scale subresource, exec and logs, as each client does
 * them against a real kube-apiserver. The scripts are in {@code src/test/clients}; CI installs the
 * clients (Debian's python3-kubernetes, {@code npm ci} in {@code src/test/clients/js}).
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class ClientsIT {

  private static final Path CLIENTS = Path.of("src", "test", "clients");

  private static Fleet fleet;
  private static Path kubeconfig;

  @BeforeAll
  static void start() throws IOException {
    fleet = new Fleet().tls();
    fleet.cluster("prod");
    List<Hub> hubs = fleet.hubs(2);
    fleet.agent("prod", hubs.get(1));
    fleet.awaitConnected(hubs.get(0), "prod");
    HttpResponse<String> response = fleet.api(hubs.get(0), "/api/v1/clusters/prod/kubeconfig");
    assertEquals(200, response.statusCode(), response.body());
    kubeconfig = fleet.workDir().resolve("prod-via-hub.kubeconfig");
    Files.writeString(kubeconfig, response.body());
  }

  @AfterAll
  static void stop() {
    fleet.close();
  }

  @Test
  void pythonClient() throws Exception {
    // Debian's python3-kubernetes is for Debian's python3, whatever else is first on the PATH.
    Path python = Path.of("/usr/bin/python3");
    if (run(List.of(python.toString(), "-c", "import kubernetes")).exit != 0) {
      fail("the official Python client is not installed; CI installs it with: apt-get install -y python3-kubernetes");
    }
    Result result = run(List.of(python.toString(), CLIENTS.resolve("python/official_client.py").toString(),
        kubeconfig.toString(), "python-client"));
    assertSteps(result);
  }

  @Test
  void javascriptClient() throws Exception {
    Path js = CLIENTS.resolve("js");
    if (!Files.isDirectory(js.resolve("node_modules/@kubernetes/client-node"))) {
      fail("the official JavaScript client is not installed; CI installs it with: npm ci --prefix " + js);
    }
    Result result = run(List.of("node", js.resolve("official-client.mjs").toString(), kubeconfig.toString(),
        "javascript-client"));
    assertSteps(result);
  }

  private static void assertSteps(Result result) {
    assertEquals(0, result.exit, result.output);
    for (String step : List.of("list namespaces", "configmap create, read, patch, list by label",
        "404 as ApiException", "watch", "deployment create and scale", "exec", "delete namespace")) {
      assertTrue(result.output.contains("ok " + step + "\n"), "missing step '" + step + "':\n" + result.output);
    }
    assertTrue(result.output.endsWith("done\n"), result.output);
  }

  private record Result(int exit, String output) { }

  private static Result run(List<String> command) throws Exception {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    process.getOutputStream().close();
    byte[] output = process.getInputStream().readAllBytes();
    if (!process.waitFor(200, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      fail(command + " did not end:\n" + new String(output, StandardCharsets.UTF_8));
    }
    return new Result(process.exitValue(), new String(output, StandardCharsets.UTF_8));
  }
}
