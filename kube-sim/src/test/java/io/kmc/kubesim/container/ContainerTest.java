package io.kmc.kubesim.container;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The simulated container's programs, run the way an exec runs them, without any HTTP in between. */
@ExtendWith(VertxExtension.class)
class ContainerTest {

  /** What one run printed and returned. */
  record Run(int status, String out, String err, byte[] outBytes) {
  }

  private WorkerExecutor workers;
  private Context context;
  private Container container;

  @BeforeEach
  void setUp(Vertx vertx) {
    workers = vertx.createSharedWorkerExecutor("container-test", 2);
    context = vertx.getOrCreateContext();
    container = onContext(() -> new Container(new Container.Spec("shop", "web-7d4b9", "nginx", "10.1.2.3",
        "nginx:1.25", Map.of("MODE", "slow"), ""), 64L * 1024 * 1024, vertx, workers));
  }

  @AfterEach
  void tearDown() {
    workers.close();
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void programsPrintWhatBusyBoxPrints() {
    assertEquals("hi there\n", exec(null, "echo", "hi", "there").out());
    assertEquals("web-7d4b9\n", exec(null, "cat", "/etc/hostname").out());
    assertEquals("web-7d4b9\n", exec(null, "hostname").out());
    assertEquals("/\n", exec(null, "pwd").out());
    String env = exec(null, "env").out();
    assertTrue(env.contains("MODE=slow\n") && env.contains("HOSTNAME=web-7d4b9\n") && env.contains("PATH="), env);
    String listing = exec(null, "ls", "-l", "/etc").out();
    assertTrue(listing.matches("(?s)total \\d+\n.*-rw-r--r-- +1 root +root +10 \\w{3} [ \\d]\\d \\d\\d:\\d\\d hostname\n.*"),
        listing);
    assertTrue(exec(null, "ls", "/").out().contains("tmp\n"));
    assertTrue(exec(null, "ls", "/bin").out().contains("sha256sum\nsleep\n"), "every program is in /bin");
    assertEquals(0, exec(null, "test", "-x", "/bin/tar").status());
    Run missing = exec(null, "cat", "/nope");
    assertEquals(1, missing.status());
    assertEquals("cat: can't open '/nope': No such file or directory\n", missing.err());
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void everydayProgramsAndBuiltins() {
    assertEquals("a-1\nb-2\n", exec(null, "printf", "%s-%d\\n", "a", "1", "b", "2").out());
    assertEquals("a\tb\n", exec(null, "echo", "-e", "a\\tb").out());
    assertEquals("no newline", exec(null, "echo", "-n", "no newline").out());
    assertEquals("2\nthree\n3\n2\n1\n", exec(null, "sh", "-c",
        "printf 'one\\ntwo\\nthree\\n' > /tmp/l; grep -c o /tmp/l; tail -n 1 /tmp/l; seq 3 | sort -r").out());
    assertEquals("one\ntwo\n", exec(null, "head", "-n", "2", "/tmp/l").out());
    assertEquals("3 /tmp/l\n", exec(null, "wc", "-l", "/tmp/l").out());
    assertEquals("/tmp/d/e/f/g\n", exec(null, "sh", "-c",
        "mkdir -p /tmp/d/e/f && cd /tmp/d/e && touch f/g && cp -r /tmp/d /tmp/copy && ls /tmp/copy/e/f/*").out()
        .replace("/tmp/copy", "/tmp/d"));
    assertEquals("moved\n", exec(null, "sh", "-c", "echo moved > /tmp/a; mv /tmp/a /tmp/b; cat /tmp/b; test -e /tmp/a")
        .out());
    assertTrue(exec(null, "sh", "-c", "ln -s /etc/hostname /tmp/link; ls -l /tmp/link; cat /tmp/link").out()
        .matches("(?s)lrwxrwxrwx .* /tmp/link -> /etc/hostname\nweb-7d4b9\n"));
    assertEquals("", exec(null, "sh", "-c", "rm -rf /tmp/d /tmp/copy; ls /tmp/d 2>/dev/null").out());
    assertEquals(0, exec(null, "sh", "-c", "[ -d /tmp ] && [ ! -f /tmp ] && test 3 -gt 2 -a x = x").status());
    assertEquals("/bin/ls\ncd is a shell builtin\n", exec(null, "sh", "-c", "which ls; type cd").out());
    assertEquals("1\nV=x\n", exec("", "sh", "-c", "read X; echo $?; export V=x; env | grep ^V=").out());
    assertEquals("uid=0(root) gid=0(root) groups=0(root)\nroot\nLinux\n",
        exec(null, "sh", "-c", "id; whoami; uname").out());
    assertTrue(exec(null, "date", "+%Y-%m-%d").out().matches("\\d{4}-\\d\\d-\\d\\d\n"));
    assertEquals(7, exec(null, "sh", "-c", "exec sh -c 'exit 7'; echo not reached").status());
    assertEquals("300000 /tmp/n\n300000\n", exec(null, "sh", "-c",
        "seq 300000 > /tmp/n; wc -l /tmp/n; sort -n -r /tmp/n | head -n 1").out(), "big inputs go to a worker");
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void unknownCommandsAreNotFoundWithStatus127() {
    Run direct = exec(null, "nosuch", "arg");
    assertEquals(127, direct.status());
    assertEquals("sh: nosuch: not found\n", direct.err());
    assertEquals("127\n", exec(null, "sh", "-c", "nosuch 2>/dev/null; echo $?").out());
    assertEquals(127, exec(null, "/usr/local/nowhere/tool").status());
    assertEquals("x\n", exec(null, "/bin/echo", "x").out(), "programs are found by their path too");
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void shellListsPipesAndRedirections() {
    assertEquals(3, exec(null, "sh", "-c", "exit 3").status());
    assertEquals(3, exec(null, "sh", "-c", "echo before; exit 3; echo after").status());
    assertEquals("a\nyes\n", exec(null, "sh", "-c", "echo a; false && echo no || echo yes").out());
    assertEquals("6\n", exec(null, "sh", "-c", "echo hello | cat | wc -c").out());
    assertEquals("data\n2\n", exec(null, "sh", "-c",
        "echo data > /tmp/f; cat /tmp/f; echo more >> /tmp/f; wc -l < /tmp/f").out());
    assertEquals(1, exec(null, "sh", "-c", "! true").status());
    assertEquals("oops\n", exec(null, "sh", "-c", "echo oops >&2").err());
    assertEquals("both\n", exec(null, "sh", "-c", "sh -c 'echo both >&2' 2>&1").out());
    Run syntax = exec(null, "sh", "-c", "echo 'unterminated");
    assertEquals(2, syntax.status());
    assertEquals("sh: syntax error: unterminated quoted string\n", syntax.err());
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void shellExpandsVariablesSubstitutionsAndGlobs() {
    assertEquals("1 dflt web-7d4b9 slow\n", exec(null, "sh", "-c", "X=1; echo \"$X ${Y:-dflt} $HOSTNAME\" $MODE").out());
    assertEquals("a b|c\n", exec(null, "sh", "-c", "V='a  b'; echo $V\"|c\"").out());
    assertEquals("host is web-7d4b9\n", exec(null, "sh", "-c", "echo host is $(hostname)").out());
    assertEquals("/tmp/a.txt /tmp/b.txt\n", exec(null, "sh", "-c",
        "touch /tmp/a.txt /tmp/b.txt /tmp/c.log; echo /tmp/*.txt").out());
    assertEquals("*.none\n", exec(null, "sh", "-c", "cd /tmp && echo *.none").out(), "an unmatched glob stays");
    assertEquals("x y\n", exec(null, "sh", "-c", "echo $1 $2", "name", "x", "y").out());
    assertEquals("A=only\nonly\n", exec(null, "sh", "-c", "A=only env | grep ^A=; A=only printenv A").out());
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void stdinReachesCatAndAnInteractiveShellReadsItALineAtATime() {
    assertEquals("abc\ndef", exec("abc\ndef", "cat").out());
    assertEquals("one\n", exec("echo one\n", "sh").out());
    assertEquals("one\n/tmp\n", exec("echo one\ncd /tmp\npwd\n", "sh").out());
    assertEquals("[first|second]\n", exec("read A B; echo \"[$A|$B]\"\nfirst second\n", "sh").out());
    Run shell = exec("echo one\ncd /tmp\npwd\nread A B; echo \"[$A|$B]\"\nfirst second\nexit 4\necho never\n", "sh");
    assertEquals("one\n/tmp\n[first|second]\n", shell.out());
    assertEquals(4, shell.status());
    assertEquals("x\n", exec("x\n", "sh", "-c", "cat; cat").out(), "the second cat finds stdin at its end");
    String manyLines = "true\n".repeat(5_000) + "echo done\n";
    assertEquals("done\n", exec(manyLines, "sh").out(), "a long script does not grow the stack");
    assertEquals("done\n", exec(null, "sh", "-c", "true; ".repeat(5_000) + "echo done").out());
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void sleepWaitsOnATimerAndStopsWhenCancelled() {
    long start = System.nanoTime();
    assertEquals(0, exec(null, "sleep", "0.2").status());
    assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(190));
    Cancellation cancellation = new Cancellation();
    Promise<Integer> status = Promise.promise();
    context.runOnContext(v -> {
      Console console = new Console(Output.DISCARD, Output.DISCARD, false, 1024);
      container.exec(List.of("sleep", "60"), console.stdio(), cancellation).onComplete(status);
      context.owner().setTimer(50, id -> cancellation.cancel());
    });
    assertEquals(130, await(status.future()));
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void aTerminalEchoesEditsAndInterrupts() {
    Buffer screen = Buffer.buffer();
    Promise<Integer> status = Promise.promise();
    context.runOnContext(v -> {
      Output toScreen = data -> {
        screen.appendBuffer(data);
        return Future.succeededFuture();
      };
      Console console = new Console(toScreen, toScreen, true, 1024);
      container.exec(List.of("sh"), console.stdio(), new Cancellation()).onComplete(status);
      console.terminal().resize(120, 40);
      console.input(Buffer.buffer("echo hx\u007fi\r"));
      console.input(Buffer.buffer("stty size\r"));
      console.input(Buffer.buffer("sleep 60\r"));
      context.owner().setTimer(50, id -> {
        console.input(Buffer.buffer(new byte[] {3}));
        console.input(Buffer.buffer("exit 5\r"));
      });
    });
    assertEquals(5, await(status.future()));
    assertEquals("# echo hx\b \bi\r\nhi\r\n# stty size\r\n40 120\r\n# sleep 60\r\n^C\r\n# exit 5\r\n",
        screen.toString(StandardCharsets.UTF_8));
  }

  @Test
  @Timeout(value = 20, timeUnit = TimeUnit.SECONDS)
  void tarCreatesWhatKubectlCpReadsAndExtractsWhatItWrites() throws Exception {
    byte[] big = new byte[3 * 1024 * 1024 + 17];
    new Random(7).nextBytes(big);
    byte[] archive = tar(Map.of("data/big.bin", big, "data/notes.txt", "hello\n".getBytes(StandardCharsets.UTF_8)));
    Run extracted = exec(archive, "tar", "-xmf", "-", "-C", "/tmp");
    assertEquals(0, extracted.status(), extracted.err());
    assertEquals("hello\n", exec(null, "cat", "/tmp/data/notes.txt").out());
    assertEquals(sha256(big) + "  /tmp/data/big.bin\n", exec(null, "sha256sum", "/tmp/data/big.bin").out());

    Run created = exec(null, "tar", "cf", "-", "/tmp/data");
    assertEquals(0, created.status());
    assertEquals("tar: Removing leading `/' from member names\n", created.err());
    Map<String, byte[]> members = untar(created.outBytes());
    assertEquals(List.of("tmp/data/", "tmp/data/big.bin", "tmp/data/notes.txt"), new ArrayList<>(members.keySet()));
    assertArrayEquals(big, members.get("tmp/data/big.bin"));

    Run resumed = exec(null, "sh", "-c", "tar cf - /tmp/data/notes.txt | tail -c+513");
    assertEquals("hello\n", new String(resumed.outBytes(), 0, 6, StandardCharsets.UTF_8),
        "tail -c+513 skips the 512-byte header");

    assertEquals(2, exec(null, "tar", "cf", "-", "/missing").status());
    Run garbage = exec("not a tar archive at all, not even close; ".repeat(20), "tar", "xf", "-");
    assertEquals(2, garbage.status());
    assertTrue(garbage.err().startsWith("tar: This does not look like a tar archive"), garbage.err());
    assertEquals(0, exec(null, "test", "-d", "/tmp/data").status());
    assertEquals(1, exec(null, "test", "-d", "/tmp/data/notes.txt").status());
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void aFullDiskFailsWrites(Vertx vertx) {
    Container small = onContext(() -> new Container(new Container.Spec("shop", "tiny", "c", "", "busybox", Map.of(),
        "/work"), 4096, vertx, workers));
    Run run = execIn(small, null, "sh", "-c", "pwd; printf '%0999d' 0 > a; printf '%04000d' 0 > b; echo $?");
    assertEquals("/work\n1\n", run.out());
    assertTrue(run.err().contains("No space left on device"), run.err());
  }

  // ---- helpers ----

  private Run exec(Object stdin, String... argv) {
    return execIn(container, stdin, argv);
  }

  private Run execIn(Container target, Object stdin, String... argv) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    Promise<Integer> status = Promise.promise();
    context.runOnContext(v -> {
      Console console = new Console(collect(out), collect(err), false, 64 * 1024);
      target.exec(List.of(argv), console.stdio(), new Cancellation()).onComplete(status);
      if (stdin != null) {
        byte[] bytes = stdin instanceof byte[] raw ? raw : ((String) stdin).getBytes(StandardCharsets.UTF_8);
        feed(console, bytes, 0);
      } else {
        console.endInput();
      }
    });
    int code = await(status.future());
    return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8), out.toByteArray());
  }

  /** Feeds stdin in 32 KiB pieces, waiting whenever the process is behind, as a transport does. */
  private static void feed(Console console, byte[] bytes, int from) {
    int offset = from;
    while (offset < bytes.length) {
      int end = Math.min(bytes.length, offset + 32 * 1024);
      Future<Void> accepted = console.input(Buffer.buffer(java.util.Arrays.copyOfRange(bytes, offset, end)));
      offset = end;
      if (!accepted.isComplete()) {
        int next = offset;
        accepted.onSuccess(v -> feed(console, bytes, next));
        return;
      }
    }
    console.endInput();
  }

  private static Output collect(ByteArrayOutputStream sink) {
    return data -> {
      sink.writeBytes(data.getBytes());
      return Future.succeededFuture();
    };
  }

  private <T> T onContext(java.util.function.Supplier<T> action) {
    Promise<T> result = Promise.promise();
    context.runOnContext(v -> result.complete(action.get()));
    return await(result.future());
  }

  /** Waits a bounded time: a test that hangs must fail, not hang the build. */
  private static <T> T await(Future<T> future) {
    try {
      return future.toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("not completed within 5 s: " + e, e);
    }
  }

  private static byte[] tar(Map<String, byte[]> files) throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
      for (Map.Entry<String, byte[]> file : new java.util.TreeMap<>(files).entrySet()) {
        TarArchiveEntry entry = new TarArchiveEntry(file.getKey());
        entry.setSize(file.getValue().length);
        tar.putArchiveEntry(entry);
        tar.write(file.getValue());
        tar.closeArchiveEntry();
      }
    }
    return bytes.toByteArray();
  }

  private static Map<String, byte[]> untar(byte[] archive) throws Exception {
    Map<String, byte[]> members = new java.util.LinkedHashMap<>();
    try (TarArchiveInputStream tar = new TarArchiveInputStream(new ByteArrayInputStream(archive))) {
      TarArchiveEntry entry;
      while ((entry = tar.getNextEntry()) != null) {
        members.put(entry.getName(), tar.readAllBytes());
      }
    }
    return members;
  }

  private static String sha256(byte[] data) throws Exception {
    return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(data));
  }
}
