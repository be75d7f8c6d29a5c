package io.kmc.hub.api;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The fleet view's resourceVersion: for each cluster, the number of its last change accounted for, as
 * the stream change log numbers them (docs/streams.md), written as base64url JSON
 * ({@code {"prod":1042,"edge":77}}). Opaque to clients, as resourceVersions are; a watch resumes from it.
 */
final class FleetVersion {

  private FleetVersion() {
  }

  static String encode(Map<String, Long> seqs) {
    JsonObject json = new JsonObject();
    new TreeMap<>(seqs).forEach(json::put);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(json.encode().getBytes(StandardCharsets.UTF_8));
  }

  /** The per-cluster numbers; IllegalArgumentException for anything that is not a fleet resourceVersion. */
  static Map<String, Long> decode(String resourceVersion) {
    JsonObject json;
    try {
      json = new JsonObject(new String(Base64.getUrlDecoder().decode(resourceVersion), StandardCharsets.UTF_8));
    } catch (DecodeException | ClassCastException e) {
      throw new IllegalArgumentException("not a fleet resourceVersion", e);
    }
    Map<String, Long> seqs = new HashMap<>();
    for (String cluster : json.fieldNames()) {
      if (!(json.getValue(cluster) instanceof Number number) || number.longValue() < 0) {
        throw new IllegalArgumentException("not a fleet resourceVersion");
      }
      seqs.put(cluster, number.longValue());
    }
    return seqs;
  }
}
