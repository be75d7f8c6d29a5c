package io.kmc.hub.rbac;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The hub's built-in RBAC model and policy are the files in config/, and they load. */
class RbacFilesTest {

  private static final Path CONFIG = Path.of("..", "config");

  @Test
  void builtInModelIsConfigRbacModel() throws Exception {
    assertEquals(Files.readString(CONFIG.resolve("rbac-model.conf")), Rbac.builtInModel(),
        "hub/src/main/resources/io/kmc/hub/auth/rbac-model.conf differs from config/rbac-model.conf");
  }

  @Test
  void builtInPoliciesAreConfigRbacPolicies() throws Exception {
    assertEquals(Files.readString(CONFIG.resolve("rbac-policies.csv")), Rbac.builtInPolicies(),
        "hub/src/main/resources/io/kmc/hub/auth/rbac-policies.csv differs from config/rbac-policies.csv");
  }

  @Test
  void configFilesLoad() throws Exception {
    Rbac rbac = Rbac.of(Files.readString(CONFIG.resolve("rbac-model.conf")),
        Rbac.parseCsv(Files.readString(CONFIG.resolve("rbac-policies.csv"))));
    assertTrue(rbac.allowed(new Rbac.Subject("admin", null), Rbac.KMC_DOMAIN, "rbac", "update"));
  }
}
