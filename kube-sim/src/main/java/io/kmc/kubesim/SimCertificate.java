package io.kmc.kubesim;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.io.StringWriter;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A self-signed certificate for serving HTTPS: kubectl sends a bearer token only over TLS, so a
 * simulator that asks for one must serve it. The certificate is its own CA and goes into the
 * kubeconfig as {@code certificate-authority-data}.
 */
public record SimCertificate(String certificatePem, String privateKeyPem) {

  /** A fresh certificate (EC P-256, a year) naming localhost, the loopback addresses and {@code host}. */
  public static SimCertificate selfSigned(String host) {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"));
      KeyPair keys = generator.generateKeyPair();
      X500Name subject = new X500Name("CN=kube-sim");
      Instant now = Instant.now();
      JcaX509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject,
          new BigInteger(64, new SecureRandom()), Date.from(now.minus(Duration.ofHours(1))),
          Date.from(now.plus(Duration.ofDays(365))), subject, keys.getPublic());
      Set<String> names = new LinkedHashSet<>(List.of("localhost", "127.0.0.1", "::1", host));
      builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.stream()
          .map(name -> new GeneralName(name.matches("[0-9.]+") || name.contains(":") ? GeneralName.iPAddress
              : GeneralName.dNSName, name)).toArray(GeneralName[]::new)));
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
      var certificate = new JcaX509CertificateConverter().getCertificate(
          builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate())));
      return new SimCertificate(pem(certificate), pem(new JcaPKCS8Generator(keys.getPrivate(), null).generate()));
    } catch (Exception e) {
      throw new IllegalStateException("cannot generate a certificate for kube-sim: " + e.getMessage(), e);
    }
  }

  private static String pem(Object object) throws java.io.IOException {
    StringWriter out = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(out)) {
      writer.writeObject(object);
    }
    return out.toString();
  }

  @Override
  public String toString() {
    return "SimCertificate[private key hidden]";
  }
}
