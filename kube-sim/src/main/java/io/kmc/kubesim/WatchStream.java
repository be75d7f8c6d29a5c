package io.kmc.kubesim;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * One watch: newline-delimited {@code {"type":..,"object":..}} events over a chunked HTTP/1.1
 * response, each written (and so flushed) as soon as the store commits the change.
 *
 * <p>Selectors are applied to both the old and the new object, as the apiserver's watch cache
 * does: an object that starts matching arrives as ADDED, one that stops matching as DELETED.
 */
final class WatchStream extends SimStream {

  /** What to watch and how to answer. {@code render} turns a stored object into what the client asked for. */
  record Spec(ResourceType type, String namespace, LabelSelector labels, FieldSelector fields,
      UnaryOperator<JsonObject> render) {

    boolean matches(JsonObject object) {
      return object != null && (namespace == null || namespace.equals(Json.namespace(object)))
          && labels.matches(object) && fields.matches(object);
    }
  }

  private final Spec spec;
  private long timeoutTimer = -1;
  private long bookmarkTimer = -1;

  WatchStream(Vertx vertx, ObjectStore store, HttpServerResponse response, Spec spec, Consumer<SimStream> onEnd) {
    super(vertx, store, response, onEnd);
    this.spec = spec;
  }

  /**
   * Starts streaming. With no resourceVersion (or "0"), or with sendInitialEvents, the current
   * objects come first as ADDED; otherwise the kept history after that version is replayed, or an
   * ERROR event with a 410 Status ends the stream when that history is gone.
   */
  void start(String resourceVersion, Boolean sendInitialEvents, boolean allowBookmarks, long timeoutSeconds,
      long bookmarkIntervalMillis) {
    open("application/json");
    response.writeHead();
    boolean fromNow = resourceVersion == null || resourceVersion.isEmpty() || resourceVersion.equals("0");
    boolean initialEvents = sendInitialEvents != null ? sendInitialEvents : fromNow;
    if (initialEvents) {
      for (JsonObject object : store.entries(spec.type().storageResource(), spec.namespace()).values()) {
        if (spec.matches(shown(object))) {
          send("ADDED", object);
        }
      }
      if (Boolean.TRUE.equals(sendInitialEvents) && allowBookmarks) {
        sendBookmark(true);
      }
    } else {
      long since;
      try {
        since = Long.parseLong(resourceVersion);
      } catch (NumberFormatException e) {
        sendError(KubeApiException.badRequest("invalid resource version: " + resourceVersion));
        return;
      }
      try {
        for (ObjectStore.Change change : store.changesSince(since)) {
          onChange(change);
        }
      } catch (KubeApiException expired) {
        sendError(expired);
        return;
      }
    }
    store.addListener(this);
    if (timeoutSeconds > 0) {
      timeoutTimer = vertx.setTimer(timeoutSeconds * 1000, id -> end());
    }
    if (allowBookmarks) {
      bookmarkTimer = vertx.setPeriodic(bookmarkIntervalMillis, id -> sendBookmark(false));
    }
  }

  @Override
  public void onChange(ObjectStore.Change change) {
    if (ended || !change.groupResource().equals(spec.type().storageResource())) {
      return;
    }
    boolean now = !change.type().equals("DELETED") && spec.matches(shown(change.object()));
    boolean before = !change.type().equals("ADDED") && spec.matches(shown(change.previous()));
    if (now && before) {
      send("MODIFIED", change.object());
    } else if (now) {
      send("ADDED", change.object());
    } else if (before) {
      send("DELETED", change.object());
    }
  }

  /** The stored object in the watched type's shape, for selectors (not a copy when no conversion applies). */
  private JsonObject shown(JsonObject stored) {
    return stored == null ? null : StorageVersions.fromStorage(spec.type(), stored);
  }

  private void send(String type, JsonObject stored) {
    JsonObject shown = StorageVersions.fromStorage(spec.type(), stored);
    JsonObject view = shown == stored ? stored.copy() : shown;
    view.put("apiVersion", spec.type().groupVersion());
    view.put("kind", spec.type().kind());
    write(new JsonObject().put("type", type).put("object", spec.render().apply(view)));
  }

  private void sendBookmark(boolean initialEventsEnd) {
    JsonObject metadata = new JsonObject().put("resourceVersion", Long.toString(store.revision()));
    if (initialEventsEnd) {
      metadata.put("annotations", new JsonObject().put("k8s.io/initial-events-end", "true"));
    }
    write(new JsonObject().put("type", "BOOKMARK").put("object", new JsonObject()
        .put("kind", spec.type().kind()).put("apiVersion", spec.type().groupVersion()).put("metadata", metadata)));
  }

  private void sendError(KubeApiException error) {
    write(new JsonObject().put("type", "ERROR").put("object", error.toStatus()));
    end();
  }

  private void write(JsonObject event) {
    if (!ended) {
      response.write(event.encode() + "\n");
    }
  }

  @Override
  protected void cancelTimers() {
    vertx.cancelTimer(timeoutTimer);
    vertx.cancelTimer(bookmarkTimer);
  }
}
