package io.kmc.hub.stream;

import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A subscription to propagations (all, or one by name): their spec, per-cluster status and drift, from
 * the hub's database rather than the fleet index. Propagation status is state, not a log, so what the
 * client holds is named by a fingerprint of each propagation as last sent; the resume token is that map.
 * Resuming compares it with what is there now: a propagation that changed is sent once (MODIFIED), one
 * that is gone is DELETED, a new one ADDED, one that did not change is not sent again. Runs on its
 * socket's event loop.
 */
final class PropagationSubscription {

  final String id;
  /** The one propagation followed, or null for all of them. */
  final String name;
  /** What the client holds: name to the fingerprint of the view last sent. */
  final Map<String, String> held;
  /** Names announced as changed since their last read. */
  final Set<String> dirty = new LinkedHashSet<>();
  /** Clusters shown stale in what was last sent (a change of these is a change of the views). */
  Set<String> staleSeen = Set.of();
  /** A read of every followed propagation is due (the initial state, a periodic check). */
  boolean all = true;
  boolean reading;
  boolean initialDone;
  long lastFull;

  PropagationSubscription(String id, String name, Map<String, String> held) {
    this.id = id;
    this.name = name;
    this.held = new TreeMap<>(held);
  }

  boolean follows(String propagation) {
    return name == null || name.equals(propagation);
  }

  String resumeToken() {
    JsonObject token = new JsonObject();
    held.forEach(token::put);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(token.encode().getBytes(StandardCharsets.UTF_8));
  }

  /** The map of a token from {@link #resumeToken()}; IllegalArgumentException for anything else. */
  static Map<String, String> parseToken(String token) {
    JsonObject json;
    try {
      json = new JsonObject(new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8));
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("not a propagation resume token");
    }
    Map<String, String> held = new TreeMap<>();
    for (Map.Entry<String, Object> entry : json) {
      if (!(entry.getValue() instanceof String fingerprint)) {
        throw new IllegalArgumentException("not a propagation resume token");
      }
      held.put(entry.getKey(), fingerprint);
    }
    return held;
  }

  /** A short digest of a propagation as sent. */
  static String fingerprint(String encoded) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(encoded.getBytes(StandardCharsets.UTF_8));
      return Base64.getUrlEncoder().withoutPadding().encodeToString(digest).substring(0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
