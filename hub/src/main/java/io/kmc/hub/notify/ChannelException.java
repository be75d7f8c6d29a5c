package io.kmc.hub.notify;

/** A delivery failed; a permanent failure (a 4xx answer, a refused recipient) is not retried. */
public final class ChannelException extends RuntimeException {

  private final boolean permanent;

  public ChannelException(String message, boolean permanent) {
    super(message, null, false, false);
    this.permanent = permanent;
  }

  public boolean permanent() {
    return permanent;
  }
}
