package io.kmc.common.protocol;

/** Websocket close codes of protocol v1; 4000–4999 are kmc's own. The close reason says more. */
public final class CloseCodes {

  public static final short NORMAL = 1000;
  /** A node or agent shutting down; reconnect (elsewhere). */
  public static final short GOING_AWAY = 1001;
  /** The peer broke the protocol (no hello, wrong first frame, a second welcome...). */
  public static final short PROTOCOL_ERROR = 1002;
  public static final short MESSAGE_TOO_BIG = 1009;
  public static final short UNSUPPORTED_VERSION = 4001;
  /** A newer connection for the same cluster took over. */
  public static final short REPLACED = 4002;
  /** The join token was rotated or the cluster disabled or deleted. */
  public static final short REVOKED = 4003;
  /** Nothing heard from the peer within the ping deadline. */
  public static final short SILENT = 4004;

  private CloseCodes() {
  }
}
