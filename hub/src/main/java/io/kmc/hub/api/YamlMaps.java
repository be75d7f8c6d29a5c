package io.kmc.hub.api;

import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.Yaml;

import java.util.LinkedHashMap;
import java.util.Map;

/** YAML the hub hands out (kubeconfigs, agent manifests), built as ordered maps and written in block style. */
final class YamlMaps {

  private YamlMaps() {
  }

  /** An ordered map of the given keys and values: {@code map("kind", "Config", "clusters", list)}. */
  static Map<String, Object> map(Object... keyValues) {
    Map<String, Object> map = new LinkedHashMap<>();
    for (int i = 0; i < keyValues.length; i += 2) {
      map.put((String) keyValues[i], keyValues[i + 1]);
    }
    return map;
  }

  /** A block-style writer; {@code explicitStart} begins every document with {@code ---}. */
  static Yaml blockYaml(boolean explicitStart) {
    DumperOptions options = new DumperOptions();
    options.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
    options.setExplicitStart(explicitStart);
    return new Yaml(options);
  }
}
