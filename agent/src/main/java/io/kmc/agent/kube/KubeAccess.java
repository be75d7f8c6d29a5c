package io.kmc.agent.kube;

import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.VersionApi;
import io.kubernetes.client.openapi.auth.Authentication;
import io.kubernetes.client.util.ClientBuilder;
import io.kubernetes.client.util.KubeConfig;
import okhttp3.ConnectionPool;
import okhttp3.OkHttpClient;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * How the agent reaches its kube-apiserver: two client-java {@link ApiClient}s built from the same
 * credentials, one for requests (with a read timeout) and one for streams such as watches and
 * followed logs (read timeout 0, since they are meant to stay open).
 */
public final class KubeAccess {

  private static final String[] AUTH_NAMES = {"BearerToken"};
  private static final int IDLE_CONNECTIONS = 64;

  private final ApiClient requests;
  private final ApiClient streams;
  private final String basePath;
  private final URI baseUri;

  private KubeAccess(ApiClient requests, ApiClient streams) {
    this.requests = requests;
    this.streams = streams;
    String base = requests.getBasePath();
    this.basePath = base.endsWith("/") ? base.substring(0, base.length() - 1) : base;
    this.baseUri = URI.create(basePath);
  }

  /** The service account of the pod the agent runs in. */
  public static KubeAccess inCluster(Duration readTimeout) {
    try {
      return of(ClientBuilder.cluster(), readTimeout);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the in-cluster service account: " + e.getMessage(), e);
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
      return of(ClientBuilder.kubeconfig(config), readTimeout);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read kubeconfig " + file + ": " + e.getMessage(), e);
    }
  }

  private static KubeAccess of(ClientBuilder builder, Duration readTimeout) {
    ApiClient requests = builder.setReadTimeout(readTimeout).build();
    ApiClient streams = builder.setReadTimeout(Duration.ZERO).build();
    return new KubeAccess(withoutRetries(requests), withoutRetries(streams));
  }

  /**
   * The hub decides about retries (a replayed PATCH or POST must not happen behind its back), and
   * the connection pool keeps as many idle connections as the workers use: OkHttp's default of five
   * would make busy workers open (and TLS-handshake) a new connection every few requests.
   */
  private static ApiClient withoutRetries(ApiClient client) {
    OkHttpClient http = client.getHttpClient().newBuilder()
        .retryOnConnectionFailure(false)
        .connectionPool(new ConnectionPool(IDLE_CONNECTIONS, 5, TimeUnit.MINUTES))
        .build();
    return client.setHttpClient(http);
  }

  public ApiClient requests() {
    return requests;
  }

  /** The API server's version ({@code /version} gitVersion); blocking, call it on a worker. */
  public String serverVersion() throws ApiException {
    return new VersionApi(requests).getCode().execute().getGitVersion();
  }

  public ApiClient streams() {
    return streams;
  }

  public String basePath() {
    return basePath;
  }

  /**
   * Headers the API client's credentials add to a request (a bearer token, basic auth); may be
   * empty. The credentials client-java has do not look at the request's URI, so the base URI stands
   * in for it rather than parsing one per request.
   */
  Map<String, String> authHeaders(ApiClient client, String method) {
    URI uri = baseUri;
    Map<String, String> headers = new HashMap<>();
    for (String name : AUTH_NAMES) {
      Authentication authentication = client.getAuthentication(name);
      if (authentication != null) {
        try {
          authentication.applyToParams(new ArrayList<>(), headers, new HashMap<>(), "", method, uri);
        } catch (Exception e) {
          throw new IllegalStateException("cannot apply credentials: " + e.getMessage(), e);
        }
      }
    }
    return headers;
  }
}
