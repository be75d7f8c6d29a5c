package io.kmc.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The CLI without a hub: help everywhere, completion, one-line errors, the credentials file. */
class CliTest {

  private record Ran(int status, String out, String err) {
  }

  private static Ran run(Path home, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    Cli cli = new Cli(Map.of("HOME", home.toString()), new ByteArrayInputStream(new byte[0]), new PrintWriter(out),
        new PrintWriter(err), null, "kmc");
    int status = KmcMain.run(cli, args);
    return new Ran(status, out.toString(), err.toString());
  }

  @Test
  void everyCommandHasHelp(@TempDir Path home) {
    List<List<String>> commands = new ArrayList<>();
    collect(KmcMain.commandLine(new Cli(Map.of(), new ByteArrayInputStream(new byte[0]),
        new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()), null, "kmc")), new ArrayList<>(), commands);
    assertTrue(commands.size() > 20, commands.toString());
    for (List<String> command : commands) {
      List<String> args = new ArrayList<>(command);
      args.add("--help");
      Ran ran = run(home, args.toArray(String[]::new));
      assertEquals(0, ran.status(), command + ": " + ran.err());
      assertTrue(ran.out().contains("Usage: kmc"), command + ": " + ran.out());
    }
  }

  private static void collect(CommandLine line, List<String> path, List<List<String>> into) {
    into.add(List.copyOf(path));
    line.getSubcommands().forEach((name, sub) -> {
      if (!name.equals("help") && sub.getCommandName().equals(name)) {
        List<String> next = new ArrayList<>(path);
        next.add(name);
        collect(sub, next, into);
      }
    });
  }

  @Test
  void completionCoversTheCommands(@TempDir Path home) {
    Ran ran = run(home, "completion");
    assertEquals(0, ran.status());
    assertTrue(ran.out().contains("complete -F") && ran.out().contains("rotate-token") && ran.out().contains("--merge"),
        ran.out().substring(0, Math.min(500, ran.out().length())));
  }

  @Test
  void withoutALoginTheErrorSaysToLogIn(@TempDir Path home) {
    Ran ran = run(home, "clusters", "list");
    assertEquals(1, ran.status());
    assertEquals("error: not logged in to a hub: run kmc login <hub-url>\n", ran.err());
  }

  @Test
  void anUnreachableHubIsOneLineSayingWhatToCheck(@TempDir Path home) throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = socket.getLocalPort(); // closed again: nothing listens there now
    }
    Ran ran = run(home, "login", "http://127.0.0.1:" + port, "-u", "admin", "--password-stdin");
    assertEquals(1, ran.status());
    List<String> lines = ran.err().lines().filter(line -> !line.startsWith("warning:")).toList();
    assertEquals(1, lines.size(), ran.err());
    assertTrue(lines.get(0).startsWith("error: cannot connect to the hub at http://127.0.0.1:" + port
        + " (connection refused): is it running"), lines.get(0));
  }

  @Test
  void aWrongCommandLineSaysWhereHelpIs(@TempDir Path home) {
    Ran ran = run(home, "clusters", "add");
    assertEquals(2, ran.status());
    assertTrue(ran.err().startsWith("error: Missing required parameter: 'NAME'") && ran.err().contains("kmc clusters add --help"),
        ran.err());
  }

  @Test
  void theCredentialsFileIsReadableByItsOwnerOnly(@TempDir Path home) throws Exception {
    CliConfig config = new CliConfig();
    CliConfig.Hub hub = new CliConfig.Hub();
    hub.url = "https://hub.example.com";
    hub.user = "alice";
    hub.token = "kmc_0123456789abcdef01234567_secret";
    hub.ownToken = true;
    config.hubs.put(hub.url, hub);
    config.current = hub.url;
    Path file = home.resolve(".kmc").resolve("config");
    config.save(file);
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file.getParent())));
    CliConfig read = CliConfig.load(file);
    assertEquals("alice", read.hub(null, "kmc").user);
    assertFalse(hub.toString().contains("secret"));
  }
}
