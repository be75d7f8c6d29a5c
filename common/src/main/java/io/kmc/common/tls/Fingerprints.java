package io.kmc.common.tls;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.Certificate;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

/**
 * SHA-256 fingerprints of certificates, the one way kmc names a hub's CA everywhere: the hub's log,
 * {@code kmc login}, the agent's {@code hub.ca_sha256}. Shown as openssl shows them
 * ({@code openssl x509 -noout -fingerprint -sha256}: {@code AB:CD:…}); accepted in any case, with
 * or without colons, with or without a {@code sha256:} prefix.
 */
public final class Fingerprints {

  private Fingerprints() {
  }

  /** The fingerprint of a certificate, as {@code AB:CD:…}. */
  public static String sha256(X509Certificate certificate) {
    try {
      return display(HexFormat.of().formatHex(digest(certificate.getEncoded())));
    } catch (CertificateEncodingException e) {
      throw new IllegalArgumentException("cannot encode the certificate: " + e.getMessage(), e);
    }
  }

  /**
   * curl's {@code --pinnedpubkey} form of a certificate's public key: {@code sha256//} and the
   * base64 SHA-256 of its SubjectPublicKeyInfo.
   */
  public static String publicKeyPin(X509Certificate certificate) {
    return "sha256//" + Base64.getEncoder().encodeToString(digest(certificate.getPublicKey().getEncoded()));
  }

  /** 64 lower-case hex digits from what a user typed; IllegalArgumentException if it is not a SHA-256. */
  public static String normalize(String fingerprint) {
    String text = fingerprint == null ? "" : fingerprint.trim();
    if (text.regionMatches(true, 0, "sha256:", 0, 7)) {
      text = text.substring(7);
    }
    String hex = text.replace(":", "").replace(" ", "").toLowerCase(Locale.ROOT);
    if (!hex.matches("[0-9a-f]{64}")) {
      throw new IllegalArgumentException("'" + fingerprint + "' is not a SHA-256 fingerprint (64 hexadecimal digits, "
          + "colons allowed, as openssl x509 -noout -fingerprint -sha256 prints it)");
    }
    return hex;
  }

  /** Whether two fingerprints, in any accepted form, are the same. */
  public static boolean same(String a, String b) {
    return MessageDigest.isEqual(normalize(a).getBytes(StandardCharsets.US_ASCII),
        normalize(b).getBytes(StandardCharsets.US_ASCII));
  }

  /** {@code AB:CD:…} from any accepted form. */
  public static String display(String fingerprint) {
    String hex = normalize(fingerprint).toUpperCase(Locale.ROOT);
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < hex.length(); i += 2) {
      if (i > 0) {
        out.append(':');
      }
      out.append(hex, i, i + 2);
    }
    return out.toString();
  }

  /** The certificates of a PEM text, in order; IllegalArgumentException if there are none. */
  public static List<X509Certificate> certificates(String pem) {
    try {
      List<X509Certificate> result = new ArrayList<>();
      for (Certificate certificate : CertificateFactory.getInstance("X.509")
          .generateCertificates(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)))) {
        result.add((X509Certificate) certificate);
      }
      if (result.isEmpty()) {
        throw new IllegalArgumentException("no certificate in the PEM text");
      }
      return result;
    } catch (CertificateException e) {
      throw new IllegalArgumentException("not a PEM certificate: " + e.getMessage(), e);
    }
  }

  /** PEM text of certificates. */
  public static String pem(List<X509Certificate> certificates) {
    StringBuilder out = new StringBuilder();
    Base64.Encoder encoder = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII));
    for (X509Certificate certificate : certificates) {
      try {
        out.append("-----BEGIN CERTIFICATE-----\n").append(encoder.encodeToString(certificate.getEncoded()))
            .append("\n-----END CERTIFICATE-----\n");
      } catch (CertificateEncodingException e) {
        throw new IllegalArgumentException("cannot encode the certificate: " + e.getMessage(), e);
      }
    }
    return out.toString();
  }

  private static byte[] digest(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }
}
