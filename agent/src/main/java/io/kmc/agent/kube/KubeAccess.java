package io.kmc.agent.kube;

import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.VersionApi;
import io.kubernetes.client.openapi.auth.Authentication;
import io.kubernetes.client.util.ClientBuilder;
import io.kubernetes.client.util.KubeConfig;
import io.kubernetes.client.util.credentials.AccessTokenAuthentication;
import io.kubernetes.client.util.credentials.KubeconfigAuthentication;
import io.kubernetes.client.util.credentials.TokenFileAuthentication;
import okhttp3.ConnectionPool;
import okhttp3.OkHttpClient;

import javax.net.ssl.KeyManager;
import javax.net.ssl.X509KeyManager;
import javax.net.ssl.X509TrustManager;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * How the agent reaches its kube-apiserver, as client-java's loaders read it (the pod's service
 * account, or a kubeconfig with tokens, client certificates or exec plugins): the base URI, the CA
 * to trust, the client certificate to present, and where the bearer token comes from and how to
 * read it again.
 *
 * <p>The pass-through uses these with a non-blocking Vert.x client ({@link KubeHttp}); client-java's
 * own {@link ApiClient}s, built from the same credentials, stay for what client-java is for here
 * (the {@code /version} call, informers). Creating one reads files and may run an exec plugin:
 * call the factories on a worker thread or at start, never on an event loop.
 */
public final class KubeAccess {

  /** Where kubelet mounts the pod's service-account token and the cluster CA. */
  public static final Path SERVICE_ACCOUNT_DIR = Path.of("/var/run/secrets/kubernetes.io/serviceaccount");

  private static final String[] AUTH_NAMES = {"BearerToken"};
  private static final int IDLE_CONNECTIONS = 8;

  private final ApiClient requests;
  private final ApiClient streams;
  private final URI baseUri;
  private final X509TrustManager trustManager;
  private final X509KeyManager keyManager;
  private final boolean insecureSkipTlsVerify;
  private final String authorization;
  private final Path tokenFile;
  private final Callable<String> authorizationReader;

  private KubeAccess(ApiClient requests, ApiClient streams, String authorization, Path tokenFile,
                     Callable<String> authorizationReader) {
    this.requests = requests;
    this.streams = streams;
    String base = requests.getBasePath();
    this.baseUri = URI.create(base.endsWith("/") ? base.substring(0, base.length() - 1) : base);
    this.insecureSkipTlsVerify = !requests.isVerifyingSsl();
    this.trustManager = requests.getHttpClient().x509TrustManager();
    this.keyManager = x509(requests.getKeyManagers());
    this.authorization = authorization;
    this.tokenFile = tokenFile;
    this.authorizationReader = authorizationReader;
  }

  /**
   * The service account of the pod the agent runs in: the API server from
   * {@code KUBERNETES_SERVICE_HOST}/{@code _PORT}, the token and CA that kubelet mounts. The token
   * is re-read as kubelet rotates it.
   */
  public static KubeAccess inCluster(Duration readTimeout) {
    String host = System.getenv("KUBERNETES_SERVICE_HOST");
    String port = System.getenv("KUBERNETES_SERVICE_PORT");
    if (host == null || host.isBlank() || port == null || port.isBlank()) {
      throw new IllegalStateException("not running in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT "
          + "are not set (use kubernetes.mode kubeconfig or token-file outside a cluster)");
    }
    URI url;
    try {
      url = new URI("https", null, host, Integer.parseInt(port), null, null, null);
    } catch (URISyntaxException | NumberFormatException e) {
      throw new IllegalStateException("KUBERNETES_SERVICE_HOST/PORT do not make a URL: " + e.getMessage(), e);
    }
    return tokenFile(url, SERVICE_ACCOUNT_DIR.resolve("token"), SERVICE_ACCOUNT_DIR.resolve("ca.crt"), readTimeout);
  }

  /**
   * An API server at {@code apiUrl}, a bearer token in {@code tokenFile} (re-read as it changes), and
   * the CA in {@code caFile} (null: the JVM's trust store). In-cluster is this with the pod's paths.
   */
  public static KubeAccess tokenFile(URI apiUrl, Path tokenFile, Path caFile, Duration readTimeout) {
    try {
      ClientBuilder builder = new ClientBuilder()
          .setBasePath(apiUrl.toString())
          .setAuthentication(new TokenFileAuthentication(tokenFile.toString()));
      if (caFile != null) {
        builder.setCertificateAuthority(Files.readAllBytes(caFile));
      }
      String token = Files.readString(tokenFile).trim();
      ApiClient requests = withoutRetries(builder.setReadTimeout(readTimeout).build());
      ApiClient streams = withoutRetries(builder.setReadTimeout(Duration.ZERO).build());
      return new KubeAccess(requests, streams, token.isEmpty() ? null : "Bearer " + token, tokenFile, null);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the token or CA file: " + e.getMessage(), e);
    }
  }

  /** A kubeconfig file, with its current context or the named one. */
  public static KubeAccess kubeconfig(Path file, String context, Duration readTimeout) {
    try (Reader reader = Files.newBufferedReader(file)) {
      KubeConfig config = KubeConfig.loadKubeConfig(reader);
      config.setFile(file.toAbsolutePath().toFile());
      if (context != null && !context.isBlank() && !config.setContext(context)) {
        throw new IllegalArgumentException("kubeconfig " + file + " has no context '" + context + "'");
      }
      ClientBuilder builder = ClientBuilder.kubeconfig(config);
      ApiClient requests = withoutRetries(builder.setReadTimeout(readTimeout).build());
      ApiClient streams = withoutRetries(builder.setReadTimeout(Duration.ZERO).build());
      return new KubeAccess(requests, streams, authorizationHeader(requests), null,
          bearerTokenReader(builder, config));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read kubeconfig " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * A bearer token that came from the kubeconfig's credentials (a token, a token file, an exec
   * plugin or an auth provider) can be fetched again through client-java when the API server no
   * longer takes it; client certificates and basic credentials cannot expire that way.
   */
  private static Callable<String> bearerTokenReader(ClientBuilder builder, KubeConfig config) {
    if (builder.getAuthentication() instanceof KubeconfigAuthentication kubeconfig
        && kubeconfig.getDelegateAuthentication() instanceof AccessTokenAuthentication) {
      return () -> {
        Map<String, String> credentials = config.getCredentials();
        String token = credentials == null ? null : credentials.get(KubeConfig.CRED_TOKEN_KEY);
        return token == null || token.isBlank() ? null : "Bearer " + token.trim();
      };
    }
    return null;
  }

  /**
   * The hub decides about retries (a replayed PATCH or POST must not happen behind its back); the
   * client-java calls left are few, so few idle connections are kept.
   */
  private static ApiClient withoutRetries(ApiClient client) {
    OkHttpClient http = client.getHttpClient().newBuilder()
        .retryOnConnectionFailure(false)
        .connectionPool(new ConnectionPool(IDLE_CONNECTIONS, 5, TimeUnit.MINUTES))
        .build();
    return client.setHttpClient(http);
  }

  /** For client-java calls that answer quickly (read timeout {@code kubernetes.request_timeout}). */
  public ApiClient requests() {
    return requests;
  }

  /** For client-java calls that stay open, such as informers' watches (no read timeout). */
  public ApiClient streams() {
    return streams;
  }

  /** The API server's version ({@code /version} gitVersion); blocking, call it on a worker. */
  public String serverVersion() throws ApiException {
    return new VersionApi(requests).getCode().execute().getGitVersion();
  }

  /** The API server's base URI, without a trailing slash (it may carry a path prefix). */
  public URI baseUri() {
    return baseUri;
  }

  /** The trust manager holding the cluster's CA (or the JVM's trust store when none is given). */
  public X509TrustManager trustManager() {
    return trustManager;
  }

  /** The client certificate to present, or null. */
  public X509KeyManager keyManager() {
    return keyManager;
  }

  /** The kubeconfig says {@code insecure-skip-tls-verify}: any server certificate is taken. */
  public boolean insecureSkipTlsVerify() {
    return insecureSkipTlsVerify;
  }

  /** The {@code Authorization} header the credentials make at start (bearer or basic), or null. */
  public String authorization() {
    return authorization;
  }

  /** The file the bearer token is read from, re-read as it changes; null when the token is not from a file. */
  public Path tokenFile() {
    return tokenFile;
  }

  /**
   * Fetches the {@code Authorization} header again through client-java (which may run an exec
   * plugin: blocking), or null when the credentials cannot change that way.
   */
  public Callable<String> authorizationReader() {
    return authorizationReader;
  }

  /**
   * The header the API client's credentials add to a request (a bearer token, basic auth), or null.
   * The credentials client-java has do not look at the request's URI.
   */
  private static String authorizationHeader(ApiClient client) {
    Map<String, String> headers = new HashMap<>();
    for (String name : AUTH_NAMES) {
      Authentication authentication = client.getAuthentication(name);
      if (authentication != null) {
        try {
          authentication.applyToParams(new ArrayList<>(), headers, new HashMap<>(), "", "GET",
              URI.create(client.getBasePath()));
        } catch (Exception e) {
          throw new IllegalStateException("cannot apply credentials: " + e.getMessage(), e);
        }
      }
    }
    return headers.entrySet().stream().filter(header -> header.getKey().equalsIgnoreCase("Authorization"))
        .map(Map.Entry::getValue).findFirst().orElse(null);
  }

  private static X509KeyManager x509(KeyManager[] managers) {
    if (managers != null) {
      for (KeyManager manager : managers) {
        if (manager instanceof X509KeyManager x509) {
          return x509;
        }
      }
    }
    return null;
  }

  @Override
  public String toString() {
    return "KubeAccess[" + baseUri + (tokenFile == null ? "" : ", token file " + tokenFile)
        + (keyManager == null ? "" : ", client certificate") + (insecureSkipTlsVerify ? ", insecure" : "") + "]";
  }
}
