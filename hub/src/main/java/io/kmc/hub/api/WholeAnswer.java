package io.kmc.hub.api;

import io.kmc.common.KmcException;
import io.kmc.hub.routing.ClusterRouter;
import io.kmc.ops.Texts;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;

import java.util.List;
import java.util.Map;

/**
 * One answer of a member cluster, read whole: for single objects (which Kubernetes keeps under about
 * 1.5 MiB) and discovery documents. Lists and streams are relayed as they come instead.
 */
record WholeAnswer(int status, Map<String, List<String>> headers, Buffer body) {

  /** More than any single object or discovery document: an answer this large is refused, not held. */
  static final int MAX_BYTES = 8 * 1024 * 1024;

  /** Sends one request to the member cluster and reads its whole answer. */
  static Future<WholeAnswer> read(ClusterRouter router, String cluster, ClusterRouter.Outgoing outgoing) {
    Promise<Buffer> whole = Promise.promise();
    Buffer collected = Buffer.buffer();
    ClusterRouter.Exchange[] opened = new ClusterRouter.Exchange[1];
    return router.open(cluster, outgoing, new ClusterRouter.StreamHandler() {
      @Override
      public void data(Buffer data) {
        if (whole.future().isComplete()) {
          return;
        }
        if (collected.length() + data.length() > MAX_BYTES) {
          whole.tryFail(KmcException.badGateway("the member cluster's answer is larger than " + MAX_BYTES + " bytes"));
          if (opened[0] != null) {
            opened[0].cancel("the answer is too large");
          }
          return;
        }
        collected.appendBuffer(data);
        if (opened[0] != null) {
          opened[0].consumed(1);
        }
      }

      @Override
      public void end(String error) {
        if (error == null) {
          whole.tryComplete(collected);
        } else {
          whole.tryFail(KmcException.badGateway("the member cluster's answer broke off: " + Texts.forLog(error)));
        }
      }
    }).compose(exchange -> {
      opened[0] = exchange;
      var head = exchange.head();
      if (head.body() != null) {
        collected.appendBytes(head.body());
      }
      if (!head.more()) {
        whole.tryComplete(collected);
      }
      return whole.future().map(bytes -> new WholeAnswer(head.status(), head.headers(), bytes));
    });
  }
}
