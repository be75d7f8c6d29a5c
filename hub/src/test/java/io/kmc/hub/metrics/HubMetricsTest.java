package io.kmc.hub.metrics;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What one scrape holds per cluster: the bytes that grow with the fleet (docs/scale.md, fifth pass). */
class HubMetricsTest {

  private static final HubMetrics.ClusterGauge NEVER_CONNECTED = new HubMetrics.ClusterGauge(false, 0, -1);

  @Test
  void aClusterRegisteredButNeverConnectedHasOnlyItsUpSeries() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    HubMetrics metrics = new HubMetrics(registry, false);
    Map<String, HubMetrics.ClusterGauge> clusters = new LinkedHashMap<>();
    for (int i = 0; i < 100; i++) {
      clusters.put("idle-" + i, NEVER_CONNECTED);
    }
    clusters.put("live", new HubMetrics.ClusterGauge(true, 1_700_000_000_000L, 12));
    metrics.clusters(clusters);
    metrics.agentConnected("live");

    String scrape = registry.scrape();
    assertEquals(1, seriesOf(scrape, "idle-7"), "one series (kmc_cluster_up 0) for a cluster never heard from:\n"
        + linesOf(scrape, "idle-7"));
    assertTrue(scrape.contains("kmc_cluster_up{cluster=\"idle-7\"} 0.0"), scrape);
    // up, last seen, and the connect counter: what the alerts and the dashboard's cluster table read.
    assertEquals(3, seriesOf(scrape, "live"), linesOf(scrape, "live"));
    assertTrue(scrape.contains("kmc_cluster_last_seen_timestamp_seconds{cluster=\"live\"} 1.7E9"), scrape);
  }

  @Test
  void lastSeenOutlivesTheConnectionAndLatenciesAreOnePerNodeByDefault() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    HubMetrics metrics = new HubMetrics(registry, false);
    metrics.clusters(Map.of("prod", new HubMetrics.ClusterGauge(true, 1_700_000_000_000L, 800)));
    metrics.heartbeat(800);
    metrics.tunnelRequest("prod", 5_000_000);
    metrics.agentDisconnected("prod");
    // The agent is gone: the presence map has no entry any more.
    metrics.clusters(Map.of("prod", NEVER_CONNECTED));

    String scrape = registry.scrape();
    assertTrue(scrape.contains("kmc_cluster_up{cluster=\"prod\"} 0.0"), scrape);
    assertTrue(scrape.contains("kmc_cluster_last_seen_timestamp_seconds{cluster=\"prod\"} 1.7E9"),
        "when it was last heard from, kept after it went:\n" + linesOf(scrape, "prod"));
    assertFalse(scrape.contains("kmc_tunnel_latency_seconds{"), "no heartbeat gauge per cluster");
    assertTrue(scrape.contains("kmc_agent_disconnects_total 1.0"), scrape);
    assertTrue(scrape.contains("kmc_tunnel_heartbeat_seconds_bucket{le=\"1.0\"} 1"), scrape);
    assertTrue(scrape.contains("kmc_tunnel_heartbeat_seconds_bucket{le=\"0.5\"} 0"), scrape);
    assertTrue(scrape.contains("kmc_tunnel_requests_seconds_count 1"), scrape);
  }

  @Test
  void resourceCountsAreOnePerKindByDefault() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    HubMetrics metrics = new HubMetrics(registry, false);
    metrics.resourceCount("a", "pods", 3);
    metrics.resourceCount("b", "pods", 4);
    metrics.resourceCount("b", "namespaces", 2);
    metrics.indexApplied("a", 5, 1_000_000);

    String scrape = registry.scrape();
    assertTrue(scrape.contains("kmc_cluster_resources{kind=\"pods\"} 7.0"), scrape);
    assertTrue(scrape.contains("kmc_index_objects_written_total 5.0"), scrape);
    assertEquals(0, seriesOf(scrape, "a") + seriesOf(scrape, "b"), scrape);
    // b's agent moved to another node, which reports it from now on.
    metrics.keepResourceCounts(java.util.Set.of("a"));
    assertTrue(registry.scrape().contains("kmc_cluster_resources{kind=\"pods\"} 3.0"), registry.scrape());
  }

  @Test
  void perClusterDetailLabelsLatenciesAndDisconnects() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    HubMetrics metrics = new HubMetrics(registry, true);
    metrics.clusters(Map.of("prod", new HubMetrics.ClusterGauge(true, 1_700_000_000_000L, 800),
        "idle", NEVER_CONNECTED));
    metrics.tunnelRequest("prod", 5_000_000);
    metrics.agentDisconnected("prod");
    metrics.resourceCount("prod", "pods", 3);

    String scrape = registry.scrape();
    assertTrue(scrape.contains("kmc_tunnel_latency_seconds{cluster=\"prod\"} 0.8"), scrape);
    assertTrue(scrape.contains("kmc_cluster_resources{cluster=\"prod\",kind=\"pods\"} 3.0"), scrape);
    assertTrue(scrape.contains("kmc_agent_disconnects_total{cluster=\"prod\"} 1.0"), scrape);
    assertTrue(scrape.contains("kmc_tunnel_requests_seconds_count{cluster=\"prod\"} 1"), scrape);
    assertEquals(1, seriesOf(scrape, "idle"), linesOf(scrape, "idle"));
  }

  private static long seriesOf(String scrape, String cluster) {
    return scrape.lines().filter(line -> !line.startsWith("#") && line.contains("cluster=\"" + cluster + "\"")).count();
  }

  private static String linesOf(String scrape, String cluster) {
    return String.join("\n", scrape.lines().filter(line -> line.contains("cluster=\"" + cluster + "\"")).toList());
  }
}
