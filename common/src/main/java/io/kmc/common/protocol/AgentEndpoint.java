package io.kmc.common.protocol;

/** Where and how an agent opens its websocket to the hub (protocol v1). */
public final class AgentEndpoint {

  /** The hub's path for agent connections; a hub URL without a path means this one. */
  public static final String PATH = "/agent/v1/connect";
  /** Names the cluster the agent speaks for; the join token must be that cluster's. */
  public static final String CLUSTER_HEADER = "X-Kmc-Cluster";

  private AgentEndpoint() {
  }
}
