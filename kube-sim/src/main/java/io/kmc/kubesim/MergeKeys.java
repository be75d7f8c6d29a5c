package io.kmc.kubesim;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which lists of the built-in kinds merge element by element, and by which key. The real server
 * reads this from its Go struct tags ({@code patchMergeKey}); this table covers the lists that
 * kubectl users touch. Lists not named here are replaced wholesale (atomic), which is also what
 * the real server does for, e.g., tolerations, args and command.
 */
final class MergeKeys {

  private static final Map<String, String> KEY_BY_FIELD = Map.ofEntries(
      Map.entry("containers", "name"),
      Map.entry("initContainers", "name"),
      Map.entry("ephemeralContainers", "name"),
      Map.entry("env", "name"),
      Map.entry("volumes", "name"),
      Map.entry("volumeMounts", "mountPath"),
      Map.entry("volumeDevices", "devicePath"),
      Map.entry("imagePullSecrets", "name"),
      Map.entry("hostAliases", "ip"),
      Map.entry("ownerReferences", "uid"),
      Map.entry("conditions", "type"),
      Map.entry("resourceClaims", "name"),
      Map.entry("topologySpreadConstraints", "topologyKey"),
      Map.entry("secrets", "name"));

  /** Lists of scalars that merge as sets instead of being replaced. */
  private static final Set<String> MERGED_SCALAR_LISTS = Set.of("finalizers");

  private static final Set<String> CONTAINER_LISTS = Set.of("containers", "initContainers", "ephemeralContainers");

  private MergeKeys() {
  }

  /**
   * The merge key of the list at {@code field}, whose ancestors' field names are {@code path};
   * null for atomic lists.
   */
  static String keyFor(String field, List<String> path) {
    if ("ports".equals(field)) {
      // Container ports merge by containerPort, Service ports by port.
      boolean inContainer = !path.isEmpty() && CONTAINER_LISTS.contains(path.get(path.size() - 1));
      return inContainer ? "containerPort" : "port";
    }
    return KEY_BY_FIELD.get(field);
  }

  static boolean isMergedScalarList(String field) {
    return MERGED_SCALAR_LISTS.contains(field);
  }
}
