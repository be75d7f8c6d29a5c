package io.kmc.hub.notify;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * The webhook signature: HMAC-SHA256 with the channel's secret over {@code timestamp + "." + body},
 * sent as {@code X-Kmc-Signature: sha256=<hex>} with the timestamp (Unix seconds) in
 * {@code X-Kmc-Timestamp}. A receiver recomputes it and refuses old timestamps, so that a captured
 * request cannot be replayed later.
 */
public final class Signatures {

  public static final String TIMESTAMP_HEADER = "X-Kmc-Timestamp";
  public static final String SIGNATURE_HEADER = "X-Kmc-Signature";
  public static final String PREFIX = "sha256=";

  private Signatures() {
  }

  public static String sign(String secret, long timestampSeconds, byte[] body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      mac.update((timestampSeconds + ".").getBytes(StandardCharsets.US_ASCII));
      return PREFIX + HexFormat.of().formatHex(mac.doFinal(body));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is not available", e);
    }
  }

  /** Whether the signature is right and the timestamp within {@code toleranceSeconds} of now. */
  public static boolean verify(String secret, String timestamp, String signature, byte[] body, long toleranceSeconds) {
    if (timestamp == null || signature == null) {
      return false;
    }
    long at;
    try {
      at = Long.parseLong(timestamp);
    } catch (NumberFormatException e) {
      return false;
    }
    if (Math.abs(System.currentTimeMillis() / 1000 - at) > toleranceSeconds) {
      return false;
    }
    return MessageDigest.isEqual(sign(secret, at, body).getBytes(StandardCharsets.US_ASCII),
        signature.getBytes(StandardCharsets.US_ASCII));
  }
}
