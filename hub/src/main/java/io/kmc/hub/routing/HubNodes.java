package io.kmc.hub.routing;

import com.hazelcast.cluster.MembershipEvent;
import com.hazelcast.cluster.MembershipListener;
import io.vertx.core.Vertx;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;

import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * This node's identity and the live membership of the hub cluster. A single, unclustered hub is a
 * cluster of one. Node ids are Vert.x's (kept by Hazelcast as a member attribute), so they match the
 * ids the event bus uses.
 */
public final class HubNodes {

  /** Where vertx-hazelcast keeps the Vert.x node id on each member. */
  private static final String NODE_ID_ATTRIBUTE = "__vertx.nodeId";

  private final String nodeId;
  private final HazelcastClusterManager clusterManager;
  private final List<Consumer<String>> leftListeners = new CopyOnWriteArrayList<>();

  private HubNodes(String nodeId, HazelcastClusterManager clusterManager) {
    this.nodeId = nodeId;
    this.clusterManager = clusterManager;
  }

  public static HubNodes standalone() {
    return new HubNodes(UUID.randomUUID().toString(), null);
  }

  public static HubNodes clustered(Vertx vertx, HazelcastClusterManager clusterManager) {
    HubNodes nodes = new HubNodes(clusterManager.getNodeId(), clusterManager);
    clusterManager.getHazelcastInstance().getCluster().addMembershipListener(new MembershipListener() {
      @Override
      public void memberAdded(MembershipEvent event) {
      }

      @Override
      public void memberRemoved(MembershipEvent event) {
        String left = event.getMember().getAttribute(NODE_ID_ATTRIBUTE);
        if (left != null) {
          // Hazelcast calls this on its own thread; listeners expect an event loop.
          vertx.runOnContext(v -> nodes.leftListeners.forEach(listener -> listener.accept(left)));
        }
      }
    });
    return nodes;
  }

  public String nodeId() {
    return nodeId;
  }

  public boolean clustered() {
    return clusterManager != null;
  }

  /** Node ids of the members currently in the cluster, this one included. */
  public Set<String> members() {
    if (clusterManager == null) {
      return Set.of(nodeId);
    }
    try {
      return clusterManager.getHazelcastInstance().getCluster().getMembers().stream()
          .map(member -> (String) member.getAttribute(NODE_ID_ATTRIBUTE))
          .filter(id -> id != null)
          .collect(Collectors.toUnmodifiableSet());
    } catch (RuntimeException e) {
      // Hazelcast is shutting down: this node is alone.
      return Set.of(nodeId);
    }
  }

  public boolean alive(String node) {
    return node != null && (node.equals(nodeId) || members().contains(node));
  }

  /** Called on a Vert.x context with the id of each node that leaves the cluster. */
  public void onNodeLeft(Consumer<String> listener) {
    leftListeners.add(listener);
  }

  /** Leaves the hub cluster abruptly, as a process killed with SIGKILL would: for tests of node loss. */
  public void terminate() {
    if (clusterManager != null) {
      clusterManager.getHazelcastInstance().getLifecycleService().terminate();
    }
  }

  /** For logs: a short form of a node id. */
  public static String shortId(String node) {
    return node == null ? "-" : node.length() > 8 ? node.substring(0, 8) : node;
  }
}
