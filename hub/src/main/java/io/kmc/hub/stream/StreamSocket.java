package io.kmc.hub.stream;

import io.kmc.common.KmcException;
import io.kmc.hub.auth.Principal;
import io.kmc.hub.index.FieldFilter;
import io.kmc.hub.index.FleetIndex;
import io.kmc.hub.index.Selector;
import io.kmc.hub.rbac.Authorizer;
import io.kmc.hub.store.ClusterRecord;
import io.kmc.ops.Texts;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * One client's stream socket: its subscriptions, and what waits to be written to it. Everything
 * here runs on the socket's event loop. What the client sends is input: a message that is not
 * understood is answered with an ERROR (on its subscription when it names one), never by closing
 * the socket. A client that does not read is let go: past {@code stream.buffer_events} messages
 * waiting, the socket closes as too slow, after a last message with the resume token of every
 * subscription as of the last message handed to the socket. So is one whose credentials were
 * revoked since the handshake.
 */
final class StreamSocket {

  /** The close code of a socket whose client did not keep up (4000-4999: for applications). */
  static final short TOO_SLOW = 4008;
  /** The close code of a socket whose token or session was revoked while it was open. */
  static final short REVOKED = 4001;
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9._:-]{1,64}");
  private static final int MAX_CLUSTER_NAMES = 1_000;
  /** How long a failed read of the index waits before it is tried again. */
  private static final long RETRY_MILLIS = 1_000;

  private record Waiting(String text, String id, String token) {
  }
  /** How often a propagation subscription re-reads all it follows, beside the announced changes. */
  private static final long PROPAGATIONS_FULL_READ_MILLIS = 30_000;

  private final StreamService service;
  private final ServerWebSocket socket;
  private final Principal principal;
  private final Context context;
  private final Map<String, Subscription> subscriptions = new LinkedHashMap<>();
  private final Map<String, PropagationSubscription> propagationSubscriptions = new LinkedHashMap<>();
  /** Per subscription id, the resume token of the last message handed to the socket. */
  private final Map<String, String> sentTokens = new HashMap<>();
  private final ArrayDeque<Waiting> waiting = new ArrayDeque<>();
  private final Supplier<Future<Boolean>> revoked;
  /**
   * Publications the node's consumer handed to this socket that its event loop has not taken yet, and how
   * many changes they hold: the consumer runs on a context of its own, and a busy or stuck socket loop
   * must not make the node keep more than {@code stream.handoff_changes} for it.
   */
  private final ConcurrentLinkedQueue<Publication> handedOff = new ConcurrentLinkedQueue<>();
  private final AtomicInteger handedOffChanges = new AtomicInteger();
  private final AtomicBoolean taking = new AtomicBoolean();
  private final AtomicBoolean overflowed = new AtomicBoolean();
  /** {@code waiting.size()}, for the node's gauge (read on another thread). */
  private volatile int waitingCount;
  private volatile boolean closed;
  private long credentialTimer = -1;

  /** @param revoked whether the credentials the socket was opened with have been revoked since */
  StreamSocket(StreamService service, ServerWebSocket socket, Principal principal, Context context,
               Supplier<Future<Boolean>> revoked) {
    this.service = service;
    this.socket = socket;
    this.principal = principal;
    this.context = context;
    this.revoked = revoked;
  }

  Context context() {
    return context;
  }

  /** Changes handed to the socket and messages waiting for its client (for the node's gauge). */
  long queued() {
    return handedOffChanges.get() + waitingCount;
  }

  /**
   * Hands a publication to the socket, from the node's consumer (another context). One task at a time
   * is queued on the socket's event loop, however many publications wait: what waits is counted here.
   */
  void handOff(Publication publication) {
    if (closed) {
      return;
    }
    int weight = weight(publication);
    int before = handedOffChanges.getAndAdd(weight);
    // One publication larger than the bound (an agent's big batch) still goes to a socket that waits for nothing.
    if (before > 0 && before + weight > service.settings().handoffChanges()) {
      handedOffChanges.addAndGet(-weight);
      // Nothing past what was handed to the socket is in its resume tokens: the client misses nothing.
      if (overflowed.compareAndSet(false, true)) {
        context.runOnContext(v -> tooSlow("more than " + service.settings().handoffChanges() + " changes waited "
            + "for this stream on its hub node (stream.handoff_changes)"));
      }
      return;
    }
    handedOff.add(publication);
    if (taking.compareAndSet(false, true)) {
      context.runOnContext(v -> takeHandedOff());
    }
  }

  private static int weight(Publication publication) {
    return Math.max(1, publication.changes.size());
  }

  private void takeHandedOff() {
    taking.set(false);
    Publication publication;
    while ((publication = handedOff.poll()) != null) {
      handedOffChanges.addAndGet(-weight(publication));
      changed(publication);
    }
  }

  void start() {
    service.add(this);
    socket.textMessageHandler(this::received);
    socket.binaryMessageHandler(data -> error(null, 400, "messages are JSON text, not binary"));
    socket.drainHandler(v -> flush());
    socket.exceptionHandler(e -> { });
    socket.closeHandler(v -> {
      closed = true;
      clearWaiting();
      context.owner().cancelTimer(credentialTimer);
      service.remove(this);
    });
    credentialTimer = context.owner().setPeriodic(service.settings().credentialCheckInterval().toMillis(),
        t -> revoked.get().onSuccess(gone -> {
          if (gone && !closed) {
            socket.writeTextMessage(new JsonObject().put("type", "CLOSING").put("code", (int) REVOKED)
                .put("reason", "credentials revoked")
                .put("message", "the token or session this stream was opened with was revoked; log in again")
                .encode());
            close(REVOKED, "credentials revoked");
          }
        }));
  }

  void close(short code, String reason) {
    if (!closed) {
      closed = true;
      clearWaiting();
      context.owner().cancelTimer(credentialTimer);
      service.remove(this);
      socket.close(code, reason);
    }
  }

  // ---- what the client sends ------------------------------------------------------------------

  private void received(String text) {
    JsonObject message;
    try {
      message = new JsonObject(text);
    } catch (DecodeException | ClassCastException e) {
      error(null, 400, "a message must be a JSON object");
      return;
    }
    Object rawId = message.getValue("id");
    String id = rawId instanceof String s && ID.matcher(s).matches() ? s : null;
    String type = message.getValue("type") instanceof String s ? s : "";
    switch (type) {
      case "subscribe" -> {
        Object source = message.getValue("source");
        if (id == null) {
          error(null, 400, "subscribe needs an id of 1 to 64 letters, digits or ._:-");
        } else if (source == null || "resources".equals(source)) {
          subscribe(id, message);
        } else if ("propagations".equals(source)) {
          subscribePropagations(id, message);
        } else {
          error(id, 400, "unknown source (resources, the default, or propagations)");
        }
      }
      case "unsubscribe" -> {
        if (id == null || (subscriptions.remove(id) == null && propagationSubscriptions.remove(id) == null)) {
          error(id, 404, "no subscription " + (id == null ? "without an id" : id));
        } else {
          sentTokens.remove(id);
          send(new JsonObject().put("type", "UNSUBSCRIBED").put("id", id), null);
        }
      }
      default -> error(id, 400, "unknown message type '" + Texts.forLog(type) + "' (subscribe, unsubscribe)");
    }
  }

  private boolean open(String id) {
    return subscriptions.containsKey(id) || propagationSubscriptions.containsKey(id);
  }

  /** Whether a new subscription {@code id} may open here; if not, the client is told why. */
  private boolean admits(String id) {
    if (open(id)) {
      error(id, 409, "subscription " + id + " is open already");
      return false;
    }
    if (subscriptions.size() + propagationSubscriptions.size() >= service.settings().maxSubscriptions()) {
      error(id, 429, "at most " + service.settings().maxSubscriptions() + " subscriptions per socket "
          + "(stream.max_subscriptions)");
      return false;
    }
    return true;
  }

  private void subscribe(String id, JsonObject message) {
    if (!admits(id)) {
      return;
    }
    Subscription.Spec spec;
    Map<String, Long> resume;
    try {
      spec = spec(message);
      Object token = message.getValue("resume");
      if (token != null && !(token instanceof String)) {
        throw KmcException.badRequest("resume must be a token from an earlier event");
      }
      try {
        resume = token == null ? null : Subscription.parseToken((String) token);
      } catch (IllegalArgumentException | DecodeException | ClassCastException e) {
        throw KmcException.badRequest("resume is not a token from an earlier event");
      }
    } catch (KmcException e) {
      error(id, e.status(), e.getMessage());
      return;
    }
    Subscription.Spec checked = spec;
    Map<String, Long> from = resume;
    service.index().kinds().onComplete(ar -> {
      if (closed) {
        return;
      }
      if (ar.failed()) {
        error(id, 503, "the fleet index cannot be read now; subscribe again");
        return;
      }
      boolean known = ar.result().stream().anyMatch(kind -> kind.group().equals(checked.group())
          && kind.resource().equals(checked.resource()));
      if (!known) {
        error(id, 404, "resource " + checked.resource() + (checked.group().isEmpty() ? "" : "." + checked.group())
            + " is not indexed in any cluster");
        return;
      }
      if (open(id)) {
        error(id, 409, "subscription " + id + " is open already");
        return;
      }
      open(new Subscription(id, checked), from);
    });
  }

  private static Subscription.Spec spec(JsonObject message) {
    String group = text(message, "group", "");
    String version = text(message, "version", null);
    String resource = text(message, "resource", null);
    if (version == null || version.isEmpty() || resource == null || resource.isEmpty()) {
      throw KmcException.badRequest("a subscription names version and resource (and group, empty for the core group)");
    }
    Set<String> names = null;
    Object clusters = message.getValue("clusters");
    if (clusters != null) {
      if (!(clusters instanceof JsonArray list) || list.size() > MAX_CLUSTER_NAMES
          || !list.stream().allMatch(String.class::isInstance)) {
        throw KmcException.badRequest("clusters must be a list of cluster names");
      }
      names = new HashSet<>();
      for (Object name : list) {
        names.add((String) name);
      }
    }
    Selector clusterSelector = Selector.parse(text(message, "clusterSelector", null), "clusterSelector");
    Selector labels = Selector.parse(text(message, "labelSelector", null), "labelSelector");
    String namespace = text(message, "namespace", null);
    // The same field filters as search's query parameters, under the same names.
    FieldFilter fields = FieldFilter.parse(message.fieldNames(), field -> text(message, field, null));
    Object initialState = message.getValue("initialState");
    if (initialState != null && !(initialState instanceof Boolean)) {
      throw KmcException.badRequest("initialState must be true or false");
    }
    boolean counts = Boolean.TRUE.equals(message.getValue("counts"));
    if (counts && Boolean.FALSE.equals(initialState)) {
      throw KmcException.badRequest("a counts subscription needs its initial state (initialState false is for changes only)");
    }
    return new Subscription.Spec(group, version, resource, names, clusterSelector,
        namespace == null || namespace.isEmpty() ? null : namespace, labels, fields,
        Boolean.TRUE.equals(message.getValue("objects")), counts, !Boolean.FALSE.equals(initialState));
  }

  private static String text(JsonObject message, String field, String absent) {
    Object value = message.getValue(field);
    if (value == null) {
      return absent;
    }
    if (!(value instanceof String s) || s.length() > 4096) {
      throw KmcException.badRequest(field + " must be a string");
    }
    return s;
  }

  private void open(Subscription subscription, Map<String, Long> resume) {
    subscriptions.put(subscription.id, subscription);
    Map<String, Authorizer.Scope> targets = targets(subscription);
    send(new JsonObject().put("type", "SUBSCRIBED").put("id", subscription.id)
        .put("clusters", new JsonArray(new ArrayList<>(targets.keySet()))), null);
    if (resume != null) {
      for (String cluster : resume.keySet()) {
        if (!targets.containsKey(cluster)) {
          clusterEvent(subscription, cluster, "left");
        }
      }
    }
    subscription.initialPending = targets.size();
    for (Map.Entry<String, Authorizer.Scope> target : targets.entrySet()) {
      Subscription.Part part = new Subscription.Part(target.getKey(), target.getValue());
      part.initial = true;
      subscription.parts.put(part.cluster, part);
    }
    if (targets.isEmpty()) {
      initialDone(subscription);
      return;
    }
    for (Subscription.Part part : new ArrayList<>(subscription.parts.values())) {
      Long from = resume == null ? null : resume.get(part.cluster);
      if (from != null) {
        replay(subscription, part, from);
      } else {
        if (resume != null) {
          restart(subscription, part, "the resume token does not cover this cluster");
        } else {
          snapshot(subscription, part);
        }
      }
    }
  }

  /** The clusters a subscription covers, as last worked out. */
  private static Map<String, Authorizer.Scope> scopes(Subscription subscription) {
    Map<String, Authorizer.Scope> scopes = new TreeMap<>();
    subscription.parts.values().forEach(part -> scopes.put(part.cluster, part.scope));
    return scopes;
  }

  /** The clusters a subscription covers now, each with where its user may see the kind. */
  private Map<String, Authorizer.Scope> targets(Subscription subscription) {
    Map<String, Authorizer.Scope> targets = new TreeMap<>();
    for (ClusterRecord cluster : service.view().registered().values()) {
      if (subscription.spec.selects(cluster)) {
        Authorizer.Scope scope = service.scope(principal, cluster.name(), subscription.spec.resource());
        if (!scope.none()) {
          targets.put(cluster.name(), scope);
        }
      }
    }
    return targets;
  }

  // ---- a cluster's part: initial state, replay, live changes -----------------------------------

  private boolean current(Subscription subscription, Subscription.Part part, int epoch) {
    return !closed && subscriptions.get(subscription.id) == subscription
        && subscription.parts.get(part.cluster) == part && part.epoch == epoch;
  }

  /** Tells the client to forget what it holds of the cluster, then sends the cluster's state afresh. */
  private void restart(Subscription subscription, Subscription.Part part, String reason) {
    send(new JsonObject().put("type", "RESTART").put("id", subscription.id).put("cluster", part.cluster)
        .put("code", 410).put("reason", reason), subscription);
    snapshot(subscription, part);
  }

  private void snapshot(Subscription subscription, Subscription.Part part) {
    part.ready = false;
    int epoch = ++part.epoch;
    // Changes only (initialState false): where the cluster's log is now, without reading its objects. A
    // followed search of 100,000 objects needs no 100,000 ADDED it already has from the search.
    Future<FleetIndex.Snapshot> read = subscription.spec.initialState()
        ? service.index().snapshot(part.cluster, subscription.spec.group(), subscription.spec.resource(),
            subscription.spec.namespace())
        : service.index().lastSeq(part.cluster).map(seq -> new FleetIndex.Snapshot(seq, List.of()));
    read.onComplete(ar -> {
          if (!current(subscription, part, epoch)) {
            return;
          }
          if (ar.failed()) {
            context.owner().setTimer(RETRY_MILLIS, t -> {
              if (current(subscription, part, epoch)) {
                snapshot(subscription, part);
              }
            });
            return;
          }
          FleetIndex.Snapshot snapshot = ar.result();
          part.count = 0;
          // The cluster enters the resume token only once its whole state is out: a client cut off
          // half-way resumes with that cluster's state afresh.
          for (JsonObject body : snapshot.objects()) {
            String type = subscription.eventType(part, "ADDED", body);
            if (type != null) {
              event(subscription, part, type, body);
            }
          }
          part.seq = snapshot.seq();
          part.ready = true;
          subscription.countsChanged = true;
          if (part.initial) {
            partInitialDone(subscription, part);
          } else {
            send(new JsonObject().put("type", "INITIAL_STATE_DONE").put("id", subscription.id)
                .put("cluster", part.cluster).put("resume", subscription.resumeToken()), subscription);
          }
          drainWaiting(subscription, part);
        });
  }

  /** Reads the changes after {@code after} from the log: on resume, and when live changes skipped some. */
  private void replay(Subscription subscription, Subscription.Part part, long after) {
    part.ready = false;
    int epoch = ++part.epoch;
    service.index().replay(part.cluster, subscription.spec.group(), subscription.spec.resource(), after,
        service.settings().maxReplay()).onComplete(ar -> {
          if (!current(subscription, part, epoch)) {
            return;
          }
          if (ar.failed()) {
            context.owner().setTimer(RETRY_MILLIS, t -> {
              if (current(subscription, part, epoch)) {
                replay(subscription, part, after);
              }
            });
            return;
          }
          FleetIndex.Replay replay = ar.result();
          if (!replay.complete()) {
            restart(subscription, part, "the hub's history of this cluster no longer reaches back to the resume token");
            return;
          }
          part.seq = after;
          part.ready = true;
          for (FleetIndex.Change change : replay.changes()) {
            deliver(subscription, part, change);
          }
          part.seq = Math.max(part.seq, replay.upTo());
          if (part.initial) {
            partInitialDone(subscription, part);
          }
          drainWaiting(subscription, part);
        });
  }

  private void partInitialDone(Subscription subscription, Subscription.Part part) {
    part.initial = false;
    if (--subscription.initialPending <= 0 && !subscription.initialDone) {
      initialDone(subscription);
    }
  }

  private void initialDone(Subscription subscription) {
    subscription.initialDone = true;
    JsonObject states = new JsonObject();
    subscription.parts.keySet().forEach(cluster -> states.put(cluster,
        Boolean.TRUE.equals(service.view().live().get(cluster)) ? "connected" : "stale"));
    send(new JsonObject().put("type", "INITIAL_STATE_DONE").put("id", subscription.id).put("clusters", states)
        .put("resume", subscription.resumeToken()), subscription);
    if (subscription.spec.counts()) {
      counts(subscription);
    }
  }

  private void drainWaiting(Subscription subscription, Subscription.Part part) {
    while (part.ready && !part.waiting.isEmpty() && !closed) {
      apply(subscription, part, part.waiting.poll());
    }
  }

  /** What the node's consumer received, in the order it was published per cluster. */
  void changed(Publication publication) {
    if (closed) {
      return;
    }
    String cluster = publication.cluster;
    for (Subscription subscription : new ArrayList<>(subscriptions.values())) {
      Subscription.Part part = subscription.parts.get(cluster);
      if (part == null) {
        continue;
      }
      // A cluster's state events wait with its changes: "resynced" must not overtake what it vouches for.
      if (!part.ready) {
        part.waiting.add(publication);
        if (part.waiting.size() > service.settings().maxReplay()) {
          part.waiting.clear();
          restart(subscription, part, "too many changes arrived while the cluster's state was read");
        }
      } else {
        apply(subscription, part, publication);
      }
      if (closed) {
        return;
      }
    }
  }

  private void apply(Subscription subscription, Subscription.Part part, Publication publication) {
    String state = publication.state;
    if (state != null) {
      if ("connected".equals(state)) {
        part.stale = false;
      }
      clusterEvent(subscription, part.cluster, state);
      return;
    }
    List<Publication.Change> changes = publication.changes;
    if (changes.isEmpty()) {
      return;
    }
    long first = changes.get(0).seq();
    long last = changes.get(changes.size() - 1).seq();
    if (last <= part.seq) {
      return;
    }
    if (first > part.seq + 1) {
      part.waiting.addFirst(publication);
      replay(subscription, part, part.seq);
      return;
    }
    if (subscription.sameKind(publication.group, publication.resource)) {
      for (Publication.Change change : changes) {
        if (change.seq() > part.seq) {
          part.seq = change.seq();
          String type = subscription.eventType(part, change.type(), change.body());
          if (type == null) {
            continue;
          }
          boolean deleted = "DELETED".equals(type);
          boolean wholeObject = subscription.spec.objects() && !deleted && change.body().containsKey("object");
          if (subscription.spec.counts() || wholeObject) {
            event(subscription, part, type, change.body());
          } else {
            event(subscription, part, type, deleted ? change.deletedText() : change.objectText());
          }
        }
      }
    }
    part.seq = last;
  }

  private void deliver(Subscription subscription, Subscription.Part part, FleetIndex.Change change) {
    part.seq = change.seq();
    String type = subscription.eventType(part, change.type(), change.body());
    if (type != null) {
      event(subscription, part, type, change.body());
    }
  }

  private void event(Subscription subscription, Subscription.Part part, String type, JsonObject body) {
    if (subscription.spec.counts()) {
      part.count += "ADDED".equals(type) ? 1 : "DELETED".equals(type) ? -1 : 0;
      subscription.countsChanged = true;
      return;
    }
    event(subscription, part, type, subscription.object(part.cluster, body, "DELETED".equals(type)).encode());
  }

  /**
   * An event written as text around its object's encoding (which a publication makes once for every
   * subscription): the same message as encoding it whole, field for field. Ids are checked on
   * subscribe to need no escaping; cluster names are encoded once per part.
   */
  private void event(Subscription subscription, Subscription.Part part, String type, String objectText) {
    String token = subscription.resumeToken();
    String text = "{\"type\":\"" + type + "\",\"id\":\"" + subscription.id + "\",\"cluster\":" + part.clusterJson
        + ",\"object\":" + objectText + ",\"resume\":\"" + token + "\"}";
    sendText(text, subscription, token);
  }

  private void clusterEvent(Subscription subscription, String cluster, String state) {
    send(new JsonObject().put("type", "CLUSTER").put("id", subscription.id).put("cluster", cluster)
        .put("state", state), subscription);
  }

  private void counts(Subscription subscription) {
    subscription.countsChanged = false;
    send(new JsonObject().put("type", "COUNTS").put("id", subscription.id).put("counts", subscription.counts()),
        subscription);
  }

  // ---- propagations: spec, per-cluster status and drift, from the hub's database ---------------------

  private static final Set<String> PROPAGATION_FIELDS = Set.of("type", "id", "source", "name", "resume");

  private void subscribePropagations(String id, JsonObject message) {
    if (!admits(id)) {
      return;
    }
    if (service.propagations() == null) {
      error(id, 404, "this hub serves no propagations");
      return;
    }
    if (!service.mayListPropagations(principal)) {
      error(id, 403, "user '" + principal.user() + "' may not list propagations");
      return;
    }
    String name;
    Map<String, String> held;
    try {
      for (String field : message.fieldNames()) {
        if (!PROPAGATION_FIELDS.contains(field)) {
          throw KmcException.badRequest("a propagations subscription takes name and resume, not '"
              + Texts.forLog(field) + "'");
        }
      }
      name = text(message, "name", null);
      if (name != null) {
        io.kmc.hub.propagation.Propagation.validName(name);
      }
      Object token = message.getValue("resume");
      if (token != null && !(token instanceof String)) {
        throw KmcException.badRequest("resume must be a token from an earlier event");
      }
      try {
        held = token == null ? Map.of() : PropagationSubscription.parseToken((String) token);
      } catch (IllegalArgumentException e) {
        throw KmcException.badRequest("resume is not a token from an earlier event of a propagations subscription");
      }
      if (name != null && held.keySet().stream().anyMatch(other -> !other.equals(name))) {
        throw KmcException.badRequest("resume is a token of another propagations subscription");
      }
    } catch (KmcException e) {
      error(id, e.status(), e.getMessage());
      return;
    }
    PropagationSubscription subscription = new PropagationSubscription(id, name, held);
    propagationSubscriptions.put(id, subscription);
    JsonObject subscribed = new JsonObject().put("type", "SUBSCRIBED").put("id", id).put("source", "propagations");
    if (name != null) {
      subscribed.put("name", name);
    }
    send(subscribed, null);
    subscription.staleSeen = staleClusters();
    readPropagations(subscription);
  }

  /** A propagation was written (on any node): the subscriptions that follow it read it again. */
  void propagationChanged(String name) {
    if (closed) {
      return;
    }
    for (PropagationSubscription subscription : new ArrayList<>(propagationSubscriptions.values())) {
      if (subscription.follows(name)) {
        subscription.dirty.add(name);
        readPropagations(subscription);
      }
    }
  }

  private boolean current(PropagationSubscription subscription) {
    return !closed && propagationSubscriptions.get(subscription.id) == subscription;
  }

  /**
   * One read at a time per subscription: all it follows (first, and now and then), else the next name
   * announced as changed. A name announced during a read is read again after it, so the last read of a
   * propagation always starts after its last write: nothing is missed, and a view that did not change
   * is not sent again.
   */
  private void readPropagations(PropagationSubscription subscription) {
    if (subscription.reading || !current(subscription)) {
      return;
    }
    if (subscription.all) {
      subscription.all = false;
      subscription.dirty.clear();
      subscription.reading = true;
      Future<List<JsonObject>> read = subscription.name == null ? service.propagations().list()
          : service.propagations().get(subscription.name).map(List::of)
              .recover(e -> notFound(e) ? Future.succeededFuture(List.of()) : Future.failedFuture(e));
      read.onComplete(ar -> {
        subscription.reading = false;
        if (!current(subscription)) {
          return;
        }
        if (ar.failed()) {
          subscription.all = true;
          context.owner().setTimer(RETRY_MILLIS, t -> readPropagations(subscription));
          return;
        }
        Map<String, JsonObject> now = new LinkedHashMap<>();
        ar.result().forEach(view -> now.put(view.getJsonObject("metadata").getString("name"), view));
        for (String gone : new ArrayList<>(subscription.held.keySet())) {
          if (!now.containsKey(gone)) {
            propagationEvent(subscription, gone, null);
          }
        }
        now.forEach((name, view) -> propagationEvent(subscription, name, view));
        subscription.lastFull = System.currentTimeMillis();
        if (!subscription.initialDone) {
          subscription.initialDone = true;
          send(new JsonObject().put("type", "INITIAL_STATE_DONE").put("id", subscription.id)
              .put("resume", subscription.resumeToken()), null);
        }
        readPropagations(subscription);
      });
      return;
    }
    if (subscription.dirty.isEmpty()) {
      return;
    }
    String name = subscription.dirty.iterator().next();
    subscription.dirty.remove(name);
    subscription.reading = true;
    service.propagations().get(name).onComplete(ar -> {
      subscription.reading = false;
      if (!current(subscription)) {
        return;
      }
      if (ar.failed() && !notFound(ar.cause())) {
        subscription.dirty.add(name);
        context.owner().setTimer(RETRY_MILLIS, t -> readPropagations(subscription));
        return;
      }
      propagationEvent(subscription, name, ar.succeeded() ? ar.result() : null);
      readPropagations(subscription);
    });
  }

  private static boolean notFound(Throwable e) {
    return e instanceof KmcException k && k.status() == 404;
  }

  /** Sends what changed of one propagation since the client last heard of it (null: it is gone). */
  private void propagationEvent(PropagationSubscription subscription, String name, JsonObject view) {
    if (view == null) {
      if (subscription.held.remove(name) != null) {
        JsonObject gone = new JsonObject().put("apiVersion", io.kmc.hub.propagation.Propagation.API_VERSION)
            .put("kind", "Propagation").put("metadata", new JsonObject().put("name", name));
        propagationMessage(subscription, "DELETED", gone);
      }
      return;
    }
    markStale(view);
    String encoded = view.encode();
    String fingerprint = PropagationSubscription.fingerprint(encoded);
    String before = subscription.held.put(name, fingerprint);
    if (before == null) {
      propagationMessage(subscription, "ADDED", view);
    } else if (!before.equals(fingerprint)) {
      propagationMessage(subscription, "MODIFIED", view);
    }
  }

  private void propagationMessage(PropagationSubscription subscription, String type, JsonObject object) {
    send(new JsonObject().put("type", type).put("id", subscription.id).put("object", object)
        .put("resume", subscription.resumeToken()), null);
  }

  /** Marks each target cluster whose agent the hub does not see now: what it says of it may be out of date. */
  private void markStale(JsonObject view) {
    if (view.getValue("status") instanceof JsonObject status
        && status.getValue("clusters") instanceof JsonArray clusters) {
      Map<String, Boolean> live = service.view().live();
      for (Object entry : clusters) {
        if (entry instanceof JsonObject cluster && Boolean.FALSE.equals(live.get(cluster.getString("cluster")))) {
          cluster.put("stale", true);
        }
      }
    }
  }

  private Set<String> staleClusters() {
    Set<String> stale = new HashSet<>();
    service.view().live().forEach((cluster, live) -> {
      if (!live) {
        stale.add(cluster);
      }
    });
    return stale;
  }

  /** Permissions withdrawn end the subscription; clusters going stale or back, and now and then, a full read. */
  private void recheckPropagations(long now, boolean retarget) {
    Set<String> stale = staleClusters();
    for (PropagationSubscription subscription : new ArrayList<>(propagationSubscriptions.values())) {
      if (retarget && !service.mayListPropagations(principal)) {
        propagationSubscriptions.remove(subscription.id);
        sentTokens.remove(subscription.id);
        error(subscription.id, 403, "user '" + principal.user() + "' may no longer list propagations; "
            + "the subscription is closed");
        continue;
      }
      if (!stale.equals(subscription.staleSeen) || now - subscription.lastFull >= PROPAGATIONS_FULL_READ_MILLIS) {
        subscription.staleSeen = stale;
        subscription.all = true;
        readPropagations(subscription);
      }
    }
  }

  // ---- the periodic pass ------------------------------------------------------------------------

  /** Clusters joining or leaving, changed permissions, stale clusters, bookmarks and counts. */
  void recheck() {
    if (closed) {
      return;
    }
    long now = System.currentTimeMillis();
    boolean retarget = service.view().retarget();
    recheckPropagations(now, retarget);
    for (Subscription subscription : new ArrayList<>(subscriptions.values())) {
      Map<String, Authorizer.Scope> targets = retarget ? targets(subscription) : scopes(subscription);
      for (Subscription.Part part : new ArrayList<>(subscription.parts.values())) {
        if (!targets.containsKey(part.cluster)) {
          subscription.parts.remove(part.cluster);
          subscription.countsChanged = true;
          clusterEvent(subscription, part.cluster, "left");
          if (part.initial) {
            partInitialDone(subscription, part);
          }
        }
      }
      for (Map.Entry<String, Authorizer.Scope> target : targets.entrySet()) {
        Subscription.Part part = subscription.parts.get(target.getKey());
        if (part == null) {
          part = new Subscription.Part(target.getKey(), target.getValue());
          if (!subscription.initialDone) {
            part.initial = true;
            subscription.initialPending++;
          }
          subscription.parts.put(part.cluster, part);
          clusterEvent(subscription, part.cluster, "joined");
          snapshot(subscription, part);
        } else if (!part.scope.equals(target.getValue())) {
          part.scope = target.getValue();
          part.waiting.clear();
          restart(subscription, part, "your permissions in this cluster changed");
        }
        if (closed) {
          return;
        }
        boolean live = Boolean.TRUE.equals(service.view().live().get(part.cluster));
        if (!live && !part.stale) {
          part.stale = true;
          clusterEvent(subscription, part.cluster, "stale");
        } else if (live) {
          part.stale = false;
        }
      }
      if (subscription.initialDone && subscription.spec.counts() && subscription.countsChanged) {
        counts(subscription);
      } else if (subscription.initialDone && !subscription.spec.counts()
          && now - subscription.lastSent >= service.settings().bookmarkInterval().toMillis()) {
        send(new JsonObject().put("type", "BOOKMARK").put("id", subscription.id)
            .put("resume", subscription.resumeToken()), subscription);
      }
    }
  }

  // ---- writing, with a bound ----------------------------------------------------------------------

  private void error(String id, int code, String message) {
    JsonObject error = new JsonObject().put("type", "ERROR").put("code", code).put("message", message);
    if (id != null) {
      error.put("id", id);
    }
    send(error, null);
  }

  /**
   * A message to the client; one with a resume token is remembered as its subscription's last sent,
   * named by the message's id (a propagations subscription has no {@link Subscription}).
   */
  private void send(JsonObject message, Subscription subscription) {
    if (!closed) {
      sendText(message.encode(), subscription, subscription == null ? message.getString("id") : subscription.id,
          message.getString("resume"));
    }
  }

  private void sendText(String text, Subscription subscription, String token) {
    sendText(text, subscription, subscription == null ? null : subscription.id, token);
  }

  private void sendText(String text, Subscription subscription, String id, String token) {
    if (closed) {
      return;
    }
    if (subscription != null) {
      subscription.lastSent = System.currentTimeMillis();
    }
    if (waiting.isEmpty() && !socket.writeQueueFull()) {
      write(text, id, token);
      return;
    }
    waiting.add(new Waiting(text, id, token));
    waitingCount = waiting.size();
    if (waiting.size() > service.settings().bufferEvents()) {
      tooSlow("more than " + service.settings().bufferEvents()
          + " messages waited for this client (stream.buffer_events)");
    }
  }

  private void clearWaiting() {
    waiting.clear();
    waitingCount = 0;
    handedOff.clear();
    handedOffChanges.set(0);
  }

  private void write(String text, String id, String token) {
    socket.writeTextMessage(text);
    if (id != null && token != null) {
      sentTokens.put(id, token);
    }
  }

  private void flush() {
    while (!closed && !waiting.isEmpty() && !socket.writeQueueFull()) {
      Waiting next = waiting.poll();
      write(next.text(), next.id(), next.token());
    }
    waitingCount = waiting.size();
  }

  /**
   * The client does not read what it asked for: rather than keep it all, the socket goes, and the
   * client hears from where each subscription can resume (the last message it will receive).
   */
  private void tooSlow(String why) {
    if (closed) {
      return;
    }
    clearWaiting();
    service.slowClosed();
    JsonObject tokens = new JsonObject();
    subscriptions.values().forEach(subscription -> {
      String token = sentTokens.get(subscription.id);
      if (token != null && !subscription.spec.counts()) {
        tokens.put(subscription.id, token);
      }
    });
    propagationSubscriptions.keySet().forEach(id -> {
      String token = sentTokens.get(id);
      if (token != null) {
        tokens.put(id, token);
      }
    });
    socket.writeTextMessage(new JsonObject().put("type", "CLOSING").put("code", (int) TOO_SLOW)
        .put("reason", "too slow").put("message", why + "; resume with these tokens")
        .put("resume", tokens).encode());
    close(TOO_SLOW, "too slow");
  }
}
