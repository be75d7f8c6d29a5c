package io.kmc.hub.rbac;

import io.kmc.hub.rbac.Rbac.Rule;
import io.kmc.hub.rbac.Rbac.Subject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RbacTest {

  private static final List<String> VERBS =
      List.of("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection");
  private static final Set<String> READ = Set.of("get", "list", "watch");
  private static final Set<String> ALL = Set.copyOf(VERBS);
  private static final List<String> OBJECTS = List.of("deployments", "services", "pods", "secrets", "configmaps",
      "discovery", "clusters", "users", "rbac", "audit");

  /** The seed policy plus bindings in every kind of domain. */
  private static final Rbac RBAC = Rbac.of(Rbac.builtInModel(), rules("""
      g, ann, admin, *
      g, dev, developer, *
      g, ops, operator, *
      g, alice, operator, prod/shop
      g, bob, developer, staging/*
      g, carol, developer, */shop
      g, group:sre, operator, prod/*
      g, dora, operator, prod/
      g, audrey, admin, kmc
      """));

  @Test
  void rolesGrantWhatTheDesignSays() {
    Map<String, Map<String, Set<String>>> expected = Map.of(
        "ann", Map.of("deployments", ALL, "services", ALL, "pods", ALL, "secrets", ALL, "configmaps", ALL,
            "discovery", ALL, "clusters", ALL, "users", ALL, "rbac", ALL, "audit", ALL),
        "dev", Map.of("deployments", READ, "services", READ, "discovery", READ, "clusters", READ),
        "ops", Map.of("deployments", ALL, "services", ALL, "pods", READ, "discovery", READ, "clusters", READ));
    for (var user : expected.entrySet()) {
      Subject subject = user(user.getKey());
      for (String domain : List.of("prod/shop", "prod/", "kmc")) {
        for (String object : OBJECTS) {
          for (String verb : VERBS) {
            boolean allowed = user.getValue().getOrDefault(object, Set.of()).contains(verb);
            assertEquals(allowed, RBAC.allowed(subject, domain, object, verb),
                user.getKey() + " " + verb + " " + object + " in " + domain);
          }
        }
      }
    }
  }

  @Test
  void subresourcesCountAsTheirParentExceptThoseReachingPastIt() {
    KubeRequestAttributes log = KubeRequestAttributes.parse("GET", "/api/v1/namespaces/shop/pods/web/log", null);
    KubeRequestAttributes scale = KubeRequestAttributes.parse("PATCH",
        "/apis/apps/v1/namespaces/shop/deployments/web/scale", null);
    KubeRequestAttributes exec = KubeRequestAttributes.parse("POST", "/api/v1/namespaces/shop/pods/web/exec", null);
    KubeRequestAttributes proxy = KubeRequestAttributes.parse("GET",
        "/api/v1/namespaces/shop/services/web/proxy/admin", null);
    assertTrue(allowed("ops", log));
    assertFalse(allowed("dev", log));
    assertTrue(allowed("ops", scale));
    assertFalse(allowed("dev", scale));
    assertFalse(allowed("ops", exec), "reading pods is not a shell in them");
    assertFalse(allowed("dev", proxy), "reading services is not reaching into them");
    assertTrue(allowed("ann", exec));

    Rbac debugger = Rbac.of(Rbac.builtInModel(), rules("""
        p, debugger, pods/exec, *
        g, dan, debugger, prod/shop
        """));
    assertTrue(debugger.allowed(user("dan"), exec.domain("prod"), exec.object(), exec.verb()));
  }

  @Test
  void otherNonResourcePathsAreForAdminsOnly() {
    KubeRequestAttributes logs = KubeRequestAttributes.parse("GET", "/logs/kube-apiserver.log", null);
    assertFalse(allowed("ops", logs));
    assertFalse(allowed("dev", logs));
    assertTrue(allowed("ann", logs));
  }

  @Test
  void namespaceBindingHoldsInThatNamespaceOnly() {
    Subject alice = user("alice");
    assertTrue(RBAC.allowed(alice, "prod/shop", "deployments", "patch"));
    assertTrue(RBAC.allowed(alice, "prod/shop", "pods", "watch"));
    assertFalse(RBAC.allowed(alice, "prod/shop", "pods", "delete"));
    assertFalse(RBAC.allowed(alice, "prod/other", "deployments", "patch"));
    assertFalse(RBAC.allowed(alice, "prod/", "deployments", "list"), "not across all namespaces");
    assertFalse(RBAC.allowed(alice, "prod/", "namespaces", "delete"));
    assertFalse(RBAC.allowed(alice, "staging/shop", "deployments", "patch"));
    assertFalse(RBAC.allowed(alice, "kmc", "clusters", "get"));
  }

  @Test
  void namespaceBindingCannotTouchItsNamespaceObject() {
    Rbac rbac = Rbac.of(Rbac.builtInModel(), rules("""
        p, owner, *, *
        g, olga, owner, prod/shop
        """));
    for (String method : List.of("GET", "DELETE")) {
      KubeRequestAttributes ns = KubeRequestAttributes.parse(method, "/api/v1/namespaces/shop", null);
      assertFalse(rbac.allowed(user("olga"), ns.domain("prod"), ns.object(), ns.verb()), method);
    }
    KubeRequestAttributes finalize = KubeRequestAttributes.parse("PUT", "/api/v1/namespaces/shop/finalize", null);
    assertFalse(rbac.allowed(user("olga"), finalize.domain("prod"), finalize.object(), finalize.verb()));
    KubeRequestAttributes secrets = KubeRequestAttributes.parse("DELETE", "/api/v1/namespaces/shop/secrets", null);
    assertTrue(rbac.allowed(user("olga"), secrets.domain("prod"), secrets.object(), secrets.verb()));
  }

  @Test
  void clusterBindingHoldsInEveryNamespaceAndAcrossThem() {
    Subject bob = user("bob");
    assertTrue(RBAC.allowed(bob, "staging/shop", "deployments", "get"));
    assertTrue(RBAC.allowed(bob, "staging/other", "services", "watch"));
    assertTrue(RBAC.allowed(bob, "staging/", "deployments", "list"), "staging/* covers staging/");
    assertFalse(RBAC.allowed(bob, "staging/shop", "deployments", "patch"));
    assertFalse(RBAC.allowed(bob, "prod/shop", "deployments", "get"));
    assertFalse(RBAC.allowed(bob, "staging-eu/shop", "deployments", "get"), "a cluster is not a prefix");
    assertFalse(RBAC.allowed(bob, "kmc", "deployments", "get"));
  }

  @Test
  void clusterScopedBindingHoldsOutsideNamespacesOnly() {
    Subject dora = user("dora");
    assertTrue(RBAC.allowed(dora, "prod/", "deployments", "list"));
    assertFalse(RBAC.allowed(dora, "prod/shop", "deployments", "list"));
  }

  @Test
  void namespaceInEveryCluster() {
    Subject carol = user("carol");
    assertTrue(RBAC.allowed(carol, "prod/shop", "deployments", "list"));
    assertTrue(RBAC.allowed(carol, "staging/shop", "services", "get"));
    assertFalse(RBAC.allowed(carol, "prod/other", "deployments", "list"));
    assertFalse(RBAC.allowed(carol, "prod/", "deployments", "list"));
  }

  @Test
  void groupsAreBoundAsGroupColonName() {
    assertTrue(RBAC.allowed(new Subject("erin", List.of("dev", "sre")), "prod/any", "deployments", "patch"));
    assertTrue(RBAC.allowed(new Subject("erin", List.of("sre")), "prod/", "services", "create"));
    assertFalse(RBAC.allowed(new Subject("erin", List.of("sre")), "staging/any", "deployments", "patch"));
    assertFalse(RBAC.allowed(new Subject("erin", List.of()), "prod/any", "deployments", "patch"));
    assertFalse(RBAC.allowed(user("sre"), "prod/any", "deployments", "patch"), "a user is not a group");
    assertFalse(RBAC.allowed(new Subject("zed", List.of("alice")), "prod/shop", "deployments", "patch"),
        "a group is not a user");
  }

  @Test
  void adminEverywhereIncludesTheHubAndKmcOnlyAdminDoesNotReachClusters() {
    for (Subject admin : List.of(user("admin"), user("ann"))) {
      assertTrue(RBAC.allowed(admin, "kmc", "users", "create"));
      assertTrue(RBAC.allowed(admin, "kmc", "rbac", "delete"));
      assertTrue(RBAC.allowed(admin, "prod/kube-system", "secrets", "get"));
      assertTrue(RBAC.allowed(admin, "prod/", "nodes", "delete"));
      assertTrue(RBAC.allowed(admin, "prod/shop", "pods/exec", "create"));
    }
    assertTrue(RBAC.allowed(user("audrey"), "kmc", "audit", "list"));
    assertFalse(RBAC.allowed(user("audrey"), "prod/shop", "pods", "get"));
  }

  @Test
  void nobodyElseMayDoAnything() {
    for (Subject nobody : List.of(user("mallory"), user("developer"), user("admin "), user(""),
        new Subject("mallory", List.of("admin", "operator", "users")))) {
      for (String domain : List.of("prod/shop", "prod/", "kmc")) {
        for (String object : OBJECTS) {
          for (String verb : VERBS) {
            assertFalse(RBAC.allowed(nobody, domain, object, verb), nobody + " " + verb + " " + object + " " + domain);
          }
        }
      }
    }
  }

  @Test
  void domainsThatAreNotRequestDomainsAreNeverAllowed() {
    Subject admin = user("admin");
    for (String domain : List.of("*", "prod/*", "*/shop", "prod", "", "prod/Shop", "Prod/shop", "prod/shop/x", "/shop",
        "prod/a:b")) {
      assertFalse(RBAC.allowed(admin, domain, "pods", "get"), domain);
    }
    assertFalse(RBAC.allowed(admin, null, "pods", "get"));
    assertFalse(RBAC.allowed(admin, "prod/shop", null, "get"));
  }

  @Test
  void discoveryIsAllowedToAnyoneWithARoleInTheCluster() {
    assertTrue(RBAC.allowed(user("alice"), "prod/", "discovery", "get"), "bound in prod/shop only");
    assertTrue(RBAC.allowed(user("carol"), "staging/", "discovery", "get"), "bound in */shop");
    assertTrue(RBAC.allowed(user("bob"), "staging/", "discovery", "get"));
    assertFalse(RBAC.allowed(user("alice"), "staging/", "discovery", "get"));
    assertFalse(RBAC.allowed(user("bob"), "prod/", "discovery", "get"));
    assertFalse(RBAC.allowed(user("audrey"), "prod/", "discovery", "get"), "not a role that grants discovery");
    assertFalse(RBAC.allowed(user("alice"), "prod/", "deployments", "list"), "only discovery");
  }

  @Test
  void canSeeClusterWhenBoundAnywhereInIt() {
    assertTrue(RBAC.canSeeCluster(user("alice"), "prod"));
    assertFalse(RBAC.canSeeCluster(user("alice"), "staging"));
    assertTrue(RBAC.canSeeCluster(user("bob"), "staging"));
    assertFalse(RBAC.canSeeCluster(user("bob"), "staging-eu"));
    assertTrue(RBAC.canSeeCluster(user("carol"), "prod"));
    assertTrue(RBAC.canSeeCluster(user("carol"), "any-cluster"));
    assertTrue(RBAC.canSeeCluster(user("dora"), "prod"));
    assertTrue(RBAC.canSeeCluster(user("admin"), "any-cluster"));
    assertTrue(RBAC.canSeeCluster(new Subject("erin", List.of("sre")), "prod"));
    assertFalse(RBAC.canSeeCluster(new Subject("erin", List.of("sre")), "staging"));
    assertFalse(RBAC.canSeeCluster(user("audrey"), "prod"), "kmc is not a cluster");
    assertFalse(RBAC.canSeeCluster(user("mallory"), "prod"));
    assertFalse(RBAC.canSeeCluster(user("admin"), "*"));
    assertFalse(RBAC.canSeeCluster(user("admin"), null));
  }

  @Test
  void partialWildcardsAreRefusedNotReadAsRegularExpressions() {
    // keyMatch2 would read "pr*" as the regular expression ^pr*$ (matching "p", "prr"), and never match "*/shop".
    for (String pattern : List.of("pr*", "prod/sh*", "*prod/*", "p*/shop", "prod*", ".*", "prod/.*")) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> Rbac.parseCsv("g, alice, operator, " + pattern));
      assertTrue(e.getMessage().contains("a * stands for a whole cluster or namespace name"), e.getMessage());
    }
    Rbac rbac = Rbac.of(Rbac.builtInModel(), rules("g, pat, operator, */*"));
    assertTrue(rbac.allowed(user("pat"), "p/shop", "deployments", "get"));
    assertTrue(rbac.allowed(user("pat"), "prod/", "deployments", "list"));
    assertFalse(rbac.allowed(user("pat"), "kmc", "clusters", "get"), "*/* is every cluster, not the hub");
  }

  @Test
  void domainPatterns() {
    assertTrue(Rbac.domainMatches("kmc", "*"));
    assertTrue(Rbac.domainMatches("prod/shop", "*"));
    assertTrue(Rbac.domainMatches("kmc", "kmc"));
    assertFalse(Rbac.domainMatches("prod/shop", "kmc"));
    assertFalse(Rbac.domainMatches("kmc", "*/*"));
    assertTrue(Rbac.domainMatches("prod/", "prod/*"));
    assertTrue(Rbac.domainMatches("prod/shop", "prod/*"));
    assertFalse(Rbac.domainMatches("production/shop", "prod/*"));
    assertTrue(Rbac.domainMatches("prod/", "prod/"));
    assertFalse(Rbac.domainMatches("prod/shop", "prod/"));
    assertTrue(Rbac.domainMatches("staging/shop", "*/shop"));
    assertFalse(Rbac.domainMatches("staging/shopping", "*/shop"));
    assertFalse(Rbac.domainMatches("staging/", "*/shop"));
  }

  @Test
  void actions() {
    assertTrue(Rbac.actionMatches("watch", "read"));
    assertFalse(Rbac.actionMatches("create", "read"));
    assertTrue(Rbac.actionMatches("deletecollection", "write"));
    assertFalse(Rbac.actionMatches("get", "write"));
    assertFalse(Rbac.actionMatches("proxy", "write"));
    assertTrue(Rbac.actionMatches("proxy", "*"));
    assertTrue(Rbac.actionMatches("patch", "patch"));
    assertFalse(Rbac.actionMatches("update", "patch"));
    Rbac rbac = Rbac.of(Rbac.builtInModel(), rules("""
        p, scaler, deployments, patch
        g, sam, scaler, prod/*
        """));
    assertTrue(rbac.allowed(user("sam"), "prod/a", "deployments", "patch"));
    assertFalse(rbac.allowed(user("sam"), "prod/a", "deployments", "update"));
    assertFalse(rbac.allowed(user("sam"), "prod/a", "deployments", "get"));
  }

  @Test
  void csvSkipsCommentsAndBlankLinesAndTrims() {
    List<Rule> rules = Rbac.parseCsv("""
        # a comment
        \t
          p ,developer,  deployments , read\r
        g, group:sre, operator, prod/*
        """);
    assertEquals(List.of(new Rule("p", List.of("developer", "deployments", "read")),
        new Rule("g", List.of("group:sre", "operator", "prod/*"))), rules);
    assertEquals("p, developer, deployments, read\ng, group:sre, operator, prod/*\n", Rbac.formatCsv(rules));
    assertEquals(rules, Rbac.parseCsv(Rbac.formatCsv(rules)));
  }

  @Test
  void csvErrorsNameTheLine() {
    assertCsvError("p, admin, *, *\nx, admin, *, *", "line 2: unknown rule type 'x'");
    assertCsvError("\n# c\np, developer, pods", "line 3: a p rule has 3 values");
    assertCsvError("g, alice, operator", "line 1: a g rule has 3 values");
    assertCsvError("g, alice, operator, prod/*, extra", "line 1: a g rule has 3 values");
    assertCsvError("p, , pods, read", "line 1: '' is not a role name");
    assertCsvError("p, dev, pods, read,", "line 1: a p rule has 3 values");
    assertCsvError("g, , operator, *", "line 1: '' is not a user name");
    assertCsvError("g, group:, operator, *", "line 1: 'group:' is not a user name");
    assertCsvError("g, user:alice, operator, *", "line 1: write the user name without 'user:'");
    assertCsvError("g, alice, group:sre, *", "line 1: 'group:sre' is not a role name");
    assertCsvError("g, alice, operator, prod", "line 1: domain 'prod' is not *, kmc or <cluster>/<namespace> (prod/* is");
    assertCsvError("g, alice, operator, Prod/shop", "line 1: domain 'Prod/shop' is not <cluster>/<namespace>");
    assertCsvError("p, developer, pods/log, read", "line 1: 'pods/log' is checked as 'pods'");
    assertCsvError("p, developer, Pods, read", "line 1: 'Pods' is not an object");
    assertCsvError("p, developer, pods, READ", "line 1: 'READ' is not an action");
  }

  @Test
  void ofValidatesRulesFromAnywhere() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Rbac.of(Rbac.builtInModel(), List.of(new Rule("g", List.of("alice", "operator", "pr*")))));
    assertTrue(e.getMessage().startsWith("RBAC rule 'g, alice, operator, pr*': domain 'pr*'"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> Rbac.of(Rbac.builtInModel(), List.of(new Rule("p", List.of("dev", "pods")))));
    assertTrue(e.getMessage().contains("a p rule has 3 values"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> Rbac.of(Rbac.builtInModel(), List.of(new Rule("g", List.of("doe, jane", "operator", "*")))));
    assertTrue(e.getMessage().contains("is not a user name"), e.getMessage());
  }

  @Test
  void ofRefusesAModelKmcCannotAskWith() {
    String model = Rbac.builtInModel();
    assertModelError(model.replace("r = sub, dom, obj, act", "r = sub, obj, act"), "kmc asks with r = sub, dom, obj, act");
    assertModelError(model.replace("g = _, _, _", "g = _, _"), "the role definition must be g = _, _, _");
    assertModelError(model.replace("actionMatch(r.act, p.act)", "noSuchFunction(r.act, p.act)"),
        "the matcher cannot be evaluated");
    assertModelError(model.replace("[matchers]", "[nothing]"), "RBAC model");
  }

  @Test
  void duplicatesCountOnceAndRulesKeepTheirOrder() {
    List<Rule> rules = Rbac.parseCsv("""
        p, developer, pods, read
        g, alice, developer, prod/*
        p, developer, pods, read
        """);
    Rbac rbac = Rbac.of(Rbac.builtInModel(), rules);
    assertEquals(rules.subList(0, 2), rbac.rules());
    assertTrue(rbac.allowed(user("alice"), "prod/a", "pods", "get"));
  }

  @Test
  void rememberedAnswersAreTheSameAnswers() {
    Rbac remembering = Rbac.of(Rbac.builtInModel(), rules("g, alice, operator, prod/shop"), 2);
    for (int round = 0; round < 3; round++) {
      for (String domain : List.of("prod/shop", "prod/other", "prod/", "staging/shop")) {
        assertEquals(domain.startsWith("prod/"), remembering.allowed(user("alice"), domain, "discovery", "get"), domain);
        assertEquals(domain.equals("prod/shop"), remembering.allowed(user("alice"), domain, "pods", "get"), domain);
      }
    }
  }

  /**
   * jcasbin keeps g() answers in a static map shared by all enforcers; without the common lock (with
   * one lock per snapshot, too), a snapshot answering while another does takes the other's answer
   * hundreds of times in this test.
   */
  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void snapshotsAnsweringAtOnceNeverTakeEachOthersAnswers() throws Exception {
    // No remembered answers, and alice still bound somewhere: every question reaches the enforcer.
    Rbac granted = Rbac.of(Rbac.builtInModel(), rules("g, alice, operator, prod/*"), 0);
    Rbac revoked = Rbac.of(Rbac.builtInModel(), rules("g, alice, operator, staging/*"), 0);
    Subject alice = user("alice");
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<Integer>> wrong = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        boolean askGranted = t % 2 == 0;
        wrong.add(pool.submit(() -> {
          int count = 0;
          for (int i = 0; i < 5_000; i++) {
            boolean answer = (askGranted ? granted : revoked).allowed(alice, "prod/shop", "pods", "get");
            if (answer != askGranted) {
              count++;
            }
          }
          return count;
        }));
      }
      for (Future<Integer> result : wrong) {
        assertEquals(0, result.get());
      }
    } finally {
      pool.shutdownNow();
    }
  }

  private static boolean allowed(String user, KubeRequestAttributes request) {
    return RBAC.allowed(user(user), request.domain("prod"), request.object(), request.verb());
  }

  private static Subject user(String name) {
    return new Subject(name, List.of());
  }

  /** The built-in policy followed by {@code extra}. */
  private static List<Rule> rules(String extra) {
    List<Rule> rules = new ArrayList<>(Rbac.parseCsv(Rbac.builtInPolicies()));
    rules.addAll(Rbac.parseCsv(extra));
    return rules;
  }

  private static void assertCsvError(String csv, String expectedStart) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Rbac.parseCsv(csv));
    assertTrue(e.getMessage().startsWith(expectedStart), e.getMessage());
  }

  private static void assertModelError(String model, String expected) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Rbac.of(model, Rbac.parseCsv(Rbac.builtInPolicies())));
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }
}
