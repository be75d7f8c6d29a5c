package io.kmc.kubesim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Unmodified kubectl's interactive commands against the simulator: exec (exit codes, stdin, a TTY
 * through a pseudo-terminal), attach, cp both ways and port-forward.
 *
 * <p>Which protocols get exercised depends on the kubectl: 1.30 and later speak websockets
 * ({@code v5.channel.k8s.io} for exec, attach and cp, SPDY tunnelled in a websocket for
 * port-forward from 1.31); older ones plain SPDY. On machines with gcloud's kubectl dispatcher,
 * which runs the kubectl matching the server's minor version, both are tested by announcing
 * v1.32 and then v1.29.
 */
@org.junit.jupiter.api.extension.ExtendWith(VertxExtension.class)
class KubectlExecIT {

  private static final String POD = """
      apiVersion: v1
      kind: Pod
      metadata:
        name: box
      spec:
        containers:
        - name: main
          image: busybox:1.36
          stdin: true
          ports:
          - containerPort: 80
          env:
          - name: GREETING
            value: hello
      """;

  static List<Arguments> kubectls() {
    List<Arguments> runs = new ArrayList<>();
    for (Path binary : Kubectl.available()) {
      runs.add(Arguments.of(binary, "v1.32.0"));
      if (Files.exists(binary.resolveSibling("kubectl.1.29"))) {
        runs.add(Arguments.of(binary, "v1.29.0"));
      }
    }
    return runs;
  }

  @ParameterizedTest(name = "{0} against a {1} server")
  @MethodSource("kubectls")
  @Timeout(value = 120, timeUnit = TimeUnit.SECONDS)
  void interactiveCommandsWork(Path binary, String serverVersion, Vertx vertx, @TempDir Path workDir)
      throws Exception {
    KubeSim sim = KubeSim.start(vertx, new KubeSimOptions().gitVersion(serverVersion).seed(true)
        .controllerDelayMillis(10)).await();
    try {
      Path kubeconfig = Files.writeString(workDir.resolve("kubeconfig"), sim.kubeconfig("sim"));
      Kubectl kubectl = new Kubectl(binary, kubeconfig, workDir);
      kubectl.ok("apply", "-f", kubectl.write("pod.yaml", POD).toString());
      kubectl.ok("wait", "--for=condition=Ready", "pod/box", "--timeout=20s");

      exec(kubectl);
      errors(kubectl);
      attach(kubectl);
      copy(kubectl, workDir);
      portForward(kubectl);
      terminal(kubectl, workDir);
    } finally {
      sim.close().await();
    }
  }

  private static void exec(Kubectl kubectl) throws Exception {
    assertEquals("hi\n", kubectl.ok("exec", "box", "--", "echo", "hi"));
    Kubectl.Result exit = kubectl.run("exec", "box", "--", "sh", "-c", "exit 3");
    assertEquals(3, exit.exitCode(), exit.output());
    assertTrue(exit.output().contains("command terminated with exit code 3"), exit.output());
    Path input = kubectl.write("input.txt", "line one\nline two\n");
    assertEquals("line one\nline two\n", kubectl.runWithInput(input, "exec", "-i", "box", "--", "cat").output());
    assertEquals("2\nline two\n", kubectl.runWithInput(input, "exec", "-i", "box", "--", "sh", "-c",
        "cat > /tmp/in.txt; wc -l < /tmp/in.txt; tail -n 1 /tmp/in.txt").output());
  }

  private static void errors(Kubectl kubectl) throws Exception {
    Kubectl.Result unknownCommand = kubectl.run("exec", "box", "--", "frobnicate");
    assertEquals(127, unknownCommand.exitCode(), unknownCommand.output());
    assertTrue(unknownCommand.output().contains("sh: frobnicate: not found"), unknownCommand.output());
    Kubectl.Result unknownPod = kubectl.run("exec", "ghost", "--", "ls");
    assertEquals(1, unknownPod.exitCode());
    assertTrue(unknownPod.output().contains("pods \"ghost\" not found"), unknownPod.output());
    Kubectl.Result unknownContainer = kubectl.run("exec", "box", "-c", "nope", "--", "ls");
    assertEquals(1, unknownContainer.exitCode());
    assertTrue(unknownContainer.output().contains("container nope is not valid for pod box"),
        unknownContainer.output());
  }

  private static void attach(Kubectl kubectl) throws Exception {
    Path input = kubectl.write("attach.txt", "echo me back\n");
    Kubectl.Result attached = kubectl.runWithInput(input, "attach", "-i", "box");
    assertEquals(0, attached.exitCode(), attached.output());
    assertTrue(attached.output().contains("echo me back\n"), attached.output());
  }

  /** A file bigger than any websocket frame or SPDY data frame, both ways, byte for byte; and a directory. */
  private static void copy(Kubectl kubectl, Path workDir) throws Exception {
    byte[] payload = new byte[5 * 1024 * 1024 + 7];
    new Random(14).nextBytes(payload);
    Path local = Files.write(workDir.resolve("payload.bin"), payload);
    kubectl.ok("cp", local.toString(), "box:/tmp/payload.bin");
    assertEquals(sha256(payload) + "  /tmp/payload.bin\n", kubectl.ok("exec", "box", "--", "sha256sum",
        "/tmp/payload.bin"));
    Path back = workDir.resolve("back.bin");
    kubectl.ok("cp", "box:/tmp/payload.bin", back.toString());
    assertArrayEquals(payload, Files.readAllBytes(back));

    Path dir = Files.createDirectories(workDir.resolve("site/assets"));
    Files.writeString(dir.resolve("app.js"), "console.log('hi')\n");
    Files.writeString(dir.getParent().resolve("index.html"), "<h1>hi</h1>\n");
    kubectl.ok("cp", dir.getParent().toString(), "box:/srv/site");
    assertEquals("/srv/site/assets/app.js\n/srv/site/index.html\n",
        kubectl.ok("exec", "box", "--", "sh", "-c", "ls /srv/site/assets/*.js /srv/site/*.html"));
  }

  private static void portForward(Kubectl kubectl) throws Exception {
    Process forward = kubectl.start("port-forward", "pod/box", ":80");
    try {
      String output = kubectl.awaitOutput(forward, "Forwarding from 127.0.0.1:", 20);
      Matcher port = Pattern.compile("Forwarding from 127\\.0\\.0\\.1:(\\d+) -> 80").matcher(output);
      assertTrue(port.find(), output);
      byte[] sent = new byte[200_000];
      new Random(80).nextBytes(sent);
      for (int connection = 0; connection < 2; connection++) {
        try (Socket socket = new Socket("127.0.0.1", Integer.parseInt(port.group(1)))) {
          socket.setSoTimeout(10_000);
          OutputStream out = socket.getOutputStream();
          InputStream in = socket.getInputStream();
          Thread writer = new Thread(() -> {
            try {
              out.write(sent);
              socket.shutdownOutput();
            } catch (java.io.IOException e) {
              throw new java.io.UncheckedIOException(e);
            }
          });
          writer.start();
          assertArrayEquals(sent, in.readAllBytes(), "the echo server sends everything back, then closes");
          writer.join(10_000);
        }
      }
      assertTrue(kubectl.output(forward).contains("Handling connection for " + port.group(1)));
      assertTrue(forward.isAlive(), "port-forward keeps running: " + kubectl.output(forward));
    } finally {
      forward.destroy();
      forward.waitFor(10, TimeUnit.SECONDS);
    }
  }

  /**
   * {@code exec -it}: what is typed goes through the simulated line discipline and shell; the
   * session ends with the shell's exit code. Skipped when python3 is not installed.
   */
  private static void terminal(Kubectl kubectl, Path workDir) throws Exception {
    Kubectl.Result result = kubectl.shellInTerminal("box");
    if (result == null) {
      return;
    }
    assertEquals(4, result.exitCode(), result.output());
    assertTrue(result.output().contains("# echo term=$TERM\r\nterm=xterm\r\n# exit 4\r\n"), result.output());
  }

  private static String sha256(byte[] data) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
  }
}
