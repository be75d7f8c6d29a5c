package io.kmc.hub.api;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.kmc.hub.api.YamlMaps.map;

/** Renders kubeconfig files that point kubectl at clusters through the hub. */
public final class Kubeconfigs {

  private Kubeconfigs() {
  }

  /**
   * @param servers        context (and cluster) name → server URL
   * @param user           user entry name
   * @param token          bearer token of that user
   * @param currentContext the context selected by default
   * @param caData         base64 PEM of the CA that signed the hub's certificate, or null
   */
  public static String render(Map<String, String> servers, String user, String token, String currentContext,
                              String caData) {
    List<Object> clusters = new ArrayList<>();
    List<Object> contexts = new ArrayList<>();
    servers.forEach((name, server) -> {
      Map<String, Object> cluster = map("server", server);
      if (caData != null) {
        cluster.put("certificate-authority-data", caData);
      }
      clusters.add(map("name", name, "cluster", cluster));
      contexts.add(map("name", name, "context", map("cluster", name, "user", user)));
    });
    Map<String, Object> config = new LinkedHashMap<>();
    config.put("apiVersion", "v1");
    config.put("kind", "Config");
    config.put("clusters", clusters);
    config.put("users", List.of(map("name", user, "user", map("token", token))));
    config.put("contexts", contexts);
    config.put("current-context", currentContext);
    return YamlMaps.blockYaml(false).dump(config);
  }
}
