package io.kmc.hub.routing;

import io.kmc.common.Addresses;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;

/**
 * A request handed to a session on this node without the event bus, and its reply: the same
 * {@link Message} a session gets from another node, minus what the bus adds to every request (a reply
 * address registered and removed, a timeout timer, delivery options). The session always answers a
 * request it was handed (at the latest when its timeout timer fires or the session closes), so no
 * timer is needed here. The reply comes back on the asker's context.
 */
final class LocalMessage implements Message<FrameMessage> {

  private final FrameMessage body;
  private final MultiMap headers;
  private final Context askerContext;
  private final Promise<Message<FrameMessage>> answer;

  private LocalMessage(FrameMessage body, MultiMap headers, Context askerContext,
                       Promise<Message<FrameMessage>> answer) {
    this.body = body;
    this.headers = headers;
    this.askerContext = askerContext;
    this.answer = answer;
  }

  /** A request from this node for a cluster whose session is here; the future is its reply. */
  static LocalMessage request(FrameMessage request, String cluster, String nodeId, Context askerContext) {
    MultiMap headers = MultiMap.caseInsensitiveMultiMap()
        .add(Addresses.HEADER_CLUSTER, cluster)
        .add(Addresses.HEADER_REQUESTER_NODE, nodeId);
    return new LocalMessage(request, headers, askerContext, Promise.promise());
  }

  Future<Message<FrameMessage>> replied() {
    return answer.future();
  }

  @Override
  public String address() {
    return null;
  }

  @Override
  public MultiMap headers() {
    return headers;
  }

  @Override
  public FrameMessage body() {
    return body;
  }

  @Override
  public String replyAddress() {
    return null;
  }

  @Override
  public boolean isSend() {
    return true;
  }

  @Override
  public void reply(Object message, DeliveryOptions options) {
    if (answer == null) {
      throw new IllegalStateException("a reply cannot be replied to");
    }
    if (message instanceof ReplyException failure) {
      askerContext.runOnContext(v -> answer.tryFail(failure));
      return;
    }
    MultiMap replyHeaders = options == null ? MultiMap.caseInsensitiveMultiMap() : options.getHeaders();
    LocalMessage reply = new LocalMessage((FrameMessage) message, replyHeaders, null, null);
    askerContext.runOnContext(v -> answer.tryComplete(reply));
  }

  @Override
  public void fail(int failureCode, String message) {
    reply(new ReplyException(ReplyFailure.RECIPIENT_FAILURE, failureCode, message), null);
  }

  @Override
  public <R> Future<Message<R>> replyAndRequest(Object message, DeliveryOptions options) {
    return Future.failedFuture(new UnsupportedOperationException("a session does not ask its requester anything"));
  }
}
