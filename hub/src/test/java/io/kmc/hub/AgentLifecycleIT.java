package io.kmc.hub;

import io.kmc.agent.Agent;
import io.kmc.hub.support.Blackhole;
import io.kmc.hub.support.Fleet;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.V1ConfigMap;
import io.kubernetes.client.openapi.models.V1ObjectMeta;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Agents coming and going, nodes leaving, sockets silently dropped: the hub's view stays true. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AgentLifecycleIT {

  private Fleet fleet;

  @AfterEach
  void stop() {
    fleet.close();
  }

  @Test
  void disconnectedAgentIs503AndWorksAgainWhenItReturns() throws Exception {
    fleet = new Fleet();
    fleet.cluster("edge");
    List<Hub> hubs = fleet.hubs(2);
    fleet.agent("edge", hubs.get(1));
    fleet.awaitConnected(hubs.get(0), "edge");
    CoreV1Api core = new CoreV1Api(fleet.kubeClient(hubs.get(0), "edge", Duration.ofSeconds(30)));
    core.createNamespacedConfigMap("default", configMap("before")).execute();

    fleet.stopAgent("edge");
    fleet.awaitDisconnected(hubs.get(0), "edge");
    ApiException down = assertThrows(ApiException.class, () -> core.readNamespacedConfigMap("before", "default").execute());
    assertEquals(503, down.getCode());
    assertTrue(down.getResponseBody().contains("\"kind\":\"Status\""), down.getResponseBody());
    assertTrue(down.getResponseBody().contains("not connected"), down.getResponseBody());

    fleet.agent("edge", hubs.get(0));
    fleet.awaitConnected(hubs.get(1), "edge");
    assertEquals("before", core.readNamespacedConfigMap("before", "default").execute().getMetadata().getName());
  }

  @Test
  void agentMovesToTheOtherNodeWhenItsNodeStops() throws Exception {
    fleet = new Fleet();
    fleet.cluster("edge");
    List<Hub> hubs = fleet.hubs(2);
    Hub nodeA = hubs.get(0);
    Hub nodeB = hubs.get(1);
    Agent agent = fleet.agent("edge", nodeB, nodeA);
    fleet.awaitConnected(nodeA, "edge");
    assertEquals(nodeB.nodeId(), fleet.connection(nodeA, "edge").getString("node"));

    fleet.stopHub(nodeB);

    Fleet.eventually(Duration.ofSeconds(20), () -> fleet.connection(nodeA, "edge").getBoolean("connected")
        && nodeA.nodeId().equals(fleet.connection(nodeA, "edge").getString("node")), "agent reconnected to node A");
    assertTrue(agent.connectedTo().toString().contains(":" + nodeA.port() + "/"), String.valueOf(agent.connectedTo()));
    CoreV1Api core = new CoreV1Api(fleet.kubeClient(nodeA, "edge", Duration.ofSeconds(30)));
    core.createNamespacedConfigMap("default", configMap("after-failover")).execute();
    assertEquals("after-failover", core.readNamespacedConfigMap("after-failover", "default").execute()
        .getMetadata().getName());
  }

  @Test
  void silentlyDroppedSocketIsDetectedOnBothSidesAndRedialled() throws Exception {
    fleet = new Fleet();
    fleet.cluster("edge");
    Hub hub = fleet.hubs(1).get(0);
    try (Blackhole lb = Fleet.await(Blackhole.start(fleet.memberVertx(), hub.port()))) {
      Agent agent = fleet.agent("edge", List.of("ws://127.0.0.1:" + lb.port()));
      fleet.awaitConnected(hub, "edge");

      lb.swallow();
      // The hub's ping deadline is 2 s in these tests: it must stop showing the agent as connected.
      fleet.awaitDisconnected(hub, "edge");
      Fleet.eventually(Duration.ofSeconds(10), () -> !agent.connected(), "agent noticed the silence");

      lb.relay();
      fleet.awaitConnected(hub, "edge");
      CoreV1Api core = new CoreV1Api(fleet.kubeClient(hub, "edge", Duration.ofSeconds(30)));
      assertFalse(core.listNamespacedConfigMap("default").execute().getItems().isEmpty());
    }
  }

  @Test
  void newerConnectionForTheSameClusterReplacesTheOlderOneOnAnotherNode() throws Exception {
    fleet = new Fleet();
    fleet.cluster("edge");
    List<Hub> hubs = fleet.hubs(2);
    Agent first = fleet.agent("edge", hubs.get(0));
    fleet.awaitConnected(hubs.get(1), "edge");
    assertEquals(hubs.get(0).nodeId(), fleet.connection(hubs.get(1), "edge").getString("node"));

    // A second agent process for the same cluster (a rolling update of the agent Deployment).
    Agent second = Fleet.await(io.kmc.agent.Agent.start(fleet.memberVertx(), secondAgentConfig(hubs.get(1)),
        io.kmc.agent.kube.KubeAccess.kubeconfig(fleet.workDir().resolve("edge.kubeconfig"), null,
            Duration.ofSeconds(10))));
    try {
      Fleet.eventually(Duration.ofSeconds(10),
          () -> hubs.get(1).nodeId().equals(fleet.connection(hubs.get(0), "edge").getString("node")),
          "presence moved to the newer connection");
      Fleet.eventually(Duration.ofSeconds(10), () -> hubs.get(0).sessions().all().isEmpty(),
          "older session closed on node A");
      // The rolling update ends the old agent. Left running, it would redial after its backoff
      // (500 ms here) and take over in turn, the two alternating.
      Fleet.await(first.stop());
      Fleet.eventually(Duration.ofSeconds(10), () -> second.connected()
          && hubs.get(1).nodeId().equals(fleet.connection(hubs.get(0), "edge").getString("node")),
          "the newer agent serves the cluster");
      CoreV1Api core = new CoreV1Api(fleet.kubeClient(hubs.get(0), "edge", Duration.ofSeconds(30)));
      core.listNamespacedConfigMap("default").execute();
      assertTrue(second.connected());
    } finally {
      Fleet.await(second.stop());
      Fleet.await(first.stop());
    }
  }

  private io.kmc.agent.AgentConfig secondAgentConfig(Hub hub) {
    io.kmc.common.config.ConfigReader reader = io.kmc.common.config.ConfigReader.fromYaml("""
        hub:
          urls: ["ws://127.0.0.1:%d"]
          cluster: edge
          token: %s
          reconnect: {initial_backoff: 50ms, max_backoff: 500ms}
        kubernetes: {mode: kubeconfig, kubeconfig: %s}
        """.formatted(hub.port(), fleet.joinToken("edge"), fleet.workDir().resolve("edge.kubeconfig")),
        java.util.Map.of());
    io.kmc.agent.AgentConfig config = io.kmc.agent.AgentConfig.read(reader);
    reader.finish();
    return config;
  }

  private static V1ConfigMap configMap(String name) {
    return new V1ConfigMap().metadata(new V1ObjectMeta().name(name)).putDataItem("k", "v");
  }
}
