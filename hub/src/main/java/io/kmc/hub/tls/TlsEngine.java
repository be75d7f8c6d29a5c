package io.kmc.hub.tls;

import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.OpenSSLEngineOptions;
import io.vertx.core.net.SSLEngineOptions;

/**
 * Which TLS implementation the API port uses ({@code server.tls.engine}). OpenSSL (Netty's bundled
 * BoringSSL, {@code netty-tcnative-boringssl-static}, here for Linux x86_64) does a handshake's
 * signature and key exchange in native code, for about half the CPU of the JDK's (5.3 against 10.6 ms
 * per connected agent, docs/scale.md); handshakes are what a node spends most CPU on when thousands of
 * agents reconnect at once.
 * Where the native library does not load (another OS or CPU), the JDK's is used and the hub says why.
 */
public record TlsEngine(SSLEngineOptions options, String description) {

  /** The engine for the setting {@code openssl} or {@code jdk}. */
  public static TlsEngine of(String setting) {
    if ("openssl".equals(setting)) {
      if (OpenSSLEngineOptions.isAvailable()) {
        // Session cache on: an agent that redials resumes its session instead of a full handshake.
        return new TlsEngine(new OpenSSLEngineOptions().setSessionCacheEnabled(true), "OpenSSL (BoringSSL)");
      }
      Throwable cause = io.netty.handler.ssl.OpenSsl.unavailabilityCause();
      return new TlsEngine(new JdkSSLEngineOptions(),
          "JDK (OpenSSL unavailable here: " + (cause == null ? "unknown" : cause.getMessage()) + ")");
    }
    return new TlsEngine(new JdkSSLEngineOptions(), "JDK");
  }

  /** This engine with {@code gate} in front of its server handshakes. */
  public TlsEngine gated(HandshakeGate gate) {
    return new TlsEngine(gate.engineOptions(options), description);
  }

  public boolean openSsl() {
    return description.startsWith("OpenSSL");
  }
}
