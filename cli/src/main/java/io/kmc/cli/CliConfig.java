package io.kmc.cli;

import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code ~/.kmc/config}: the hubs this user logged in to, each with the API token the CLI uses and,
 * for a hub with a self-signed certificate, the certificate the user chose to trust. Readable by
 * its owner only (mode 600, in a directory of mode 700), like ~/.ssh.
 */
final class CliConfig {

  /** One hub. */
  static final class Hub {
    String url;
    String user;
    String token;
    /** Whether the CLI created the token at login (and so revokes it at logout). */
    boolean ownToken;
    /** PEM of the certificate trusted as the hub's CA, when the system's CAs do not vouch for it. */
    String caCertificate;
    String caSha256;
    /** Set for a sign-in through the hub's OIDC issuer: token is then that issuer's, refreshed as it expires. */
    String oidcIssuer;
    String oidcClientId;
    String oidcAudience;
    String oidcRefreshToken;
    long oidcExpiresAt;

    boolean oidc() {
      return oidcIssuer != null;
    }

    Map<String, Object> toMap() {
      Map<String, Object> map = new LinkedHashMap<>();
      map.put("user", user);
      map.put("token", token);
      map.put("ownToken", ownToken);
      if (caCertificate != null) {
        map.put("caSha256", caSha256);
        map.put("caCertificate", caCertificate);
      }
      if (oidcIssuer != null) {
        Map<String, Object> oidc = new LinkedHashMap<>();
        oidc.put("issuer", oidcIssuer);
        oidc.put("clientId", oidcClientId);
        oidc.put("audience", oidcAudience);
        oidc.put("refreshToken", oidcRefreshToken);
        oidc.put("expiresAt", oidcExpiresAt);
        map.put("oidc", oidc);
      }
      return map;
    }

    static Hub fromMap(String url, Map<?, ?> map) {
      Hub hub = new Hub();
      hub.url = url;
      hub.user = string(map.get("user"));
      hub.token = string(map.get("token"));
      hub.ownToken = Boolean.TRUE.equals(map.get("ownToken"));
      hub.caCertificate = string(map.get("caCertificate"));
      hub.caSha256 = string(map.get("caSha256"));
      if (map.get("oidc") instanceof Map<?, ?> oidc) {
        hub.oidcIssuer = string(oidc.get("issuer"));
        hub.oidcClientId = string(oidc.get("clientId"));
        hub.oidcAudience = string(oidc.get("audience"));
        hub.oidcRefreshToken = string(oidc.get("refreshToken"));
        hub.oidcExpiresAt = oidc.get("expiresAt") instanceof Number n ? n.longValue() : 0;
      }
      return hub;
    }

    @Override
    public String toString() {
      return "Hub[" + url + ", user=" + user + ", token hidden]";
    }
  }

  String current;
  final Map<String, Hub> hubs = new LinkedHashMap<>();

  static CliConfig load(Path file) {
    CliConfig config = new CliConfig();
    if (!Files.exists(file)) {
      return config;
    }
    Object loaded;
    try {
      loaded = new Yaml(new SafeConstructor(new LoaderOptions())).load(Files.readString(file));
    } catch (IOException | RuntimeException e) {
      throw new CliException("cannot read " + file + ": " + e.getMessage() + "; fix or delete it and log in again");
    }
    if (loaded instanceof Map<?, ?> map) {
      config.current = string(map.get("current"));
      if (map.get("hubs") instanceof Map<?, ?> hubs) {
        hubs.forEach((url, hub) -> {
          if (hub instanceof Map<?, ?> fields) {
            config.hubs.put(String.valueOf(url), Hub.fromMap(String.valueOf(url), fields));
          }
        });
      }
    }
    return config;
  }

  /** The hub commands talk to: the one logged in to last, or the one named with --hub. */
  Hub hub(String requested, String commandName) {
    String url = requested != null ? HubUrls.normalize(requested) : current;
    if (url == null || !hubs.containsKey(url)) {
      throw new CliException(requested == null
          ? "not logged in to a hub: run " + commandName + " login <hub-url>"
          : "not logged in to " + url + ": run " + commandName + " login " + url);
    }
    return hubs.get(url);
  }

  /** Writes the file with mode 600 (created so, then moved into place: never readable by others). */
  void save(Path file) {
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("current", current);
    Map<String, Object> hubMaps = new LinkedHashMap<>();
    hubs.forEach((url, hub) -> hubMaps.put(url, hub.toMap()));
    root.put("hubs", hubMaps);
    DumperOptions options = new DumperOptions();
    options.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
    String text = "# kmc CLI: hubs and their API tokens. Keep it private (mode 600).\n" + new Yaml(options).dump(root);
    writePrivately(file, text);
  }

  /** Writes {@code text} to {@code file} with mode 600, its directory (if new) with mode 700. */
  static void writePrivately(Path file, String text) {
    try {
      Path dir = file.toAbsolutePath().getParent();
      if (!Files.isDirectory(dir)) {
        try {
          Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (UnsupportedOperationException e) {
          Files.createDirectories(dir);
        }
      }
      Path temporary;
      try {
        temporary = Files.createTempFile(dir, "." + file.getFileName(), ".tmp",
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      } catch (UnsupportedOperationException e) {
        temporary = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
      }
      Files.writeString(temporary, text);
      try {
        Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw new CliException("cannot write " + file + ": " + e.getMessage());
    }
  }

  private static String string(Object value) {
    return value == null ? null : String.valueOf(value);
  }
}
