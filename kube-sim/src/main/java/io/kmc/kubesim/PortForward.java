package io.kmc.kubesim;

import io.vertx.core.buffer.Buffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Port-forwarding to a simulated pod. The pods have no network, so behind every port, declared or
 * not, is an echo server: what a client sends comes back, and when it stops sending (half-closes)
 * the connection ends. Two ways of carrying it, as the kubelet serves them:
 *
 * <ul>
 *   <li>SPDY (plain, or tunnelled in a websocket as kubectl does since 1.31): one pair of streams per
 *       forwarded connection, {@code streamType} error and data with the same {@code requestID} and
 *       {@code port} headers; the error stream is closed empty when the connection ends well.</li>
 *   <li>websocket channels ({@code v4.channel.k8s.io}, ports from the {@code ports} query parameter):
 *       for the i-th port, channel 2i carries data and 2i+1 errors, and each starts with the port
 *       number as two little-endian bytes; one connection per port for the websocket's lifetime.</li>
 * </ul>
 */
final class PortForward {

  private static final Logger LOG = LoggerFactory.getLogger(PortForward.class);

  private final String pod;

  PortForward(String pod) {
    this.pod = pod;
  }

  void overSpdy(SpdySession session) {
    Map<String, SpdySession.Stream> errorStreams = new HashMap<>();
    Map<String, Boolean> finished = new HashMap<>();
    session.start(stream -> {
      String key = stream.header("requestid") + "/" + stream.header("port");
      String type = stream.header("streamtype");
      if ("error".equals(type)) {
        if (finished.remove(key) != null) {
          stream.end();
        } else {
          errorStreams.put(key, stream);
        }
        return;
      }
      if (!"data".equals(type)) {
        stream.end();
        return;
      }
      String problem = portProblem(stream.header("port"));
      if (problem != null) {
        SpdySession.Stream error = errorStreams.remove(key);
        if (error != null) {
          error.write(Buffer.buffer(problem)).onComplete(done -> error.end());
        }
        stream.end();
        return;
      }
      LOG.debug("port-forward to {} port {}: connection {}", pod, stream.header("port"), stream.header("requestid"));
      stream.dataHandler(stream::write).endHandler(() -> {
        stream.end();
        SpdySession.Stream error = errorStreams.remove(key);
        if (error != null) {
          error.end();
        } else {
          finished.put(key, true);
        }
      });
    }, () -> LOG.debug("port-forward to {} ended", pod));
  }

  void overChannels(ChannelWebSocket socket, List<Integer> ports) {
    for (int i = 0; i < ports.size(); i++) {
      int data = 2 * i;
      socket.reader(data, bytes -> socket.write(data, bytes));
    }
    socket.goneHandler(() -> LOG.debug("port-forward to {} ended", pod)).start();
    for (int i = 0; i < ports.size(); i++) {
      Buffer port = Buffer.buffer(2).appendUnsignedShortLE(ports.get(i));
      socket.write(2 * i, port);
      socket.write(2 * i + 1, port);
    }
  }

  /** What the kubelet says about a port header it cannot use, or null. */
  private static String portProblem(String port) {
    if (port == null || port.isEmpty()) {
      return "unable to parse \"\" as a port";
    }
    try {
      int number = Integer.parseInt(port);
      return number < 1 || number > 65535 ? "port \"" + port + "\" must be > 0" : null;
    } catch (NumberFormatException e) {
      return "unable to parse \"" + port + "\" as a port";
    }
  }
}
