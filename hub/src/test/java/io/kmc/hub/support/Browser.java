package io.kmc.hub.support;

import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Debian's headless Chromium, driven by Debian's chromedriver through Selenium: nothing is downloaded
 * (Selenium Manager is never asked, since both paths are given). {@link #available()} says whether
 * this machine has them; {@code .ci/run} installs them, so CI always does.
 */
public final class Browser implements AutoCloseable {

  public static final Path CHROMIUM = Path.of(System.getProperty("kmc.chromium", "/usr/bin/chromium"));
  public static final Path CHROMEDRIVER = Path.of(System.getProperty("kmc.chromedriver", "/usr/bin/chromedriver"));
  /** axe-core from its webjar on the test classpath. */
  private static final String AXE = "/META-INF/resources/webjars/axe-core/4.6.3/axe.min.js";

  private final ChromeDriver driver;
  private final Path profile;

  public static boolean available() {
    return Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
  }

  public static String missing() {
    return "no Chromium here (" + CHROMIUM + ", " + CHROMEDRIVER + "): apt-get install -y chromium chromium-driver, "
        + "as .ci/run does";
  }

  public Browser() {
    try {
      profile = Files.createTempDirectory("kmc-chromium");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments(List.of("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--window-size=1280,800", "--user-data-dir=" + profile));
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
    driver = new ChromeDriver(service, options);
    driver.manage().timeouts().scriptTimeout(Duration.ofSeconds(30));
  }

  public ChromeDriver driver() {
    return driver;
  }

  /** Saves what the page shows now as target/console-screenshots/{name}.png. */
  public Path screenshot(String name) {
    try {
      Path dir = Path.of("target", "console-screenshots");
      Files.createDirectories(dir);
      Path file = dir.resolve(name + ".png");
      Files.write(file, ((TakesScreenshot) driver).getScreenshotAs(OutputType.BYTES));
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Runs axe-core on the page as it is and answers its violations as JSON ({@code [{id, impact, help,
   * nodes}]}). Injected through the driver, which the page's Content-Security-Policy does not govern.
   */
  public String accessibilityViolations() {
    String axe;
    try (InputStream in = Browser.class.getResourceAsStream(AXE)) {
      if (in == null) {
        throw new IllegalStateException(AXE + " is not on the test classpath (org.webjars.npm:axe-core)");
      }
      axe = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    JavascriptExecutor js = driver;
    js.executeScript(axe);
    Object answer = js.executeAsyncScript("""
        const done = arguments[arguments.length - 1];
        axe.run(document, {resultTypes: ['violations']})
          .then(r => done(JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)})))))
          .catch(e => done(JSON.stringify([{id: 'axe-failed', impact: 'critical', help: String(e)}])));
        """);
    return String.valueOf(answer);
  }

  @Override
  public void close() {
    try {
      driver.quit();
    } finally {
      try (var files = Files.walk(profile)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      } catch (IOException e) {
        // a temporary profile left behind is harmless
      }
    }
  }
}
