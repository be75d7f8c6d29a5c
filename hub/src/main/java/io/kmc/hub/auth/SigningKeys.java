package io.kmc.hub.auth;

import io.kmc.hub.store.IdentityStore;
import io.kmc.hub.tls.TlsMaterial;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;

import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;

/** The ES256 (EC P-256) key pair that signs the hub's JWTs, as the PEM forms Vert.x reads. */
final class SigningKeys {

  static final String ALGORITHM = "ES256";

  private SigningKeys() {
  }

  static IdentityStore.SigningKey generate() {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"));
      return toPem(generator.generateKeyPair());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot generate a signing key: " + e.getMessage(), e);
    }
  }

  /**
   * Reads an EC P-256 key pair from a PEM file as written by
   * {@code openssl ecparam -name prime256v1 -genkey -noout -out signing-key.pem}.
   */
  static IdentityStore.SigningKey fromFile(Path file) {
    try (PEMParser parser = new PEMParser(new StringReader(Files.readString(file)))) {
      Object object = parser.readObject();
      JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
      KeyPair pair;
      if (object instanceof PEMKeyPair pem) {
        pair = converter.getKeyPair(pem);
      } else if (object instanceof PrivateKeyInfo info && info.getPublicKeyData() != null) {
        pair = converter.getKeyPair(new PEMKeyPair(
            new org.bouncycastle.asn1.x509.SubjectPublicKeyInfo(info.getPrivateKeyAlgorithm(),
                info.getPublicKeyData().getBytes()), info));
      } else {
        throw new IllegalArgumentException(file + " does not hold an EC key pair "
            + "(create one with: openssl ecparam -name prime256v1 -genkey -noout -out " + file.getFileName() + ")");
      }
      if (!"EC".equals(pair.getPrivate().getAlgorithm())) {
        throw new IllegalArgumentException(file + " holds a " + pair.getPrivate().getAlgorithm()
            + " key; the hub signs with ES256 and needs an EC P-256 key");
      }
      return toPem(pair);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the signing key " + file + ": " + e.getMessage(), e);
    }
  }

  private static IdentityStore.SigningKey toPem(KeyPair pair) {
    try {
      return new IdentityStore.SigningKey(ALGORITHM,
          TlsMaterial.pem(new JcaPKCS8Generator(pair.getPrivate(), null).generate()), TlsMaterial.pem(pair.getPublic()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
