package io.kmc.common;

/**
 * Event-bus addresses and message headers shared by the hub nodes. Every send to one of these uses
 * a timeout.
 */
public final class Addresses {

  /** Cluster-wide map of agent presence, keyed by cluster name. */
  public static final String PRESENCE_MAP = "kmc.presence";
  /** Published when an agent session starts, so nodes holding an older session for it close theirs. */
  public static final String SESSION_STARTED = "kmc.hub.session-started";
  /**
   * Published by the node that wrote an agent's index batch: the changes numbered per cluster as the
   * stream change log holds them (those of a relist's end included), and the cluster's connection
   * events, for the live streams and the fleet view's watches of every node (one message per node,
   * fanned out there).
   */
  public static final String STREAM_CHANGES = "kmc.hub.stream-changes";

  /** Header naming the cluster a request sent to a node's channel is for. */
  public static final String HEADER_CLUSTER = "kmc-cluster";
  /** Header naming the node that sent a request, so stream frames find their way back. */
  public static final String HEADER_REQUESTER_NODE = "kmc-requester-node";
  /** Header naming the node that holds the agent socket and answered a request. */
  public static final String HEADER_OWNER_NODE = "kmc-owner-node";

  private Addresses() {
  }

  /** How many consumers each hub node spreads what other nodes send it over (one per lane, on several event loops). */
  public static final int NODE_LANES = 8;

  /**
   * Consumer every hub node registers, per lane, for what other nodes send it: requests for the
   * clusters whose sessions it holds, and the stream frames of exchanges in progress. Every frame of
   * one exchange goes to the same lane ({@link #lane}), so they stay in order.
   */
  public static String node(String nodeId, int lane) {
    return "kmc.node." + nodeId + "." + lane;
  }

  /** The lane of an exchange. */
  public static int lane(String exchangeId) {
    return Math.floorMod(exchangeId.hashCode(), NODE_LANES);
  }

  /** The address on {@code nodeId} for the frames of exchange {@code exchangeId}. */
  public static String node(String nodeId, String exchangeId) {
    return node(nodeId, lane(exchangeId));
  }
}
