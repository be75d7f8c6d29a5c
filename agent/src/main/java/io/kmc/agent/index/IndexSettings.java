package io.kmc.agent.index;

import io.kmc.common.config.ConfigReader;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * What the agent indexes for the hub and how it batches the changes; see docs/configuration.md.
 *
 * @param enabled       run informers and feed the hub's fleet index
 * @param kinds         the kinds to index, as {@code group/version/resource} ({@code v1/pods} for the core group)
 * @param crds          also index every custom resource, found as CRDs appear
 * @param batchInterval how long changes gather before they go up as one batch per kind
 * @param batchSize     most objects in one batch
 * @param maxInFlight   batches sent and not yet acknowledged by the hub; beyond, changes gather
 * @param maxTombstones deletions remembered per kind for a hub that reconnects; past them it gets a relist
 * @param keepObjects   kinds ({@code group/version/resource}) whose whole objects go to the index too
 */
public record IndexSettings(boolean enabled, List<IndexedKind> kinds, boolean crds, Duration batchInterval,
                            int batchSize, int maxInFlight, int maxTombstones, java.util.Set<String> keepObjects) {

  /** Whether the index keeps a whole copy of objects of this kind (for answers while the cluster is offline). */
  public boolean keepsWhole(IndexedKind kind) {
    return keepObjects.contains(kind.toString());
  }

  public static final List<String> DEFAULT_KINDS = List.of(
      "v1/namespaces", "v1/nodes", "apps/v1/deployments", "apps/v1/statefulsets", "apps/v1/daemonsets",
      "apps/v1/replicasets", "v1/services", "networking.k8s.io/v1/ingresses", "v1/pods", "v1/configmaps",
      "v1/events", "apiextensions.k8s.io/v1/customresourcedefinitions");

  public static IndexSettings read(ConfigReader c) {
    boolean enabled = c.bool("index.enabled", true, "Run informers for the indexed kinds and feed the hub's fleet "
        + "index (search, aggregated lists, the fleet view for kubectl).");
    List<String> kindNames = c.strings("index.kinds", DEFAULT_KINDS, "Kinds to index, as group/version/resource "
        + "(v1/pods for the core group). Secrets are never indexed by content: only what the index keeps of any "
        + "object (names, labels, owner, a status summary) leaves the cluster.");
    boolean crds = c.bool("index.crds", true, "Also index every custom resource, starting an informer when its CRD "
        + "appears and stopping it when the CRD goes.");
    Duration interval = c.duration("index.batch_interval", Duration.ofMillis(200), Duration.ofMillis(10),
        Duration.ofSeconds(10), "How long changes gather before they go to the hub, one batch per kind.");
    int batchSize = c.integer("index.batch_size", 500, 1, 5_000, "Most objects in one batch.");
    int inFlight = c.integer("index.max_in_flight", 8, 1, 1_000, "Batches sent and not yet acknowledged by the hub; "
        + "beyond, changes gather (a changed object is sent once, as it is then).");
    int tombstones = c.integer("index.max_tombstones", 10_000, 0, 1_000_000, "Deletions remembered per kind so that "
        + "a hub that reconnects gets only what it missed; with more deletions meanwhile it gets a full relist.");
    List<String> keep = c.strings("index.keep_objects", List.of(), "Kinds (group/version/resource, as in "
        + "index.kinds) whose whole objects go to the hub's index too, so that the fleet view can answer with them "
        + "while the cluster is offline. Off by default: only what search needs leaves the cluster. Never Secrets.");
    java.util.Set<String> keepObjects = new java.util.LinkedHashSet<>();
    for (String name : keep) {
      try {
        IndexedKind kind = IndexedKind.parse(name);
        if (kind.group().isEmpty() && kind.resource().equals("secrets")) {
          c.problem("index.keep_objects", "Secrets are never kept in the index");
        } else {
          keepObjects.add(kind.toString());
        }
      } catch (IllegalArgumentException e) {
        c.problem("index.keep_objects", e.getMessage());
      }
    }
    List<IndexedKind> kinds = new ArrayList<>();
    for (String name : kindNames) {
      try {
        kinds.add(IndexedKind.parse(name));
      } catch (IllegalArgumentException e) {
        c.problem("index.kinds", e.getMessage());
      }
    }
    return new IndexSettings(enabled, List.copyOf(kinds), crds, interval, batchSize, inFlight, tombstones,
        java.util.Set.copyOf(keepObjects));
  }
}
