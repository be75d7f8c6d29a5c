package io.kmc.hub.stream;

import io.kmc.hub.index.FieldFilter;
import io.kmc.hub.index.Selector;
import io.kmc.hub.rbac.Authorizer;
import io.kmc.hub.store.ClusterRecord;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * One subscription of a socket: which objects, from which clusters, and per cluster how far it has
 * got (the number of the cluster's last change it has accounted for, which its resume token carries).
 * Lives on its socket's event loop.
 *
 * <p>Per cluster, changes are taken in the order the change log numbered them: a publication that
 * starts after the next expected number means some were missed (another node wrote them before this
 * one was listening, or a writer moved), and they are read from the log before going on. Until a
 * cluster's part has its initial state or replay, publications wait in its queue.
 */
final class Subscription {

  /** What the client asked for. */
  record Spec(String group, String version, String resource, Set<String> clusterNames, Selector clusterSelector,
              String namespace, Selector labels, FieldFilter fields, boolean objects, boolean counts,
              boolean initialState) {

    boolean selects(ClusterRecord cluster) {
      return cluster.enabled() && (clusterNames == null || clusterNames.contains(cluster.name()))
          && clusterSelector.matches(cluster.labels());
    }
  }

  /** One cluster's part of the subscription. */
  static final class Part {
    final String cluster;
    Authorizer.Scope scope;
    long seq;
    boolean ready;
    boolean stale;
    /** Whether the subscription's INITIAL_STATE_DONE still waits for this part. */
    boolean initial;
    /** Bumped whenever the part starts over, so that answers to older reads are ignored. */
    int epoch;
    long count;
    final ArrayDeque<Publication> waiting = new ArrayDeque<>();
    /** The cluster's name as a JSON string, for events and resume tokens written without an encoder. */
    final String clusterJson;

    Part(String cluster, Authorizer.Scope scope) {
      this.cluster = cluster;
      this.scope = scope;
      this.clusterJson = Json.encode(cluster);
    }

    boolean visible(String namespace) {
      return scope.all() || scope.namespaces().contains(namespace);
    }
  }

  final String id;
  final Spec spec;
  final Map<String, Part> parts = new TreeMap<>();
  /** Parts whose initial state (or replay) has not come yet, before the subscription's INITIAL_STATE_DONE. */
  int initialPending;
  boolean initialDone;
  boolean countsChanged;
  long lastSent = System.currentTimeMillis();

  Subscription(String id, Spec spec) {
    this.id = id;
    this.spec = spec;
  }

  boolean sameKind(String group, String resource) {
    return spec.group().equals(group) && spec.resource().equals(resource);
  }

  /**
   * The event a change is for this subscription, or null: an object that starts matching the label
   * selector and field filters is ADDED, one that stops matching is DELETED, as the Kubernetes API
   * server does for a watch with a label or field selector. A deletion is sent when the object matched
   * as it last was.
   */
  String eventType(Part part, String type, JsonObject body) {
    String namespace = body.getString("namespace", "");
    if ((spec.namespace() != null && !spec.namespace().equals(namespace)) || !part.visible(namespace)) {
      return null;
    }
    String name = body.getString("name");
    return switch (type) {
      case "ADDED" -> matches(body.getJsonObject("labels")) && fieldsMatch(name, body.getString("owner"),
          body.getJsonObject("summary")) ? "ADDED" : null;
      case "DELETED" -> matches(body.getJsonObject("labels")) && fieldsMatchedBefore(name, body) ? "DELETED" : null;
      default -> {
        boolean now = matches(body.getJsonObject("labels")) && fieldsMatch(name, body.getString("owner"),
            body.getJsonObject("summary"));
        boolean before = matches(body.getJsonObject("prevLabels")) && fieldsMatchedBefore(name, body);
        if (before && now) {
          yield "MODIFIED";
        }
        yield now ? "ADDED" : before ? "DELETED" : null;
      }
    };
  }

  private boolean fieldsMatch(String name, String owner, JsonObject summary) {
    return spec.fields().none() || spec.fields().matches(name, owner, summary);
  }

  /**
   * Whether the object as it was before the change passed the field filters. Changes logged before the
   * index kept the previous summary do not say; those count as passing, so that no deletion is held back.
   */
  private boolean fieldsMatchedBefore(String name, JsonObject body) {
    if (spec.fields().none() || !body.containsKey("prevSummary")) {
      return true;
    }
    return spec.fields().matches(name, body.getString("prevOwner"), body.getJsonObject("prevSummary"));
  }

  private boolean matches(JsonObject labels) {
    if (labels == null) {
      return false;
    }
    if (spec.labels().requirements().isEmpty()) {
      return true;
    }
    Map<String, String> map = new HashMap<>();
    labels.forEach(e -> map.put(e.getKey(), String.valueOf(e.getValue())));
    return spec.labels().matches(map);
  }

  /** The object as events carry it: what the index holds, the whole object only when asked and kept. */
  JsonObject object(String cluster, JsonObject body, boolean deleted) {
    return eventObject(spec.group(), body.getString("version", spec.version()), cluster, body, spec.objects(), deleted);
  }

  /** The object of an event of a kind of {@code group}, for every subscription alike but for {@code withObject}. */
  static JsonObject eventObject(String group, String version, String cluster, JsonObject body, boolean withObject,
                                boolean deleted) {
    JsonObject object = new JsonObject()
        .put("apiVersion", group.isEmpty() ? version : group + "/" + version)
        .put("kind", body.getString("kind"))
        .put("cluster", cluster)
        .put("namespace", body.getString("namespace", ""))
        .put("name", body.getString("name"))
        .put("labels", body.getJsonObject("labels", new JsonObject()));
    if (!deleted) {
      object.put("uid", body.getString("uid")).put("resourceVersion", body.getString("resourceVersion"))
          .put("owner", body.getString("owner")).put("created", body.getString("created"))
          .put("summary", body.getJsonObject("summary", new JsonObject()));
      if (withObject && body.getJsonObject("object") != null) {
        object.put("object", body.getJsonObject("object"));
      }
    }
    return object;
  }

  /** Per cluster, the number of the last change accounted for: what a client resumes from. */
  String resumeToken() {
    // The JSON of {cluster: number} written by hand: one token per event per subscription, so it is hot.
    StringBuilder seqs = new StringBuilder(16 + 24 * parts.size()).append('{');
    for (Part part : parts.values()) {
      if (part.ready) {
        if (seqs.length() > 1) {
          seqs.append(',');
        }
        seqs.append(part.clusterJson).append(':').append(part.seq);
      }
    }
    seqs.append('}');
    return Base64.getUrlEncoder().withoutPadding().encodeToString(seqs.toString().getBytes(StandardCharsets.UTF_8));
  }

  /** The per-cluster numbers of a token; fails with IllegalArgumentException on anything but a token. */
  static Map<String, Long> parseToken(String token) {
    JsonObject seqs = new JsonObject(new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8));
    Map<String, Long> result = new HashMap<>();
    for (String cluster : seqs.fieldNames()) {
      Object value = seqs.getValue(cluster);
      if (!(value instanceof Number number) || number.longValue() < 0) {
        throw new IllegalArgumentException("a resume token holds numbers");
      }
      result.put(cluster, number.longValue());
    }
    return result;
  }

  JsonObject counts() {
    JsonObject counts = new JsonObject();
    parts.values().forEach(part -> counts.put(part.cluster, part.count));
    return counts;
  }
}
