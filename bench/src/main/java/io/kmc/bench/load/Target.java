package io.kmc.bench.load;

/**
 * Where a benchmark sends its GETs: plain HTTP to {@code host:port} with a bearer token.
 *
 * @param name  how the target appears in tables
 */
public record Target(String name, String host, int port, String path, String bearerToken) {

  public String url() {
    return "http://" + host + ":" + port + path;
  }
}
