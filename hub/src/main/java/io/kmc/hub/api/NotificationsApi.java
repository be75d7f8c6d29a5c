package io.kmc.hub.api;

import io.kmc.common.KmcException;
import io.kmc.hub.auth.Authenticator;
import io.kmc.hub.notify.Channel;
import io.kmc.hub.notify.EventType;
import io.kmc.hub.notify.NotificationService;
import io.kmc.hub.notify.Subscription;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.util.List;
import java.util.Set;

/**
 * {@code /api/v1/notifications}: channels (where deliveries go; their secrets are never returned),
 * subscriptions (which events go to which channels), and the outbox of deliveries, dead letters
 * included. Every route is authorised as object {@code notifications} (admins only by default).
 */
public final class NotificationsApi {

  private static final Set<String> STATES = Set.of("pending", "sending", "delivered", "dead");
  private static final int MAX_LIMIT = 500;

  private final NotificationService notifications;

  public NotificationsApi(NotificationService notifications) {
    this.notifications = notifications;
  }

  public void listChannels(RoutingContext ctx) {
    notifications.channels().onSuccess(list -> Bodies.json(ctx, items("ChannelList",
        list.stream().map(Channel::view).toList()))).onFailure(ctx::fail);
  }

  public void getChannel(RoutingContext ctx) {
    notifications.getChannel(ctx.pathParam("name")).onSuccess(c -> Bodies.json(ctx, c.view())).onFailure(ctx::fail);
  }

  public void createChannel(RoutingContext ctx) {
    notifications.createChannel(Bodies.object(ctx), Authenticator.principal(ctx).user())
        .onSuccess(c -> Bodies.json(ctx, 201, c.view())).onFailure(ctx::fail);
  }

  public void putChannel(RoutingContext ctx) {
    notifications.putChannel(ctx.pathParam("name"), Bodies.object(ctx), Authenticator.principal(ctx).user())
        .onSuccess(c -> Bodies.json(ctx, c.view())).onFailure(ctx::fail);
  }

  public void deleteChannel(RoutingContext ctx) {
    notifications.deleteChannel(ctx.pathParam("name")).onSuccess(v -> Bodies.noContent(ctx)).onFailure(ctx::fail);
  }

  /** {@code POST .../channels/{name}/test}: a test event to this channel only, through the outbox. */
  public void testChannel(RoutingContext ctx) {
    notifications.testChannel(ctx.pathParam("name"), Authenticator.principal(ctx).user())
        .onSuccess(id -> Bodies.json(ctx, 202, new JsonObject().put("eventId", id))).onFailure(ctx::fail);
  }

  public void listSubscriptions(RoutingContext ctx) {
    notifications.subscriptions().onSuccess(list -> Bodies.json(ctx, items("SubscriptionList",
        list.stream().map(Subscription::view).toList()))).onFailure(ctx::fail);
  }

  public void getSubscription(RoutingContext ctx) {
    notifications.getSubscription(ctx.pathParam("name")).onSuccess(s -> Bodies.json(ctx, s.view()))
        .onFailure(ctx::fail);
  }

  public void createSubscription(RoutingContext ctx) {
    notifications.createSubscription(Bodies.object(ctx), Authenticator.principal(ctx).user())
        .onSuccess(s -> Bodies.json(ctx, 201, s.view())).onFailure(ctx::fail);
  }

  public void putSubscription(RoutingContext ctx) {
    notifications.putSubscription(ctx.pathParam("name"), Bodies.object(ctx), Authenticator.principal(ctx).user())
        .onSuccess(s -> Bodies.json(ctx, s.view())).onFailure(ctx::fail);
  }

  public void deleteSubscription(RoutingContext ctx) {
    notifications.deleteSubscription(ctx.pathParam("name")).onSuccess(v -> Bodies.noContent(ctx))
        .onFailure(ctx::fail);
  }

  /** {@code GET .../events}: the event types and their default severities. */
  public void eventTypes(RoutingContext ctx) {
    JsonArray items = new JsonArray();
    for (EventType type : EventType.values()) {
      items.add(new JsonObject().put("type", type.id()).put("severity", type.severity().id())
          .put("deduplicated", type.deduplicated()).put("description", type.description()));
    }
    Bodies.json(ctx, new JsonObject().put("items", items));
  }

  /**
   * {@code GET .../deliveries?state=&channel=&cluster=&type=&limit=&before=}: newest first;
   * {@code before} (an id) pages back.
   */
  public void deliveries(RoutingContext ctx) {
    String state = ctx.queryParams().get("state");
    if (state != null && !STATES.contains(state)) {
      throw KmcException.badRequest("state must be one of pending, sending, delivered, dead");
    }
    int limit = number(ctx, "limit", 100, MAX_LIMIT);
    long before = ctx.queryParams().get("before") == null ? Long.MAX_VALUE : number(ctx, "before", 0, Long.MAX_VALUE);
    notifications.deliveries(state, ctx.queryParams().get("channel"), ctx.queryParams().get("cluster"),
            ctx.queryParams().get("type"), before, limit)
        .onSuccess(list -> Bodies.json(ctx, items("DeliveryList", list))).onFailure(ctx::fail);
  }

  /** {@code POST .../deliveries/{id}/retry}: a dead delivery is tried again, its attempts counted afresh. */
  public void retry(RoutingContext ctx) {
    long id;
    try {
      id = Long.parseLong(ctx.pathParam("id"));
    } catch (NumberFormatException e) {
      throw KmcException.badRequest("a delivery id is a number");
    }
    notifications.retry(id).onSuccess(v -> Bodies.json(ctx, 202, new JsonObject().put("id", id)
        .put("state", "pending"))).onFailure(ctx::fail);
  }

  private static long number(RoutingContext ctx, String param, long defaultValue, long max) {
    String text = ctx.queryParams().get(param);
    if (text == null) {
      return defaultValue;
    }
    try {
      long value = Long.parseLong(text);
      if (value < 1 || value > max) {
        throw KmcException.badRequest(param + " must be between 1 and " + max);
      }
      return value;
    } catch (NumberFormatException e) {
      throw KmcException.badRequest(param + " must be a number");
    }
  }

  private static int number(RoutingContext ctx, String param, int defaultValue, int max) {
    return (int) number(ctx, param, (long) defaultValue, max);
  }

  private static JsonObject items(String kind, List<JsonObject> items) {
    return new JsonObject().put("kind", kind).put("items", new JsonArray(items));
  }
}
