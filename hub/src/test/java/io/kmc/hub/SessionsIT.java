package io.kmc.hub;

import io.kmc.hub.support.Fleet;
import io.kmc.kubesim.Kubectl;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Unmodified kubectl's interactive commands through two clustered hub nodes: kubectl talks to node
 * A, the cluster's agent is connected to node B. exec (output, exit codes, stdin), attach, cp both
 * ways, port-forward, RBAC on pods/exec, a recorded session played back, and a session whose agent
 * goes away.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SessionsIT {

  private static final String POD = """
      apiVersion: v1
      kind: Pod
      metadata:
        name: box
      spec:
        containers:
        - name: main
          image: busybox:1.36
          stdin: true
          ports:
          - containerPort: 80
      """;

  private static Fleet fleet;
  private static Hub nodeA;
  private static Kubectl kubectl;
  private static Path work;

  @BeforeAll
  static void start() throws Exception {
    fleet = new Fleet().tls().hubSettings(Map.of("KMC_AUDIT_RECORD_SESSIONS", "true"));
    // A kubectl dispatcher picks the kubectl of the server's version: 1.32 speaks websockets for all of these.
    fleet.cluster("prod", options -> options.gitVersion("v1.32.0"));
    List<Hub> hubs = fleet.hubs(2);
    nodeA = hubs.get(0);
    fleet.agent("prod", hubs.get(1));
    fleet.awaitConnected(nodeA, "prod");
    work = Files.createTempDirectory(fleet.workDir(), "sessions");
    kubectl = new Kubectl(Kubectl.available().get(0), kubeconfig(fleet.adminToken(), "admin"), work);
    kubectl.ok("apply", "-f", kubectl.write("pod.yaml", POD).toString());
    kubectl.ok("wait", "--for=condition=Ready", "pod/box", "--timeout=30s");
  }

  @AfterAll
  static void stop() {
    fleet.close();
  }

  @Test
  @Order(1)
  void execPassesOutputExitCodesAndStdin() throws Exception {
    assertEquals("hi\n", kubectl.ok("exec", "box", "--", "echo", "hi"));
    Kubectl.Result exit = kubectl.run("exec", "box", "--", "sh", "-c", "exit 3");
    assertEquals(3, exit.exitCode(), exit.output());
    Path input = kubectl.write("input.txt", "line one\nline two\n");
    assertEquals("line one\nline two\n", kubectl.runWithInput(input, "exec", "-i", "box", "--", "cat").output());
    Kubectl.Result terminal = kubectl.shellInTerminal("box");
    if (terminal != null) {
      assertEquals(4, terminal.exitCode(), terminal.output());
      assertTrue(terminal.output().contains("# echo term=$TERM\r\nterm=xterm\r\n# exit 4\r\n"), terminal.output());
    }
    Kubectl.Result unknown = kubectl.run("exec", "ghost", "--", "ls");
    assertNotEquals(0, unknown.exitCode());
    assertTrue(unknown.output().contains("pods \"ghost\" not found"), unknown.output());
  }

  @Test
  @Order(2)
  void attachAndCopyBothWays() throws Exception {
    Kubectl.Result attached = kubectl.runWithInput(kubectl.write("attach.txt", "echo me back\n"), "attach", "-i", "box");
    assertEquals(0, attached.exitCode(), attached.output());
    assertTrue(attached.output().contains("echo me back\n"), attached.output());

    byte[] payload = new byte[3 * 1024 * 1024 + 11]; // many websocket messages, many tunnel frames
    new Random(14).nextBytes(payload);
    Path local = Files.write(work.resolve("payload.bin"), payload);
    kubectl.ok("cp", local.toString(), "box:/tmp/payload.bin");
    Path back = work.resolve("back.bin");
    kubectl.ok("cp", "box:/tmp/payload.bin", back.toString());
    assertArrayEquals(payload, Files.readAllBytes(back));
  }

  @Test
  @Order(3)
  void portForwardRelaysBytes() throws Exception {
    Process forward = kubectl.start("port-forward", "pod/box", ":80");
    try {
      String output = kubectl.awaitOutput(forward, "Forwarding from 127.0.0.1:", 20);
      Matcher port = Pattern.compile("Forwarding from 127\\.0\\.0\\.1:(\\d+) -> 80").matcher(output);
      assertTrue(port.find(), output);
      byte[] sent = new byte[200_000];
      new Random(80).nextBytes(sent);
      try (Socket socket = new Socket("127.0.0.1", Integer.parseInt(port.group(1)))) {
        socket.setSoTimeout(20_000);
        OutputStream out = socket.getOutputStream();
        InputStream in = socket.getInputStream();
        Thread writer = new Thread(() -> {
          try {
            out.write(sent);
            socket.shutdownOutput();
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        });
        writer.start();
        assertArrayEquals(sent, in.readAllBytes(), "the pod's echo server sent everything back through the hub");
        writer.join(10_000);
      }
    } finally {
      forward.destroy();
      forward.waitFor(10, TimeUnit.SECONDS);
    }
  }

  @Test
  @Order(4)
  void aUserWithoutExecRightsIsRefused() throws Exception {
    assertEquals(201, fleet.call(nodeA, "POST", "/api/v1/users", fleet.adminToken(), new JsonObject()
        .put("name", "dev").put("password", "dev-password-123")).statusCode());
    assertEquals(201, fleet.call(nodeA, "POST", "/api/v1/rbac/bindings", fleet.adminToken(), new JsonObject()
        .put("subject", "dev").put("role", "operator").put("domain", "prod/default")).statusCode());
    String token = fleet.login(nodeA, "dev", "dev-password-123");
    Kubectl operator = new Kubectl(kubectl.binary(), kubeconfig(token, "dev"), work);
    assertEquals("box", operator.ok("get", "pod", "box", "-o", "name").strip().substring("pod/".length()),
        "an operator may read the pod");
    Kubectl.Result refused = operator.run("exec", "box", "--", "echo", "hi");
    assertNotEquals(0, refused.exitCode());
    assertTrue(refused.output().contains("may not create pods/exec"), refused.output());
  }

  @Test
  @Order(5)
  void aRecordedSessionPlaysBackWhatWasShown() throws Exception {
    assertEquals("recorded\n", kubectl.ok("exec", "box", "--", "echo", "recorded"));
    String path = "/k8s/clusters/prod/api/v1/namespaces/default/pods/box/exec";
    JsonObject record = Fleet.awaitValue(Duration.ofSeconds(10), () -> {
      JsonArray items = new JsonObject(fleet.api(nodeA, "/api/v1/audit?limit=20&path="
          + URLEncoder.encode(path, StandardCharsets.UTF_8)).body()).getJsonArray("items");
      return items.stream().map(JsonObject.class::cast)
          .filter(item -> item.getString("detail") != null && item.getString("detail").contains("session recorded"))
          .findFirst().orElse(null);
    }, "an audit record of the exec linking its recording");
    String link = record.getString("detail").substring(record.getString("detail").indexOf("/api/v1/audit/sessions/"));
    String cast = Fleet.awaitValue(Duration.ofSeconds(10), () -> {
      HttpResponse<String> response = fleet.api(nodeA, link);
      return response.statusCode() == 200 ? response.body() : null;
    }, "the recording stored");
    List<String> lines = cast.lines().toList();
    JsonObject header = new JsonObject(lines.get(0));
    assertEquals(2, header.getInteger("version"));
    assertEquals("echo recorded", header.getString("command"));
    StringBuilder shown = new StringBuilder();
    for (String line : lines.subList(1, lines.size())) {
      JsonArray event = new JsonArray(line);
      if ("o".equals(event.getString(1))) {
        shown.append(event.getString(2));
      }
    }
    assertEquals("recorded\n", shown.toString(), "played back, the output is what kubectl showed");

    assertEquals(404, fleet.api(nodeA, "/api/v1/audit/sessions/not-a-session").statusCode());
    assertEquals(404, fleet.api(nodeA, "/api/v1/audit/sessions/" + UUID.randomUUID()).statusCode());
    String operator = fleet.login(nodeA, "dev", "dev-password-123");
    assertEquals(403, fleet.call(nodeA, "GET", link, operator, null).statusCode(), "only admins replay sessions");
  }

  /** Last: it takes the agent away. */
  @Test
  @Order(6)
  void aSessionWhoseAgentGoesAwayEndsWithAReason() throws Exception {
    Process sleeping = kubectl.start("exec", "box", "--", "sleep", "60");
    Thread.sleep(1_500);
    fleet.stopAgent("prod");
    assertTrue(sleeping.waitFor(20, TimeUnit.SECONDS), "kubectl exec did not end when the agent went away");
    assertNotEquals(0, sleeping.exitValue());
    String output = kubectl.output(sleeping);
    assertFalse(output.isBlank(), "kubectl said why");
  }

  /**
   * Node A relayed every session above; they are all over, so it stops at once rather than waiting out
   * its shutdown grace (30 s) for "requests in flight" that were sessions.
   */
  @Test
  @Order(7)
  void aNodeWhoseSessionsAreOverStopsWithoutWaitingItsGrace() {
    long started = System.nanoTime();
    fleet.stopHub(nodeA);
    long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started);
    assertTrue(seconds < 15, "node A took " + seconds + " s to stop: finished sessions held its shutdown grace");
  }

  /** A kubeconfig from the hub for the holder of {@code bearer}, pointing at node A. */
  private static Path kubeconfig(String bearer, String name) throws IOException {
    HttpResponse<String> response = fleet.call(nodeA, "GET", "/api/v1/clusters/prod/kubeconfig", bearer, null);
    assertEquals(200, response.statusCode(), response.body());
    return Files.writeString(fleet.workDir().resolve(name + "-sessions.kubeconfig"), response.body());
  }
}
