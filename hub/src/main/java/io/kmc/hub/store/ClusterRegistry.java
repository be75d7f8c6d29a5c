package io.kmc.hub.store;

import io.kmc.hub.HubConfig.ClusterEntry;
import io.kmc.hub.auth.TokenHashes;
import io.vertx.core.Future;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The member clusters the hub knows, and the hashes of their join tokens. Read from the hub
 * configuration's {@code clusters:} section.
 */
public final class ClusterRegistry {

  /** What a join-token check found. */
  public enum TokenCheck { VALID, UNKNOWN_CLUSTER, DISABLED, INVALID_TOKEN, DIRECT_ONLY }

  private final Map<String, ClusterEntry> clusters = new LinkedHashMap<>();

  public ClusterRegistry(List<ClusterEntry> entries) {
    entries.forEach(entry -> clusters.put(entry.name(), entry));
  }

  public Future<ClusterEntry> find(String name) {
    return Future.succeededFuture(clusters.get(name));
  }

  public Future<List<ClusterEntry>> list() {
    return Future.succeededFuture(List.copyOf(clusters.values()));
  }

  public List<ClusterEntry> direct() {
    return clusters.values().stream().filter(ClusterEntry::direct).toList();
  }

  public Future<TokenCheck> checkJoinToken(String cluster, String token) {
    ClusterEntry entry = clusters.get(cluster);
    if (entry == null) {
      return Future.succeededFuture(TokenCheck.UNKNOWN_CLUSTER);
    }
    if (entry.tokenSha256() == null) {
      return Future.succeededFuture(TokenCheck.DIRECT_ONLY);
    }
    if (!entry.enabled()) {
      return Future.succeededFuture(TokenCheck.DISABLED);
    }
    boolean valid = TokenHashes.matches(TokenHashes.sha256(token), entry.tokenSha256());
    return Future.succeededFuture(valid ? TokenCheck.VALID : TokenCheck.INVALID_TOKEN);
  }
}
