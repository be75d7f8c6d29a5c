package io.kmc.kubesim.container;

import io.kmc.kubesim.container.Script.AndOr;
import io.kmc.kubesim.container.Script.Assignment;
import io.kmc.kubesim.container.Script.Literal;
import io.kmc.kubesim.container.Script.Node;
import io.kmc.kubesim.container.Script.Part;
import io.kmc.kubesim.container.Script.Pipeline;
import io.kmc.kubesim.container.Script.Redirect;
import io.kmc.kubesim.container.Script.Sequence;
import io.kmc.kubesim.container.Script.Substitution;
import io.kmc.kubesim.container.Script.Variable;
import io.kmc.kubesim.container.Script.Word;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One shell process ({@code sh}) in a container, and the runner of every command: it expands words,
 * sets up redirections and pipes, looks commands up and keeps the state a shell keeps (working
 * directory, variables, {@code $?}, positional parameters). Everything runs asynchronously on the
 * container's event-loop context: a command's status is a future, and a list of commands is a chain
 * of them, never a blocked thread.
 *
 * <p>Messages and statuses follow BusyBox's ash, the shell of small images: an unknown command is
 * {@code sh: foo: not found} and status 127, a syntax error status 2, an interrupted command 130.
 */
final class Shell {

  static final int NOT_FOUND = 127;
  static final int INTERRUPTED = 130;
  static final int BROKEN_PIPE = 141;
  private static final int PIPE_BUFFER_BYTES = 64 * 1024;
  private static final Set<String> SHELL_BUILTINS =
      Set.of("cd", "exit", "export", "unset", "read", "set", ":", ".", "source", "exec", "which", "type", "command");

  private final Container container;
  private final Cancellation cancellation;
  private final Map<String, String> variables = new LinkedHashMap<>();
  private final Set<String> exported = new LinkedHashSet<>();
  private List<String> positional = List.of("sh");
  private String cwd;
  private int lastStatus;
  private Integer exitStatus;
  private Cancellation foreground;

  /** A shell whose environment is {@code environment} (all exported), in directory {@code cwd}. */
  Shell(Container container, Map<String, String> environment, String cwd, Cancellation cancellation) {
    this.container = container;
    this.cancellation = cancellation;
    this.cwd = cwd;
    environment.forEach((name, value) -> {
      variables.put(name, value);
      exported.add(name);
    });
  }

  Container container() {
    return container;
  }

  String cwd() {
    return cwd;
  }

  /** The exported variables, as a program started from this shell sees them. */
  Map<String, String> environment() {
    Map<String, String> environment = new LinkedHashMap<>();
    for (String name : exported) {
      if (variables.containsKey(name)) {
        environment.put(name, variables.get(name));
      }
    }
    return environment;
  }

  void positional(List<String> parameters) {
    this.positional = List.copyOf(parameters);
  }

  /** Runs an argv as a program, without any shell parsing: what an exec does. */
  Future<Integer> execute(List<String> argv, Stdio io) {
    return invoke(argv, environment(), io, cancellation);
  }

  /** Runs a script ({@code sh -c}); the status is the last command's, or the one {@code exit} gave. */
  Future<Integer> runScript(String source, Stdio io) {
    Node script;
    try {
      script = Script.parse(source);
    } catch (Script.SyntaxError error) {
      return io.stderr().write("sh: " + error.getMessage() + "\n").map(v -> 2);
    }
    return run(script, io, cancellation).map(status -> exitStatus != null ? exitStatus : status);
  }

  /**
   * Reads commands from stdin, a line at a time, until its end or {@code exit}. With a terminal it
   * prompts with {@code # } (a root shell) and takes Ctrl-C as "stop the command in the foreground,
   * or drop the line being typed".
   */
  Future<Integer> interactive(Stdio io) {
    Promise<Integer> done = Promise.promise();
    Terminal terminal = io.terminal();
    Runnable stopListening = terminal == null ? () -> { } : terminal.onInterrupt(() -> {
      if (foreground != null) {
        foreground.cancel();
      } else {
        io.stdout().write("# ");
      }
    });
    Runnable forget = cancellation.onCancel(() -> done.tryComplete(INTERRUPTED));
    repeat(() -> nextLine(io)).onComplete(ended -> done.tryComplete(exitStatus != null ? exitStatus : lastStatus));
    return done.future().onComplete(result -> {
      stopListening.run();
      forget.run();
    });
  }

  /** Prompts, reads and runs one line; false once there is nothing more to read or the shell exited. */
  private Future<Boolean> nextLine(Stdio io) {
    if (exitStatus != null || cancellation.cancelled()) {
      return Future.succeededFuture(false);
    }
    Future<Void> prompted = io.terminal() != null ? io.stdout().write("# ") : Future.succeededFuture();
    return prompted.compose(v -> Streams.readLine(io.stdin(), cancellation)).compose(line -> {
      if (line == null || cancellation.cancelled()) {
        return Future.succeededFuture(false);
      }
      Node script;
      try {
        script = Script.parse(line);
      } catch (Script.SyntaxError error) {
        lastStatus = 2;
        return io.stderr().write("sh: " + error.getMessage() + "\n").map(v -> true);
      }
      return run(script, io, cancellation).map(status -> true);
    });
  }

  /**
   * Runs {@code step} again and again while it answers true. Steps that complete at once loop here
   * instead of nesting callbacks, so a script of many thousand lines does not grow the stack.
   */
  private static Future<Void> repeat(java.util.function.Supplier<Future<Boolean>> step) {
    Promise<Void> done = Promise.promise();
    repeatFrom(step, done);
    return done.future();
  }

  private static void repeatFrom(java.util.function.Supplier<Future<Boolean>> step, Promise<Void> done) {
    while (true) {
      Future<Boolean> next = step.get();
      if (!next.isComplete()) {
        next.onComplete(result -> {
          if (result.succeeded() && result.result()) {
            repeatFrom(step, done);
          } else if (result.failed()) {
            done.tryFail(result.cause());
          } else {
            done.tryComplete();
          }
        });
        return;
      }
      if (next.failed()) {
        done.tryFail(next.cause());
        return;
      }
      if (!next.result()) {
        done.tryComplete();
        return;
      }
    }
  }

  // ---- running nodes ----

  private Future<Integer> run(Node node, Stdio io, Cancellation cancel) {
    if (exitStatus != null) {
      return Future.succeededFuture(exitStatus);
    }
    if (cancel.cancelled()) {
      return Future.succeededFuture(INTERRUPTED);
    }
    if (node instanceof Sequence sequence) {
      return runAll(sequence.items(), io, cancel);
    }
    if (node instanceof AndOr andOr) {
      return run(andOr.first(), io, cancel).compose(status -> {
        boolean next = andOr.and() ? status == 0 : status != 0;
        return next && exitStatus == null ? run(andOr.second(), io, cancel) : Future.succeededFuture(status);
      });
    }
    if (node instanceof Pipeline pipeline) {
      return pipeline(pipeline, io, cancel);
    }
    return command((Script.Command) node, io, cancel);
  }

  private Future<Integer> runAll(List<Node> items, Stdio io, Cancellation cancel) {
    int[] next = {0};
    int[] status = {0};
    return repeat(() -> {
      if (next[0] >= items.size()) {
        return Future.succeededFuture(false);
      }
      return run(items.get(next[0]++), io, cancel).map(result -> {
        status[0] = result;
        return true;
      });
    }).map(v -> status[0]);
  }

  private Future<Integer> pipeline(Pipeline pipeline, Stdio io, Cancellation cancel) {
    List<Script.Command> commands = pipeline.commands();
    List<Future<Integer>> statuses = new ArrayList<>();
    Pipe previous = null;
    for (int i = 0; i < commands.size(); i++) {
      Pipe next = i < commands.size() - 1 ? new Pipe(PIPE_BUFFER_BYTES) : null;
      Stdio stage = io.withStdin(previous == null ? io.stdin() : previous).withStdout(next == null ? io.stdout() : next);
      Pipe reading = previous;
      statuses.add(command(commands.get(i), stage, cancel).onComplete(done -> {
        if (next != null) {
          next.end();
        }
        if (reading != null) {
          reading.close();
        }
      }));
      previous = next;
    }
    return Future.join(statuses).transform(all -> {
      int status = statuses.get(statuses.size() - 1).result();
      return Future.succeededFuture(pipeline.negated() ? (status == 0 ? 1 : 0) : status);
    });
  }

  private Future<Integer> command(Script.Command command, Stdio io, Cancellation cancel) {
    return expandAll(command.words(), io, cancel).compose(argv -> assignments(command.assignments(), io, cancel)
        .compose(assigned -> redirect(command.redirects(), io, cancel).compose(redirected -> {
          if (redirected == null) {
            return Future.succeededFuture(lastStatus = 1);
          }
          if (argv.isEmpty()) {
            variables.putAll(assigned);
            return Future.succeededFuture(lastStatus = 0);
          }
          Map<String, String> environment = environment();
          environment.putAll(assigned);
          return invoke(argv, environment, redirected, cancel);
        })))
        .onSuccess(status -> lastStatus = status);
  }

  /** Runs a builtin or a program with this argv, in the foreground. */
  private Future<Integer> invoke(List<String> argv, Map<String, String> environment, Stdio io, Cancellation cancel) {
    Cancellation own = cancel.child();
    Cancellation previousForeground = foreground;
    foreground = own;
    String name = argv.get(0);
    Future<Integer> status;
    try {
      if (SHELL_BUILTINS.contains(name)) {
        status = builtin(argv, io, own);
      } else {
        Command program = Commands.find(name);
        if (program == null) {
          status = io.stderr().write("sh: " + name + ": not found\n").map(v -> NOT_FOUND);
        } else {
          status = program.run(new Invocation(this, argv, environment, io, own));
        }
      }
    } catch (RuntimeException error) {
      status = Future.failedFuture(error);
    }
    return status
        .map(code -> own.cancelled() && code == 0 ? INTERRUPTED : code)
        .recover(error -> failure(name, error, io))
        .onComplete(done -> {
          foreground = previousForeground;
          own.cancel();
        });
  }

  private static Future<Integer> failure(String name, Throwable error, Stdio io) {
    if (error instanceof Output.BrokenPipeException) {
      return Future.succeededFuture(BROKEN_PIPE);
    }
    String message = error instanceof FsException fs ? fs.getMessage() : String.valueOf(error.getMessage());
    return io.stderr().write(name + ": " + message + "\n").transform(written -> Future.succeededFuture(1));
  }

  // ---- builtins that change the shell itself ----

  private Future<Integer> builtin(List<String> argv, Stdio io, Cancellation cancel) {
    List<String> args = argv.subList(1, argv.size());
    switch (argv.get(0)) {
      case ":":
        return Future.succeededFuture(0);
      case "cd": {
        String target = args.isEmpty() ? variables.getOrDefault("HOME", "/") : args.get(0);
        String path = FileTree.absolute(cwd, target);
        FileTree.Node node = container.fs().find(path);
        if (!(node instanceof FileTree.Dir)) {
          String reason = node == null ? FsException.NOT_FOUND : FsException.NOT_A_DIRECTORY;
          return io.stderr().write("sh: cd: can't cd to " + target + ": " + reason + "\n").map(v -> 2);
        }
        cwd = path;
        variables.put("PWD", path);
        return Future.succeededFuture(0);
      }
      case "exit": {
        int status = lastStatus;
        if (!args.isEmpty()) {
          try {
            status = Integer.parseInt(args.get(0)) & 0xff;
          } catch (NumberFormatException e) {
            return io.stderr().write("sh: exit: Illegal number: " + args.get(0) + "\n").map(v -> exitStatus = 2);
          }
        }
        exitStatus = status;
        return Future.succeededFuture(status);
      }
      case "export": {
        if (args.isEmpty() || args.equals(List.of("-p"))) {
          StringBuilder listing = new StringBuilder();
          environment().forEach((name, value) -> listing.append("export ").append(name).append("='")
              .append(value.replace("'", "'\"'\"'")).append("'\n"));
          return io.stdout().write(listing.toString()).map(v -> 0);
        }
        for (String arg : args) {
          int equals = arg.indexOf('=');
          String name = equals < 0 ? arg : arg.substring(0, equals);
          if (equals >= 0) {
            variables.put(name, arg.substring(equals + 1));
          }
          exported.add(name);
        }
        return Future.succeededFuture(0);
      }
      case "unset":
        args.forEach(name -> {
          variables.remove(name);
          exported.remove(name);
        });
        return Future.succeededFuture(0);
      case "set": {
        if (args.isEmpty()) {
          StringBuilder listing = new StringBuilder();
          new java.util.TreeMap<>(variables).forEach((name, value) -> listing.append(name).append("='")
              .append(value.replace("'", "'\"'\"'")).append("'\n"));
          return io.stdout().write(listing.toString()).map(v -> 0);
        }
        int dashes = args.indexOf("--");
        if (dashes >= 0) {
          List<String> parameters = new ArrayList<>();
          parameters.add(positional.get(0));
          parameters.addAll(args.subList(dashes + 1, args.size()));
          positional = List.copyOf(parameters);
        }
        return Future.succeededFuture(0);
      }
      case "read":
        return read(args, io, cancel);
      case ".", "source":
        return source(args, io, cancel);
      case "exec":
        if (args.isEmpty()) {
          return Future.succeededFuture(0);
        }
        return invoke(args, environment(), io, cancel).map(status -> exitStatus = status);
      case "which", "type", "command":
        return which(argv, io);
      default:
        return Future.succeededFuture(NOT_FOUND);
    }
  }

  private Future<Integer> read(List<String> args, Stdio io, Cancellation cancel) {
    List<String> names = args.stream().filter(arg -> !arg.startsWith("-")).toList();
    return Streams.readLine(io.stdin(), cancel).map(line -> {
      if (line == null) {
        return 1;
      }
      List<String> fields = names.isEmpty() ? List.of() : List.of(line.strip().split("\\s+", names.size()));
      variables.put("REPLY", line);
      for (int i = 0; i < names.size(); i++) {
        variables.put(names.get(i), i < fields.size() ? fields.get(i) : "");
      }
      return 0;
    });
  }

  private Future<Integer> source(List<String> args, Stdio io, Cancellation cancel) {
    if (args.isEmpty()) {
      return io.stderr().write("sh: .: filename argument required\n").map(v -> 2);
    }
    String path = FileTree.absolute(cwd, args.get(0));
    FileTree.Node node = container.fs().find(path);
    if (!(node instanceof FileTree.File file)) {
      return io.stderr().write("sh: .: can't open '" + args.get(0) + "'\n").map(v -> 2);
    }
    Node script;
    try {
      script = Script.parse(new String(file.bytes(), StandardCharsets.UTF_8));
    } catch (Script.SyntaxError error) {
      return io.stderr().write("sh: " + args.get(0) + ": " + error.getMessage() + "\n").map(v -> 2);
    }
    return run(script, io, cancel);
  }

  private Future<Integer> which(List<String> argv, Stdio io) {
    String mode = argv.get(0);
    List<String> names = argv.subList(1, argv.size()).stream().filter(arg -> !arg.startsWith("-")).toList();
    StringBuilder out = new StringBuilder();
    int status = 0;
    for (String name : names) {
      boolean builtin = SHELL_BUILTINS.contains(name);
      boolean program = Commands.find(name) != null;
      if (!builtin && !program) {
        status = 1;
        if (mode.equals("type")) {
          out.append(name).append(": not found\n");
        }
      } else if (mode.equals("type")) {
        out.append(name).append(builtin ? " is a shell builtin\n" : " is /bin/" + name + "\n");
      } else {
        out.append(builtin && mode.equals("command") ? name : "/bin/" + name).append('\n');
      }
    }
    int result = status;
    return io.stdout().write(out.toString()).map(v -> result);
  }

  // ---- redirections ----

  /** The streams after the redirections, or null (after a message) when one could not be set up. */
  private Future<Stdio> redirect(List<Redirect> redirects, Stdio io, Cancellation cancel) {
    Future<Stdio> result = Future.succeededFuture(io);
    for (Redirect redirect : redirects) {
      result = result.compose(current -> current == null ? Future.succeededFuture(null)
          : expandOne(redirect.target(), current, cancel).compose(target -> apply(redirect, target, current)));
    }
    return result;
  }

  private Future<Stdio> apply(Redirect redirect, String target, Stdio io) {
    int fd = redirect.fd();
    if (redirect.op().equals(">&")) {
      Output duplicate = switch (target) {
        case "1" -> io.stdout();
        case "2" -> io.stderr();
        default -> null;
      };
      if (duplicate == null) {
        return io.stderr().write("sh: " + target + ": bad file descriptor\n").map(v -> null);
      }
      return Future.succeededFuture(fd == 2 ? io.withStderr(duplicate) : io.withStdout(duplicate));
    }
    if (redirect.op().equals("<")) {
      if (target.equals("/dev/null")) {
        return Future.succeededFuture(io.withStdin(Stdio.noInput()));
      }
      FileTree.Node node = container.fs().find(FileTree.absolute(cwd, target));
      if (!(node instanceof FileTree.File file)) {
        return io.stderr().write("sh: can't open '" + target + "': " + (node == null ? FsException.NOT_FOUND
            : FsException.IS_A_DIRECTORY) + "\n").map(v -> null);
      }
      Pipe input = new Pipe(Long.MAX_VALUE);
      Streams.pieces(file.chunks(), 0).forEachRemaining(input::write);
      input.end();
      return Future.succeededFuture(io.withStdin(input));
    }
    Output output;
    if (target.equals("/dev/null")) {
      output = Output.DISCARD;
    } else {
      String path = FileTree.absolute(cwd, target);
      try {
        if (redirect.op().equals(">")) {
          container.fs().writeFile(path, List.of(), 0644);
        } else {
          container.fs().append(path, new byte[0]);
        }
      } catch (FsException error) {
        return io.stderr().write("sh: can't create " + target + ": " + error.reason() + "\n").map(v -> null);
      }
      output = data -> {
        try {
          container.fs().append(path, data.getBytes());
          return Future.succeededFuture();
        } catch (FsException error) {
          return Future.failedFuture(new FsException("write error", error.reason()));
        }
      };
    }
    return Future.succeededFuture(fd == 2 ? io.withStderr(output) : io.withStdout(output));
  }

  // ---- expansion ----

  private Future<Map<String, String>> assignments(List<Assignment> assignments, Stdio io, Cancellation cancel) {
    Future<Map<String, String>> result = Future.succeededFuture(new LinkedHashMap<>());
    for (Assignment assignment : assignments) {
      result = result.compose(values -> expandOne(assignment.value(), io, cancel).map(value -> {
        values.put(assignment.name(), value);
        return values;
      }));
    }
    return result;
  }

  private Future<List<String>> expandAll(List<Word> words, Stdio io, Cancellation cancel) {
    Future<List<String>> result = Future.succeededFuture(new ArrayList<>());
    for (Word word : words) {
      result = result.compose(fields -> expand(word, io, cancel, true).map(more -> {
        fields.addAll(more);
        return fields;
      }));
    }
    return result;
  }

  /** A word expanded to a single string, without field splitting or globbing (assignments, redirections). */
  private Future<String> expandOne(Word word, Stdio io, Cancellation cancel) {
    return expand(word, io, cancel, false).map(fields -> String.join(" ", fields));
  }

  private Future<List<String>> expand(Word word, Stdio io, Cancellation cancel, boolean split) {
    List<Part> parts = word.parts();
    List<Future<String>> substitutions = new ArrayList<>();
    Future<Void> ready = Future.succeededFuture();
    for (Part part : parts) {
      if (part instanceof Substitution substitution) {
        Promise<String> value = Promise.promise();
        substitutions.add(value.future());
        ready = ready.compose(v -> substitute(substitution.script(), io, cancel).onComplete(value).mapEmpty());
      } else {
        substitutions.add(null);
      }
    }
    return ready.map(v -> {
      Fields fields = new Fields(split);
      for (int i = 0; i < parts.size(); i++) {
        Part part = parts.get(i);
        if (part instanceof Literal literal) {
          String text = literal.text();
          if (i == 0 && !literal.quoted() && (text.equals("~") || text.startsWith("~/"))) {
            text = variables.getOrDefault("HOME", "/root") + text.substring(1);
          }
          fields.literal(text, literal.quoted());
        } else if (part instanceof Variable variable) {
          String value = value(variable.name());
          if ((value == null || value.isEmpty()) && variable.fallback() != null) {
            Future<List<String>> fallback = expand(variable.fallback(), io, cancel, false);
            value = fallback.succeeded() ? String.join(" ", fallback.result()) : "";
          }
          fields.expansion(value == null ? "" : value, variable.quoted());
        } else {
          fields.expansion(substitutions.get(i).result(), ((Substitution) part).quoted());
        }
      }
      return fields.done(split ? this::glob : null);
    });
  }

  private String value(String name) {
    return switch (name) {
      case "?" -> Integer.toString(lastStatus);
      case "$" -> "1";
      case "#" -> Integer.toString(positional.size() - 1);
      case "@", "*" -> String.join(" ", positional.subList(1, positional.size()));
      default -> {
        if (name.chars().allMatch(Character::isDigit)) {
          int index = Integer.parseInt(name);
          yield index < positional.size() ? positional.get(index) : "";
        }
        yield variables.get(name);
      }
    };
  }

  /** $(script): its stdout, trailing newlines removed; its stderr goes where the command's goes. */
  private Future<String> substitute(Node script, Stdio io, Cancellation cancel) {
    Buffer captured = Buffer.buffer();
    Output capture = data -> {
      captured.appendBuffer(data);
      return Future.succeededFuture();
    };
    return run(script, io.withStdout(capture), cancel).map(status -> {
      lastStatus = status;
      return captured.toString(StandardCharsets.UTF_8).replaceAll("\n+$", "");
    });
  }

  /** Paths matching a glob; empty when nothing matches (the word is then kept as written). */
  private List<String> glob(List<String> segments, List<Pattern> patterns, boolean absolute) {
    List<String> matches = new ArrayList<>();
    globFrom(absolute ? "/" : cwd, absolute ? "/" : "", segments, patterns, 0, matches);
    matches.sort(null);
    return matches;
  }

  private void globFrom(String directory, String shown, List<String> segments, List<Pattern> patterns, int index,
      List<String> matches) {
    if (index == segments.size()) {
      matches.add(shown.length() > 1 && shown.endsWith("/") ? shown.substring(0, shown.length() - 1) : shown);
      return;
    }
    String prefix = shown.isEmpty() || shown.endsWith("/") ? shown : shown + "/";
    Pattern pattern = patterns.get(index);
    if (pattern == null) {
      String next = FileTree.absolute(directory, segments.get(index));
      if (container.fs().find(next) != null) {
        globFrom(next, prefix + segments.get(index), segments, patterns, index + 1, matches);
      }
      return;
    }
    if (!(container.fs().find(directory) instanceof FileTree.Dir dir)) {
      return;
    }
    boolean dotAllowed = segments.get(index).startsWith(".");
    for (String name : dir.children().keySet()) {
      if ((dotAllowed || !name.startsWith(".")) && pattern.matcher(name).matches()) {
        globFrom(FileTree.absolute(directory, name), prefix + name, segments, patterns, index + 1, matches);
      }
    }
  }

  /** Builds fields from literal text and expansions, splitting unquoted expansions on blanks. */
  private static final class Fields {
    private final boolean split;
    private final List<String> fields = new ArrayList<>();
    private final List<java.util.BitSet> wildcards = new ArrayList<>();
    private StringBuilder text = new StringBuilder();
    private java.util.BitSet wild = new java.util.BitSet();
    private boolean started;

    Fields(boolean split) {
      this.split = split;
    }

    void literal(String value, boolean quoted) {
      started = true;
      for (char c : value.toCharArray()) {
        if (!quoted && (c == '*' || c == '?')) {
          wild.set(text.length());
        }
        text.append(c);
      }
    }

    void expansion(String value, boolean quoted) {
      if (quoted || !split) {
        started = true;
        text.append(value);
        return;
      }
      for (char c : value.toCharArray()) {
        if (c == ' ' || c == '\t' || c == '\n') {
          finish();
        } else {
          started = true;
          text.append(c);
        }
      }
    }

    private void finish() {
      if (started) {
        fields.add(text.toString());
        wildcards.add(wild);
      }
      text = new StringBuilder();
      wild = new java.util.BitSet();
      started = false;
    }

    List<String> done(Globber globber) {
      finish();
      if (globber == null) {
        return fields;
      }
      List<String> result = new ArrayList<>();
      for (int i = 0; i < fields.size(); i++) {
        String field = fields.get(i);
        if (wildcards.get(i).isEmpty()) {
          result.add(field);
          continue;
        }
        List<String> segments = new ArrayList<>();
        List<Pattern> patterns = new ArrayList<>();
        int start = 0;
        for (int end = 0; end <= field.length(); end++) {
          if (end == field.length() || field.charAt(end) == '/') {
            if (end > start) {
              segments.add(field.substring(start, end));
              patterns.add(pattern(field, start, end, wildcards.get(i)));
            }
            start = end + 1;
          }
        }
        List<String> matches = globber.glob(segments, patterns, field.startsWith("/"));
        if (matches.isEmpty()) {
          result.add(field);
        } else {
          result.addAll(matches);
        }
      }
      return result;
    }

    /** The regex of one path segment, or null when it has no wildcard. */
    private static Pattern pattern(String field, int start, int end, java.util.BitSet wild) {
      if (wild.nextSetBit(start) < 0 || wild.nextSetBit(start) >= end) {
        return null;
      }
      StringBuilder regex = new StringBuilder();
      for (int i = start; i < end; i++) {
        char c = field.charAt(i);
        if (wild.get(i)) {
          regex.append(c == '*' ? ".*" : ".");
        } else {
          regex.append(Pattern.quote(String.valueOf(c)));
        }
      }
      return Pattern.compile(regex.toString(), Pattern.DOTALL);
    }
  }

  @FunctionalInterface
  private interface Globber {
    List<String> glob(List<String> segments, List<Pattern> patterns, boolean absolute);
  }
}
