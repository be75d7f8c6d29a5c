package io.kmc.hub.tls;

import io.kmc.common.tls.Fingerprints;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The hub's TLS certificate and key, as PEM. Either given as files, or generated once (self-signed,
 * ECDSA P-256) and kept in a directory so that it stays the same across restarts: kubeconfigs and
 * agents that pinned it keep working. kubectl sends credentials only over TLS, so the hub needs one
 * of the two to be usable by kubectl at all.
 *
 * @param certificatePem   the server certificate (chain)
 * @param privateKeyPem    its private key
 * @param clientTrustPem   what clients should trust (put into kubeconfigs and agent manifests); null
 *                         if the certificate chains to a CA clients already trust
 */
public record TlsMaterial(String certificatePem, String privateKeyPem, String clientTrustPem) {

  private static final Logger LOG = LoggerFactory.getLogger(TlsMaterial.class);
  private static final String CERT_FILE = "hub.crt";
  private static final String KEY_FILE = "hub.key";
  private static final Duration VALIDITY = Duration.ofDays(3650);

  /** No certificate of its own (TLS ends at a proxy in front), only what clients should trust. */
  public static TlsMaterial trustOnly(String clientTrustPem) {
    return new TlsMaterial(null, null, clientTrustPem);
  }

  /** Whether the hub serves TLS itself with this material. */
  public boolean serves() {
    return certificatePem != null;
  }

  /** Loads a certificate and key from files; {@code caFile} (optional) is what clients should trust. */
  public static TlsMaterial fromFiles(Path certFile, Path keyFile, Path caFile) {
    try {
      return new TlsMaterial(Files.readString(certFile), Files.readString(keyFile),
          caFile == null ? null : Files.readString(caFile));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the TLS certificate or key: " + e.getMessage(), e);
    }
  }

  /**
   * Returns the self-signed certificate kept in {@code dir}, generating it on first use for the
   * given host names and addresses (plus localhost and this machine's name).
   */
  public static TlsMaterial selfSigned(Path dir, List<String> hosts) {
    Path certFile = dir.resolve(CERT_FILE);
    Path keyFile = dir.resolve(KEY_FILE);
    try {
      if (Files.exists(certFile) && Files.exists(keyFile)) {
        String cert = Files.readString(certFile);
        return announced(new TlsMaterial(cert, Files.readString(keyFile), cert), certFile);
      }
      TlsMaterial generated = announced(generate(hosts), certFile);
      Files.createDirectories(dir);
      Files.writeString(certFile, generated.certificatePem());
      Files.writeString(keyFile, generated.privateKeyPem());
      try {
        Files.setPosixFilePermissions(keyFile, PosixFilePermissions.fromString("rw-------"));
      } catch (UnsupportedOperationException e) {
        // not a POSIX file system; nothing more to do
      }
      return generated;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot keep the self-signed certificate in " + dir + ": " + e.getMessage(), e);
    }
  }

  /**
   * Logs the fingerprint clients compare before they trust the self-signed certificate: {@code kmc
   * login} asks about it, agents pin it with {@code hub.ca_sha256}.
   */
  private static TlsMaterial announced(TlsMaterial material, Path certFile) {
    LOG.info("TLS certificate {} is self-signed; its SHA-256 fingerprint is {} (kmc login asks you to confirm it; "
        + "agents can pin it with KMC_HUB_CA_SHA256)", certFile, material.clientTrustFingerprint());
    return material;
  }

  /** The SHA-256 fingerprint of the certificate clients should trust (the top of that bundle), or null. */
  public String clientTrustFingerprint() {
    if (clientTrustPem == null) {
      return null;
    }
    List<X509Certificate> chain = Fingerprints.certificates(clientTrustPem);
    return Fingerprints.sha256(chain.get(chain.size() - 1));
  }

  /**
   * curl's {@code --pinnedpubkey} value for the certificate this hub serves (its own key), or null
   * when the hub serves no TLS itself.
   */
  public String publicKeyPin() {
    return certificatePem == null ? null : Fingerprints.publicKeyPin(Fingerprints.certificates(certificatePem).get(0));
  }

  /** A fresh self-signed certificate; not stored. */
  public static TlsMaterial generate(List<String> hosts) {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"));
      KeyPair keys = generator.generateKeyPair();
      X500Name subject = new X500Name("CN=kmc hub,O=kmc");
      Instant now = Instant.now();
      JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject,
          new BigInteger(64, new SecureRandom()), Date.from(now.minus(Duration.ofHours(1))),
          Date.from(now.plus(VALIDITY)), subject, keys.getPublic());
      builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names(hosts)));
      // Its own CA, so that clients can pin it as the trust anchor.
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
      builder.addExtension(Extension.keyUsage, true,
          new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyCertSign));
      builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
      X509CertificateHolder holder = builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate()));
      X509Certificate certificate = new JcaX509CertificateConverter().getCertificate(holder);
      String cert = pem(certificate);
      return new TlsMaterial(cert, pem(new JcaPKCS8Generator(keys.getPrivate(), null).generate()), cert);
    } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
      throw new IllegalStateException("cannot generate a self-signed certificate: " + e.getMessage(), e);
    }
  }

  private static GeneralName[] names(List<String> hosts) {
    Set<String> all = new LinkedHashSet<>(List.of("localhost", "127.0.0.1", "::1"));
    try {
      all.add(InetAddress.getLocalHost().getHostName());
    } catch (IOException e) {
      // no resolvable host name: localhost will do
    }
    all.addAll(hosts);
    List<GeneralName> names = new ArrayList<>();
    for (String host : all) {
      boolean address = host.matches("[0-9.]+") || host.contains(":");
      names.add(new GeneralName(address ? GeneralName.iPAddress : GeneralName.dNSName, host));
    }
    return names.toArray(GeneralName[]::new);
  }

  /** PEM text of a certificate, key or other object BouncyCastle can write. */
  public static String pem(Object object) throws IOException {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
      writer.writeObject(object);
    }
    return out.toString();
  }
}
