package io.kmc.hub;

import io.kmc.hub.support.Browser;
import io.kmc.hub.support.Fleet;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The web console in a real browser (Debian's headless Chromium through Selenium) against a hub with
 * two simulated clusters and their real agents: sign in, the fleet, search, a Deployment updating live
 * after a scale through the hub, a followed log, and a developer who is not offered what RBAC forbids.
 * Each view is checked with axe-core and saved as a screenshot under target/console-screenshots/.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConsoleIT {

  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final String DEVELOPER = "dana";
  private static final String DEVELOPER_PASSWORD = "dana-console-password-1";
  private static final int BULK = 10_000;
  private static final int HUNDRED = 100;
  private static Fleet fleet;
  private static io.kmc.kubesim.KubeSim east;
  private static Hub hub;
  private static Browser browser;
  private static org.openqa.selenium.chrome.ChromeDriver driver;

  @BeforeAll
  static void start() {
    // The memory test sends 50 changes a second as admin while the admin's page searches: above the
    // default per-user rate limit (1,200 a minute), which is not what this test is about.
    fleet = new Fleet().hubSettings(java.util.Map.of("KMC_AUTH_REQUESTS_PER_MINUTE", "100000"));
    east = fleet.cluster("east");
    // West runs without metrics-server: the console shows "—" for its CPU and memory, not an error.
    fleet.cluster("west", options -> options.metricsApi(false));
    hub = fleet.hubs(1).get(0);
    fleet.agent("east", hub);
    fleet.agent("west", hub);
    for (String cluster : List.of("east", "west")) {
      fleet.awaitConnected(hub, cluster);
      ok(admin("PATCH", "/api/v1/clusters/" + cluster, new JsonObject()
          .put("labels", new JsonObject().put("env", cluster.equals("east") ? "prod" : "staging"))));
      ok(admin("POST", "/api/v1/clusters/" + cluster + "/deployments?namespace=default", deployment("web")));
    }
    ok(admin("POST", "/api/v1/users", new JsonObject().put("name", DEVELOPER).put("password", DEVELOPER_PASSWORD)));
    for (String cluster : List.of("east", "west")) {
      ok(admin("POST", "/api/v1/rbac/bindings", new JsonObject().put("subject", DEVELOPER).put("role", "developer")
          .put("domain", cluster + "/*")));
    }
    // Both Deployments indexed (and their pods running) before the browser looks.
    Fleet.eventually(WAIT, () -> search("kind=deployments&labelSelector=app%3Dweb").getInteger("total") == 2,
        "both web Deployments in the index");
    Fleet.eventually(WAIT, () -> search("kind=pods&labelSelector=app%3Dweb&summary.phase=Running")
        .getInteger("total") == 2, "a running web pod in each cluster");
  }

  @AfterAll
  static void stop() {
    if (browser != null) {
      browser.close();
    }
    if (fleet != null) {
      fleet.close();
    }
  }

  // ---- served as a console should be (no browser needed) ------------------------------------------

  @Test
  @Order(1)
  void thePageAndItsAssetsAreServedWithAStrictPolicyAndTheRightCaching() {
    for (String path : List.of("/", "/ui/", "/ui/search")) {
      HttpResponse<String> page = fleet.call(hub, "GET", path, null, null);
      assertEquals(200, page.statusCode(), path);
      assertTrue(page.headers().firstValue("Content-Type").orElse("").startsWith("text/html"), path);
      assertTrue(page.headers().firstValue("Cache-Control").orElse("").contains("no-cache"), path);
      String policy = page.headers().firstValue("Content-Security-Policy").orElse("");
      assertTrue(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"), policy);
      assertFalse(page.body().contains("<script>"), "no inline script: " + page.body());
    }
    String body = fleet.call(hub, "GET", "/", null, null).body();
    Matcher asset = Pattern.compile("/ui/assets/([0-9a-f]{16})/app\\.js").matcher(body);
    assertTrue(asset.find(), "the page names its versioned script: " + body);
    HttpResponse<String> script = fleet.call(hub, "GET", asset.group(), null, null);
    assertEquals(200, script.statusCode());
    assertTrue(script.headers().firstValue("Content-Type").orElse("").startsWith("text/javascript"));
    assertTrue(script.headers().firstValue("Cache-Control").orElse("").contains("immutable"));
    HttpResponse<String> old = fleet.call(hub, "GET", "/ui/assets/0000000000000000/app.js", null, null);
    assertEquals(200, old.statusCode());
    assertEquals("no-cache", old.headers().firstValue("Cache-Control").orElse(""), "another version is never kept");
    assertEquals(404, fleet.call(hub, "GET", "/ui/assets/" + asset.group(1) + "/nope.js", null, null).statusCode());
  }

  @Test
  @Order(2)
  void canIAnswersWhatRbacWouldDecideAndRefusesBadInput() {
    String token = fleet.login(hub, DEVELOPER, DEVELOPER_PASSWORD);
    JsonArray checks = new JsonArray()
        .add(check("deployments", "get", "east", "default"))
        .add(check("deployments", "patch", "east", "default"))
        .add(check("audit", "list", null, null))
        .add(check("deployments", "get", "nowhere", "default"));
    HttpResponse<String> answer = fleet.call(hub, "POST", "/api/v1/auth/can-i", token,
        new JsonObject().put("checks", checks));
    assertEquals(200, answer.statusCode(), answer.body());
    assertEquals(new JsonArray().add(true).add(false).add(false).add(false),
        new JsonObject(answer.body()).getJsonArray("results"));
    assertEquals(400, fleet.call(hub, "POST", "/api/v1/auth/can-i", token, new JsonObject().put("checks", "x"))
        .statusCode());
    assertEquals(400, fleet.call(hub, "POST", "/api/v1/auth/can-i", token,
        new JsonObject().put("checks", new JsonArray().add(new JsonObject().put("verb", "get")))).statusCode());
    assertEquals(401, fleet.call(hub, "POST", "/api/v1/auth/can-i", null, new JsonObject().put("checks", checks))
        .statusCode());
  }

  // ---- in the browser -----------------------------------------------------------------------------

  @Test
  @Order(10)
  void signInAndSeeBothClustersConnected() {
    Assumptions.assumeTrue(Browser.available(), Browser.missing());
    browser = new Browser();
    driver = browser.driver();
    driver.get(base() + "/");
    signIn("admin", Fleet.ADMIN_PASSWORD, true);
    browser.screenshot("01-login-failed");
    Object paint = ((JavascriptExecutor) driver).executeScript(
        "const p = performance.getEntriesByName('first-contentful-paint')[0]; return p ? p.startTime : -1;");
    long toFleet = signInTimed("admin", Fleet.ADMIN_PASSWORD);
    record("login page first contentful paint: " + Math.round(((Number) paint).doubleValue()) + " ms; "
        + "sign-in pressed to both clusters' rows on screen: " + toFleet + " ms");
    assertTrue(toFleet < 5000, "the overview took " + toFleet + " ms after signing in");
    waitFor(By.cssSelector("tr[data-key='east']"));
    waitFor(By.cssSelector("tr[data-key='west']"));
    wait(WAIT).until(d -> "connected".equals(cell("east", "state")) && "connected".equals(cell("west", "state")));
    assertTrue(cell("east", "labels").contains("env=prod"), cell("east", "labels"));
    assertTrue(cell("east", "kubernetes").startsWith("v1."), cell("east", "kubernetes"));
    wait(WAIT).until(d -> !"—".equals(cell("east", "pods")));
    // CPU and memory from east's metrics.k8s.io through the hub's pass-through; west has no metrics API.
    wait(WAIT).until(d -> cell("east", "cpu").matches("[0-9.]+(m| cores) of [0-9.]+(m| cores) \\([0-9]+%\\)"));
    assertTrue(cell("east", "memory").matches("[0-9.]+ (MiB|GiB) of [0-9.]+ GiB \\([0-9]+%\\)"), cell("east", "memory"));
    assertEquals("—", cell("west", "cpu"));
    assertEquals("—", cell("west", "memory"));
    wait(WAIT).until(d -> "live".equals(driver.findElement(By.id("live")).getAttribute("data-state")));
    assertAccessible("fleet");
    browser.screenshot("02-fleet");

    // The label filter narrows the table, and is in the link.
    WebElement filter = driver.findElement(By.id("label-filter"));
    filter.sendKeys("env=staging");
    wait(WAIT).until(d -> d.findElements(By.cssSelector("tr[data-key='east']")).isEmpty());
    assertEquals(1, driver.findElements(By.cssSelector("tr[data-key='west']")).size());
    assertTrue(driver.getCurrentUrl().contains("labels=env%3Dstaging"), driver.getCurrentUrl());
    // Typed away (WebDriver's clear() sends no input event): both clusters again.
    filter.sendKeys(Keys.chord(Keys.CONTROL, "a"), Keys.DELETE);
    waitFor(By.cssSelector("tr[data-key='east']"));

    // Sorting by a column header, from the keyboard.
    WebElement sortByName = driver.findElement(By.cssSelector("th[data-key='name'] button"));
    sortByName.sendKeys(Keys.ENTER);
    wait(WAIT).until(d -> "descending".equals(d.findElement(By.cssSelector("th[data-key='name']")).getAttribute("aria-sort")));
    wait(WAIT).until(d -> "west".equals(text("tbody tr td[data-col='name']")));

    // A cluster's name leads to everything indexed in it.
    driver.findElement(By.cssSelector("tr[data-key='east'] td[data-col='name'] a")).click();
    wait(WAIT).until(d -> Boolean.TRUE.equals(((JavascriptExecutor) d).executeScript(
        "const rows = [...document.querySelectorAll('#results tbody tr')];"
            + "return rows.length > 0 && rows.every(r => r.dataset.cluster === 'east');")));
    assertTrue(driver.getCurrentUrl().endsWith("#/search?cluster=east"), driver.getCurrentUrl());
  }

  @Test
  @Order(11)
  void searchByLabelAcrossTheFleetFromALink() {
    Assumptions.assumeTrue(driver != null, Browser.missing());
    go("#/search?kind=deployments&labelSelector=app%3Dweb");
    wait(WAIT).until(d -> d.findElements(By.cssSelector("#results tbody tr")).size() == 2);
    assertEquals(List.of("east", "west"), driver.findElements(By.cssSelector("#results tbody tr")).stream()
        .map(row -> row.getAttribute("data-cluster")).toList());
    assertTrue(text("#search-status").startsWith("2 objects in 2 clusters"), text("#search-status"));
    assertEquals("app=web", driver.findElement(By.id("q-labelSelector")).getAttribute("value"));
    assertAccessible("search");

    // The results follow the fleet: a new match appears without searching again.
    JsonObject canary = deployment("web-canary");
    canary.getJsonObject("metadata").put("labels", new JsonObject().put("app", "web").put("track", "canary"));
    ok(admin("POST", "/api/v1/clusters/west/deployments?namespace=default", canary));
    wait(WAIT).until(d -> text("#results tbody tr[data-name='web-canary']") != null
        && d.findElements(By.cssSelector("#results tbody tr")).size() == 3);
    assertTrue(text("#results tbody tr[data-name='web-canary']").contains("west"), "the new match is west's");
    browser.screenshot("03-search");

    // A search of every kind (here the canary's ReplicaSet and Pod) follows the fleet as well: scaled up,
    // the canary's second pod joins the results by itself.
    go("#/search?labelSelector=app%3Dweb-canary");
    wait(WAIT).until(d -> countRows("Pod") == 1 && countRows("ReplicaSet") == 1);
    wait(WAIT).until(d -> "2".equals(d.findElement(By.id("results")).getAttribute("data-followed-kinds")));
    ok(admin("PUT", "/api/v1/clusters/west/deployments/web-canary/scale?namespace=default", new JsonObject().put("replicas", 2)));
    wait(WAIT).until(d -> countRows("Pod") == 2);
    browser.screenshot("03b-search-several-kinds");
  }

  /** Rows of the results of one kind, read in one script (live tables replace their rows). */
  private static long countRows(String kind) {
    Object count = ((JavascriptExecutor) driver).executeScript("return [...document.querySelectorAll('#results tbody tr')]"
        + ".filter(r => [...r.cells].some(c => c.textContent.trim() === arguments[0])).length;", kind);
    return ((Number) count).longValue();
  }

  @Test
  @Order(12)
  void aDeploymentShowsItsReplicasChangeLiveAfterAScaleThroughTheHub() {
    Assumptions.assumeTrue(driver != null, Browser.missing());
    go("#/search?kind=deployments&labelSelector=app%3Dweb");
    wait(WAIT).until(d -> d.findElements(By.cssSelector("#results tbody tr[data-cluster='east'] a")).size() == 1);
    driver.findElement(By.cssSelector("#results tbody tr[data-cluster='east'] a")).click();
    wait(WAIT).until(d -> "1".equals(field("replicas")));
    assertTrue(driver.findElement(By.id("yaml")).getText().contains("name: web"));
    waitFor(By.id("scale"));
    waitFor(By.id("delete"));
    assertAccessible("deployment");

    ok(admin("PUT", "/api/v1/clusters/east/deployments/web/scale?namespace=default", new JsonObject().put("replicas", 3)));
    // No reload: the page learns it from the live stream.
    wait(WAIT).until(d -> "3".equals(field("replicas")));
    wait(WAIT).until(d -> "3".equals(field("readyReplicas")));
    assertTrue(driver.findElement(By.id("yaml")).getText().contains("replicas: 3"));
    browser.screenshot("04-deployment-live");
  }

  @Test
  @Order(13)
  void aPodLogIsFollowedLive() {
    Assumptions.assumeTrue(driver != null, Browser.missing());
    go("#/r/east/apps/v1/deployments/default/web");
    waitFor(By.id("pods-link")).click();
    wait(WAIT).until(d -> !d.findElements(By.cssSelector("#results tbody tr[data-cluster='east'] a")).isEmpty());
    driver.findElement(By.cssSelector("#results tbody tr[data-cluster='east'] a")).click();
    // The pod's own CPU and memory, from east's metrics API.
    wait(WAIT).until(d -> String.valueOf(field("cpu")).matches("[0-9]+m") && String.valueOf(field("memory")).matches("[0-9]+ MiB"));
    waitFor(By.id("logs")).click();
    wait(WAIT).until(d -> "following".equals(d.findElement(By.id("log-status")).getAttribute("data-state")));
    int first = logLines();
    // The simulated container writes a line every 50 ms: the page keeps growing without a reload.
    wait(WAIT).until(d -> logLines() > first + 10);
    assertAccessible("logs");
    browser.screenshot("05-logs");
  }

  @Test
  @Order(14)
  void propagationsAndAuditLogAreOfferedToTheAdmin() {
    Assumptions.assumeTrue(driver != null, Browser.missing());
    assertTrue(driver.findElement(By.cssSelector("#nav a[data-view='audit']")).isDisplayed());
    // The view is open before the propagation exists: it arrives, and its state changes, from the stream.
    JavascriptExecutor js = (JavascriptExecutor) driver;
    js.executeScript("performance.clearResourceTimings(); window.notReloaded = true;");
    driver.findElement(By.cssSelector("#nav a[data-view='propagations']")).click();
    wait(WAIT).until(d -> !d.findElements(By.cssSelector("#propagations[data-source='stream']")).isEmpty());
    JsonObject settings = new JsonObject().put("apiVersion", "v1").put("kind", "ConfigMap")
        .put("metadata", new JsonObject().put("name", "settings").put("namespace", "default"))
        .put("data", new JsonObject().put("mode", "fast"));
    JsonObject propagation = new JsonObject().put("apiVersion", "kmc.io/v1alpha1")
        .put("kind", "Propagation").put("metadata", new JsonObject().put("name", "settings"))
        .put("spec", new JsonObject().put("resources", new JsonArray().add(settings))
            .put("placement", new JsonObject().put("clusters", new JsonArray().add("east").add("west"))));
    ok(admin("POST", "/api/v1/propagations", propagation));
    // Per-cluster state, as the rollout goes on.
    wait(WAIT).until(d -> {
      String card = text("#propagations section[data-name='settings']");
      return card != null && card.contains("east\tapplied") && card.contains("west\tapplied");
    });
    // A new generation: each cluster's state follows it, still without a reload or a re-read.
    settings.getJsonObject("data").put("mode", "slow");
    ok(admin("PUT", "/api/v1/propagations/settings", propagation));
    wait(WAIT).until(d -> {
      String card = text("#propagations section[data-name='settings']");
      return card != null && card.contains("east\tapplied\t2") && card.contains("west\tapplied\t2");
    });
    assertEquals(Boolean.TRUE, js.executeScript("return window.notReloaded === true;"), "the page was not reloaded");
    assertEquals(0L, js.executeScript("return performance.getEntriesByType('resource')"
        + ".filter(e => e.name.includes('/api/v1/propagations')).length;"), "no poll of the propagations API");
    // One propagation, as a link: its card and its events, read again as the stream reports changes.
    go("#/propagations?name=settings");
    wait(WAIT).until(d -> {
      String events = text("#propagation-events tbody");
      return events != null && events.contains("Applied") && text("#propagations section[data-name='settings']") != null;
    });
    assertAccessible("one propagation");
    browser.screenshot("06b-propagation");
    go("#/propagations");
    wait(WAIT).until(d -> text("#propagations section[data-name='settings']") != null);
    assertAccessible("propagations");
    browser.screenshot("06-propagations");

    // From the keyboard: g then a opens the audit log.
    new org.openqa.selenium.interactions.Actions(driver).sendKeys("g").sendKeys("a").perform();
    wait(WAIT).until(d -> d.getCurrentUrl().endsWith("#/audit"));
    go("#/audit?user=admin&verb=patch");
    wait(WAIT).until(d -> !d.findElements(By.cssSelector("#audit tbody tr")).isEmpty());
    assertTrue(driver.findElement(By.cssSelector("#audit tbody")).getText().contains("deployments"),
        "the scale is in the audit log");
    assertAccessible("audit");
    browser.screenshot("07-audit");

    driver.findElement(By.id("theme")).click();
    browser.screenshot("08-audit-other-theme");
    assertAccessible("audit, other theme");
  }

  @Test
  @Order(15)
  void aDeveloperIsNotOfferedWhatRbacForbids() {
    Assumptions.assumeTrue(driver != null, Browser.missing());
    driver.findElement(By.id("logout")).click();
    waitFor(By.id("username"));
    signIn(DEVELOPER, DEVELOPER_PASSWORD, false);
    waitFor(By.cssSelector("tr[data-key='east']"));
    assertFalse(driver.findElement(By.cssSelector("#nav a[data-view='audit']")).isDisplayed());
    assertFalse(driver.findElement(By.cssSelector("#nav a[data-view='propagations']")).isDisplayed());

    go("#/r/east/apps/v1/deployments/default/web");
    wait(WAIT).until(d -> "3".equals(field("replicas")));
    wait(WAIT).until(d -> d.findElement(By.id("events")).getText().contains("may not read events"));
    waitFor(By.cssSelector("#actions[data-ready='true']"));
    assertTrue(driver.findElements(By.id("scale")).isEmpty(), "a developer may not scale");
    assertTrue(driver.findElements(By.id("pods-link")).isEmpty(), "a developer may not list pods");
    assertTrue(driver.findElements(By.id("delete")).isEmpty(), "a developer may not delete");
    assertTrue(driver.findElements(By.id("edit")).isEmpty(), "a developer may not patch, so is not offered Edit");
    browser.screenshot("09-developer-deployment");
    assertAccessible("deployment, developer");
  }

  @Test
  @Order(16)
  void aClusterWhoseAgentIsGoneIsShownStaleWithItsLastSync() {
    Assumptions.assumeTrue(driver != null, Browser.missing());
    go("#/fleet");
    wait(WAIT).until(d -> cell("west", "state").contains("connected"));
    fleet.stopAgent("west");
    // No reload: the stream reports the cluster's state and the page re-reads the registry.
    try {
      wait(WAIT).until(d -> cell("west", "state").startsWith("stale") && cell("west", "state").contains("last sync"));
    } catch (org.openqa.selenium.TimeoutException e) {
      browser.screenshot("10-fleet-stale-failed");
      throw new AssertionError("west never showed stale with its last sync; it shows: " + cell("west", "state"), e);
    }
    assertTrue(cell("east", "state").contains("connected"), cell("east", "state"));
    assertNotEquals("—", cell("west", "lastSeen"), "a stale cluster still says when it was last seen");
    browser.screenshot("10-fleet-stale");
    // The developer signed in here may not list propagations: a link to one is answered by the stream's 403, not data.
    go("#/propagations?name=settings");
    wait(WAIT).until(d -> {
      String shown = text("#propagations");
      return shown != null && shown.contains("may not list propagations");
    });
    assertTrue(driver.findElements(By.cssSelector("#propagations section")).isEmpty(), "no propagation shown");
  }

  @Test
  @Order(17)
  void tenThousandResultsAreVirtualisedAndRenderedQuicklyAndKeyboardNavigable() {
    Assumptions.assumeTrue(driver != null, Browser.missing());
    // 10,000 ConfigMaps in east, indexed by its agent as any object is.
    east.create(new JsonObject().put("apiVersion", "v1").put("kind", "Namespace")
        .put("metadata", new JsonObject().put("name", "bulk"))).await();
    for (int start = 0; start < BULK; start += 500) {
      List<io.vertx.core.Future<JsonObject>> batch = new java.util.ArrayList<>();
      for (int i = start; i < start + 500; i++) {
        batch.add(east.create(new JsonObject().put("apiVersion", "v1").put("kind", "ConfigMap")
            .put("metadata", new JsonObject().put("name", String.format("cm-%05d", i)).put("namespace", "bulk")
                .put("labels", new JsonObject().put("app", "bulk").put("shard", String.valueOf(i % 100))))
            .put("data", new JsonObject().put("i", String.valueOf(i)))));
      }
      io.vertx.core.Future.all(batch).await();
    }
    Fleet.eventually(Duration.ofSeconds(120), () -> search("kind=configmaps&namespace=bulk&limit=1")
        .getInteger("total") == BULK, "all 10,000 ConfigMaps in the index");

    driver.findElement(By.id("logout")).click();
    waitFor(By.id("username"));
    signIn("admin", Fleet.ADMIN_PASSWORD, false);
    waitFor(By.cssSelector("tr[data-key='east']"));
    go("#/search?kind=configmaps&namespace=bulk");
    List<Long> renders = new java.util.ArrayList<>();
    int loaded = awaitLoaded(1);
    assertEquals(1000, loaded, "the first answer: 1,000 rows");
    renders.add(renderMs());
    while (loaded < BULK) {
      WebElement more = driver.findElement(By.id("search-more"));
      if (more.isDisplayed()) {
        more.click();
      }
      loaded = awaitLoaded(loaded + 1);
      renders.add(renderMs());
    }
    assertEquals(BULK, loaded);
    assertFalse(driver.findElement(By.id("search-more")).isDisplayed(), "everything loaded: no Load more");
    assertTrue(text("#search-status").startsWith("10000 objects in 1 cluster"), text("#search-status"));
    int inPage = driver.findElements(By.cssSelector("#results tbody tr")).size();
    assertTrue(inPage > 0 && inPage < 100, "only the rows in view are in the page: " + inPage);
    assertEquals(String.valueOf(BULK + 1), driver.findElement(By.id("results")).getAttribute("aria-rowcount"));
    long worst = renders.stream().mapToLong(Long::longValue).max().orElseThrow();
    record("search answer of 1,000 rows → on screen, per page while loading 10,000 (ms): " + renders
        + "; worst " + worst + " ms");
    assertTrue(worst <= 1000, "a page of results took " + worst + " ms to render: " + renders);

    // From the keyboard: End reaches the 10,000th row, arrows and Page Down move, Home returns.
    driver.findElement(By.cssSelector("#results tbody tr[data-index='0'] a")).sendKeys(Keys.END);
    wait(WAIT).until(d -> "cm-09999".equals(focusedRowName()));
    long scrolled = System.nanoTime();
    driver.switchTo().activeElement().sendKeys(Keys.ARROW_UP);
    wait(WAIT).until(d -> "cm-09998".equals(focusedRowName()));
    record("keyboard: ↑ at the 10,000th row answered in " + (System.nanoTime() - scrolled) / 1_000_000
        + " ms (WebDriver round trips included)");
    driver.switchTo().activeElement().sendKeys(Keys.HOME);
    wait(WAIT).until(d -> "cm-00000".equals(focusedRowName()));
    driver.switchTo().activeElement().sendKeys(Keys.PAGE_DOWN);
    wait(WAIT).until(d -> focusedRowName() != null && focusedRowName().compareTo("cm-00001") > 0);
    int afterPage = Integer.parseInt(focusedRowName().substring(3));
    driver.switchTo().activeElement().sendKeys(Keys.ARROW_DOWN);
    wait(WAIT).until(d -> String.format("cm-%05d", afterPage + 1).equals(focusedRowName()));
    assertTrue(driver.findElements(By.cssSelector("#results tbody tr")).size() < 100);
    assertAccessible("search, 10,000 results");
    browser.screenshot("11-search-10000");
  }

  @Test
  @Order(18)
  void aConfigMapIsEditedAndAppliedWithServerSideApply() {
    Assumptions.assumeTrue(driver != null, Browser.missing());
    // Created by the console's own field manager: fields set by another (kubectl create, say) would be a
    // conflict for the first edit, as on a real cluster; that case comes below.
    ok(applyThroughHub("kmc-console", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: console-edit\n"
        + "  namespace: default\ndata:\n  mode: slow\n  keep: me\n"));
    go("#/r/east/core/v1/configmaps/default/console-edit");
    waitFor(By.id("edit")).click();
    WebElement editor = waitFor(By.id("yaml-edit"));
    String original = editor.getAttribute("value");
    assertTrue(original.contains("mode: slow") && !original.contains("resourceVersion") && !original.contains("managedFields"),
        "the editor holds the object without what the server owns: " + original);
    assertAccessible("yaml editor");

    // A refusal is shown as the cluster words it, and nothing changes.
    setEditor(original.replace("name: console-edit", "name: another-name"));
    driver.findElement(By.id("apply")).click();
    wait(WAIT).until(d -> String.valueOf(text("#edit-message")).contains("does not match the name on the URL"));
    assertTrue(text("#edit-message").startsWith("Not valid (400)"), text("#edit-message"));
    browser.screenshot("12-yaml-edit-refused");

    // Typed in the browser: the change, applied through the hub's pass-through as field manager kmc-console.
    setEditor(original.replace("mode: slow", "mode: fast"));
    ((JavascriptExecutor) driver).executeScript("const t = document.getElementById('yaml-edit');"
        + "const at = t.value.indexOf('keep: me') + 'keep: me'.length; t.focus(); t.setSelectionRange(at, at);");
    driver.switchTo().activeElement().sendKeys(Keys.ENTER, "  added: in-the-browser");
    driver.findElement(By.id("apply")).click();
    wait(WAIT).until(d -> String.valueOf(text("#action-message")).contains("console-edit applied"));
    assertTrue(driver.findElements(By.id("yaml-edit")).isEmpty(), "the editor closes after applying");
    wait(WAIT).until(d -> driver.findElement(By.id("yaml")).getText().contains("mode: fast"));
    browser.screenshot("13-yaml-applied");

    HttpResponse<String> read = admin("GET", "/api/v1/clusters/east/resources/core/v1/configmaps/console-edit?namespace=default", null);
    ok(read);
    JsonObject applied = new JsonObject(read.body());
    assertEquals(new JsonObject().put("mode", "fast").put("keep", "me").put("added", "in-the-browser"),
        applied.getJsonObject("data"), applied.encode());
    assertTrue(applied.getJsonObject("metadata").getJsonArray("managedFields").stream()
        .anyMatch(f -> "kmc-console".equals(((JsonObject) f).getString("manager"))
            && "Apply".equals(((JsonObject) f).getString("operation"))), applied.encode());

    // A field another manager owns and the edit changes: refused as a conflict naming the manager and the
    // field, and taken over only when the user asks for it.
    ok(applyThroughHub("ops-team",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: console-edit\n  namespace: default\ndata:\n  owner: ops\n"));
    wait(WAIT).until(d -> driver.findElement(By.id("yaml")).getText().contains("owner: ops"));
    waitFor(By.id("edit")).click();
    String withOwner = waitFor(By.id("yaml-edit")).getAttribute("value");
    setEditor(withOwner.replace("owner: ops", "owner: console"));
    driver.findElement(By.id("apply")).click();
    wait(WAIT).until(d -> String.valueOf(text("#edit-message")).contains("conflict with \"ops-team\""));
    assertTrue(text("#edit-message").contains(".data.owner"), text("#edit-message"));
    assertEquals("ops", new JsonObject(admin("GET", "/api/v1/clusters/east/resources/core/v1/configmaps/console-edit"
        + "?namespace=default", null).body()).getJsonObject("data").getString("owner"), "nothing changed");
    assertAccessible("apply conflict");
    browser.screenshot("13b-yaml-conflict");
    driver.findElement(By.id("apply-force")).click();
    wait(WAIT).until(d -> String.valueOf(text("#action-message")).contains("console-edit applied"));
    JsonObject forced = new JsonObject(admin("GET", "/api/v1/clusters/east/resources/core/v1/configmaps/console-edit"
        + "?namespace=default", null).body());
    assertEquals("console", forced.getJsonObject("data").getString("owner"), forced.encode());
    assertFalse(forced.getJsonObject("metadata").getJsonArray("managedFields").stream()
        .map(f -> (JsonObject) f).filter(f -> "ops-team".equals(f.getString("manager")))
        .anyMatch(f -> f.encode().contains("f:owner")), "the field moved to kmc-console: " + forced.encode());
  }

  @Test
  @Order(19)
  void aTerminalWithATtyRunsCommandsAndFollowsTheWindowSize() {
    Assumptions.assumeTrue(driver != null, Browser.missing());
    JsonObject pods = search("kind=pods&labelSelector=app%3Dweb&cluster=east&summary.phase=Running");
    String pod = pods.getJsonArray("items").getJsonObject(0).getString("name");
    go("#/r/east/core/v1/pods/default/" + pod);
    // Anything xterm.js does that the strict policy refuses (an inline <style>, say) is reported here.
    ((JavascriptExecutor) driver).executeScript("window.cspViolations = [];"
        + "document.addEventListener('securitypolicyviolation', e => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));");
    waitFor(By.id("shell")).click();
    wait(WAIT).until(d -> "open".equals(d.findElement(By.id("terminal-status")).getAttribute("data-state")));
    assertEquals("true", driver.findElement(By.id("terminal-status")).getAttribute("data-tty"), "xterm.js with a TTY");
    assertFalse(driver.findElements(By.cssSelector("#terminal canvas")).isEmpty(), "xterm's canvas renderer");
    // The interactive shell prompts; keys typed into the terminal reach it and its answers are drawn.
    wait(WAIT).until(d -> terminalText().contains("# "));
    WebElement keys = driver.findElement(By.cssSelector("#terminal .xterm-helper-textarea"));
    keys.sendKeys("echo tty-$HOSTNAME | grep tty", Keys.ENTER);
    wait(WAIT).until(d -> terminalText().contains("tty-" + pod));
    // The line is edited at the container's side: a backspace takes back what was typed.
    keys.sendKeys("echo abcx", Keys.BACK_SPACE, "d-edited", Keys.ENTER);
    wait(WAIT).until(d -> terminalText().lines().anyMatch(line -> line.strip().equals("abcd-edited")));
    assertFalse(terminalText().contains("abcxd"), terminalText());
    String size = driver.findElement(By.id("terminal")).getAttribute("data-size");
    String[] colsRows = size.split("x");
    keys.sendKeys("stty size", Keys.ENTER);
    wait(WAIT).until(d -> terminalText().contains(colsRows[1] + " " + colsRows[0]));
    assertAccessible("shell with a terminal");
    browser.screenshot("14-shell-tty");

    // A smaller window: the terminal fits itself and tells the container, whose stty sees the new size.
    driver.manage().window().setSize(new org.openqa.selenium.Dimension(1000, 640));
    try {
      wait(WAIT).until(d -> !size.equals(d.findElement(By.id("terminal")).getAttribute("data-size")));
      String[] resized = driver.findElement(By.id("terminal")).getAttribute("data-size").split("x");
      keys.sendKeys("clear", Keys.ENTER);
      keys.sendKeys("stty size", Keys.ENTER);
      wait(WAIT).until(d -> terminalText().contains(resized[1] + " " + resized[0]));
      record("shell: window 1280×800 → 1000×640, terminal " + size + " → " + resized[0] + "x" + resized[1]
          + ", and stty size in the container followed");
    } finally {
      driver.manage().window().setSize(new org.openqa.selenium.Dimension(1280, 800));
    }
    assertEquals(List.of(), ((JavascriptExecutor) driver).executeScript("return window.cspViolations;"),
        "nothing refused by the Content-Security-Policy");
    // Ctrl-D on the empty line ends the shell's input, and the shell with it.
    keys.sendKeys(Keys.chord(Keys.CONTROL, "d"));
    wait(WAIT).until(d -> "ended".equals(d.findElement(By.id("terminal-status")).getAttribute("data-state")));
  }

  /** What the xterm terminal shows, as its screen-reader mirror holds it. */
  private static String terminalText() {
    Object text = ((JavascriptExecutor) driver).executeScript(
        "const t = document.querySelector('#terminal .xterm-accessibility-tree'); return t ? t.innerText : '';");
    return String.valueOf(text);
  }

  @Test
  @Order(20)
  void aLineTerminalRunsACommandAndShowsItsOutput() throws Exception {
    Assumptions.assumeTrue(driver != null, Browser.missing());
    JsonObject pods = search("kind=pods&labelSelector=app%3Dweb&cluster=east&summary.phase=Running");
    String pod = pods.getJsonArray("items").getJsonObject(0).getString("name");
    // The terminal when xterm.js cannot be loaded, asked for by the link.
    go("#/exec/east/default/" + pod + "?terminal=line");
    wait(WAIT).until(d -> "open".equals(d.findElement(By.id("terminal-status")).getAttribute("data-state")));
    assertEquals("false", driver.findElement(By.id("terminal-status")).getAttribute("data-tty"));
    WebElement input = driver.findElement(By.id("terminal-input"));
    input.sendKeys("echo hello from $HOSTNAME | grep hello", Keys.ENTER);
    wait(WAIT).until(d -> driver.findElement(By.id("terminal")).getText().contains("hello from " + pod));
    input.sendKeys("ls /nope", Keys.ENTER);
    wait(WAIT).until(d -> !d.findElements(By.cssSelector("#terminal .stderr")).isEmpty());
    assertTrue(driver.findElement(By.cssSelector("#terminal .stderr")).getText().contains("/nope"),
        driver.findElement(By.id("terminal")).getText());
    assertAccessible("shell");
    browser.screenshot("14-shell");
    // Ctrl-D on an empty line ends stdin (v5 half-close): the shell ends by itself.
    input.sendKeys(Keys.chord(Keys.CONTROL, "d"));
    wait(WAIT).until(d -> "ended".equals(d.findElement(By.id("terminal-status")).getAttribute("data-state")));

    // The same websocket from another site's page, or with a made-up ticket, is refused before any upgrade.
    String ticket = new JsonObject(admin("POST", "/api/v1/stream/tickets", null).body()).getString("ticket");
    String exec = fleet.uri(hub, "/k8s/clusters/east/api/v1/namespaces/default/pods/" + pod
        + "/exec?command=sh&stdin=true&stdout=true&ticket=").toString().replaceFirst("^http", "ws");
    assertEquals(403, handshakeStatus(exec + ticket, "http://evil.example"));
    assertEquals(401, handshakeStatus(exec + "kmcst_made-up", null));
    assertEquals(401, handshakeStatus(exec.replace("&ticket=", ""), null), "neither token nor ticket");
  }

  @Test
  @Order(21)
  void afterTheStreamIsCutThePageReconnectsAndResumesFromItsTokenWithoutMissingAChange() {
    Assumptions.assumeTrue(driver != null, Browser.missing());
    east.create(new JsonObject().put("apiVersion", "v1").put("kind", "Namespace")
        .put("metadata", new JsonObject().put("name", "resume"))).await();
    createConfigMap("resume", "before-cut");
    Fleet.eventually(WAIT, () -> search("kind=configmaps&namespace=resume").getInteger("total") == 1, "before-cut indexed");
    // The browser reaches the hub through a TCP proxy that the test can cut, as a load balancer restarting
    // or a network drop would: the server side of every connection goes, with nothing said first.
    try (CuttableProxy proxy = new CuttableProxy(fleet.memberVertx(), hub.port())) {
      driver.get(fleet.scheme() + "://127.0.0.1:" + proxy.port() + "/#/search?kind=configmaps&namespace=resume");
      signIn("admin", Fleet.ADMIN_PASSWORD, false);
      wait(WAIT).until(d -> d.findElements(By.cssSelector("#results tbody tr")).size() == 1);
      wait(WAIT).until(d -> "live".equals(d.findElement(By.id("live")).getAttribute("data-state")));
      // Watch what the page sends on its sockets from now on, and mark the page: a reload would lose both.
      ((JavascriptExecutor) driver).executeScript("window.sentOnSockets = []; const send = WebSocket.prototype.send;"
          + "WebSocket.prototype.send = function (data) { window.sentOnSockets.push(String(data)); return send.call(this, data); };");

      proxy.cut(true);
      wait(WAIT).until(d -> "reconnecting".equals(d.findElement(By.id("live")).getAttribute("data-state")));
      assertEquals("reconnecting…", text("#live"));
      browser.screenshot("15-reconnecting");
      // Changes while the page cannot hear them: added, changed, deleted.
      for (int i = 1; i <= 5; i++) {
        createConfigMap("resume", "during-cut-" + i);
      }
      ok(admin("DELETE", "/k8s/clusters/east/api/v1/namespaces/resume/configmaps/before-cut", null));
      Fleet.eventually(WAIT, () -> search("kind=configmaps&namespace=resume").getInteger("total") == 5, "the gap's changes indexed");
      proxy.cut(false);

      wait(WAIT).until(d -> "live".equals(d.findElement(By.id("live")).getAttribute("data-state")));
      // Read in one script: the rows are replaced as the search re-runs, and an element found a moment
      // earlier may be gone by the time its attribute is asked for.
      wait(WAIT).until(d -> List.of("during-cut-1", "during-cut-2", "during-cut-3", "during-cut-4", "during-cut-5")
          .equals(((JavascriptExecutor) d).executeScript(
              "return [...document.querySelectorAll('#results tbody tr')].map(row => row.dataset.name);")));
      Object sent = ((JavascriptExecutor) driver).executeScript("return window.sentOnSockets || null;");
      assertNotNull(sent, "the page was not reloaded");
      List<?> messages = (List<?>) sent;
      assertTrue(messages.stream().map(m -> new JsonObject(m.toString()))
          .anyMatch(m -> "subscribe".equals(m.getString("type")) && m.getString("resume") != null
              && "configmaps".equals(m.getString("resource"))),
          "the search's subscription resumed from its token: " + messages);
      assertTrue(proxy.connections() > 1, "the page opened new connections after the cut");
      browser.screenshot("16-resumed");
    }
  }

  /**
   * The page's memory while a search it shows follows 50 changes a second: the JavaScript heap after a
   * forced garbage collection (Chromium's DevTools protocol) and the page's element count, sampled six
   * times over kmc.console.soakSeconds (24 by default, to keep `mvn verify` short; docs/benchmarks.md has a 10-minute run).
   */
  @Test
  @Order(22)
  @Timeout(value = 1800, unit = TimeUnit.SECONDS)
  void pageMemoryStaysFlatUnderFiftyChangesASecond() throws Exception {
    Assumptions.assumeTrue(driver != null, Browser.missing());
    int seconds = Integer.getInteger("kmc.console.soakSeconds", 24);
    int objects = 100;
    east.create(new JsonObject().put("apiVersion", "v1").put("kind", "Namespace")
        .put("metadata", new JsonObject().put("name", "soak"))).await();
    for (int i = 0; i < objects; i++) {
      createConfigMap("soak", String.format("cm-%03d", i));
    }
    Fleet.eventually(WAIT, () -> search("kind=configmaps&namespace=soak").getInteger("total") == objects, "soak indexed");
    driver.get(base() + "/#/search?kind=configmaps&namespace=soak");
    driver.navigate().refresh(); // a fresh page (the same one might have been open, signed in)
    signIn("admin", Fleet.ADMIN_PASSWORD, false);
    awaitLoaded(objects);
    wait(WAIT).until(d -> "live".equals(d.findElement(By.id("live")).getAttribute("data-state")));

    // 50 merge patches a second through the hub, spread over 4 threads (each one every 80 ms).
    java.util.concurrent.atomic.AtomicInteger changes = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger failures = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.ScheduledExecutorService changer = java.util.concurrent.Executors.newScheduledThreadPool(4);
    for (int t = 0; t < 4; t++) {
      changer.scheduleAtFixedRate(() -> {
        int n = changes.incrementAndGet();
        java.net.http.HttpRequest patch = java.net.http.HttpRequest.newBuilder(fleet.uri(hub,
                String.format("/k8s/clusters/east/api/v1/namespaces/soak/configmaps/cm-%03d", n % objects)))
            .header("Authorization", "Bearer " + fleet.adminToken())
            .header("Content-Type", "application/merge-patch+json")
            .method("PATCH", java.net.http.HttpRequest.BodyPublishers.ofString(
                new JsonObject().put("data", new JsonObject().put("n", String.valueOf(n))).encode()))
            .build();
        try {
          if (fleet.send(patch).statusCode() != 200) {
            failures.incrementAndGet();
          }
        } catch (RuntimeException e) {
          failures.incrementAndGet();
        }
      }, t * 20L, 80, TimeUnit.MILLISECONDS);
    }
    List<long[]> samples = new java.util.ArrayList<>(); // {second, heap bytes, elements, answers}
    long started = System.nanoTime();
    try {
      for (int i = 1; i <= 6; i++) {
        Thread.sleep(seconds * 1000L / 6);
        driver.executeCdpCommand("HeapProfiler.collectGarbage", java.util.Map.of());
        Number used = (Number) driver.executeCdpCommand("Runtime.getHeapUsage", java.util.Map.of()).get("usedSize");
        Number elements = (Number) ((JavascriptExecutor) driver).executeScript("return document.getElementsByTagName('*').length;");
        String answers = driver.findElement(By.id("results")).getAttribute("data-answers");
        samples.add(new long[] {(System.nanoTime() - started) / 1_000_000_000L, used.longValue(), elements.longValue(),
            answers == null ? 0 : Long.parseLong(answers)});
        assertEquals("live", driver.findElement(By.id("live")).getAttribute("data-state"), "the stream stayed live");
      }
    } finally {
      changer.shutdownNow();
      changer.awaitTermination(10, TimeUnit.SECONDS);
    }
    double elapsed = (System.nanoTime() - started) / 1e9;
    StringBuilder table = new StringBuilder();
    samples.forEach(s -> table.append(String.format(" %ds: %.1f MiB, %d elements, %d answers;", s[0], s[1] / 1048576.0, s[2], s[3])));
    int made = changes.get() - failures.get();
    record(String.format("page memory under live updates: %d changes in %.0f s (%.1f/s, %d failed), JS heap after GC:%s",
        made, elapsed, made / elapsed, failures.get(), table));
    browser.screenshot("17-soak");
    assertTrue(made / elapsed > 40, "the changer kept up: " + made / elapsed + "/s, " + failures.get() + " failed");
    assertTrue(samples.get(5)[3] > samples.get(0)[3], "the page kept re-running the search while changes came");
    long first = samples.get(0)[1];
    long last = samples.get(5)[1];
    assertTrue(last <= Math.max(first * 13 / 10, first + 4 * 1048576), "the heap grew from " + first + " to " + last + ":" + table);
    assertTrue(samples.get(5)[2] <= samples.get(0)[2] + 50, "the page's elements grew:" + table);
  }

  @Test
  @Order(23)
  @Timeout(value = 600, unit = TimeUnit.SECONDS)
  void aSearchOfAHundredClustersOfAThousandObjectsIsRenderedQuickly() throws Exception {
    Assumptions.assumeTrue(driver != null, Browser.missing());
    // A hundred clusters whose agents are stand-ins speaking the agent protocol's index part (hello, a relist
    // of 1,000 ConfigMaps, pongs) to the hub's real agent endpoint: a hundred simulated clusters with real
    // agents do not fit on the test machine, and the console sees only what the hub's index answers.
    io.vertx.core.http.WebSocketClient client = fleet.memberVertx().createWebSocketClient(
        new io.vertx.core.http.WebSocketClientOptions().setMaxMessageSize(64 * 1024 * 1024)
            .setMaxConnections(HUNDRED + 10).setTrustAll(true).setVerifyHost(false));
    String agentUri = fleet.uri(hub, io.kmc.common.protocol.AgentEndpoint.PATH).toString().replaceFirst("^http", "ws");
    List<io.vertx.core.http.WebSocket> sockets = new java.util.ArrayList<>();
    long loadStarted = System.nanoTime();
    try {
      for (int c = 0; c < HUNDRED; c++) {
        String cluster = String.format("h%03d", c);
        HttpResponse<String> created = admin("POST", "/api/v1/clusters", new JsonObject().put("name", cluster)
            .put("labels", new JsonObject().put("fleet", "hundred")));
        ok(created);
        java.util.concurrent.BlockingQueue<io.kmc.common.protocol.Frame> answers = new java.util.concurrent.LinkedBlockingQueue<>();
        io.vertx.core.http.WebSocket ws = client.connect(new io.vertx.core.http.WebSocketConnectOptions()
                .setAbsoluteURI(agentUri).addHeader(io.kmc.common.protocol.AgentEndpoint.CLUSTER_HEADER, cluster)
                .addHeader("Authorization", "Bearer " + new JsonObject(created.body()).getString("token")))
            .await(30, TimeUnit.SECONDS);
        sockets.add(ws);
        ws.textMessageHandler(text -> {
          io.kmc.common.protocol.Frame frame = io.kmc.common.protocol.FrameCodec.decode(text);
          if (frame instanceof io.kmc.common.protocol.Frame.Ping ping) {
            ws.writeTextMessage(io.kmc.common.protocol.FrameCodec.encodeToString(
                new io.kmc.common.protocol.Frame.Pong(ping.sentAtMillis())));
          } else {
            answers.add(frame);
          }
        });
        standIn(ws, new io.kmc.common.protocol.Frame.Hello(List.of(2), cluster, "console-it", "v1.30.0", List.of("index")));
        assertTrue(answers.poll(30, TimeUnit.SECONDS) instanceof io.kmc.common.protocol.Frame.Welcome, cluster + ": welcome");
        assertTrue(answers.poll(30, TimeUnit.SECONDS) instanceof io.kmc.common.protocol.Frame.IndexAck, cluster + ": watermarks");
        for (int batch = 0; batch < 2; batch++) {
          List<io.kmc.common.protocol.Frame.IndexedObject> upserts = new java.util.ArrayList<>();
          for (int i = batch * 500; i < (batch + 1) * 500; i++) {
            upserts.add(new io.kmc.common.protocol.Frame.IndexedObject(java.util.UUID.randomUUID().toString(),
                "ns-" + (i % 4), String.format("cm-%04d", i), "1", java.util.Map.of("fleet", "hundred", "i", String.valueOf(i)),
                null, "2026-12-01T10:00:00Z", java.util.Map.of()));
          }
          standIn(ws, new io.kmc.common.protocol.Frame.Index(batch + 1, "", "v1", "configmaps", "ConfigMap", true,
              batch == 1 ? "console:1000" : null, batch == 0, batch == 1, upserts, List.of()));
        }
        for (int batch = 0; batch < 2; batch++) {
          io.kmc.common.protocol.Frame ack = answers.poll(60, TimeUnit.SECONDS);
          assertTrue(ack instanceof io.kmc.common.protocol.Frame.IndexAck a && a.error() == null, cluster + ": " + ack);
        }
      }
      Fleet.eventually(Duration.ofSeconds(120), () -> search("kind=configmaps&labelSelector=fleet%3Dhundred&limit=1")
          .getInteger("total") == HUNDRED * 1000, "100 × 1,000 ConfigMaps in the index");
      long loadSeconds = (System.nanoTime() - loadStarted) / 1_000_000_000;

      // Three fresh searches: each first answer of 1,000 rows (of 100,000 in 100 clusters) to its rows on screen.
      List<Long> renders = new java.util.ArrayList<>();
      for (int run = 0; run < 3; run++) {
        // Another link each time (run=), so each is a new view and a new search.
        go("#/search?kind=configmaps&labelSelector=fleet%3Dhundred&run=" + run);
        assertEquals(1000, awaitLoaded(1), "the first answer: 1,000 rows");
        renders.add(renderMs());
      }
      assertTrue(text("#search-status").startsWith("100000 objects in 100 clusters"), text("#search-status"));
      int inPage = driver.findElements(By.cssSelector("#results tbody tr")).size();
      assertTrue(inPage > 0 && inPage < 100, "only the rows in view are in the page: " + inPage);
      long worst = renders.stream().mapToLong(Long::longValue).max().orElseThrow();
      record("search of 100 clusters × 1,000 ConfigMaps (indexed in " + loadSeconds + " s): first answer of 1,000 "
          + "rows → on screen, 3 searches (ms): " + renders + "; worst " + worst + " ms");
      assertAccessible("search, 100 clusters");
      browser.screenshot("11b-search-100-clusters");
      // The first search is the one the issue measures. The later ones in the same page are recorded only: the
      // earlier searches' stream subscriptions are still receiving their initial state (100,000 ADDED each)
      // while they render, which on a loaded machine made them slower (console.md, "Not yet").
      assertTrue(renders.get(0) <= 1000, "the first answer took " + renders.get(0) + " ms to render: " + renders);

      // Load more, the first click at once, while the followed search's subscriptions start (changes only: no
      // 100,000 ADDED competing with the pages). Each page from the click to its rows. kmc.console.loadMorePages
      // (10 by default, to keep `mvn verify` short) pages; 99 reach the end of the 100,000 (docs/benchmarks.md).
      int pages = Math.max(5, Math.min(HUNDRED - 1, Integer.getInteger("kmc.console.loadMorePages", 10)));
      int target = (pages + 1) * 1000;
      go("#/search?kind=configmaps&labelSelector=fleet%3Dhundred&run=paging");
      int loaded = awaitLoaded(1);
      long pagingStarted = System.nanoTime();
      List<Long> pageMs = new java.util.ArrayList<>();
      List<Long> answerMs = new java.util.ArrayList<>();
      while (loaded < target) {
        long clicked = System.nanoTime();
        driver.findElement(By.id("search-more")).click();
        loaded = awaitLoaded(loaded + 1);
        pageMs.add((System.nanoTime() - clicked) / 1_000_000);
        answerMs.add(Long.parseLong(driver.findElement(By.id("results")).getAttribute("data-answer-ms")));
      }
      long pagingSeconds = (System.nanoTime() - pagingStarted) / 1_000_000;
      assertEquals(target, loaded);
      boolean end = target == HUNDRED * 1000;
      assertEquals(!end, driver.findElement(By.id("search-more")).isDisplayed(), "Load more offered until the end");
      if (end) {
        assertEquals(String.valueOf(HUNDRED * 1000 + 1),
            driver.findElement(By.id("results")).getAttribute("aria-rowcount"));
      }
      long slowest = pageMs.stream().mapToLong(Long::longValue).max().orElseThrow();
      record("Load more through 100 clusters × 1,000 ConfigMaps: " + pages + " pages in " + pagingSeconds + " ms; "
          + "per page click → rows (ms): first 5 " + pageMs.subList(0, 5) + ", last 5 " + pageMs.subList(pageMs.size() - 5,
          pageMs.size()) + ", median " + pageMs.stream().sorted().toList().get(pageMs.size() / 2) + ", slowest "
          + slowest + "; the search's answer alone (ms): first 5 " + answerMs.subList(0, 5) + ", last 5 "
          + answerMs.subList(answerMs.size() - 5, answerMs.size()));
    } finally {
      for (io.vertx.core.http.WebSocket ws : sockets) {
        ws.close();
      }
      client.close();
    }
  }

  /** A server-side apply of console-edit in east through the hub's Kubernetes pass-through, as the admin. */
  private static HttpResponse<String> applyThroughHub(String fieldManager, String yaml) {
    return fleet.send(java.net.http.HttpRequest.newBuilder(fleet.uri(hub,
            "/k8s/clusters/east/api/v1/namespaces/default/configmaps/console-edit?fieldManager=" + fieldManager))
        .header("Content-Type", "application/apply-patch+yaml").header("Authorization", "Bearer " + fleet.adminToken())
        .method("PATCH", java.net.http.HttpRequest.BodyPublishers.ofString(yaml)).build());
  }

  private static void standIn(io.vertx.core.http.WebSocket ws, io.kmc.common.protocol.Frame frame) throws Exception {
    ws.writeTextMessage(io.kmc.common.protocol.FrameCodec.encodeToString(frame)).await(30, TimeUnit.SECONDS);
  }

  private static void createConfigMap(String namespace, String name) {
    east.create(new JsonObject().put("apiVersion", "v1").put("kind", "ConfigMap")
        .put("metadata", new JsonObject().put("name", name).put("namespace", namespace))
        .put("data", new JsonObject().put("at", name))).await();
  }

  /**
   * A TCP proxy to the hub whose connections the test can cut: while cut, it closes what is open and
   * every new connection at once, as an unreachable hub would look to the browser.
   */
  private static final class CuttableProxy implements AutoCloseable {
    private final io.vertx.core.net.NetServer server;
    private final io.vertx.core.net.NetClient client;
    private final java.util.Set<io.vertx.core.net.NetSocket> open = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final java.util.concurrent.atomic.AtomicInteger accepted = new java.util.concurrent.atomic.AtomicInteger();
    private volatile boolean cut;

    CuttableProxy(io.vertx.core.Vertx vertx, int hubPort) {
      client = vertx.createNetClient();
      server = vertx.createNetServer().connectHandler(from -> {
        if (cut) {
          from.close();
          return;
        }
        accepted.incrementAndGet();
        from.pause();
        client.connect(hubPort, "127.0.0.1").onFailure(e -> from.close()).onSuccess(to -> {
          open.add(from);
          open.add(to);
          from.closeHandler(v -> { open.remove(from); to.close(); });
          to.closeHandler(v -> { open.remove(to); from.close(); });
          from.pipeTo(to);
          to.pipeTo(from);
          from.resume();
        });
      });
      Fleet.await(server.listen(0, "127.0.0.1"));
    }

    int port() {
      return server.actualPort();
    }

    int connections() {
      return accepted.get();
    }

    void cut(boolean on) {
      cut = on;
      if (on) {
        open.forEach(io.vertx.core.net.NetSocket::close);
      }
    }

    @Override
    public void close() {
      cut(true);
      Fleet.await(server.close());
      Fleet.await(client.close());
    }
  }

  /** The HTTP status that refused a websocket handshake (or 101 if it was accepted). */
  private static int handshakeStatus(String uri, String origin) throws Exception {
    java.net.http.WebSocket.Builder builder = java.net.http.HttpClient.newHttpClient().newWebSocketBuilder()
        .subprotocols("v4.channel.k8s.io");
    if (origin != null) {
      builder.header("Origin", origin);
    }
    try {
      builder.buildAsync(java.net.URI.create(uri), new java.net.http.WebSocket.Listener() { }).get(30, TimeUnit.SECONDS)
          .abort();
      return 101;
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof java.net.http.WebSocketHandshakeException refused) {
        return refused.getResponse().statusCode();
      }
      throw e;
    }
  }

  /** Replaces the YAML editor's text as a paste would, with the input event the page listens to. */
  private static void setEditor(String yaml) {
    ((JavascriptExecutor) driver).executeScript("const t = document.getElementById('yaml-edit'); t.value = arguments[0];"
        + "t.dispatchEvent(new Event('input'));", yaml);
  }

  /** Waits until the search table holds at least that many loaded rows; answers how many it holds. */
  private static int awaitLoaded(int atLeast) {
    wait(WAIT).withMessage(() -> "rows loaded: " + driver.findElement(By.id("results")).getAttribute("data-loaded")
        + ", wanted at least " + atLeast).until(d -> {
          String loaded = d.findElement(By.id("results")).getAttribute("data-loaded");
          return loaded != null && Integer.parseInt(loaded) >= atLeast;
        });
    return Integer.parseInt(driver.findElement(By.id("results")).getAttribute("data-loaded"));
  }

  private static long renderMs() {
    return Long.parseLong(driver.findElement(By.id("results")).getAttribute("data-render-ms"));
  }

  private static String focusedRowName() {
    Object name = ((JavascriptExecutor) driver).executeScript(
        "const row = document.activeElement && document.activeElement.closest('#results tbody tr');"
            + "return row ? row.dataset.name : null;");
    return name == null ? null : name.toString();
  }

  // ---- helpers ------------------------------------------------------------------------------------

  private static String base() {
    return fleet.uri(hub, "").toString();
  }

  private static void go(String hash) {
    ((JavascriptExecutor) driver).executeScript("location.hash = arguments[0]", hash);
  }

  private static void signIn(String user, String password, boolean wrong) {
    WebElement name = waitFor(By.id("username"));
    name.clear();
    name.sendKeys(user);
    WebElement secret = driver.findElement(By.id("password"));
    secret.clear();
    secret.sendKeys(wrong ? password + "-wrong" : password);
    secret.sendKeys(Keys.ENTER);
    if (wrong) {
      wait(WAIT).until(d -> d.findElement(By.id("login-message")).getText().contains("Wrong user name or password"));
    } else {
      waitFor(By.id("nav"));
      wait(WAIT).until(d -> d.findElement(By.id("nav")).isDisplayed());
    }
  }

  /**
   * Signs in and answers the milliseconds, as the page measures them, from pressing the button to the
   * fleet table showing both clusters (checked on every animation frame, not by WebDriver's polling).
   */
  private static long signInTimed(String user, String password) {
    WebElement name = waitFor(By.id("username"));
    name.clear();
    name.sendKeys(user);
    WebElement secret = driver.findElement(By.id("password"));
    secret.clear();
    secret.sendKeys(password);
    Object millis = ((JavascriptExecutor) driver).executeAsyncScript("""
        const done = arguments[arguments.length - 1];
        const started = performance.now();
        document.getElementById('login-submit').click();
        (function check() {
          if (document.querySelectorAll('tr[data-key]').length >= 2) done(performance.now() - started);
          else requestAnimationFrame(check);
        })();
        """);
    return Math.round(((Number) millis).doubleValue());
  }

  private static void record(String measurement) {
    System.out.println("ConsoleIT: " + measurement);
    try {
      java.nio.file.Path file = java.nio.file.Path.of("target", "console-screenshots", "timings.txt");
      java.nio.file.Files.createDirectories(file.getParent());
      java.nio.file.Files.writeString(file, measurement + "\n", java.nio.file.StandardOpenOption.CREATE,
          java.nio.file.StandardOpenOption.APPEND);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static String cell(String cluster, String column) {
    return String.valueOf(text("tr[data-key='" + cluster + "'] td[data-col='" + column + "']"));
  }

  private static String field(String name) {
    return text("#summary dd[data-field='" + name + "']");
  }

  /**
   * The text of the first element the selector finds, or null: read in one script, since live tables
   * replace their rows and an element found a moment earlier may be gone.
   */
  private static String text(String selector) {
    Object text = ((JavascriptExecutor) driver).executeScript(
        "const e = document.querySelector(arguments[0]); return e ? e.innerText.trim() : null;", selector);
    return text == null ? null : text.toString();
  }

  private static int logLines() {
    return driver.findElement(By.id("log")).getText().split("\n").length;
  }

  private static WebElement waitFor(By by) {
    return wait(WAIT).until(ExpectedConditions.presenceOfElementLocated(by));
  }

  /** A wait that asks again when an element it looked at was replaced meanwhile (live pages re-render). */
  private static WebDriverWait wait(Duration timeout) {
    WebDriverWait wait = new WebDriverWait(driver, timeout);
    wait.ignoring(org.openqa.selenium.StaleElementReferenceException.class);
    return wait;
  }

  /** No serious or critical axe-core violation on the page as it is. */
  private static void assertAccessible(String view) {
    JsonArray violations = new JsonArray(browser.accessibilityViolations());
    JsonArray bad = new JsonArray();
    violations.forEach(v -> {
      String impact = ((JsonObject) v).getString("impact");
      if ("serious".equals(impact) || "critical".equals(impact)) {
        bad.add(v);
      }
    });
    assertTrue(bad.isEmpty(), "accessibility of " + view + ": " + bad.encodePrettily());
  }

  private static JsonObject check(String resource, String verb, String cluster, String namespace) {
    JsonObject check = new JsonObject().put("resource", resource).put("verb", verb);
    if (cluster != null) {
      check.put("cluster", cluster).put("namespace", namespace);
    }
    return check;
  }

  private static JsonObject search(String query) {
    HttpResponse<String> answer = admin("GET", "/api/v1/search?" + query, null);
    return answer.statusCode() == 200 ? new JsonObject(answer.body()) : new JsonObject().put("total", -1);
  }

  private static HttpResponse<String> admin(String method, String path, JsonObject body) {
    return fleet.call(hub, method, path, fleet.adminToken(), body);
  }

  private static void ok(HttpResponse<String> answer) {
    assertNotNull(answer);
    assertTrue(answer.statusCode() / 100 == 2, answer.statusCode() + " " + answer.body());
  }

  private static JsonObject deployment(String name) {
    JsonObject labels = new JsonObject().put("app", name);
    return new JsonObject()
        .put("metadata", new JsonObject().put("name", name).put("labels", labels))
        .put("spec", new JsonObject().put("replicas", 1)
            .put("selector", new JsonObject().put("matchLabels", labels))
            .put("template", new JsonObject()
                .put("metadata", new JsonObject().put("labels", labels))
                .put("spec", new JsonObject().put("containers", new JsonArray()
                    .add(new JsonObject().put("name", name).put("image", "nginx:1.27"))))));
  }

}
