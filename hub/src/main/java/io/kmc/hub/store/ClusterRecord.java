package io.kmc.hub.store;

import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;

import java.time.OffsetDateTime;
import java.util.LinkedHashMap;
import java.util.Map;

/** A registered member cluster. The join token itself is never stored, only its SHA-256. */
public record ClusterRecord(String name, String displayName, String description, Map<String, String> labels,
                            boolean enabled, boolean impersonate, String tokenSha256, String kubeconfig,
                            String kubeContext, OffsetDateTime createdAt, OffsetDateTime updatedAt) {

  public boolean direct() {
    return kubeconfig != null;
  }

  static ClusterRecord from(Row row) {
    Map<String, String> labels = new LinkedHashMap<>();
    JsonObject json = row.getJsonObject("labels");
    if (json != null) {
      json.forEach(e -> labels.put(e.getKey(), String.valueOf(e.getValue())));
    }
    return new ClusterRecord(row.getString("name"), row.getString("display_name"), row.getString("description"),
        Map.copyOf(labels), row.getBoolean("enabled"), row.getBoolean("impersonate"), row.getString("token_sha256"),
        row.getString("kubeconfig"), row.getString("kube_context"), row.getOffsetDateTime("created_at"),
        row.getOffsetDateTime("updated_at"));
  }
}
