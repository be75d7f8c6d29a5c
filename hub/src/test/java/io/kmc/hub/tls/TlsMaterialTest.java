package io.kmc.hub.tls;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TlsMaterialTest {

  @Test
  void selfSignedCertificateIsKeptAndCoversTheConfiguredHosts(@TempDir Path dir) throws Exception {
    TlsMaterial first = TlsMaterial.selfSigned(dir, List.of("kmc.example.com", "10.1.2.3"));
    TlsMaterial again = TlsMaterial.selfSigned(dir, List.of());
    assertEquals(first.certificatePem(), again.certificatePem(), "restarts keep the same certificate");

    X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(
        new ByteArrayInputStream(first.certificatePem().getBytes(StandardCharsets.US_ASCII)));
    String names = cert.getSubjectAlternativeNames().toString();
    assertTrue(names.contains("kmc.example.com") && names.contains("10.1.2.3") && names.contains("localhost"), names);
    assertTrue(first.privateKeyPem().startsWith("-----BEGIN PRIVATE KEY-----"));
    assertEquals(first.certificatePem(), first.clientTrustPem());
  }
}
