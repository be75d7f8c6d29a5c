package io.kmc.hub.notify;

import io.kmc.common.KmcException;
import io.kmc.hub.cache.SharedState;
import io.kmc.hub.config.HubConfig;
import io.kmc.hub.metrics.HubMetrics;
import io.kmc.hub.store.ClusterRecord;
import io.kmc.hub.store.ClusterRegistry;
import io.kmc.ops.Texts;
import io.kmc.plugin.DeliveryException;
import io.kmc.plugin.NotificationChannel;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.sqlclient.Pool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Notifications on one hub node. An emitted event is matched against the subscriptions and written
 * to the outbox, one delivery per channel (after de-duplication of flapping events, across nodes
 * through the shared state). Every node's dispatcher claims due deliveries from the outbox, sends
 * them through their channel's type, and records the outcome: delivered, retried later with an
 * exponential backoff, or dead after the channel's attempts. Nothing is kept in memory that a
 * restart would lose: an event is in the outbox before its node's dispatcher hears of it.
 */
public final class NotificationService implements Notifier {

  public static final String CHANGED = "kmc.hub.notifications-changed";
  private static final Logger LOG = LoggerFactory.getLogger(NotificationService.class);
  private static final long GAUGE_REFRESH_MILLIS = 2_000;
  private static final long PURGE_MILLIS = 10 * 60_000;
  private static final Duration RATE_WINDOW = Duration.ofMinutes(1);

  private final Vertx vertx;
  private final NotificationStore store;
  private final SharedState shared;
  private final ClusterRegistry clusters;
  private final HubMetrics metrics;
  private final HubConfig.Notifications config;
  private final String node;
  private final ChannelTypes types;
  private final WebClient web;
  private final AtomicInteger inFlight = new AtomicInteger();
  private volatile List<Subscription> subscriptions = List.of();
  private volatile Map<String, Channel> channels = Map.of();
  private volatile long pending;
  private volatile long dead;
  private Context context;
  private MessageConsumer<JsonObject> changes;
  private final List<Long> timers = new ArrayList<>();
  private boolean polling;
  private boolean again;
  private boolean claimFailing;
  private volatile boolean stopped;

  public NotificationService(Vertx vertx, Pool pool, SharedState shared, ClusterRegistry clusters, HubMetrics metrics,
                             HubConfig.Notifications config, String node) {
    this.vertx = vertx;
    this.store = new NotificationStore(pool);
    this.shared = shared;
    this.clusters = clusters;
    this.metrics = metrics;
    this.config = config;
    this.node = node;
    long timeout = config.requestTimeout().toMillis();
    this.web = WebClient.create(vertx, new WebClientOptions().setFollowRedirects(false)
        .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, timeout)).setName("kmc-notifications"));
    this.types = new ChannelTypes()
        .add(new WebhookChannel(web, timeout))
        .add(new SlackChannel(web, timeout))
        .add(new EmailChannel(vertx, timeout));
  }

  /** The channel types deliveries can use; plugins add theirs before {@link #start()}. */
  public ChannelTypes types() {
    return types;
  }

  /** The names of the hub's own channel types (a plugin may not take them). */
  public static java.util.Set<String> builtInTypes() {
    return java.util.Set.of("webhook", "slack", "email");
  }

  /** Loads channels and subscriptions, then starts the dispatcher (on the caller's context). */
  public Future<Void> start() {
    context = vertx.getOrCreateContext();
    metrics.notificationBacklog(() -> pending, () -> dead);
    changes = vertx.eventBus().consumer(CHANGED, m -> reload()
        .onFailure(e -> LOG.warn("cannot reload the notification settings: {}", e.getMessage())));
    return changes.completion().compose(v -> reload()).onSuccess(v -> {
      if (!config.enabled()) {
        LOG.info("notifications are off on this node (notifications.enabled: false)");
        return;
      }
      timers.add(vertx.setPeriodic(config.pollInterval().toMillis(), t -> poll()));
      timers.add(vertx.setPeriodic(GAUGE_REFRESH_MILLIS, t -> refreshGauges()));
      timers.add(vertx.setPeriodic(PURGE_MILLIS, t -> store.purge(config.retention())
          .onSuccess(n -> {
            if (n > 0) {
              LOG.info("removed {} old notification deliveries (notifications.retention)", n);
            }
          })));
      refreshGauges();
      poll();
    });
  }

  /** Stops claiming; waits a little for sends in flight; hands back what it claimed and did not send. */
  public Future<Void> stop() {
    stopped = true;
    timers.forEach(vertx::cancelTimer);
    Promise<Void> drained = Promise.promise();
    long deadline = System.currentTimeMillis() + config.requestTimeout().toMillis() + 1_000;
    waitForSends(drained, deadline);
    return drained.future()
        .compose(v -> store.release(node).recover(e -> Future.succeededFuture()))
        .eventually(() -> changes == null ? Future.succeededFuture() : changes.unregister())
        .eventually(() -> {
          types.all().forEach(NotificationChannel::close);
          web.close();
          return Future.succeededFuture();
        });
  }

  private void waitForSends(Promise<Void> drained, long deadline) {
    if (inFlight.get() == 0 || System.currentTimeMillis() > deadline) {
      drained.complete();
    } else {
      vertx.setTimer(25, t -> waitForSends(drained, deadline));
    }
  }

  // Events

  @Override
  public void emit(Event event) {
    if (!config.enabled() || stopped) {
      return;
    }
    record(event, null).onFailure(e -> LOG.warn("notification event {} ({}) was not recorded: {}", event.type().id(),
        Texts.forLog(event.summary()), e.getMessage()));
  }

  /**
   * Records the event's deliveries: to {@code onlyChannel} if given, else to the channels of the
   * subscriptions that match it. Completes with the number of deliveries written (0 when the event
   * was a repeat within the de-duplication window, or nobody subscribed).
   */
  Future<Integer> record(Event event, String onlyChannel) {
    metrics.notificationEvent(event.type().id());
    Future<Boolean> fresh = !event.type().deduplicated() || config.dedupWindow().isZero() || onlyChannel != null
        ? Future.succeededFuture(true)
        : shared.increment("notify-dedup:" + event.dedupKey(), config.dedupWindow()).map(w -> w.count() == 1);
    return fresh.compose(first -> {
      if (!first) {
        metrics.notificationSuppressed(event.type().id());
        LOG.debug("notification {} suppressed: a repeat within notifications.dedup_window", event.dedupKey());
        return Future.succeededFuture(0);
      }
      Future<ClusterRecord> cluster = event.cluster() == null ? Future.succeededFuture(null)
          : clusters.find(event.cluster());
      return cluster.compose(record -> {
        Set<String> targets = new LinkedHashSet<>();
        if (onlyChannel != null) {
          targets.add(onlyChannel);
        } else {
          Map<String, String> labels = record == null ? Map.of() : record.labels();
          for (Subscription s : subscriptions) {
            if (s.matches(event, labels)) {
              targets.addAll(s.channels());
            }
          }
        }
        if (targets.isEmpty()) {
          return Future.succeededFuture(0);
        }
        return store.enqueue(event, List.copyOf(targets)).onSuccess(n -> poke());
      });
    });
  }

  // The dispatcher

  private void poke() {
    if (context != null && !stopped) {
      context.runOnContext(v -> poll());
    }
  }

  /** Claims what is due, as many as the node may still send at once; runs on the service's context. */
  private void poll() {
    if (stopped) {
      return;
    }
    if (polling) {
      again = true;
      return;
    }
    int room = config.batchSize() - inFlight.get();
    if (room <= 0) {
      return;
    }
    polling = true;
    again = false;
    store.claim(node, room, config.lease()).onComplete(ar -> {
      polling = false;
      if (ar.failed()) {
        if (!claimFailing) { // once per outage, not once per poll
          claimFailing = true;
          LOG.warn("cannot claim notification deliveries (retrying every {}): {}",
              config.pollInterval(), ar.cause().getMessage());
        }
        return;
      }
      if (claimFailing) {
        claimFailing = false;
        LOG.info("claiming notification deliveries again");
      }
      ar.result().forEach(this::send);
      if (again || ar.result().size() == room) {
        poll();
      }
    });
  }

  private void send(NotificationStore.Claimed claimed) {
    inFlight.incrementAndGet();
    channel(claimed.channel()).compose(channel -> {
      if (channel == null) {
        return finish(claimed, null, "unknown", new DeliveryException("channel '" + claimed.channel()
            + "' no longer exists", true));
      }
      NotificationChannel type = types.get(channel.type());
      if (type == null) {
        return finish(claimed, channel, channel.type(), new DeliveryException("channel type '" + channel.type()
            + "' is not available on this node (a plugin missing?)", false));
      }
      int rate = channel.ratePerMinute() == null ? config.ratePerMinute() : channel.ratePerMinute();
      return shared.increment("notify-rate:" + channel.name(), RATE_WINDOW).compose(window -> {
        if (window.count() > rate) {
          metrics.notificationDelivery(channel.type(), "postponed");
          return store.postpone(claimed.id(), node, Math.max(50, window.resetMillis()));
        }
        NotificationChannel.Message message = new NotificationChannel.Message(claimed.id(), claimed.attempts() + 1, channel.name(),
            claimed.event());
        Future<Void> sent;
        try {
          sent = type.send(channel.merged(), message);
        } catch (RuntimeException e) {
          sent = Future.failedFuture(e);
        }
        return sent.transform(ar -> finish(claimed, channel, channel.type(), ar.failed() ? ar.cause() : null));
      });
    }).onComplete(ar -> {
      inFlight.decrementAndGet();
      if (ar.failed()) {
        LOG.warn("notification delivery {}: {}", claimed.id(), ar.cause().getMessage());
      }
      poke();
    });
  }

  /** Records an attempt's outcome: delivered, to retry after a backoff, or dead. */
  private Future<Void> finish(NotificationStore.Claimed claimed, Channel channel, String type, Throwable failure) {
    if (failure == null) {
      metrics.notificationDelivery(type, "delivered");
      return store.delivered(claimed.id(), node).mapEmpty();
    }
    int attempts = claimed.attempts() + 1;
    int max = channel == null || channel.maxAttempts() == null ? config.maxAttempts() : channel.maxAttempts();
    boolean permanent = failure instanceof DeliveryException c && c.permanent();
    boolean dead = permanent || attempts >= max;
    String error = Texts.bounded(failure.getMessage() == null ? failure.getClass().getSimpleName()
        : failure.getMessage(), 1000);
    metrics.notificationDelivery(type, dead ? "dead" : "retried");
    if (dead) {
      LOG.warn("notification delivery {} to channel {} is dead after {} attempt(s): {}", claimed.id(),
          claimed.channel(), attempts, Texts.forLog(error));
    } else {
      LOG.info("notification delivery {} to channel {} failed (attempt {} of {}), retrying: {}", claimed.id(),
          claimed.channel(), attempts, max, Texts.forLog(error));
    }
    return store.failed(claimed.id(), node, error, dead, dead ? 0 : backoff(attempts)).mapEmpty();
  }

  /** The wait after the {@code attempts}-th failure: doubled each time, capped, with ±20% jitter. */
  long backoff(int attempts) {
    double base = config.initialBackoff().toMillis() * Math.pow(2, Math.min(30, attempts - 1));
    double capped = Math.min(base, config.maxBackoff().toMillis());
    return Math.max(1, Math.round(capped * (0.8 + 0.4 * ThreadLocalRandom.current().nextDouble())));
  }

  /** The channel from this node's cache, or the database (created on another node a moment ago). */
  private Future<Channel> channel(String name) {
    Channel known = channels.get(name);
    return known != null ? Future.succeededFuture(known) : store.channel(name);
  }

  private void refreshGauges() {
    store.backlog().onSuccess(counts -> {
      pending = counts[0];
      dead = counts[1];
    });
  }

  private Future<Void> reload() {
    return store.channels().compose(c -> store.subscriptions().map(s -> {
      Map<String, Channel> byName = new java.util.HashMap<>();
      c.forEach(channel -> byName.put(channel.name(), channel));
      channels = Map.copyOf(byName);
      subscriptions = List.copyOf(s);
      return null;
    }));
  }

  private <T> Future<T> changed(T result) {
    return reload().transform(ar -> {
      vertx.eventBus().publish(CHANGED, new JsonObject());
      return Future.succeededFuture(result);
    });
  }

  // What the API calls

  public Future<List<Channel>> channels() {
    return store.channels();
  }

  public Future<Channel> getChannel(String name) {
    return store.channel(name).compose(c -> c == null ? Future.failedFuture(channelNotFound(name))
        : Future.succeededFuture(c));
  }

  public Future<Channel> createChannel(JsonObject body, String user) {
    Channel channel;
    try {
      channel = Channel.read(body, null, null, types);
    } catch (KmcException e) {
      return Future.failedFuture(e);
    }
    return store.createChannel(channel, user).compose(this::changed);
  }

  /** Creates or replaces a channel; secrets left out keep their stored values. */
  public Future<Channel> putChannel(String name, JsonObject body, String user) {
    return store.channel(name).compose(previous -> {
      Channel channel = Channel.read(body, name, previous, types);
      return store.putChannel(channel, user);
    }).compose(this::changed);
  }

  public Future<Void> deleteChannel(String name) {
    return store.deleteChannel(name).compose(this::changed);
  }

  /** Sends a test event to one channel, through the outbox as any other. */
  public Future<String> testChannel(String name, String user) {
    return getChannel(name).compose(channel -> {
      Event event = Event.of(EventType.TEST, null, null, "test notification from kmc, sent by " + user
          + " to channel " + name, new JsonObject().put("requestedBy", user));
      return record(event, name).map(n -> event.id());
    });
  }

  public Future<List<Subscription>> subscriptions() {
    return store.subscriptions();
  }

  public Future<Subscription> getSubscription(String name) {
    return store.subscription(name).compose(s -> s == null
        ? Future.failedFuture(KmcException.notFound("no subscription named '" + name + "'"))
        : Future.succeededFuture(s));
  }

  public Future<Subscription> createSubscription(JsonObject body, String user) {
    return checkedSubscription(body, null).compose(s -> store.createSubscription(s, user)).compose(this::changed);
  }

  public Future<Subscription> putSubscription(String name, JsonObject body, String user) {
    return checkedSubscription(body, name).compose(s -> store.putSubscription(s, user)).compose(this::changed);
  }

  public Future<Void> deleteSubscription(String name) {
    return store.deleteSubscription(name).compose(this::changed);
  }

  /** A subscription from an API body whose channels all exist; 400 otherwise. */
  private Future<Subscription> checkedSubscription(JsonObject body, String pathName) {
    Subscription s;
    try {
      s = Subscription.read(body, pathName);
    } catch (KmcException e) {
      return Future.failedFuture(e);
    }
    return store.channels().compose(existing -> {
      Set<String> names = new java.util.HashSet<>();
      existing.forEach(c -> names.add(c.name()));
      List<String> missing = s.channels().stream().filter(c -> !names.contains(c)).toList();
      return missing.isEmpty() ? Future.succeededFuture(s)
          : Future.failedFuture(KmcException.badRequest("no channel named " + missing + "; create it first"));
    });
  }

  public Future<List<JsonObject>> deliveries(String state, String channel, String cluster, String type, long beforeId,
                                             int limit) {
    return store.deliveries(state, channel, cluster, type, beforeId, limit);
  }

  public Future<Void> retry(long id) {
    return store.retry(id).onSuccess(v -> poke());
  }

  private static KmcException channelNotFound(String name) {
    return KmcException.notFound("no channel named '" + name + "'");
  }
}
