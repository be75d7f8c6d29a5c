package io.kmc.common.config;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConfigReaderTest {

  @Test
  void readsTypedValuesWithDefaultsAndEnvironmentOverrides() {
    ConfigReader reader = ConfigReader.fromYaml("""
        server:
          port: 9000
          read_timeout: 500ms
        tunnel:
          max_frame_bytes: 2MiB
        """, Map.of("KMC_SERVER_PORT", "9100", "KMC_HUB_URLS", "ws://a, ws://b"));

    assertEquals(9100, reader.integer("server.port", 8080, 1, 65535, "port"));
    assertEquals(Duration.ofMillis(500), reader.duration("server.read_timeout", Duration.ofSeconds(30),
        Duration.ZERO, Duration.ofHours(1), "timeout"));
    assertEquals(2 * 1024 * 1024, reader.bytes("tunnel.max_frame_bytes", 1, 1, Integer.MAX_VALUE, "frame"));
    assertEquals(List.of("ws://a", "ws://b"), reader.strings("hub.urls", List.of(), "urls"));
    assertEquals("x", reader.string("server.host", "x", "host"));
    reader.finish();
  }

  @Test
  void reportsEveryProblemAtOnceWithItsKeyPath() {
    ConfigReader reader = ConfigReader.fromYaml("""
        server:
          port: eighty
          backlog: 0
          typo_key: 1
        clusters:
          - name: a
            colour: blue
        """, Map.of("KMC_SERVER_DEBUG", "maybe"));
    reader.integer("server.port", 8080, 1, 65535, "port");
    reader.integer("server.backlog", 128, 1, 1024, "backlog");
    reader.bool("server.debug", false, "debug");
    for (ConfigReader cluster : reader.sections("clusters", "clusters")) {
      cluster.string("name", null, "name");
    }
    reader.requiredString("hub.cluster", "cluster");

    ConfigException e = assertThrows(ConfigException.class, reader::finish);
    List<String> problems = e.problems();
    assertTrue(problems.stream().anyMatch(p -> p.startsWith("server.port: must be a whole number")), problems.toString());
    assertTrue(problems.stream().anyMatch(p -> p.startsWith("server.backlog: must be between 1 and 1024")), problems.toString());
    assertTrue(problems.stream().anyMatch(p -> p.startsWith("KMC_SERVER_DEBUG: must be true or false")), problems.toString());
    assertTrue(problems.contains("server.typo_key: unknown key"), problems.toString());
    assertTrue(problems.contains("clusters[0].colour: unknown key"), problems.toString());
    assertTrue(problems.contains("hub.cluster: is required (set it in the file or as KMC_HUB_CLUSTER)"), problems.toString());
    assertEquals(6, problems.size(), problems.toString());
  }

  @Test
  void secretsNeverAppearInMessages() {
    ConfigReader reader = ConfigReader.fromYaml("""
        auth:
          token:
            nested: s3cr3t-value
        """, Map.of());
    reader.secret("auth.token", null, "token");
    ConfigException e = assertThrows(ConfigException.class, reader::finish);
    assertFalse(e.getMessage().contains("s3cr3t-value"), e.getMessage());
    assertTrue(e.getMessage().contains("auth.token"), e.getMessage());
  }

  @Test
  void unquotedOffIsTheWordOffNotABoolean() {
    ConfigReader reader = ConfigReader.fromYaml("server:\n  tls:\n    mode: off\n", Map.of());
    assertEquals("off", reader.oneOf("server.tls.mode", "self-signed", "TLS", "self-signed", "files", "off"));
    reader.finish();
  }

  @Test
  void digitsKeepTheirLeadingZerosAsText() {
    ConfigReader reader = ConfigReader.fromYaml("hash: 0012\ncount: 007\nflag: yes\nnothing: ~\n", Map.of());
    assertEquals("0012", reader.string("hash", null, "hash"));
    assertEquals(7, reader.integer("count", 0, 0, 100, "count"));
    assertTrue(reader.bool("flag", false, "flag"));
    assertEquals("dflt", reader.string("nothing", "dflt", "nothing"));
    reader.finish();
  }

  @Test
  void anEmptyListOfSectionsIsFine() {
    ConfigReader reader = ConfigReader.fromYaml("clusters:\n", Map.of());
    assertTrue(reader.sections("clusters", "clusters").isEmpty());
    reader.finish();
  }

  @Test
  void emptyDocumentIsAnEmptyConfiguration() {
    ConfigReader reader = ConfigReader.fromYaml("", Map.of());
    assertEquals(8080, reader.integer("server.port", 8080, 1, 65535, "port"));
    reader.finish();
  }

  @Test
  void notAMappingIsRefusedClearly() {
    ConfigException e = assertThrows(ConfigException.class, () -> ConfigReader.fromYaml("- a\n- b\n", Map.of()));
    assertTrue(e.getMessage().contains("top level must be a mapping"), e.getMessage());
    ConfigException bad = assertThrows(ConfigException.class, () -> ConfigReader.fromYaml("a: [", Map.of()));
    assertTrue(bad.getMessage().contains("not valid YAML"), bad.getMessage());
    ConfigException twice = assertThrows(ConfigException.class,
        () -> ConfigReader.fromYaml("server:\n  port: 1\nserver:\n  host: x\n", Map.of()));
    assertTrue(twice.getMessage().contains("duplicate key server"), twice.getMessage());
  }
}
