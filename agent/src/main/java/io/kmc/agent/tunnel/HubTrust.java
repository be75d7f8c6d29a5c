package io.kmc.agent.tunnel;

import io.kmc.agent.AgentConfig;
import io.kmc.common.tls.Fingerprints;
import io.kmc.common.tls.PinnedTrust;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.concurrent.atomic.AtomicReference;

/**
 * How the agent decides to trust the hub's certificate (the system's CAs, {@code hub.ca_file}, or
 * the fingerprint {@code hub.ca_sha256}), and why it refused it last: "Failed to create SSL
 * connection" tells an operator nothing, so the agent remembers what it rejected and says what to
 * set instead.
 */
final class HubTrust {

  /** What went wrong with the last certificate refused. */
  enum Refusal { UNTRUSTED, PIN_MISMATCH, WRONG_HOST }

  private record Rejected(Refusal refusal, X509Certificate[] chain, String detail) {
  }

  private final AgentConfig config;
  private final X509ExtendedTrustManager base;
  private final AtomicReference<Rejected> lastRejected = new AtomicReference<>();

  private HubTrust(AgentConfig config, X509ExtendedTrustManager base) {
    this.config = config;
    this.base = base;
  }

  /** Reads {@code hub.ca_file} if set: blocking, not for an event loop. */
  static HubTrust create(AgentConfig config) {
    X509ExtendedTrustManager base;
    if (config.hubCaSha256() != null) {
      base = PinnedTrust.fingerprint(config.hubCaSha256());
    } else if (config.hubCaFile() != null) {
      try {
        base = PinnedTrust.anchors(Fingerprints.certificates(Files.readString(config.hubCaFile())));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read hub.ca_file " + config.hubCaFile() + ": " + e.getMessage(), e);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("hub.ca_file " + config.hubCaFile() + ": " + e.getMessage(), e);
      }
    } else {
      base = PinnedTrust.system();
    }
    return new HubTrust(config, base);
  }

  /** Forgets the last refusal; called before each dial. */
  void reset() {
    lastRejected.set(null);
  }

  /**
   * Why the hub's certificate was refused during the last dial to {@code url}, as one line saying
   * what to set; null when no certificate was refused (the failure was something else).
   */
  String explain(URI url) {
    Rejected rejected = lastRejected.get();
    if (rejected == null) {
      return null;
    }
    String presented = rejected.chain() == null || rejected.chain().length == 0 ? "none"
        : Fingerprints.sha256(rejected.chain()[rejected.chain().length - 1]);
    return switch (rejected.refusal()) {
      case UNTRUSTED -> "the hub's TLS certificate is not trusted (" + rejected.detail() + "; the top of its chain "
          + "has SHA-256 fingerprint " + presented + "): set hub.ca_file (KMC_HUB_CA_FILE) to the hub's CA "
          + "certificate (a self-signed hub keeps it in kmc-data/tls/hub.crt), or, having checked that fingerprint "
          + "against the one the hub logs at start, hub.ca_sha256 (KMC_HUB_CA_SHA256=" + presented + ")";
      case PIN_MISMATCH -> "the hub's TLS certificate chain does not hold the certificate hub.ca_sha256 pins ("
          + Fingerprints.display(config.hubCaSha256()) + "); the hub presented " + presented + ". If the hub's "
          + "certificate was replaced, set KMC_HUB_CA_SHA256 to the fingerprint the hub logs at start";
      case WRONG_HOST -> "the hub's TLS certificate does not name " + url.getHost() + " (" + rejected.detail()
          + "): dial the hub by a name its certificate holds, or add " + url.getHost() + " to the hub's "
          + "server.tls.hosts (a self-signed certificate is made again when kmc-data/tls is removed)";
    };
  }

  /** The trust manager to give the websocket client; it records what it refuses. */
  X509ExtendedTrustManager manager() {
    return new X509ExtendedTrustManager() {
      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
          throws CertificateException {
        checkChain(chain, authType);
        try {
          base.checkServerTrusted(chain, authType, engine);
        } catch (CertificateException e) {
          // The chain itself passed above: what fails now is the host name.
          lastRejected.set(new Rejected(Refusal.WRONG_HOST, chain, e.getMessage()));
          throw e;
        }
      }

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
          throws CertificateException {
        checkChain(chain, authType);
        base.checkServerTrusted(chain, authType, socket);
      }

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        checkChain(chain, authType);
      }

      private void checkChain(X509Certificate[] chain, String authType) throws CertificateException {
        try {
          base.checkServerTrusted(chain, authType);
        } catch (PinnedTrust.PinMismatch e) {
          lastRejected.set(new Rejected(Refusal.PIN_MISMATCH, chain, e.getMessage()));
          throw e;
        } catch (CertificateException e) {
          lastRejected.set(new Rejected(Refusal.UNTRUSTED, chain, rootCause(e)));
          throw e;
        }
      }

      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
          throws CertificateException {
        base.checkClientTrusted(chain, authType, engine);
      }

      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
          throws CertificateException {
        base.checkClientTrusted(chain, authType, socket);
      }

      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        base.checkClientTrusted(chain, authType);
      }

      @Override
      public X509Certificate[] getAcceptedIssuers() {
        return base.getAcceptedIssuers();
      }
    };
  }

  private static String rootCause(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
  }
}
