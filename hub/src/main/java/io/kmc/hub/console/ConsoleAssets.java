package io.kmc.hub.console;

import io.kmc.common.KmcException;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The web console: plain ES modules and CSS from the hub's jar, no build step. Every asset is served
 * under {@code /ui/assets/<version>/}, where the version is a hash of all of them, so a new hub
 * release changes every URL at once (relative imports between modules keep working) and browsers
 * may keep an asset for a year. The page itself ({@code /} and every {@code /ui/...} path, for deep
 * links) is never cached, and names the current version.
 *
 * <p>Libraries come from Maven webjars on the classpath (assets.txt names the file in the webjar), served
 * under the same hashed path as the console's own files: a library upgrade changes the version too.
 *
 * <p>Every answer carries a Content-Security-Policy that allows scripts, styles and connections from
 * the hub alone and no inline script or style: the console holds its session token in memory and
 * sends it as a bearer header, so a cross-site request carries no credential (no cookie to forge).
 */
public final class ConsoleAssets {

  public static final String ROOT = "/";
  public static final String UI_PREFIX = "/ui/";
  public static final String ASSETS_PREFIX = "/ui/assets/";
  /** Where the console's files are in the jar, with assets.txt listing them one a line. */
  static final String RESOURCE_DIR = "/io/kmc/hub/console/";
  static final String CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; "
      + "img-src 'self' data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
      + "form-action 'self'; frame-ancestors 'none'";
  private static final String VERSION_PLACEHOLDER = "@VERSION@";

  private final String version;
  private final Buffer page;
  private final Map<String, Asset> assets;

  private record Asset(Buffer bytes, String contentType) {
  }

  private ConsoleAssets(String version, Buffer page, Map<String, Asset> assets) {
    this.version = version;
    this.page = page;
    this.assets = assets;
  }

  /** Reads the console from the jar (blocking: call it off the event loop, once per node). */
  public static ConsoleAssets load() {
    Map<String, byte[]> files = new LinkedHashMap<>();
    for (String line : new String(read("assets.txt"), StandardCharsets.UTF_8).split("\n")) {
      String entry = line.strip();
      if (entry.isEmpty() || entry.startsWith("#")) {
        continue;
      }
      // "name" is a file of the console's own; "name /path/in/the/classpath" is a library's file from its webjar.
      String[] parts = entry.split("\\s+", 2);
      files.put(parts[0], parts.length == 1 ? read(parts[0]) : readResource(parts[1]));
    }
    byte[] template = read("index.html");
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    digest.update(template);
    files.forEach((name, bytes) -> {
      digest.update(name.getBytes(StandardCharsets.UTF_8));
      digest.update(bytes);
    });
    String version = HexFormat.of().formatHex(digest.digest()).substring(0, 16);
    Map<String, Asset> assets = new LinkedHashMap<>();
    files.forEach((name, bytes) -> assets.put(name, new Asset(Buffer.buffer(bytes), contentType(name))));
    Buffer page = Buffer.buffer(new String(template, StandardCharsets.UTF_8).replace(VERSION_PLACEHOLDER, version));
    return new ConsoleAssets(version, page, Map.copyOf(assets));
  }

  /** The hash in every asset's path. */
  public String version() {
    return version;
  }

  /** The page as served (for tests). */
  String pageText() {
    return page.toString(StandardCharsets.UTF_8);
  }

  /** {@code GET /} and {@code GET /ui/*}: the page; the console routes inside it by the URL's fragment. */
  public void page(RoutingContext ctx) {
    HttpServerResponse response = ctx.response();
    secure(response);
    response.putHeader(HttpHeaders.CACHE_CONTROL, "no-cache, no-store, must-revalidate")
        .putHeader(HttpHeaders.CONTENT_TYPE, "text/html; charset=utf-8")
        .end(page);
  }

  /** {@code GET /ui/assets/:version/:file}: an asset of this version, cacheable for a year. */
  public void asset(RoutingContext ctx) {
    String requested = ctx.pathParam("version");
    Asset asset = assets.get(ctx.pathParam("file"));
    if (asset == null) {
      ctx.fail(KmcException.notFound("no console asset " + ctx.pathParam("file")));
      return;
    }
    HttpServerResponse response = ctx.response();
    secure(response);
    if (version.equals(requested)) {
      response.putHeader(HttpHeaders.CACHE_CONTROL, "public, max-age=31536000, immutable");
    } else {
      // A page of another hub version (a rolling upgrade): serve what this node has, but never keep it.
      response.putHeader(HttpHeaders.CACHE_CONTROL, "no-cache");
    }
    response.putHeader(HttpHeaders.CONTENT_TYPE, asset.contentType()).end(asset.bytes());
  }

  private static void secure(HttpServerResponse response) {
    response.putHeader("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        .putHeader("X-Content-Type-Options", "nosniff")
        .putHeader("Referrer-Policy", "no-referrer")
        .putHeader("X-Frame-Options", "DENY")
        .putHeader("Cross-Origin-Opener-Policy", "same-origin");
  }

  private static String contentType(String name) {
    if (name.endsWith(".js")) {
      return "text/javascript; charset=utf-8";
    }
    if (name.endsWith(".css")) {
      return "text/css; charset=utf-8";
    }
    if (name.endsWith(".svg")) {
      return "image/svg+xml";
    }
    throw new IllegalStateException("the console's " + name + " has no known content type");
  }

  private static byte[] read(String name) {
    return readResource(RESOURCE_DIR + name);
  }

  private static byte[] readResource(String path) {
    try (InputStream in = ConsoleAssets.class.getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalStateException(path + " is missing from the hub's classpath");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
