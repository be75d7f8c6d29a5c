package io.kmc.common.protocol;

/** A frame that cannot be accepted, with the error code that goes back to the sender. */
public final class ProtocolException extends RuntimeException {

  public static final String MALFORMED_FRAME = "malformed-frame";
  public static final String UNKNOWN_TYPE = "unknown-type";
  public static final String FRAME_TOO_LARGE = "frame-too-large";
  public static final String UNSUPPORTED_VERSION = "unsupported-version";
  public static final String UNEXPECTED_FRAME = "unexpected-frame";

  private final String code;

  public ProtocolException(String code, String message) {
    super(message, null, false, false);
    this.code = code;
  }

  public String code() {
    return code;
  }

  public Frame.Error toFrame(String id) {
    return new Frame.Error(id, code, getMessage());
  }
}
