package io.kmc.cli;

import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Kubeconfig files as kubectl reads them, and merging the hub's contexts into one without touching
 * anyone else's: an entry of the same name is replaced only when it is this hub's (its server is a
 * cluster path or the fleet view of the hub, its token a kmc token); any other clash stops the merge
 * before writing.
 */
final class KubeconfigFile {

  /** The name of the fleet view's context, as the hub names it in its kubeconfigs. */
  static final String FLEET = "fleet";
  private static final String FLEET_PATH = "/k8s/fleet";
  /** Where every server of this hub's entries starts, after the hub's URL. */
  private static final String HUB_PATHS = "/k8s/";

  /** One cluster's entries, named for the merge. */
  record Entry(String context, Map<String, Object> cluster, Map<String, Object> user) {
  }

  private KubeconfigFile() {
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> parse(String yaml, String what) {
    Object loaded;
    try {
      loaded = new Yaml(new SafeConstructor(new LoaderOptions())).load(yaml);
    } catch (RuntimeException e) {
      throw new CliException(what + " is not valid YAML: " + e.getMessage());
    }
    if (loaded == null) {
      return skeleton();
    }
    if (!(loaded instanceof Map<?, ?>)) {
      throw new CliException(what + " is not a kubeconfig (not a YAML mapping)");
    }
    return new LinkedHashMap<>((Map<String, Object>) loaded);
  }

  static Map<String, Object> read(Path file) {
    if (!Files.exists(file)) {
      return skeleton();
    }
    try {
      return parse(Files.readString(file), file.toString());
    } catch (IOException e) {
      throw new CliException("cannot read " + file + ": " + e.getMessage());
    }
  }

  static Map<String, Object> skeleton() {
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("apiVersion", "v1");
    config.put("kind", "Config");
    config.put("clusters", new ArrayList<>());
    config.put("contexts", new ArrayList<>());
    config.put("users", new ArrayList<>());
    config.put("current-context", "");
    return config;
  }

  /**
   * The entry of a kubeconfig the hub served for one cluster, renamed: context and cluster
   * {@code prefix + cluster}, user {@code kmc-<user>@<context>} (one token per context, revocable
   * alone).
   */
  @SuppressWarnings("unchecked")
  static Entry fromHub(Map<String, Object> served, String cluster, String prefix, String hubUser) {
    String context = prefix + cluster;
    Map<String, Object> clusterEntry = new LinkedHashMap<>(first(served, "clusters"));
    clusterEntry.put("name", context);
    Map<String, Object> userEntry = new LinkedHashMap<>(first(served, "users"));
    userEntry.put("name", "kmc-" + hubUser + "@" + context);
    return new Entry(context, clusterEntry, userEntry);
  }

  /**
   * The fleet context the hub adds to every cluster's kubeconfig (a read-only view of every cluster
   * the user may see, from the hub's index), renamed {@code prefix + fleet}; it shares that
   * kubeconfig's token. Null when the hub served none (a hub without an index, or older).
   */
  @SuppressWarnings("unchecked")
  static Entry fleetFromHub(Map<String, Object> served, String prefix, String hubUser) {
    Map<String, Object> fleet = named(served, "clusters", FLEET);
    if (fleet == null || !server(fleet).contains(FLEET_PATH)) {
      return null;
    }
    String context = prefix + FLEET;
    Map<String, Object> clusterEntry = new LinkedHashMap<>(fleet);
    clusterEntry.put("name", context);
    Map<String, Object> userEntry = new LinkedHashMap<>(first(served, "users"));
    userEntry.put("name", "kmc-" + hubUser + "@" + context);
    return new Entry(context, clusterEntry, userEntry);
  }

  /**
   * An entry whose user runs {@code kmc token} (an exec credential plugin) for an OIDC sign-in, so
   * that kubectl presents a token refreshed as the issuer's expire.
   */
  static Entry execEntry(CliConfig.Hub hub, String cluster, String prefix, String commandName) {
    return execEntryFor(hub, prefix + cluster, hub.url + "/k8s/clusters/" + cluster, commandName);
  }

  /** The fleet context for an OIDC sign-in: the hub's read-only fleet view, with {@code kmc token} as its user. */
  static Entry execFleetEntry(CliConfig.Hub hub, String prefix, String commandName) {
    return execEntryFor(hub, prefix + FLEET, hub.url + FLEET_PATH, commandName);
  }

  private static Entry execEntryFor(CliConfig.Hub hub, String context, String url, String commandName) {
    Map<String, Object> server = new LinkedHashMap<>();
    server.put("server", url);
    if (hub.caCertificate != null) {
      server.put("certificate-authority-data", java.util.Base64.getEncoder().encodeToString(
          hub.caCertificate.getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
    }
    Map<String, Object> clusterEntry = new LinkedHashMap<>();
    clusterEntry.put("name", context);
    clusterEntry.put("cluster", server);
    Map<String, Object> exec = new LinkedHashMap<>();
    exec.put("apiVersion", "client.authentication.k8s.io/v1");
    exec.put("command", commandName.equals("kubectl kmc") ? "kubectl" : "kmc");
    exec.put("args", commandName.equals("kubectl kmc") ? List.of("kmc", "token", "--hub", hub.url)
        : List.of("token", "--hub", hub.url));
    exec.put("interactiveMode", "Never");
    Map<String, Object> userEntry = new LinkedHashMap<>();
    userEntry.put("name", "kmc-" + hub.user + "@" + context);
    userEntry.put("user", Map.of("exec", exec));
    return new Entry(context, clusterEntry, userEntry);
  }

  /** A kubeconfig holding just these entries (printed when not merging). */
  static Map<String, Object> of(List<Entry> entries) {
    Map<String, Object> config = skeleton();
    for (Entry entry : entries) {
      list(config, "clusters").add(entry.cluster());
      list(config, "users").add(entry.user());
      list(config, "contexts").add(contextEntry(entry));
    }
    config.put("current-context", entries.isEmpty() ? "" : entries.get(0).context());
    return config;
  }

  /**
   * Merges the entries into {@code target} (changed in place). Returns what was replaced; throws,
   * changing nothing, when a name is taken by something that is not this hub's.
   */
  static List<String> merge(Map<String, Object> target, List<Entry> entries) {
    List<String> clashes = new ArrayList<>();
    List<String> replaced = new ArrayList<>();
    for (Entry entry : entries) {
      String server = server(entry.cluster());
      String hubPrefix = server.substring(0, server.indexOf(HUB_PATHS) + HUB_PATHS.length());
      Map<String, Object> cluster = named(target, "clusters", entry.context());
      if (cluster != null) {
        String existing = server(cluster);
        if (!existing.startsWith(hubPrefix)) {
          clashes.add("cluster '" + entry.context() + "' (" + existing + ")");
        }
      }
      Map<String, Object> context = named(target, "contexts", entry.context());
      if (context != null) {
        Object pointsAt = section(context, "context").get("cluster");
        Map<String, Object> itsCluster = pointsAt == null ? null : named(target, "clusters", String.valueOf(pointsAt));
        if (itsCluster == null || !server(itsCluster).startsWith(hubPrefix)) {
          clashes.add("context '" + entry.context() + "' (cluster " + pointsAt + ")");
        } else {
          replaced.add(entry.context());
        }
      }
      Map<String, Object> user = named(target, "users", String.valueOf(entry.user().get("name")));
      if (user != null) {
        Object token = section(user, "user").get("token");
        if (token != null && !String.valueOf(token).startsWith("kmc_")) {
          clashes.add("user '" + entry.user().get("name") + "'");
        }
      }
    }
    if (!clashes.isEmpty()) {
      throw new CliException("the kubeconfig already has " + String.join(", ", clashes) + ", not this hub's; "
          + "nothing was changed: merge with --prefix (e.g. --prefix kmc-), or remove them first");
    }
    for (Entry entry : entries) {
      put(target, "clusters", entry.cluster());
      put(target, "users", entry.user());
      put(target, "contexts", contextEntry(entry));
    }
    Object current = target.get("current-context");
    if ((current == null || String.valueOf(current).isEmpty()) && !entries.isEmpty()) {
      target.put("current-context", entries.get(0).context());
    }
    return replaced;
  }

  static String dump(Map<String, Object> config) {
    DumperOptions options = new DumperOptions();
    options.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
    return new Yaml(options).dump(config);
  }

  private static Map<String, Object> contextEntry(Entry entry) {
    Map<String, Object> context = new LinkedHashMap<>();
    context.put("cluster", entry.context());
    context.put("user", entry.user().get("name"));
    Map<String, Object> named = new LinkedHashMap<>();
    named.put("name", entry.context());
    named.put("context", context);
    return named;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> first(Map<String, Object> config, String list) {
    List<Object> items = list(config, list);
    if (items.isEmpty() || !(items.get(0) instanceof Map<?, ?>)) {
      throw new CliException("the hub's kubeconfig has no " + list);
    }
    return (Map<String, Object>) items.get(0);
  }

  @SuppressWarnings("unchecked")
  private static List<Object> list(Map<String, Object> config, String name) {
    Object value = config.get(name);
    if (!(value instanceof List<?>)) {
      List<Object> created = new ArrayList<>();
      config.put(name, created);
      return created;
    }
    List<Object> copy = new ArrayList<>((List<Object>) value);
    config.put(name, copy);
    return copy;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> named(Map<String, Object> config, String list, String name) {
    for (Object item : list(config, list)) {
      if (item instanceof Map<?, ?> map && name.equals(String.valueOf(map.get("name")))) {
        return (Map<String, Object>) map;
      }
    }
    return null;
  }

  private static void put(Map<String, Object> config, String list, Map<String, Object> entry) {
    List<Object> items = list(config, list);
    for (int i = 0; i < items.size(); i++) {
      if (items.get(i) instanceof Map<?, ?> map && String.valueOf(entry.get("name")).equals(String.valueOf(map.get("name")))) {
        items.set(i, entry);
        return;
      }
    }
    items.add(entry);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> section(Map<String, Object> entry, String key) {
    return entry.get(key) instanceof Map<?, ?> map ? (Map<String, Object>) map : Map.of();
  }

  private static String server(Map<String, Object> clusterEntry) {
    Object server = section(clusterEntry, "cluster").get("server");
    return server == null ? "" : String.valueOf(server);
  }
}
