package io.kmc.cli;

import io.kmc.common.tls.Fingerprints;
import io.kmc.common.tls.PinnedTrust;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.X509TrustManager;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * How the CLI trusts a hub: through the system's CAs, or, for a self-signed hub, through the
 * certificate the user accepted at login after comparing its fingerprint (as ssh does with host
 * keys). Either way the certificate must name the host dialled, as kubectl will require of the
 * kubeconfigs the hub hands out.
 */
final class HubTls {

  /** What a first TLS handshake with the hub showed. */
  record Probe(List<X509Certificate> chain, boolean systemTrusted) {
    /** The top of the chain: the certificate to pin (for a self-signed hub, its certificate). */
    X509Certificate anchor() {
      return chain.get(chain.size() - 1);
    }
  }

  private HubTls() {
  }

  /** Connects, takes the certificate chain whatever it is, and says whether the system's CAs vouch for it. */
  static Probe probe(String hubUrl) {
    URI uri = URI.create(hubUrl);
    int port = uri.getPort() > 0 ? uri.getPort() : 443;
    List<X509Certificate> chain = new ArrayList<>();
    boolean[] trusted = new boolean[1];
    X509TrustManager recording = new X509TrustManager() {
      @Override
      public void checkServerTrusted(X509Certificate[] presented, String authType) {
        chain.addAll(Arrays.asList(presented));
        try {
          PinnedTrust.system().checkServerTrusted(presented, authType);
          trusted[0] = true;
        } catch (CertificateException e) {
          trusted[0] = false;
        }
      }

      @Override
      public void checkClientTrusted(X509Certificate[] presented, String authType) throws CertificateException {
        throw new CertificateException("servers only");
      }

      @Override
      public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
      }
    };
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, new javax.net.ssl.TrustManager[] {recording}, null);
      try (SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket()) {
        socket.connect(new InetSocketAddress(uri.getHost(), port), 10_000);
        socket.setSoTimeout(10_000);
        if (!uri.getHost().matches("[0-9.]+") && !uri.getHost().contains(":")) {
          SSLParameters parameters = socket.getSSLParameters();
          parameters.setServerNames(List.of(new SNIHostName(uri.getHost())));
          socket.setSSLParameters(parameters);
        }
        socket.startHandshake();
      }
    } catch (IOException e) {
      throw HubClient.unreachable(hubUrl, e);
    } catch (GeneralSecurityException e) {
      throw new CliException("cannot set up TLS: " + e.getMessage());
    }
    if (chain.isEmpty()) {
      throw new CliException("the hub at " + hubUrl + " presented no certificate");
    }
    return new Probe(List.copyOf(chain), trusted[0]);
  }

  /** The TLS context for a hub: pinned to its saved certificate, or the system's CAs. */
  static SSLContext context(CliConfig.Hub hub) {
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, new javax.net.ssl.TrustManager[] {hub.caCertificate == null ? PinnedTrust.system()
          : PinnedTrust.anchors(Fingerprints.certificates(hub.caCertificate))}, null);
      return context;
    } catch (GeneralSecurityException e) {
      throw new CliException("cannot set up TLS: " + e.getMessage());
    }
  }

  /** The host names and addresses the certificate is for (its subject alternative names). */
  static List<String> names(X509Certificate certificate) {
    List<String> names = new ArrayList<>();
    try {
      if (certificate.getSubjectAlternativeNames() != null) {
        for (List<?> name : certificate.getSubjectAlternativeNames()) {
          int type = (Integer) name.get(0);
          if (type == 2 || type == 7) { // dNSName, iPAddress
            names.add(String.valueOf(name.get(1)));
          }
        }
      }
    } catch (CertificateParsingException e) {
      // no names we can read: none match
    }
    return names;
  }

  /** Whether the certificate names {@code host} (exactly, or under a one-label wildcard). */
  static boolean names(X509Certificate certificate, String host) {
    String wanted = host.replace("[", "").replace("]", "").toLowerCase(Locale.ROOT);
    for (String name : names(certificate)) {
      String candidate = name.toLowerCase(Locale.ROOT);
      if (candidate.equals(wanted) || (candidate.startsWith("*.") && wanted.endsWith(candidate.substring(1))
          && wanted.indexOf('.') == wanted.length() - candidate.length() + 1)) {
        return true;
      }
      if (candidate.contains(":") && wanted.contains(":") && ipv6Equal(candidate, wanted)) {
        return true;
      }
    }
    return false;
  }

  private static boolean ipv6Equal(String a, String b) {
    try {
      return java.net.InetAddress.getByName(a).equals(java.net.InetAddress.getByName(b));
    } catch (IOException e) {
      return false;
    }
  }
}
