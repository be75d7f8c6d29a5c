package io.kmc.common.tls;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * Trust managers for a server kmc knows by its CA rather than through the system's CAs: a PEM
 * bundle (a self-signed hub's certificate), or a pinned SHA-256 fingerprint, as ssh pins a host
 * key. With a pin, the certificate in the presented chain that has that fingerprint becomes the
 * only trust anchor; the chain must still validate up to it and, when the caller asks for it (as
 * HTTPS clients do), name the host dialled.
 */
public final class PinnedTrust {

  private PinnedTrust() {
  }

  /** The JVM's default trust (its CA bundle). */
  public static X509ExtendedTrustManager system() {
    return trusting(null);
  }

  /** Trusts exactly the certificates given (PEM), as anchors. */
  public static X509ExtendedTrustManager anchors(List<X509Certificate> anchors) {
    try {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      for (int i = 0; i < anchors.size(); i++) {
        store.setCertificateEntry("anchor-" + i, anchors.get(i));
      }
      return trusting(store);
    } catch (GeneralSecurityException | java.io.IOException e) {
      throw new IllegalStateException("cannot build a trust store: " + e.getMessage(), e);
    }
  }

  /** Trusts a chain that holds the certificate with this SHA-256 fingerprint. */
  public static X509ExtendedTrustManager fingerprint(String sha256) {
    String pin = Fingerprints.normalize(sha256);
    return new X509ExtendedTrustManager() {
      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
          throws CertificateException {
        anchored(chain).checkServerTrusted(chain, authType, engine);
      }

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
          throws CertificateException {
        anchored(chain).checkServerTrusted(chain, authType, socket);
      }

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        anchored(chain).checkServerTrusted(chain, authType);
      }

      private X509ExtendedTrustManager anchored(X509Certificate[] chain) throws CertificateException {
        for (X509Certificate certificate : chain == null ? new X509Certificate[0] : chain) {
          if (Fingerprints.same(Fingerprints.sha256(certificate), pin)) {
            return anchors(List.of(certificate));
          }
        }
        throw new PinMismatch("the certificate chain does not hold the pinned certificate "
            + Fingerprints.display(pin));
      }

      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
          throws CertificateException {
        throw new CertificateException("this trust manager checks servers only");
      }

      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
          throws CertificateException {
        throw new CertificateException("this trust manager checks servers only");
      }

      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException("this trust manager checks servers only");
      }

      @Override
      public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
      }
    };
  }

  /** The presented chain does not hold the pinned certificate. */
  public static final class PinMismatch extends CertificateException {
    PinMismatch(String message) {
      super(message);
    }
  }

  private static X509ExtendedTrustManager trusting(KeyStore store) {
    try {
      TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      factory.init(store);
      for (TrustManager manager : factory.getTrustManagers()) {
        if (manager instanceof X509ExtendedTrustManager extended) {
          return extended;
        }
      }
      throw new IllegalStateException("the JVM offers no X509ExtendedTrustManager");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot build a trust manager: " + e.getMessage(), e);
    }
  }
}
