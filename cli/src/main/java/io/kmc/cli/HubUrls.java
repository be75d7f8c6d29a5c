package io.kmc.cli;

import java.net.URI;
import java.util.Locale;

/** Hub URLs as the user types them ({@code localhost:8080}) and as the CLI keeps them. */
final class HubUrls {

  private HubUrls() {
  }

  /** {@code https://host[:port]} without a trailing slash; https unless http is said. */
  static String normalize(String url) {
    String text = url.trim();
    if (!text.contains("://")) {
      text = "https://" + text;
    }
    URI uri;
    try {
      uri = URI.create(text);
    } catch (IllegalArgumentException e) {
      throw new CliException("'" + url + "' is not a URL; give the hub's address, such as https://kmc.example.com");
    }
    String scheme = uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("https") && !scheme.equals("http")) {
      throw new CliException("'" + url + "' must be an https:// URL (the hub's API)");
    }
    if (uri.getHost() == null) {
      throw new CliException("'" + url + "' has no host name");
    }
    String path = uri.getPath() == null ? "" : uri.getPath().replaceAll("/+$", "");
    return scheme + "://" + uri.getRawAuthority() + path;
  }

  /** Whether only this machine can reach the URL (an agent in a real cluster cannot dial it). */
  static boolean loopback(String url) {
    String host = URI.create(url).getHost();
    return host.equals("localhost") || host.startsWith("127.") || host.equals("[::1]") || host.equals("::1");
  }
}
