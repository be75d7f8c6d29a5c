package io.kmc.cli;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Merging the hub's contexts into a kubeconfig replaces only this hub's entries. */
class KubeconfigFileTest {

  private static final String SERVED = """
      apiVersion: v1
      kind: Config
      clusters:
      - name: prod
        cluster:
          server: https://hub.example.com/k8s/clusters/prod
          certificate-authority-data: Q0E=
      users:
      - name: kmc-alice
        user:
          token: kmc_0123456789abcdef01234567_secret
      contexts:
      - name: prod
        context: {cluster: prod, user: kmc-alice}
      current-context: prod
      """;

  private static final String MINE = """
      apiVersion: v1
      kind: Config
      preferences: {colors: true}
      clusters:
      - name: prod
        cluster: {server: "https://10.0.0.1:6443"}
      - name: lab
        cluster: {server: "https://10.0.0.2:6443"}
      contexts:
      - name: prod
        context: {cluster: prod, user: admin}
      - name: lab
        context: {cluster: lab, user: admin}
      users:
      - name: admin
        user: {client-certificate-data: Q0VSVA==}
      current-context: lab
      """;

  @Test
  void aContextOfAnotherServerIsNeverOverwritten() {
    Map<String, Object> target = KubeconfigFile.parse(MINE, "mine");
    String before = KubeconfigFile.dump(target);
    KubeconfigFile.Entry entry = KubeconfigFile.fromHub(KubeconfigFile.parse(SERVED, "served"), "prod", "", "alice");
    CliException clash = assertThrows(CliException.class, () -> KubeconfigFile.merge(target, List.of(entry)));
    assertTrue(clash.getMessage().contains("cluster 'prod' (https://10.0.0.1:6443)") && clash.getMessage().contains("--prefix"),
        clash.getMessage());
    assertEquals(before, KubeconfigFile.dump(target), "nothing changed");
  }

  @Test
  void withAPrefixItSitsBesideTheOthersAndAgainItReplacesItself() {
    Map<String, Object> target = KubeconfigFile.parse(MINE, "mine");
    KubeconfigFile.Entry entry = KubeconfigFile.fromHub(KubeconfigFile.parse(SERVED, "served"), "prod", "kmc-", "alice");
    assertEquals(List.of(), KubeconfigFile.merge(target, List.of(entry)));
    String merged = KubeconfigFile.dump(target);
    assertTrue(merged.contains("name: kmc-prod") && merged.contains("https://10.0.0.1:6443")
        && merged.contains("name: kmc-alice@kmc-prod") && merged.contains("current-context: lab")
        && merged.contains("colors: true"), merged);

    KubeconfigFile.Entry again = KubeconfigFile.fromHub(KubeconfigFile.parse(SERVED.replace("_secret", "_newer"),
        "served"), "prod", "kmc-", "alice");
    assertEquals(List.of("kmc-prod"), KubeconfigFile.merge(target, List.of(again)));
    String remerged = KubeconfigFile.dump(target);
    assertTrue(remerged.contains("_newer") && !remerged.contains("_secret"), remerged);
    for (String list : List.of("clusters", "contexts")) {
      assertEquals(1, ((List<?>) target.get(list)).stream()
          .filter(item -> "kmc-prod".equals(((Map<?, ?>) item).get("name"))).count(), list + " has kmc-prod once");
    }
  }

  @Test
  void intoAnEmptyFileItBecomesTheCurrentContext() {
    Map<String, Object> target = KubeconfigFile.parse("", "empty");
    KubeconfigFile.merge(target, List.of(KubeconfigFile.fromHub(KubeconfigFile.parse(SERVED, "served"), "prod", "",
        "alice")));
    String merged = KubeconfigFile.dump(target);
    assertTrue(merged.contains("current-context: prod") && merged.contains("server: https://hub.example.com/k8s/clusters/prod"),
        merged);
  }

  private static final String SERVED_WITH_FLEET = SERVED.replace("""
      users:
      """, """
      - name: fleet
        cluster:
          server: https://hub.example.com/k8s/fleet
          certificate-authority-data: Q0E=
      users:
      """).replace("""
      current-context: prod
      """, """
      - name: fleet
        context: {cluster: fleet, user: kmc-alice}
      current-context: prod
      """);

  @Test
  void theFleetContextComesWithTheClusterAndReplacesOnlyItself() {
    Map<String, Object> served = KubeconfigFile.parse(SERVED_WITH_FLEET, "served");
    KubeconfigFile.Entry fleet = KubeconfigFile.fleetFromHub(served, "kmc-", "alice");
    assertEquals("kmc-fleet", fleet.context());
    assertEquals("kmc-alice@kmc-fleet", fleet.user().get("name"));
    Map<String, Object> target = KubeconfigFile.parse(MINE, "mine");
    KubeconfigFile.merge(target, List.of(KubeconfigFile.fromHub(served, "prod", "kmc-", "alice"), fleet));
    String merged = KubeconfigFile.dump(target);
    assertTrue(merged.contains("server: https://hub.example.com/k8s/fleet") && merged.contains("name: kmc-fleet")
        && merged.contains("token: kmc_0123456789abcdef01234567_secret"), merged);
    assertEquals(List.of("kmc-fleet"), KubeconfigFile.merge(target, List.of(fleet)), "its own fleet context is replaced");

    // Someone else's context named fleet is never overwritten.
    Map<String, Object> theirs = KubeconfigFile.parse(MINE.replace("name: lab\n", "name: fleet\n")
        .replace("cluster: lab,", "cluster: fleet,"), "theirs");
    CliException clash = assertThrows(CliException.class, () -> KubeconfigFile.merge(theirs,
        List.of(KubeconfigFile.fleetFromHub(served, "", "alice"))));
    assertTrue(clash.getMessage().contains("'fleet'"), clash.getMessage());
  }

  @Test
  void aHubThatServesNoFleetContextGivesNone() {
    assertEquals(null, KubeconfigFile.fleetFromHub(KubeconfigFile.parse(SERVED, "served"), "", "alice"));
  }
}
