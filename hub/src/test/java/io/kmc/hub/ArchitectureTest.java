package io.kmc.hub;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

/**
 * The hub is one package per concern, and the concerns depend on each other in one direction only:
 * what a package needs it can use without pulling in what uses it.
 */
class ArchitectureTest {

  private static JavaClasses hub;

  @BeforeAll
  static void importHub() {
    hub = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages("io.kmc.hub");
  }

  @Test
  void noPackageCycles() {
    slices().matching("io.kmc.hub.(*)..").should().beFreeOfCycles().check(hub);
  }

  /** The assembly (Hub, HubMain) uses every concern; no concern reaches back into it. */
  @Test
  void nothingDependsOnTheAssembly() {
    noClasses().that().resideInAPackage("io.kmc.hub.*..").should().dependOnClassesThat().resideInAPackage("io.kmc.hub")
        .check(hub);
  }

  /** Only direct mode runs the agent's executor inside the hub. */
  @Test
  void onlyDirectModeUsesTheAgent() {
    noClasses().that().resideOutsideOfPackage("io.kmc.hub.direct..").should().dependOnClassesThat()
        .resideInAPackage("io.kmc.agent..").check(hub);
  }
}
