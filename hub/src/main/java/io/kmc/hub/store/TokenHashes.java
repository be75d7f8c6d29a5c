package io.kmc.hub.store;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;

/** Tokens are random, stored only as SHA-256 hashes and compared in constant time. */
public final class TokenHashes {

  private static final SecureRandom RANDOM = new SecureRandom();
  /** One digest per thread: looking the algorithm up costs more than hashing a token. */
  private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is not available", e);
    }
  });

  private TokenHashes() {
  }

  /** 32 random bytes, URL-safe base64 without padding: the secret part of a token. */
  public static String newSecret() {
    byte[] bytes = new byte[32];
    RANDOM.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  public static byte[] sha256(String text) {
    return SHA256.get().digest(text.getBytes(StandardCharsets.UTF_8));
  }

  public static String sha256Hex(String text) {
    return HexFormat.of().formatHex(sha256(text));
  }

  /** Whether {@code hash} (of a presented token) equals the stored hex hash, in constant time. */
  public static boolean matches(byte[] hash, String storedHex) {
    return hash != null && storedHex != null && MessageDigest.isEqual(hash, HexFormat.of().parseHex(storedHex));
  }
}
