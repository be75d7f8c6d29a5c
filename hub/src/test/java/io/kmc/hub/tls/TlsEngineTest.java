package io.kmc.hub.tls;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** server.tls.engine: OpenSSL where it loads (it must on Linux x86_64, where the hub bundles it), else the JDK's. */
class TlsEngineTest {

  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void opensslLoadsWhereTheHubBundlesIt() {
    boolean bundled = "Linux".equals(System.getProperty("os.name"))
        && List.of("amd64", "x86_64").contains(System.getProperty("os.arch"));
    TlsEngine engine = TlsEngine.of("openssl");
    assertEquals(bundled, engine.openSsl(), engine.description());
    assertFalse(TlsEngine.of("jdk").openSsl());
    assertEquals("JDK", TlsEngine.of("jdk").description());
  }

  @Test
  void bothEnginesServeTheSelfSignedCertificate() throws Exception {
    TlsMaterial material = TlsMaterial.generate(List.of());
    for (String setting : List.of("openssl", "jdk")) {
      TlsEngine engine = TlsEngine.of(setting);
      HttpServer server = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0).setSsl(true)
              .setSslEngineOptions(engine.options())
              .setKeyCertOptions(new PemKeyCertOptions().addCertValue(Buffer.buffer(material.certificatePem()))
                  .addKeyValue(Buffer.buffer(material.privateKeyPem()))))
          .requestHandler(request -> request.response().end(request.connection().sslSession().getProtocol()))
          .listen().await(10, TimeUnit.SECONDS);
      // A JDK client, as kubectl-like clients and the agent are: the handshake works across the two.
      HttpClient client = vertx.createHttpClient(new HttpClientOptions().setSsl(true).setTrustAll(true)
          .setVerifyHost(false));
      try {
        String protocol = client.request(HttpMethod.GET, server.actualPort(), "127.0.0.1", "/")
            .compose(r -> r.send()).compose(r -> r.body()).await(60, TimeUnit.SECONDS).toString();
        assertTrue(protocol.startsWith("TLSv1."), setting + ": " + protocol);
      } finally {
        client.close().await(10, TimeUnit.SECONDS);
        server.close().await(10, TimeUnit.SECONDS);
      }
    }
  }
}
