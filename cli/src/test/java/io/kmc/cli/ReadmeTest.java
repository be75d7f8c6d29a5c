package io.kmc.cli;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a newcomer reads first stays true: the lines NewcomerWalkIT runs are the README's, every
 * variable a command uses is defined, the demo's watch shows what its create makes, and the things
 * people asked about (logs, the address agents dial, stopping, resetting) are said.
 */
class ReadmeTest {

  private static final Path ROOT = Path.of("..");
  /** Variables a shell already has. */
  private static final Set<String> GIVEN = Set.of("PWD", "PATH", "HOME", "KUBECONFIG");

  @Test
  void theWalkRunsTheReadmesLines() throws Exception {
    String readme = readme();
    for (String line : NewcomerWalkIT.README_LINES) {
      assertTrue(readme.lines().anyMatch(l -> l.strip().equals(line)), "README.md lacks the line: " + line);
    }
  }

  @Test
  void theTwoCommandsAreTheOnesCiAndTheHubUse() throws Exception {
    String readme = readme();
    assertTrue(readme.contains("\nmvn -B -q package -DskipTests && java -jar hub/target/kmc-hub.jar\n"));
    assertTrue(readme.contains("\nmvn -B verify\n"));
    List<String> ci = Files.readAllLines(ROOT.resolve(".ci").resolve("run"));
    assertEquals("mvn -B verify", ci.get(ci.size() - 1).strip());
  }

  @Test
  void everyVariableACommandUsesIsDefined() throws Exception {
    List<String> code = codeLines(readme());
    Set<String> defined = new LinkedHashSet<>(GIVEN);
    Pattern assignment = Pattern.compile("(?:^|\\s|export\\s+)([A-Z_][A-Z0-9_]*)=");
    code.forEach(line -> {
      Matcher m = assignment.matcher(line);
      while (m.find()) {
        defined.add(m.group(1));
      }
    });
    Matcher use = Pattern.compile("\\$\\{?([A-Za-z_][A-Za-z0-9_]*)").matcher(String.join("\n", code));
    List<String> undefined = new ArrayList<>();
    while (use.find()) {
      if (!defined.contains(use.group(1))) {
        undefined.add(use.group(1));
      }
    }
    assertEquals(List.of(), undefined, "variables the README's commands use without defining them");
  }

  @Test
  void theDemosWatchShowsWhatItsCreateMakes() throws Exception {
    List<String> code = codeLines(readme());
    String watch = code.stream().filter(l -> l.contains("kmc-demo.kubeconfig") && l.endsWith(" -w")).findFirst()
        .orElseThrow();
    String create = code.stream().filter(l -> l.contains("kmc-demo.kubeconfig") && l.contains(" create ")).findFirst()
        .orElseThrow();
    assertEquals(context(create), context(watch), "the watch and the create use one cluster");
  }

  @Test
  void theFirstHoursQuestionsAreAnswered() throws Exception {
    String readme = readme();
    for (String said : List.of("KMC_LOG_FORMAT=text", "server.public_url", "KMC_SERVER_PUBLIC_URL", "Ctrl-C",
        "What survives a restart", "rm -rf kmc-data", "kmc-data/initial-admin-password", "kube-sim/target/kmc-kube-sim.jar",
        "--access manage", "KMC_HUB_CA_FILE")) {
      assertTrue(readme.contains(said), "README.md does not say " + said);
    }
  }

  private static String context(String kubectlLine) {
    Matcher m = Pattern.compile("--context (\\S+)").matcher(kubectlLine);
    assertTrue(m.find(), kubectlLine);
    return m.group(1);
  }

  private static String readme() throws Exception {
    return Files.readString(ROOT.resolve("README.md"));
  }

  /** The lines of the README's fenced code blocks. */
  private static List<String> codeLines(String markdown) {
    List<String> lines = new ArrayList<>();
    boolean inCode = false;
    for (String line : markdown.lines().toList()) {
      if (line.strip().startsWith("```")) {
        inCode = !inCode;
      } else if (inCode) {
        lines.add(line.strip());
      }
    }
    return lines;
  }
}
