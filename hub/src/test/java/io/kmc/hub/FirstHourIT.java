package io.kmc.hub;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.kmc.agent.Agent;
import io.kmc.agent.AgentConfig;
import io.kmc.agent.tunnel.HubConnector;
import io.kmc.common.config.ConfigReader;
import io.kmc.common.tls.Fingerprints;
import io.kmc.hub.support.Fleet;
import io.kmc.kubesim.KubeSim;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

import io.kmc.kubesim.Kubectl;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static io.kmc.hub.support.Fleet.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a newcomer meets in the first hour, on a two-node hub with its default self-signed
 * certificate: an agent that does not trust the hub says so and says what to set; kubectl shows the
 * hub's own message for a cluster that is not connected.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class FirstHourIT {

  private static Fleet fleet;
  private static Hub nodeA;
  private static Hub nodeB;
  private final List<Agent> agents = new ArrayList<>();
  private ListAppender<ILoggingEvent> connectorLog;

  @BeforeAll
  static void start() {
    fleet = new Fleet().tls();
    fleet.cluster("edge-7");
    List<Hub> hubs = fleet.hubs(2);
    nodeA = hubs.get(0);
    nodeB = hubs.get(1);
  }

  @AfterAll
  static void stop() {
    fleet.close();
  }

  @AfterEach
  void stopAgents() {
    agents.forEach(agent -> await(agent.stop()));
    if (connectorLog != null) {
      ((Logger) LoggerFactory.getLogger(HubConnector.class)).detachAppender(connectorLog);
    }
  }

  @Test
  void anAgentThatDoesNotTrustTheHubSaysSoAndWhatToSet() throws Exception {
    String fingerprint = hubFingerprint();
    startAgent("");
    String said = awaitConnectorLine("not trusted");
    for (String expected : List.of("KMC_HUB_CA_FILE", "hub.ca_sha256", "KMC_HUB_CA_SHA256=" + fingerprint)) {
      assertFalse(!said.contains(expected), "'" + expected + "' in: " + said);
    }
    assertFalse(agents.get(0).connected());
  }

  @Test
  void anAgentPinningTheHubsFingerprintConnects() throws Exception {
    startAgent("ca_sha256: \"" + hubFingerprint().toLowerCase() + "\"");
    fleet.awaitConnected(nodeB, "edge-7");
  }

  @Test
  void aWrongPinIsReportedWithWhatTheHubPresented() throws Exception {
    startAgent("ca_sha256: " + "ab".repeat(32));
    String said = awaitConnectorLine("does not hold the certificate hub.ca_sha256 pins");
    assertFalse(!said.contains(hubFingerprint()), said);
  }

  @Test
  void kubectlPrintsTheHubsMessageForADisconnectedClusterWithOrWithoutItsDiscoveryCached() throws Exception {
    String token = new io.vertx.core.json.JsonObject(fleet.call(nodeA, "POST", "/api/v1/clusters", fleet.adminToken(),
        new io.vertx.core.json.JsonObject().put("name", "edge-8")).body()).getString("token");
    HttpResponse<String> kubeconfig = fleet.api(nodeB, "/api/v1/clusters/edge-8/kubeconfig");
    assertEquals(200, kubeconfig.statusCode(), kubeconfig.body());
    Path file = Files.writeString(fleet.workDir().resolve("edge-8-via-hub.kubeconfig"), kubeconfig.body());
    List<Path> binaries = Kubectl.available();
    assertFalse(binaries.isEmpty(), "no kubectl found; CI installs it with: apt-get install -y kubernetes-client");

    // Never connected, nothing cached: kubectl fails in discovery, which it reads without a Status.
    Kubectl fresh = new Kubectl(binaries.get(0), file, Files.createTempDirectory(fleet.workDir(), "kubectl"));
    Kubectl.Result never = fresh.run("get", "ns");
    assertNotEquals(0, never.exitCode(), never.output());
    assertTrue(never.output().contains("cluster 'edge-8' is not connected"), never.output());

    // Connected once (discovery cached), then gone: the Status of the request itself is what kubectl prints.
    fleet.simulatedCluster("edge-8", token);
    fleet.agent("edge-8", nodeA);
    fleet.awaitConnected(nodeB, "edge-8");
    Kubectl warm = new Kubectl(binaries.get(0), file, Files.createTempDirectory(fleet.workDir(), "kubectl"));
    assertTrue(warm.ok("get", "ns").contains("kube-system"));
    fleet.stopAgent("edge-8");
    fleet.awaitDisconnected(nodeB, "edge-8");
    Kubectl.Result gone = warm.run("get", "ns");
    assertNotEquals(0, gone.exitCode(), gone.output());
    assertTrue(gone.output().contains("Error from server (ServiceUnavailable): cluster 'edge-8' is not connected"),
        gone.output());
  }

  @Test
  @SuppressWarnings("unchecked")
  void theInstallCommandWorksPastedAsIsOnAnyNodeAndOnlyOnce() throws Exception {
    HttpResponse<String> created = fleet.call(nodeA, "POST", "/api/v1/clusters", fleet.adminToken(),
        new io.vertx.core.json.JsonObject().put("name", "edge-9").put("labels",
            new io.vertx.core.json.JsonObject().put("env", "edge")));
    assertEquals(201, created.statusCode(), created.body());
    io.vertx.core.json.JsonObject answer = new io.vertx.core.json.JsonObject(created.body());
    String command = answer.getString("installCommand");
    assertEquals("manage", answer.getString("access"), "kubectl writes through the hub work by default");
    for (String absent : List.of("$", "hub-ca.crt", "Authorization", answer.getString("token"))) {
      assertFalse(command.contains(absent), "'" + absent + "' in: " + command);
    }
    assertTrue(command.startsWith("curl -fsSk --pinnedpubkey 'sha256//") && command.endsWith(" | kubectl apply -f -"),
        command);

    // Issued by node A, used through node B (same certificate, so the same pin): the state is shared.
    String viaB = command.replace("127.0.0.1:" + nodeA.port(), "127.0.0.1:" + nodeB.port());
    KubeSim member = fleet.simulatedCluster("edge-9", answer.getString("token"));
    Path memberKubeconfig = Files.writeString(fleet.workDir().resolve("edge-9-member.kubeconfig"),
        member.kubeconfig("edge-9"));
    String applied = shell(viaB, memberKubeconfig);
    assertTrue(applied.contains("deployment.apps/kmc-agent created"), applied);
    io.vertx.core.json.JsonObject secret = await(member.get("v1", "Secret", "kmc-system", "kmc-agent"));
    String token = secret.getJsonObject("stringData") != null ? secret.getJsonObject("stringData").getString("token")
        : new String(java.util.Base64.getDecoder().decode(secret.getJsonObject("data").getString("token")));
    assertEquals(answer.getString("token"), token);
    String deployment = await(member.get("apps/v1", "Deployment", "kmc-system", "kmc-agent")).encode();
    assertTrue(deployment.contains("wss://127.0.0.1:" + nodeB.port()), deployment);

    // Used: a second run fails, and the link says why and what to do.
    assertThrows(AssertionError.class, () -> shell(viaB, memberKubeconfig));
    HttpResponse<String> again = fleet.send(java.net.http.HttpRequest.newBuilder(
        java.net.URI.create(answer.getString("installUrl"))).GET().build());
    assertEquals(410, again.statusCode(), again.body());
    assertTrue(again.body().contains("kmc clusters rotate-token edge-9"), again.body());

    // The pin is what curl checks: another key is refused, -k notwithstanding.
    HttpResponse<String> rotated = fleet.call(nodeB, "POST", "/api/v1/clusters/edge-9/token", fleet.adminToken(), null);
    assertEquals(200, rotated.statusCode(), rotated.body());
    String otherPin = new io.vertx.core.json.JsonObject(rotated.body()).getString("installCommand")
        .replaceFirst("sha256//[^']+", "sha256//" + "A".repeat(43) + "=");
    assertThrows(AssertionError.class, () -> shell(otherPin, memberKubeconfig));
  }

  /** Runs a command line as a user pastes it, with kubectl pointed at {@code kubeconfig}; fails unless it exits 0. */
  private static String shell(String commandLine, Path kubeconfig) throws Exception {
    Path home = Files.createTempDirectory(fleet.workDir(), "shell");
    ProcessBuilder builder = new ProcessBuilder("sh", "-c", commandLine)
        .redirectErrorStream(true).directory(home.toFile());
    builder.environment().put("KUBECONFIG", kubeconfig.toString());
    builder.environment().put("HOME", home.toString());
    Process process = builder.start();
    String output = new String(process.getInputStream().readAllBytes());
    if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
      throw new AssertionError("'" + commandLine + "' failed:\n" + output);
    }
    return output;
  }

  private static String hubFingerprint() throws Exception {
    return Fingerprints.sha256(Fingerprints.certificates(Files.readString(fleet.hubCertificate())).get(0));
  }

  /** An agent of edge-7 dialling node A with the given extra hub settings (and no CA file). */
  private void startAgent(String trustSetting) throws Exception {
    Logger logger = (Logger) LoggerFactory.getLogger(HubConnector.class);
    connectorLog = new ListAppender<>();
    connectorLog.start();
    logger.addAppender(connectorLog);
    KubeSim sim = fleet.sim("edge-7");
    Path kubeconfig = Files.writeString(fleet.workDir().resolve("edge-7-trust.kubeconfig"), sim.kubeconfig("edge-7"));
    ConfigReader reader = ConfigReader.fromYaml("""
        hub:
          urls: ["wss://127.0.0.1:%d"]
          cluster: edge-7
          token: %s
          %s
          reconnect: {initial_backoff: 50ms, max_backoff: 300ms}
        kubernetes:
          mode: kubeconfig
          kubeconfig: %s
        """.formatted(nodeA.port(), fleet.joinToken("edge-7"), trustSetting, kubeconfig), Map.of());
    AgentConfig config = AgentConfig.read(reader);
    reader.finish();
    agents.add(await(Agent.start(fleet.memberVertx(), config, Agent.kubeAccess(config))));
  }

  private String awaitConnectorLine(String containing) {
    String[] found = new String[1];
    Fleet.eventually(Duration.ofSeconds(20), () -> {
      for (ILoggingEvent event : List.copyOf(connectorLog.list)) {
        if (event.getFormattedMessage().contains(containing)) {
          found[0] = event.getFormattedMessage();
          return true;
        }
      }
      return false;
    }, "the agent logging '" + containing + "'");
    return found[0];
  }
}
