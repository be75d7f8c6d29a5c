package io.kmc.hub.notify;

import java.util.Arrays;
import java.util.List;

/**
 * What can be notified. Each type has a default severity (an event may carry another), and says
 * whether repeats are de-duplicated: an event of a flapping type is dropped when one of the same type,
 * cluster and subject went out within {@code notifications.dedup_window}.
 */
public enum EventType {
  CLUSTER_CONNECTED("cluster.connected", Severity.INFO, true, "An agent connected (or a hub node reached a direct cluster)."),
  CLUSTER_DISCONNECTED("cluster.disconnected", Severity.WARNING, true,
      "A cluster's agent connection ended and no other session holds the cluster."),
  CLUSTER_UNHEALTHY("cluster.unhealthy", Severity.WARNING, true, "A cluster's API server is failing (not emitted yet)."),
  CLUSTER_STALE("cluster.stale", Severity.WARNING, true, "A cluster was not heard from for too long (not emitted yet)."),
  AGENT_VERSION_SKEW("agent.version_skew", Severity.WARNING, true,
      "An agent of another major.minor version than the hub connected."),
  POLICY_VIOLATION("policy.violation", Severity.WARNING, true,
      "A write violated a policy (deny and audit: warning and info)."),
  TOKEN_ROTATED("cluster.token_rotated", Severity.INFO, false, "A cluster's join token was rotated."),
  LOGIN_FAILURES("auth.login_failures", Severity.CRITICAL, true,
      "Failed logins of a user or from an address reached auth.login_attempts."),
  PROPAGATION_FAILED("propagation.failed", Severity.WARNING, true, "A propagation to a cluster failed."),
  PROPAGATION_SUCCEEDED("propagation.succeeded", Severity.INFO, false,
      "A propagation reached every target, applied and healthy."),
  PROPAGATION_DRIFT("propagation.drift", Severity.WARNING, true,
      "A propagated object was changed in a member cluster."),
  /** Sent by {@code POST /api/v1/notifications/channels/{name}/test} to that channel only. */
  TEST("notification.test", Severity.INFO, false, "A test message to one channel.");

  private final String id;
  private final Severity severity;
  private final boolean deduplicated;
  private final String description;

  EventType(String id, Severity severity, boolean deduplicated, String description) {
    this.id = id;
    this.severity = severity;
    this.deduplicated = deduplicated;
    this.description = description;
  }

  public String id() {
    return id;
  }

  public Severity severity() {
    return severity;
  }

  public boolean deduplicated() {
    return deduplicated;
  }

  public String description() {
    return description;
  }

  /** The type of that id, or null. */
  public static EventType parse(String id) {
    for (EventType t : values()) {
      if (t.id.equals(id)) {
        return t;
      }
    }
    return null;
  }

  public static List<String> ids() {
    return Arrays.stream(values()).map(EventType::id).toList();
  }
}
