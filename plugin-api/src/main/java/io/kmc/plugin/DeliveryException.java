package io.kmc.plugin;

/** A delivery failed; a permanent failure (a 4xx answer, a refused recipient) is not retried. */
public final class DeliveryException extends RuntimeException {

  private final boolean permanent;

  public DeliveryException(String message, boolean permanent) {
    super(message, null, false, false);
    this.permanent = permanent;
  }

  public boolean permanent() {
    return permanent;
  }
}
