package io.kmc.common.protocol;

/**
 * The limits of one agent connection. The hub chooses them (from its configuration) and sends them
 * in {@link Frame.Welcome}; both sides enforce them.
 *
 * @param maxFrameBytes        largest websocket message either side accepts
 * @param maxBodyBytes         largest request body the hub forwards (the kube-apiserver's own limit is 3 MiB)
 * @param chunkBytes           bodies larger than this travel as several data frames
 * @param maxInFlightRequests  requests (not streams) outstanding at once per agent
 * @param maxOpenStreams       streams (watches, followed logs, chunked bodies) open at once per agent
 * @param streamCredits        data frames the hub lets an agent send ahead per stream
 * @param requestTimeoutMillis time the agent has to answer a request (the head of a stream)
 * @param pingIntervalMillis   how often each side pings when idle
 * @param pingTimeoutMillis    a side that hears nothing for this long closes the connection
 */
public record Limits(int maxFrameBytes, int maxBodyBytes, int chunkBytes, int maxInFlightRequests,
                     int maxOpenStreams, int streamCredits, long requestTimeoutMillis,
                     long pingIntervalMillis, long pingTimeoutMillis) {

  public static final int DEFAULT_MAX_FRAME_BYTES = 6 * 1024 * 1024;
  public static final int DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024;
  public static final int DEFAULT_CHUNK_BYTES = 64 * 1024;
  public static final int DEFAULT_MAX_IN_FLIGHT_REQUESTS = 256;
  public static final int DEFAULT_MAX_OPEN_STREAMS = 512;
  public static final int DEFAULT_STREAM_CREDITS = 8;
  public static final long DEFAULT_REQUEST_TIMEOUT_MILLIS = 30_000;
  public static final long DEFAULT_PING_INTERVAL_MILLIS = 20_000;
  public static final long DEFAULT_PING_TIMEOUT_MILLIS = 30_000;

  public static final Limits DEFAULTS = new Limits(DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_BODY_BYTES,
      DEFAULT_CHUNK_BYTES, DEFAULT_MAX_IN_FLIGHT_REQUESTS, DEFAULT_MAX_OPEN_STREAMS,
      DEFAULT_STREAM_CREDITS, DEFAULT_REQUEST_TIMEOUT_MILLIS, DEFAULT_PING_INTERVAL_MILLIS,
      DEFAULT_PING_TIMEOUT_MILLIS);

  public Limits {
    positive(maxFrameBytes, "maxFrameBytes");
    positive(maxBodyBytes, "maxBodyBytes");
    positive(chunkBytes, "chunkBytes");
    positive(maxInFlightRequests, "maxInFlightRequests");
    positive(maxOpenStreams, "maxOpenStreams");
    positive(streamCredits, "streamCredits");
    positive(requestTimeoutMillis, "requestTimeoutMillis");
    positive(pingIntervalMillis, "pingIntervalMillis");
    positive(pingTimeoutMillis, "pingTimeoutMillis");
    if (pingTimeoutMillis <= pingIntervalMillis) {
      throw new IllegalArgumentException("pingTimeoutMillis must be larger than pingIntervalMillis");
    }
    // A chunk is base64-encoded (4/3) inside a frame with a little JSON around it.
    if ((long) chunkBytes * 4 / 3 + 1024 > maxFrameBytes) {
      throw new IllegalArgumentException("chunkBytes does not fit in maxFrameBytes once encoded");
    }
    if ((long) maxBodyBytes * 4 / 3 + 64 * 1024 > maxFrameBytes) {
      throw new IllegalArgumentException("maxBodyBytes does not fit in maxFrameBytes once encoded");
    }
  }

  private static void positive(long value, String name) {
    if (value <= 0) {
      throw new IllegalArgumentException(name + " must be positive");
    }
  }
}
