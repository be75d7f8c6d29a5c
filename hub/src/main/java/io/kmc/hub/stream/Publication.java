package io.kmc.hub.stream;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;

/**
 * One publication of a cluster's changes (or of its connection state), read once per node and then
 * handed to every socket of the node. What every subscription of the kind would send the same is made
 * here, once: the changes read from the JSON, and each change's event object already encoded (with and
 * without what a deletion leaves out). The benchmark showed the per-subscription decoding and encoding
 * to be most of a node's work at 100 subscribers (docs/benchmarks.md, live resource streams).
 * Immutable once made: sockets on other event loops read it.
 */
final class Publication {

  /** One numbered change, with its event object encoded as a subscription without {@code objects} sends it. */
  record Change(long seq, String type, JsonObject body, String objectText, String deletedText) {
  }

  final String cluster;
  /** A connection state (connected, resynced, disconnected), or null for changes. */
  final String state;
  final String group;
  final String resource;
  final List<Change> changes;

  private Publication(String cluster, String state, String group, String resource, List<Change> changes) {
    this.cluster = cluster;
    this.state = state;
    this.group = group;
    this.resource = resource;
    this.changes = changes;
  }

  static Publication of(JsonObject json) {
    String cluster = json.getString("cluster");
    String group = json.getString("group", "");
    JsonArray list = json.getJsonArray("changes");
    List<Change> changes = new ArrayList<>(list == null ? 0 : list.size());
    if (list != null) {
      for (Object item : list) {
        JsonObject change = (JsonObject) item;
        JsonObject body = change.getJsonObject("body");
        String version = body.getString("version", "");
        changes.add(new Change(change.getLong("seq"), change.getString("type"), body,
            Subscription.eventObject(group, version, cluster, body, false, false).encode(),
            Subscription.eventObject(group, version, cluster, body, false, true).encode()));
      }
    }
    return new Publication(cluster, json.getString("state"), group, json.getString("resource"), List.copyOf(changes));
  }
}
