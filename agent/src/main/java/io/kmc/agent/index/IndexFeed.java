package io.kmc.agent.index;

import io.kmc.agent.AgentClock;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.kmc.common.protocol.Frame;
import io.kubernetes.client.Discovery;
import io.kubernetes.client.informer.ResourceEventHandler;
import io.kubernetes.client.informer.SharedIndexInformer;
import io.kubernetes.client.informer.SharedInformerFactory;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.models.V1APIResource;
import io.kubernetes.client.openapi.models.V1APIResourceList;
import io.kubernetes.client.util.generic.dynamic.DynamicKubernetesApi;
import io.kubernetes.client.util.generic.dynamic.DynamicKubernetesObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Feeds the hub's fleet index: one client-java informer per indexed kind (custom resources added as
 * their CRDs appear), each writing what the index keeps into a {@link KindJournal}, and a flusher that
 * sends the journals' changes up the tunnel as batches, at most {@code max_in_flight} unacknowledged.
 *
 * <p>The informers run whether the hub is there or not, so the agent's view is current when a
 * connection comes back and it sends only what the hub missed. Everything here runs on the feed's
 * own named threads, never on an event loop; the {@link Link} hops frames onto the connection's
 * context.
 */
public final class IndexFeed {

  /**
   * Where batches go: the current hub connection. Called on the feed's threads, with {@link Frame.Index}
   * batches and, to a hub that takes it, one {@link Frame.IndexSynced} per connection.
   */
  public interface Link {
    void send(Frame frame);
  }

  private static final Logger LOG = LoggerFactory.getLogger(IndexFeed.class);
  private static final String CRDS = "customresourcedefinitions.apiextensions.k8s.io";
  /** A kind whose batch the hub refused is relisted after this long, not at once and again and again. */
  private static final long REFUSED_BACKOFF_MILLIS = 10_000;

  private final String cluster;
  private final IndexSettings settings;
  private final ApiClient requests;
  private final ApiClient streams;
  private final ExecutorService informerThreads;
  private final ScheduledExecutorService flusher;
  private final Map<String, KindJournal> journals = new LinkedHashMap<>();
  private final Map<String, SharedInformerFactory> informers = new HashMap<>();
  /** Batch number → kind, for the batches the hub has not acknowledged yet. */
  private final Map<Long, String> inFlight = new HashMap<>();
  private Link link;
  private Map<String, String> hubWatermarks;
  private long nextSeq;
  private boolean stopped;
  /** Every configured kind has been looked up (and its informer started when the cluster serves it). */
  private boolean discovered;
  /** The hub takes an {@link Frame.IndexSynced} marker, and it has not been sent on this connection yet. */
  private boolean syncedMarkerDue;

  /**
   * @param requests client-java's client for quick calls (discovery)
   * @param streams  a client without read timeout, for the informers' watches
   */
  public IndexFeed(String cluster, IndexSettings settings, ApiClient requests, ApiClient streams) {
    this.cluster = cluster;
    this.settings = settings;
    this.requests = requests;
    this.streams = streams;
    this.informerThreads = Executors.newCachedThreadPool(named("kmc-index-" + cluster + "-"));
    this.flusher = Executors.newSingleThreadScheduledExecutor(named("kmc-index-flush-" + cluster + "-"));
  }

  /** Discovers the configured kinds and starts their informers, on the feed's threads. */
  public void start() {
    flusher.execute(() -> {
      for (IndexedKind wanted : settings.kinds()) {
        try {
          IndexedKind kind = discover(wanted);
          if (kind == null) {
            LOG.warn("cluster {} does not serve {}: not indexed", cluster, wanted);
          } else {
            startKind(kind);
          }
        } catch (ApiException | RuntimeException e) {
          LOG.warn("cannot discover {} in cluster {}: {}", wanted, cluster, e.getMessage());
        }
      }
      synchronized (this) {
        discovered = true;
      }
    });
    long interval = settings.batchInterval().toMillis();
    flusher.scheduleWithFixedDelay(this::flush, interval, interval, TimeUnit.MILLISECONDS);
  }

  public void stop() {
    synchronized (this) {
      stopped = true;
      link = null;
    }
    flusher.shutdownNow();
    List<SharedInformerFactory> factories;
    synchronized (this) {
      factories = new ArrayList<>(informers.values());
      informers.clear();
    }
    factories.forEach(SharedInformerFactory::stopAllRegisteredInformers);
    informerThreads.shutdownNow();
  }

  /** A hub connection that keeps an index is up; nothing is sent until it says what it holds. */
  public synchronized void attach(Link hub) {
    attach(hub, false);
  }

  /**
   * A hub connection that keeps an index is up; with {@code syncedMarker} the hub takes an
   * {@link Frame.IndexSynced} once this feed has caught up on this connection.
   */
  public synchronized void attach(Link hub, boolean syncedMarker) {
    link = hub;
    syncedMarkerDue = syncedMarker;
    hubWatermarks = null;
    inFlight.clear();
    nextSeq = 0;
  }

  /** The hub's first word: the watermarks it holds; every kind resumes from there. */
  public synchronized void resume(Map<String, String> watermarks) {
    hubWatermarks = Map.copyOf(watermarks);
    journals.values().forEach(journal -> journal.resyncNeeded = true);
    flusher.execute(this::flush);
  }

  public synchronized void acked(long seq, String error) {
    String kind = inFlight.remove(seq);
    if (error != null && kind != null) {
      LOG.warn("the hub refused index batch {} of {} in cluster {}: {}; relisting it", seq, kind, cluster, error);
      KindJournal journal = journals.get(kind);
      if (journal != null) {
        journal.resyncNeeded = true;
        journal.refusedAtMillis = AgentClock.currentTimeMillis();
        hubWatermarks = withoutKey(hubWatermarks, kind);
      }
    }
  }

  public synchronized void detach() {
    link = null;
    hubWatermarks = null;
    inFlight.clear();
  }

  /**
   * One whole object from the informers' cache, as JSON without its managed fields; null when the
   * kind is not indexed or the object is not there. Secrets are never handed out: the index keeps
   * nothing of their content, and neither does this.
   */
  public byte[] cachedObject(String group, String resource, String namespace, String name) {
    if (group.isEmpty() && resource.equals("secrets")) {
      throw new SecurityException("secrets are never served from the index cache");
    }
    SharedInformerFactory factory;
    synchronized (this) {
      factory = informers.get(Frame.Index.kindKey(group, resource));
    }
    if (factory == null) {
      return null;
    }
    SharedIndexInformer<DynamicKubernetesObject> informer =
        factory.getExistingSharedIndexInformer(DynamicKubernetesObject.class);
    if (informer == null) {
      return null;
    }
    DynamicKubernetesObject object = informer.getIndexer()
        .getByKey(namespace == null || namespace.isEmpty() ? name : namespace + "/" + name);
    if (object == null) {
      return null;
    }
    JsonObject raw = object.getRaw().deepCopy();
    if (raw.has("metadata") && raw.get("metadata").isJsonObject()) {
      raw.getAsJsonObject("metadata").remove("managedFields");
    }
    return raw.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }

  /** Kinds indexed now and objects held per kind, for the agent's health and tests. */
  public synchronized Map<String, Integer> sizes() {
    Map<String, Integer> sizes = new LinkedHashMap<>();
    journals.forEach((key, journal) -> sizes.put(key, journal.size()));
    return sizes;
  }

  private void flush() {
    List<Frame> out = new ArrayList<>();
    Link target;
    synchronized (this) {
      target = link;
      if (target == null || hubWatermarks == null || stopped) {
        return;
      }
      for (Map.Entry<String, KindJournal> e : journals.entrySet()) {
        KindJournal journal = e.getValue();
        if (!journal.synced
            || (journal.resyncNeeded && AgentClock.currentTimeMillis() - journal.refusedAtMillis < REFUSED_BACKOFF_MILLIS)) {
          continue;
        }
        List<Frame.Index> frames;
        if (journal.resyncNeeded) {
          journal.resyncNeeded = false;
          frames = journal.resume(hubWatermarks.get(e.getKey()), () -> ++nextSeq, settings.batchSize());
        } else if (journal.hasChanges() && inFlight.size() < settings.maxInFlight()) {
          frames = journal.changes(() -> ++nextSeq, settings.batchSize());
        } else {
          continue;
        }
        frames.forEach(frame -> inFlight.put(frame.seq(), e.getKey()));
        out.addAll(frames);
      }
      if (syncedMarkerDue && caughtUp()) {
        // After the batches that resumed every kind: the hub vouches for the cluster once it wrote them.
        syncedMarkerDue = false;
        out.add(new Frame.IndexSynced(nextSeq));
      }
    }
    out.forEach(target::send);
  }

  /**
   * Every kind has been discovered, its informer has finished its list, and what the hub missed of it
   * has been put in batches (on resume every journal is marked as needing that; a refused kind still does).
   */
  private boolean caughtUp() {
    if (!discovered) {
      return false;
    }
    for (KindJournal journal : journals.values()) {
      if (!journal.synced || journal.resyncNeeded) {
        return false;
      }
    }
    return true;
  }

  // ---- informers ------------------------------------------------------------------------------

  private IndexedKind discover(IndexedKind wanted) throws ApiException {
    String path = wanted.group().isEmpty() ? "/api/" + wanted.version()
        : "/apis/" + wanted.group() + "/" + wanted.version();
    V1APIResourceList list;
    try {
      list = new Discovery(requests).resourceDiscovery(path);
    } catch (ApiException e) {
      if (e.getCode() == 404) {
        return null;
      }
      throw e;
    }
    for (V1APIResource resource : list.getResources()) {
      if (resource.getName().equals(wanted.resource())) {
        return wanted.discovered(resource.getKind(), resource.getNamespaced());
      }
    }
    return null;
  }

  private void startKind(IndexedKind kind) {
    SharedInformerFactory factory;
    KindJournal journal;
    synchronized (this) {
      if (stopped || journals.containsKey(kind.key())) {
        return;
      }
      journal = new KindJournal(kind, settings.maxTombstones());
      journals.put(kind.key(), journal);
      // One factory per kind: a factory keeps one informer per Java type, and every kind here is dynamic.
      factory = new SharedInformerFactory(streams, informerThreads, false);
      informers.put(kind.key(), factory);
    }
    DynamicKubernetesApi api = new DynamicKubernetesApi(kind.group(), kind.version(), kind.resource(), streams);
    SharedIndexInformer<DynamicKubernetesObject> informer =
        factory.sharedIndexInformerFor(api, DynamicKubernetesObject.class, 0);
    informer.addEventHandler(new ResourceEventHandler<>() {
      @Override
      public void onAdd(DynamicKubernetesObject obj) {
        changed(journal, obj);
      }

      @Override
      public void onUpdate(DynamicKubernetesObject oldObj, DynamicKubernetesObject newObj) {
        changed(journal, newObj);
      }

      @Override
      public void onDelete(DynamicKubernetesObject obj, boolean deletedFinalStateUnknown) {
        deleted(journal, obj);
      }
    });
    factory.startAllRegisteredInformers();
    informerThreads.execute(() -> awaitSynced(kind, journal, informer));
    LOG.info("indexing {} ({}) of cluster {}", kind, kind.kind(), cluster);
  }

  private void awaitSynced(IndexedKind kind, KindJournal journal, SharedIndexInformer<?> informer) {
    try {
      while (!informer.hasSynced()) {
        Thread.sleep(20);
        synchronized (this) {
          if (stopped || journals.get(kind.key()) != journal) {
            return;
          }
        }
      }
      synchronized (this) {
        journal.synced = true;
      }
      flusher.execute(this::flush);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      LOG.debug("index of {} not started: {}", kind, e.getMessage());
    }
  }

  private void stopKind(String key) {
    SharedInformerFactory factory;
    synchronized (this) {
      KindJournal journal = journals.remove(key);
      factory = informers.remove(key);
      if (journal != null && link != null && hubWatermarks != null) {
        // An empty relist: the hub forgets every object of the kind.
        List<Frame.Index> frames = new KindJournal(journal.kind(), 0).relist(() -> ++nextSeq, 1);
        frames.forEach(frame -> inFlight.put(frame.seq(), key));
        Link target = link;
        flusher.execute(() -> frames.forEach(target::send));
      }
    }
    if (factory != null) {
      factory.stopAllRegisteredInformers();
    }
  }

  private void changed(KindJournal journal, DynamicKubernetesObject object) {
    JsonObject raw = object.getRaw();
    Frame.IndexedObject indexed = Summaries.of(journal.kind(), raw, settings.keepsWhole(journal.kind()));
    synchronized (this) {
      journal.upsert(indexed);
    }
    if (settings.crds() && CRDS.equals(journal.kind().key())) {
      IndexedKind custom = customKind(raw);
      if (custom != null) {
        startKind(custom);
      }
    }
  }

  private void deleted(KindJournal journal, DynamicKubernetesObject object) {
    JsonObject raw = object.getRaw();
    Frame.IndexedObject gone = Summaries.of(journal.kind(), raw);
    synchronized (this) {
      journal.delete(gone.namespace(), gone.name());
    }
    if (settings.crds() && CRDS.equals(journal.kind().key())) {
      IndexedKind custom = customKind(raw);
      if (custom != null) {
        stopKind(custom.key());
      }
    }
  }

  /** The kind a CRD defines, at its storage version (else the first served one); null if it has none. */
  private static IndexedKind customKind(JsonObject crd) {
    JsonObject spec = crd.has("spec") && crd.get("spec").isJsonObject() ? crd.getAsJsonObject("spec") : null;
    if (spec == null || !spec.has("names") || !spec.get("names").isJsonObject() || !spec.has("group")) {
      return null;
    }
    JsonObject names = spec.getAsJsonObject("names");
    String version = null;
    if (spec.has("versions") && spec.get("versions").isJsonArray()) {
      for (JsonElement v : spec.getAsJsonArray("versions")) {
        if (!v.isJsonObject()) {
          continue;
        }
        JsonObject entry = v.getAsJsonObject();
        boolean served = !entry.has("served") || entry.get("served").getAsBoolean();
        boolean storage = entry.has("storage") && entry.get("storage").getAsBoolean();
        if (served && (version == null || storage)) {
          version = entry.get("name").getAsString();
        }
      }
    }
    if (version == null || !names.has("plural") || !names.has("kind")) {
      return null;
    }
    try {
      IndexedKind kind = IndexedKind.parse(spec.get("group").getAsString() + "/" + version + "/"
          + names.get("plural").getAsString());
      return kind.discovered(names.get("kind").getAsString(),
          !"Cluster".equals(spec.has("scope") ? spec.get("scope").getAsString() : "Namespaced"));
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private static Map<String, String> withoutKey(Map<String, String> map, String key) {
    if (map == null) {
      return null;
    }
    Map<String, String> copy = new HashMap<>(map);
    copy.remove(key);
    return copy;
  }

  private static ThreadFactory named(String prefix) {
    AtomicInteger count = new AtomicInteger();
    return runnable -> {
      Thread thread = new Thread(runnable, prefix + count.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }
}
