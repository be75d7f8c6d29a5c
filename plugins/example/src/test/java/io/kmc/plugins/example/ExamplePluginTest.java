package io.kmc.plugins.example;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ExamplePluginTest {

  @Test
  void imageRegistryReadsReferencesAsTheRuntimeDoes() {
    assertEquals("docker.io", ImageRegistry.registry("nginx"));
    assertEquals("docker.io", ImageRegistry.registry("library/nginx:1.27"));
    assertEquals("ghcr.io", ImageRegistry.registry("ghcr.io/org/app@sha256:abc"));
    assertEquals("localhost:5000", ImageRegistry.registry("localhost:5000/app"));
    assertEquals("registry.example.com", ImageRegistry.registry("registry.example.com/web:1.4"));
  }

  @Test
  void semverAtLeastComparesNumerically() {
    SemverAtLeast f = new SemverAtLeast();
    assertEquals(true, f.call(List.of("v1.10.0", "1.9")));
    assertEquals(false, f.call(List.of("1.9.9", "1.10")));
    assertEquals(true, f.call(List.of("2.0", "2.0.0")));
    assertEquals(false, f.call(List.of("latest", "1.0")));
  }
}
