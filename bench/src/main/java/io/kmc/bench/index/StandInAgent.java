package io.kmc.bench.index;

import io.kmc.bench.fleet.Fleet;
import io.kmc.common.protocol.AgentEndpoint;
import io.kmc.common.protocol.Frame;
import io.kmc.common.protocol.FrameCodec;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;

import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A light stand-in for an agent that speaks only the index protocol (hello, index batches, pongs):
 * no informers and no simulated cluster, so that what a benchmark measures is the hub.
 */
public record StandInAgent(String cluster, WebSocket ws, BlockingQueue<Frame> received) {

  /** Connects to node A as the cluster's agent and waits for the hub's watermarks. */
  public static StandInAgent connect(Fleet fleet, WebSocketClient client, String cluster, String token)
      throws Exception {
    BlockingQueue<Frame> received = new LinkedBlockingQueue<>();
    WebSocket ws = client.connect(new WebSocketConnectOptions()
            .setAbsoluteURI("ws://127.0.0.1:" + fleet.nodeA().port() + AgentEndpoint.PATH)
            .addHeader(AgentEndpoint.CLUSTER_HEADER, cluster).addHeader("Authorization", "Bearer " + token))
        .await(30, TimeUnit.SECONDS);
    StandInAgent standIn = new StandInAgent(cluster, ws, received);
    ws.textMessageHandler(text -> {
      Frame frame = FrameCodec.decode(text);
      if (frame instanceof Frame.Ping ping) {
        standIn.send(new Frame.Pong(ping.sentAtMillis()));
      } else if (frame instanceof Frame.IndexAck || frame instanceof Frame.Welcome || frame instanceof Frame.Error) {
        received.add(frame);
      }
    });
    standIn.send(new Frame.Hello(List.of(2), cluster, "index-bench", "v1.30.0", List.of("index")));
    if (!(standIn.next() instanceof Frame.Welcome welcome) || !welcome.capabilities().contains("index")) {
      throw new IllegalStateException("the hub keeps no index");
    }
    if (!(standIn.next() instanceof Frame.IndexAck ack) || ack.seq() != 0) {
      throw new IllegalStateException("expected the hub's watermarks");
    }
    return standIn;
  }

  /** The hub's next answer (an acknowledgement, mostly); fails after 30 s of silence. */
  public Frame next() throws InterruptedException {
    Frame frame = received.poll(30, TimeUnit.SECONDS);
    if (frame == null) {
      throw new IllegalStateException("no answer from the hub for cluster " + cluster);
    }
    return frame;
  }

  public void send(Frame frame) {
    ws.writeTextMessage(FrameCodec.encodeToString(frame));
  }
}
