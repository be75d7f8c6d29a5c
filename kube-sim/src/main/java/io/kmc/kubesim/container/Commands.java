package io.kmc.kubesim.container;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The programs of a simulated container, with BusyBox's options, output and messages where they
 * matter (exit statuses, error wording), and only the options people reach for.
 */
final class Commands {

  /** Directories a program can be named by ({@code /bin/ls}, {@code /usr/bin/env}). */
  private static final Set<String> BIN_DIRS = Set.of("/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin");
  /** The most a command that needs all of its input at once (sort, grep, tail -n) reads from stdin. */
  private static final long WHOLE_INPUT_LIMIT = 16 * 1024 * 1024;
  /** Checksums and text processing of more than this run on a worker thread rather than the event loop. */
  private static final long INLINE_BYTES = 1024 * 1024;
  private static final Map<String, Command> PROGRAMS = new HashMap<>();

  static {
    PROGRAMS.put("echo", Commands::echo);
    PROGRAMS.put("printf", Commands::printf);
    PROGRAMS.put("cat", Commands::cat);
    PROGRAMS.put("env", Commands::env);
    PROGRAMS.put("printenv", Commands::printenv);
    PROGRAMS.put("hostname", Commands::hostname);
    PROGRAMS.put("pwd", inv -> print(inv, inv.shell().cwd() + "\n"));
    PROGRAMS.put("ls", Commands::ls);
    PROGRAMS.put("true", inv -> Future.succeededFuture(0));
    PROGRAMS.put("false", inv -> Future.succeededFuture(1));
    PROGRAMS.put("sleep", Commands::sleep);
    PROGRAMS.put("test", inv -> test(inv, inv.args()));
    PROGRAMS.put("[", Commands::bracket);
    PROGRAMS.put("mkdir", Commands::mkdir);
    PROGRAMS.put("rmdir", Commands::rmdir);
    PROGRAMS.put("rm", Commands::rm);
    PROGRAMS.put("touch", Commands::touch);
    PROGRAMS.put("cp", Commands::cp);
    PROGRAMS.put("mv", Commands::mv);
    PROGRAMS.put("ln", Commands::ln);
    PROGRAMS.put("head", Commands::head);
    PROGRAMS.put("tail", Commands::tail);
    PROGRAMS.put("wc", Commands::wc);
    PROGRAMS.put("grep", Commands::grep);
    PROGRAMS.put("sort", Commands::sort);
    PROGRAMS.put("seq", Commands::seq);
    PROGRAMS.put("stty", Commands::stty);
    PROGRAMS.put("tput", Commands::tput);
    PROGRAMS.put("clear", inv -> print(inv, "\033[H\033[2J"));
    PROGRAMS.put("uname", Commands::uname);
    PROGRAMS.put("id", inv -> print(inv, "uid=0(root) gid=0(root) groups=0(root)\n"));
    PROGRAMS.put("whoami", inv -> print(inv, "root\n"));
    PROGRAMS.put("date", Commands::date);
    PROGRAMS.put("md5sum", inv -> digest(inv, "MD5"));
    PROGRAMS.put("sha1sum", inv -> digest(inv, "SHA-1"));
    PROGRAMS.put("sha256sum", inv -> digest(inv, "SHA-256"));
    PROGRAMS.put("sh", Commands::sh);
    PROGRAMS.put("bash", Commands::sh);
    PROGRAMS.put("ash", Commands::sh);
    PROGRAMS.put("tar", Tar::run);
  }

  private Commands() {
  }

  /** The program an argv[0] names, by its name or its path in a bin directory; null when there is none. */
  static Command find(String name) {
    if (name.contains("/")) {
      String path = FileTree.absolute("/", name);
      if (!BIN_DIRS.contains(FileTree.parent(path))) {
        return null;
      }
      return PROGRAMS.get(FileTree.baseName(path));
    }
    return PROGRAMS.get(name);
  }

  /** Names of every program, sorted; each has an (empty) executable in /bin. */
  static List<String> names() {
    return PROGRAMS.keySet().stream().sorted().toList();
  }

  // ---- helpers ----

  private static Future<Integer> print(Invocation inv, String text) {
    return inv.io().stdout().write(text).map(v -> 0);
  }

  private static Future<Integer> fail(Invocation inv, String message, int status) {
    return inv.io().stderr().write(inv.name() + ": " + message + "\n").map(v -> status);
  }

  /** Runs {@code action} for each item in turn; the status is 0 unless one failed (then the last failure's). */
  private static <T> Future<Integer> each(List<T> items, Function<T, Future<Integer>> action) {
    Future<Integer> result = Future.succeededFuture(0);
    for (T item : items) {
      result = result.compose(status -> action.apply(item).map(next -> next != 0 ? next : status));
    }
    return result;
  }

  /** Short options ({@code -la}, {@code -rf}) up to the first operand or {@code --}; the rest are operands. */
  private record Options(Set<Character> flags, List<String> operands) {
    static Options parse(List<String> args, String known) {
      Set<Character> flags = new java.util.HashSet<>();
      List<String> operands = new ArrayList<>();
      boolean options = true;
      for (String arg : args) {
        if (options && arg.equals("--")) {
          options = false;
        } else if (options && arg.length() > 1 && arg.startsWith("-")
            && arg.substring(1).chars().allMatch(c -> known.indexOf(c) >= 0)) {
          arg.substring(1).chars().forEach(c -> flags.add((char) c));
        } else {
          operands.add(arg);
        }
      }
      return new Options(flags, operands);
    }

    boolean has(char flag) {
      return flags.contains(flag);
    }
  }

  /** Applies C escapes ({@code \n \t \\ \0NNN}...) as echo -e and printf do; stops at {@code \c}. */
  private static String unescape(String text, boolean[] stop) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c != '\\' || i + 1 >= text.length()) {
        out.append(c);
        continue;
      }
      char next = text.charAt(++i);
      switch (next) {
        case 'n' -> out.append('\n');
        case 't' -> out.append('\t');
        case 'r' -> out.append('\r');
        case 'a' -> out.append('\007');
        case 'b' -> out.append('\b');
        case 'e' -> out.append('\033');
        case '\\' -> out.append('\\');
        case 'c' -> {
          stop[0] = true;
          return out.toString();
        }
        case '0' -> {
          int end = i + 1;
          while (end < text.length() && end < i + 4 && text.charAt(end) >= '0' && text.charAt(end) <= '7') {
            end++;
          }
          out.append((char) (end > i + 1 ? Integer.parseInt(text.substring(i + 1, end), 8) : 0));
          i = end - 1;
        }
        default -> out.append('\\').append(next);
      }
    }
    return out.toString();
  }

  // ---- text output ----

  private static Future<Integer> echo(Invocation inv) {
    List<String> args = inv.args();
    boolean newline = true;
    boolean escapes = false;
    int first = 0;
    while (first < args.size() && args.get(first).matches("-[neE]+")) {
      for (char c : args.get(first).substring(1).toCharArray()) {
        newline &= c != 'n';
        escapes = c == 'e' || (escapes && c != 'E');
      }
      first++;
    }
    String text = String.join(" ", args.subList(first, args.size()));
    boolean[] stop = {false};
    if (escapes) {
      text = unescape(text, stop);
    }
    return print(inv, text + (newline && !stop[0] ? "\n" : ""));
  }

  private static final Pattern DIRECTIVE = Pattern.compile("%([-+ 0#]*)(\\d*)(?:\\.(\\d+))?([sdiouxXcb%])");

  private static Future<Integer> printf(Invocation inv) {
    if (inv.args().isEmpty()) {
      return fail(inv, "usage: printf FORMAT [ARGUMENT]...", 1);
    }
    String format = inv.args().get(0);
    List<String> args = inv.args().subList(1, inv.args().size());
    StringBuilder out = new StringBuilder();
    int used = 0;
    boolean[] stop = {false};
    do {
      Matcher matcher = DIRECTIVE.matcher(format);
      int last = 0;
      int consumed = 0;
      while (matcher.find()) {
        out.append(unescape(format.substring(last, matcher.start()), stop));
        last = matcher.end();
        char conversion = matcher.group(4).charAt(0);
        if (conversion == '%') {
          out.append('%');
          continue;
        }
        String arg = used + consumed < args.size() ? args.get(used + consumed) : "";
        consumed++;
        String flagsAndWidth = "%" + matcher.group(1) + matcher.group(2);
        String precision = matcher.group(3) == null ? "" : "." + matcher.group(3);
        out.append(switch (conversion) {
          case 's' -> String.format(Locale.ROOT, flagsAndWidth + precision + "s", arg);
          case 'b' -> String.format(Locale.ROOT, flagsAndWidth + precision + "s", unescape(arg, stop));
          case 'c' -> arg.isEmpty() ? "" : arg.substring(0, 1);
          default -> String.format(Locale.ROOT, flagsAndWidth
              + (conversion == 'i' || conversion == 'u' ? "d" : String.valueOf(conversion)), parseNumber(arg));
        });
      }
      out.append(unescape(format.substring(last), stop));
      used += consumed;
      if (consumed == 0) {
        break;
      }
    } while (used < args.size() && !stop[0]);
    return print(inv, out.toString());
  }

  private static long parseNumber(String text) {
    try {
      return text.isEmpty() ? 0 : Long.decode(text.strip());
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private static Future<Integer> cat(Invocation inv) {
    List<String> files = Options.parse(inv.args(), "u").operands();
    return each(files.isEmpty() ? List.of("-") : files, file -> {
      if (file.equals("-")) {
        return Streams.copy(inv.io().stdin(), inv.io().stdout(), inv.cancellation(), data -> data).map(v -> 0);
      }
      FileTree.Node node = inv.fs().find(inv.path(file));
      if (node == null) {
        return fail(inv, "can't open '" + file + "': " + FsException.NOT_FOUND, 1);
      }
      if (!(node instanceof FileTree.File content)) {
        return fail(inv, "read error: " + FsException.IS_A_DIRECTORY, 1);
      }
      return Streams.writeChunks(inv.io().stdout(), content.chunks(), inv.cancellation()).map(v -> 0);
    });
  }

  private static Future<Integer> env(Invocation inv) {
    Map<String, String> environment = new java.util.LinkedHashMap<>(inv.environment());
    List<String> args = inv.args();
    int index = 0;
    while (index < args.size()) {
      String arg = args.get(index);
      if (arg.equals("-i") || arg.equals("-")) {
        environment.clear();
      } else if (arg.equals("-u") && index + 1 < args.size()) {
        environment.remove(args.get(++index));
      } else if (arg.contains("=") && !arg.startsWith("=")) {
        environment.put(arg.substring(0, arg.indexOf('=')), arg.substring(arg.indexOf('=') + 1));
      } else {
        break;
      }
      index++;
    }
    if (index == args.size()) {
      StringBuilder listing = new StringBuilder();
      environment.forEach((name, value) -> listing.append(name).append('=').append(value).append('\n'));
      return print(inv, listing.toString());
    }
    List<String> argv = args.subList(index, args.size());
    Command program = find(argv.get(0));
    if (program == null) {
      return fail(inv, "can't execute '" + argv.get(0) + "': " + FsException.NOT_FOUND, Shell.NOT_FOUND);
    }
    return program.run(new Invocation(inv.shell(), argv, environment, inv.io(), inv.cancellation()));
  }

  private static Future<Integer> printenv(Invocation inv) {
    if (inv.args().isEmpty()) {
      return env(inv);
    }
    StringBuilder out = new StringBuilder();
    int status = 0;
    for (String name : inv.args()) {
      String value = inv.environment().get(name);
      if (value == null) {
        status = 1;
      } else {
        out.append(value).append('\n');
      }
    }
    int result = status;
    return print(inv, out.toString()).map(v -> result);
  }

  private static Future<Integer> hostname(Invocation inv) {
    if (inv.args().contains("-i")) {
      String ip = inv.container().spec().podIp();
      return print(inv, (ip == null || ip.isEmpty() ? "127.0.0.1" : ip) + "\n");
    }
    return print(inv, inv.container().hostname() + "\n");
  }

  // ---- files ----

  private static Future<Integer> ls(Invocation inv) {
    Options options = Options.parse(inv.args(), "1alAdFhR");
    List<String> operands = options.operands().isEmpty() ? List.of(".") : options.operands();
    StringBuilder out = new StringBuilder();
    StringBuilder errors = new StringBuilder();
    List<String> directories = new ArrayList<>();
    List<String> plain = new ArrayList<>();
    for (String operand : operands) {
      String path = inv.path(operand);
      FileTree.Node node = inv.fs().find(path);
      if (inv.fs().findNoFollow(path) == null) {
        errors.append("ls: ").append(operand).append(": ").append(FsException.NOT_FOUND).append('\n');
      } else if (node instanceof FileTree.Dir && !options.has('d')) {
        directories.add(operand);
      } else {
        plain.add(operand);
      }
    }
    boolean terminal = inv.io().terminal() != null && !options.has('1') && !options.has('l');
    List<String> lines = new ArrayList<>();
    for (String operand : plain) {
      lines.add(entry(inv, operand, inv.fs().findNoFollow(inv.path(operand)), options));
    }
    append(out, lines, terminal);
    for (String operand : directories) {
      if (operands.size() > 1) {
        if (out.length() > 0) {
          out.append('\n');
        }
        out.append(operand).append(":\n");
      }
      FileTree.Dir dir = (FileTree.Dir) inv.fs().find(inv.path(operand));
      lines = new ArrayList<>();
      if (options.has('a')) {
        lines.add(entry(inv, ".", dir, options));
        lines.add(entry(inv, "..", inv.fs().find(FileTree.parent(inv.path(operand))), options));
      }
      for (Map.Entry<String, FileTree.Node> child : dir.children().entrySet()) {
        if (!child.getKey().startsWith(".") || options.has('a') || options.has('A')) {
          lines.add(entry(inv, child.getKey(), child.getValue(), options));
        }
      }
      if (options.has('l')) {
        out.append("total ").append(lines.size() * 4L).append('\n');
      }
      append(out, lines, terminal);
    }
    int status = errors.length() > 0 ? 1 : 0;
    return inv.io().stderr().write(errors.toString())
        .compose(v -> inv.io().stdout().write(out.toString())).map(v -> status);
  }

  private static void append(StringBuilder out, List<String> lines, boolean terminal) {
    if (lines.isEmpty()) {
      return;
    }
    out.append(String.join(terminal ? "  " : "\n", lines)).append('\n');
  }

  private static final DateTimeFormatter LS_TIME = DateTimeFormatter.ofPattern("MMM ppd HH:mm", Locale.ROOT);

  private static String entry(Invocation inv, String name, FileTree.Node node, Options options) {
    String suffix = "";
    if (options.has('F')) {
      suffix = node instanceof FileTree.Dir ? "/" : node instanceof FileTree.Symlink ? "@"
          : (node.mode() & 0111) != 0 ? "*" : "";
    }
    if (!options.has('l')) {
      return name + suffix;
    }
    long size = node instanceof FileTree.File file ? file.size()
        : node instanceof FileTree.Symlink link ? link.target().length() : 4096;
    int links = node instanceof FileTree.Dir dir
        ? 2 + (int) dir.children().values().stream().filter(child -> child instanceof FileTree.Dir).count() : 1;
    String shownName = node instanceof FileTree.Symlink link ? name + " -> " + link.target() : name + suffix;
    String time = LS_TIME.format(Instant.ofEpochMilli(node.modifiedMillis()).atZone(ZoneOffset.UTC));
    return String.format(Locale.ROOT, "%s %4d %-8s %-8s %9d %s %s", permissions(node), links, "root", "root", size,
        time, shownName);
  }

  static String permissions(FileTree.Node node) {
    char type = node instanceof FileTree.Dir ? 'd' : node instanceof FileTree.Symlink ? 'l' : '-';
    StringBuilder bits = new StringBuilder().append(type);
    int mode = node.mode();
    String rwx = "rwxrwxrwx";
    for (int i = 0; i < 9; i++) {
      bits.append((mode & (1 << (8 - i))) != 0 ? rwx.charAt(i) : '-');
    }
    if ((mode & 01000) != 0) {
      bits.setCharAt(9, bits.charAt(9) == 'x' ? 't' : 'T');
    }
    return bits.toString();
  }

  private static Future<Integer> mkdir(Invocation inv) {
    List<String> args = new ArrayList<>(inv.args());
    int mode = 0755;
    int modeIndex = args.indexOf("-m");
    if (modeIndex >= 0 && modeIndex + 1 < args.size()) {
      mode = Integer.parseInt(args.get(modeIndex + 1), 8);
      args.remove(modeIndex + 1);
      args.remove(modeIndex);
    }
    Options options = Options.parse(args, "p");
    if (options.operands().isEmpty()) {
      return fail(inv, "missing operand", 1);
    }
    StringBuilder errors = new StringBuilder();
    for (String operand : options.operands()) {
      try {
        if (options.has('p')) {
          inv.fs().mkdirs(inv.path(operand), mode);
        } else {
          inv.fs().mkdir(inv.path(operand), mode);
        }
      } catch (FsException e) {
        errors.append("mkdir: can't create directory '").append(operand).append("': ").append(e.reason()).append('\n');
      }
    }
    return inv.io().stderr().write(errors.toString()).map(v -> errors.length() > 0 ? 1 : 0);
  }

  private static Future<Integer> rmdir(Invocation inv) {
    StringBuilder errors = new StringBuilder();
    for (String operand : inv.args()) {
      try {
        if (!(inv.fs().find(inv.path(operand)) instanceof FileTree.Dir)) {
          throw new FsException(operand, FsException.NOT_A_DIRECTORY);
        }
        inv.fs().remove(inv.path(operand), false);
      } catch (FsException e) {
        errors.append("rmdir: '").append(operand).append("': ").append(e.reason()).append('\n');
      }
    }
    return inv.io().stderr().write(errors.toString()).map(v -> errors.length() > 0 ? 1 : 0);
  }

  private static Future<Integer> rm(Invocation inv) {
    Options options = Options.parse(inv.args(), "rRfiv");
    boolean recursive = options.has('r') || options.has('R');
    boolean force = options.has('f');
    StringBuilder errors = new StringBuilder();
    for (String operand : options.operands()) {
      String path = inv.path(operand);
      FileTree.Node node = inv.fs().findNoFollow(path);
      if (node == null) {
        if (!force) {
          errors.append("rm: can't remove '").append(operand).append("': ").append(FsException.NOT_FOUND).append('\n');
        }
      } else if (node instanceof FileTree.Dir && !recursive) {
        errors.append("rm: '").append(operand).append("' is a directory\n");
      } else {
        try {
          inv.fs().remove(path, true);
        } catch (FsException e) {
          errors.append("rm: can't remove '").append(operand).append("': ").append(e.reason()).append('\n');
        }
      }
    }
    return inv.io().stderr().write(errors.toString()).map(v -> errors.length() > 0 ? 1 : 0);
  }

  private static Future<Integer> touch(Invocation inv) {
    StringBuilder errors = new StringBuilder();
    for (String operand : Options.parse(inv.args(), "acm").operands()) {
      String path = inv.path(operand);
      try {
        FileTree.Node node = inv.fs().find(path);
        if (node == null) {
          inv.fs().writeFile(path, List.of(), 0644);
        } else {
          node.modifiedMillis(inv.fs().now());
        }
      } catch (FsException e) {
        errors.append("touch: ").append(operand).append(": ").append(e.reason()).append('\n');
      }
    }
    return inv.io().stderr().write(errors.toString()).map(v -> errors.length() > 0 ? 1 : 0);
  }

  private static Future<Integer> cp(Invocation inv) {
    Options options = Options.parse(inv.args(), "rRpafv");
    List<String> operands = options.operands();
    if (operands.size() < 2) {
      return fail(inv, "missing file operand", 1);
    }
    String destination = inv.path(operands.get(operands.size() - 1));
    boolean intoDirectory = inv.fs().find(destination) instanceof FileTree.Dir;
    StringBuilder errors = new StringBuilder();
    for (String source : operands.subList(0, operands.size() - 1)) {
      String from = inv.path(source);
      String to = intoDirectory ? FileTree.absolute(destination, FileTree.baseName(from)) : destination;
      FileTree.Node node = inv.fs().find(from);
      try {
        if (node == null) {
          throw new FsException(source, FsException.NOT_FOUND);
        }
        if (node instanceof FileTree.Dir && !(options.has('r') || options.has('R') || options.has('a'))) {
          errors.append("cp: omitting directory '").append(source).append("'\n");
          continue;
        }
        copyTree(inv.fs(), node, to);
      } catch (FsException e) {
        errors.append("cp: can't stat '").append(source).append("': ").append(e.reason()).append('\n');
      }
    }
    return inv.io().stderr().write(errors.toString()).map(v -> errors.length() > 0 ? 1 : 0);
  }

  private static void copyTree(FileTree fs, FileTree.Node node, String to) {
    if (node instanceof FileTree.File file) {
      fs.writeFile(to, file.chunks(), file.mode());
    } else if (node instanceof FileTree.Symlink link) {
      fs.symlink(to, link.target());
    } else if (node instanceof FileTree.Dir dir) {
      fs.mkdirs(to, dir.mode());
      for (Map.Entry<String, FileTree.Node> child : new java.util.TreeMap<>(dir.children()).entrySet()) {
        copyTree(fs, child.getValue(), FileTree.absolute(to, child.getKey()));
      }
    }
  }

  private static Future<Integer> mv(Invocation inv) {
    List<String> operands = Options.parse(inv.args(), "fiv").operands();
    if (operands.size() < 2) {
      return fail(inv, "missing file operand", 1);
    }
    String destination = inv.path(operands.get(operands.size() - 1));
    boolean intoDirectory = inv.fs().find(destination) instanceof FileTree.Dir;
    StringBuilder errors = new StringBuilder();
    for (String source : operands.subList(0, operands.size() - 1)) {
      String from = inv.path(source);
      try {
        inv.fs().move(from, intoDirectory ? FileTree.absolute(destination, FileTree.baseName(from)) : destination);
      } catch (FsException e) {
        errors.append("mv: can't rename '").append(source).append("': ").append(e.reason()).append('\n');
      }
    }
    return inv.io().stderr().write(errors.toString()).map(v -> errors.length() > 0 ? 1 : 0);
  }

  private static Future<Integer> ln(Invocation inv) {
    Options options = Options.parse(inv.args(), "sfn");
    if (!options.has('s') || options.operands().size() != 2) {
      return fail(inv, "only 'ln -s TARGET LINK' is supported here", 1);
    }
    String link = inv.path(options.operands().get(1));
    try {
      if (options.has('f') && inv.fs().findNoFollow(link) != null) {
        inv.fs().remove(link, false);
      }
      inv.fs().symlink(link, options.operands().get(0));
      return Future.succeededFuture(0);
    } catch (FsException e) {
      return fail(inv, options.operands().get(1) + ": " + e.reason(), 1);
    }
  }

  // ---- filters ----

  /** The content of a file operand, or of stdin for "-" or no operand. */
  private static Future<byte[]> input(Invocation inv, String operand) {
    if (operand == null || operand.equals("-")) {
      return Streams.readAll(inv.io().stdin(), inv.cancellation(), WHOLE_INPUT_LIMIT);
    }
    FileTree.Node node = inv.fs().find(inv.path(operand));
    if (node == null) {
      return Future.failedFuture(new FsException(operand, FsException.NOT_FOUND));
    }
    if (!(node instanceof FileTree.File file)) {
      return Future.failedFuture(new FsException(operand, FsException.IS_A_DIRECTORY));
    }
    if (file.size() > WHOLE_INPUT_LIMIT) {
      return Future.failedFuture(new IllegalStateException(operand + ": larger than " + WHOLE_INPUT_LIMIT + " bytes"));
    }
    return Future.succeededFuture(file.bytes());
  }

  /**
   * Text processing (grep, sort, wc...) of up to {@link #WHOLE_INPUT_LIMIT}: inline for small inputs,
   * on a worker thread past {@link #INLINE_BYTES}, so that a big file never holds up the event loop.
   */
  private static <T> Future<T> process(Invocation inv, byte[] content, Function<byte[], T> work) {
    if (content.length <= INLINE_BYTES) {
      return Future.succeededFuture(work.apply(content));
    }
    return inv.container().blocking(() -> work.apply(content));
  }

  private static List<String> lines(byte[] content) {
    String text = new String(content, StandardCharsets.UTF_8);
    List<String> lines = new ArrayList<>(List.of(text.split("\n", -1)));
    if (!lines.isEmpty() && lines.get(lines.size() - 1).isEmpty()) {
      lines.remove(lines.size() - 1);
    }
    return lines;
  }

  private static String joinLines(List<String> lines) {
    return lines.isEmpty() ? "" : String.join("\n", lines) + "\n";
  }

  /** The count of {@code -n N}, {@code -c N}, {@code -N} or {@code -nN}; {@code plus[0]} tells a {@code +N}. */
  private record Count(boolean bytes, long count, boolean fromStart, String operand) {
    static Count parse(List<String> args, long fallback) {
      boolean bytes = false;
      long count = fallback;
      boolean fromStart = false;
      String operand = null;
      for (int i = 0; i < args.size(); i++) {
        String arg = args.get(i);
        String value = null;
        if (arg.equals("-n") || arg.equals("-c")) {
          bytes = arg.equals("-c");
          value = i + 1 < args.size() ? args.get(++i) : "";
        } else if (arg.startsWith("-n") || arg.startsWith("-c")) {
          bytes = arg.startsWith("-c");
          value = arg.substring(2);
        } else if (arg.matches("-\\d+")) {
          value = arg.substring(1);
        } else if (arg.equals("-f") || arg.equals("-q")) {
          continue;
        } else {
          operand = arg;
        }
        if (value != null) {
          fromStart = value.startsWith("+");
          count = Long.parseLong(value.replace("+", "").replace("-", ""));
        }
      }
      return new Count(bytes, count, fromStart, operand);
    }
  }

  private static Future<Integer> head(Invocation inv) {
    Count count;
    try {
      count = Count.parse(inv.args(), 10);
    } catch (NumberFormatException e) {
      return fail(inv, "invalid number", 1);
    }
    return input(inv, count.operand()).compose(content -> process(inv, content, bytes -> {
      if (count.bytes()) {
        return Buffer.buffer(java.util.Arrays.copyOf(bytes, (int) Math.min(bytes.length, count.count())));
      }
      List<String> lines = lines(bytes);
      return Buffer.buffer(joinLines(lines.subList(0, (int) Math.min(lines.size(), count.count()))));
    })).compose(inv.io().stdout()::write).map(v -> 0);
  }


  private static Future<Integer> tail(Invocation inv) {
    Count count;
    try {
      count = Count.parse(inv.args(), 10);
    } catch (NumberFormatException e) {
      return fail(inv, "invalid number", 1);
    }
    if (count.bytes() && count.fromStart()) {
      return tailFromByte(inv, count);
    }
    return input(inv, count.operand()).compose(content -> process(inv, content, bytes -> {
      if (count.bytes()) {
        int from = (int) Math.max(0, bytes.length - count.count());
        return Buffer.buffer(java.util.Arrays.copyOfRange(bytes, from, bytes.length));
      }
      List<String> lines = lines(bytes);
      int from = count.fromStart() ? (int) Math.min(lines.size(), Math.max(0, count.count() - 1))
          : (int) Math.max(0, lines.size() - count.count());
      return Buffer.buffer(joinLines(lines.subList(from, lines.size())));
    })).compose(inv.io().stdout()::write).map(v -> 0);
  }


  /** {@code tail -c +N}: everything from byte N on, streamed (what kubectl cp runs when it resumes a copy). */
  private static Future<Integer> tailFromByte(Invocation inv, Count count) {
    long skip = Math.max(0, count.count() - 1);
    if (count.operand() != null && !count.operand().equals("-")) {
      FileTree.Node node = inv.fs().find(inv.path(count.operand()));
      if (!(node instanceof FileTree.File file)) {
        return fail(inv, "can't open '" + count.operand() + "': " + FsException.NOT_FOUND, 1);
      }
      return Streams.writeAll(inv.io().stdout(), Streams.pieces(file.chunks(), skip), inv.cancellation()).map(v -> 0);
    }
    long[] remaining = {skip};
    return Streams.copy(inv.io().stdin(), inv.io().stdout(), inv.cancellation(), data -> {
      if (remaining[0] == 0) {
        return data;
      }
      int dropped = (int) Math.min(remaining[0], data.length());
      remaining[0] -= dropped;
      return data.getBuffer(dropped, data.length());
    }).map(v -> 0);
  }

  private static Future<Integer> wc(Invocation inv) {
    Options options = Options.parse(inv.args(), "lwc");
    boolean all = !options.has('l') && !options.has('w') && !options.has('c');
    String operand = options.operands().isEmpty() ? null : options.operands().get(0);
    return input(inv, operand).compose(content -> process(inv, content, bytes -> {
      String text = new String(bytes, StandardCharsets.UTF_8);
      List<String> columns = new ArrayList<>();
      if (all || options.has('l')) {
        columns.add(String.valueOf(text.chars().filter(c -> c == '\n').count()));
      }
      if (all || options.has('w')) {
        columns.add(String.valueOf(text.isBlank() ? 0 : text.strip().split("\\s+").length));
      }
      if (all || options.has('c')) {
        columns.add(String.valueOf(bytes.length));
      }
      String format = columns.size() == 1 ? "%s" : "%7s";
      List<String> shown = columns.stream().map(column -> String.format(Locale.ROOT, format, column)).toList();
      return Buffer.buffer(String.join(" ", shown) + (operand == null ? "" : " " + operand) + "\n");
    })).compose(inv.io().stdout()::write).map(v -> 0);
  }


  private static Future<Integer> grep(Invocation inv) {
    List<String> args = new ArrayList<>(inv.args());
    String pattern = null;
    int explicit = args.indexOf("-e");
    if (explicit >= 0 && explicit + 1 < args.size()) {
      pattern = args.remove(explicit + 1);
      args.remove(explicit);
    }
    Options options = Options.parse(args, "ivcqnEFwxhs");
    List<String> operands = new ArrayList<>(options.operands());
    if (pattern == null) {
      if (operands.isEmpty()) {
        return fail(inv, "usage: grep [-ivcqnEFwx] PATTERN [FILE]...", 2);
      }
      pattern = operands.remove(0);
    }
    String regex = options.has('F') ? Pattern.quote(pattern) : pattern;
    if (options.has('w')) {
      regex = "\\b(?:" + regex + ")\\b";
    }
    if (options.has('x')) {
      regex = "^(?:" + regex + ")$";
    }
    Pattern compiled;
    try {
      compiled = Pattern.compile(regex, options.has('i') ? Pattern.CASE_INSENSITIVE : 0);
    } catch (java.util.regex.PatternSyntaxException e) {
      return fail(inv, "bad regex '" + pattern + "'", 2);
    }
    List<String> sources = operands.isEmpty() ? java.util.Collections.singletonList(null) : operands;
    boolean named = sources.size() > 1 && !options.has('h');
    StringBuilder out = new StringBuilder();
    int[] matched = {0};
    return each(sources, source -> input(inv, source).compose(content -> process(inv, content, bytes -> {
      int count = 0;
      List<String> lines = lines(bytes);
      for (int i = 0; i < lines.size(); i++) {
        if (compiled.matcher(lines.get(i)).find() != options.has('v')) {
          count++;
          if (!options.has('c') && !options.has('q')) {
            out.append(named ? source + ":" : "").append(options.has('n') ? (i + 1) + ":" : "")
                .append(lines.get(i)).append('\n');
          }
        }
      }
      if (options.has('c')) {
        out.append(named ? source + ":" : "").append(count).append('\n');
      }
      matched[0] += count;
      return 0;
    })).recover(error -> fail(inv, error.getMessage(), 2)))
        .compose(status -> inv.io().stdout().write(out.toString())
            .map(v -> status != 0 ? status : matched[0] > 0 ? 0 : 1));
  }

  private static Future<Integer> sort(Invocation inv) {
    Options options = Options.parse(inv.args(), "rnu");
    String operand = options.operands().isEmpty() ? null : options.operands().get(0);
    return input(inv, operand).compose(content -> process(inv, content, bytes -> {
      List<String> lines = new ArrayList<>(lines(bytes));
      if (options.has('n')) {
        Map<String, Double> keys = new HashMap<>();
        lines.forEach(line -> keys.computeIfAbsent(line, Commands::leadingNumber));
        lines.sort(java.util.Comparator.comparingDouble(keys::get));
      } else {
        lines.sort(null);
      }
      if (options.has('r')) {
        java.util.Collections.reverse(lines);
      }
      List<String> sorted = options.has('u') ? lines.stream().distinct().toList() : lines;
      return Buffer.buffer(joinLines(sorted));
    })).compose(inv.io().stdout()::write).map(v -> 0);
  }


  private static final Pattern LEADING_NUMBER = Pattern.compile("^\\s*(-?\\d+(\\.\\d+)?)");

  private static double leadingNumber(String line) {
    Matcher matcher = LEADING_NUMBER.matcher(line);
    return matcher.find() ? Double.parseDouble(matcher.group(1)) : 0;
  }

  private static Future<Integer> seq(Invocation inv) {
    List<String> args = inv.args();
    try {
      long first = args.size() > 1 ? Long.parseLong(args.get(0)) : 1;
      long step = args.size() > 2 ? Long.parseLong(args.get(1)) : 1;
      long last = Long.parseLong(args.get(args.size() - 1));
      if (step == 0) {
        return fail(inv, "invalid increment", 1);
      }
      StringBuilder out = new StringBuilder();
      for (long i = first; step > 0 ? i <= last : i >= last; i += step) {
        out.append(i).append('\n');
        if (out.length() > WHOLE_INPUT_LIMIT) {
          break;
        }
      }
      return print(inv, out.toString());
    } catch (NumberFormatException | IndexOutOfBoundsException e) {
      return fail(inv, "usage: seq [FIRST [INC]] LAST", 1);
    }
  }

  // ---- terminal and system ----

  private static Future<Integer> stty(Invocation inv) {
    Terminal terminal = inv.io().terminal();
    if (terminal == null) {
      return fail(inv, "standard input: Not a tty", 1);
    }
    if (inv.args().contains("size")) {
      return print(inv, terminal.rows() + " " + terminal.columns() + "\n");
    }
    return Future.succeededFuture(0);
  }

  private static Future<Integer> tput(Invocation inv) {
    Terminal terminal = inv.io().terminal();
    int columns = terminal == null ? 80 : terminal.columns();
    int rows = terminal == null ? 24 : terminal.rows();
    if (inv.args().contains("cols")) {
      return print(inv, columns + "\n");
    }
    if (inv.args().contains("lines")) {
      return print(inv, rows + "\n");
    }
    return Future.succeededFuture(0);
  }

  private static Future<Integer> uname(Invocation inv) {
    Options options = Options.parse(inv.args(), "asnrvmo");
    String release = "6.1.0-kube-sim";
    if (options.has('a')) {
      return print(inv, "Linux " + inv.container().hostname() + " " + release + " #1 SMP x86_64 Linux\n");
    }
    List<String> parts = new ArrayList<>();
    if (options.flags().isEmpty() || options.has('s')) {
      parts.add("Linux");
    }
    if (options.has('n')) {
      parts.add(inv.container().hostname());
    }
    if (options.has('r')) {
      parts.add(release);
    }
    if (options.has('m')) {
      parts.add("x86_64");
    }
    if (options.has('o')) {
      parts.add("Linux");
    }
    return print(inv, String.join(" ", parts) + "\n");
  }

  private static Future<Integer> date(Invocation inv) {
    ZonedDateTime now = ZonedDateTime.now(ZoneOffset.UTC);
    String format = inv.args().stream().filter(arg -> arg.startsWith("+")).findFirst().orElse(null);
    if (format == null) {
      return print(inv, DateTimeFormatter.ofPattern("EEE MMM ppd HH:mm:ss 'UTC' yyyy", Locale.ROOT).format(now) + "\n");
    }
    StringBuilder out = new StringBuilder();
    for (int i = 1; i < format.length(); i++) {
      char c = format.charAt(i);
      if (c != '%' || i + 1 >= format.length()) {
        out.append(c);
        continue;
      }
      char directive = format.charAt(++i);
      out.append(switch (directive) {
        case 'Y' -> String.valueOf(now.getYear());
        case 'm' -> String.format(Locale.ROOT, "%02d", now.getMonthValue());
        case 'd' -> String.format(Locale.ROOT, "%02d", now.getDayOfMonth());
        case 'H' -> String.format(Locale.ROOT, "%02d", now.getHour());
        case 'M' -> String.format(Locale.ROOT, "%02d", now.getMinute());
        case 'S' -> String.format(Locale.ROOT, "%02d", now.getSecond());
        case 's' -> String.valueOf(now.toEpochSecond());
        case 'Z' -> "UTC";
        case 'T' -> DateTimeFormatter.ofPattern("HH:mm:ss", Locale.ROOT).format(now);
        case 'F' -> DateTimeFormatter.ISO_LOCAL_DATE.format(now);
        case '%' -> "%";
        default -> "%" + directive;
      });
    }
    return print(inv, out + "\n");
  }

  private static Future<Integer> digest(Invocation inv, String algorithm) {
    List<String> operands = inv.args().isEmpty() ? List.of("-") : inv.args();
    StringBuilder out = new StringBuilder();
    return each(operands, operand -> {
      Future<byte[]> hash;
      if (operand.equals("-")) {
        MessageDigest digest = newDigest(algorithm);
        hash = Streams.copy(inv.io().stdin(), Output.DISCARD, inv.cancellation(), data -> {
          digest.update(data.getBytes());
          return data;
        }).map(v -> digest.digest());
      } else {
        FileTree.Node node = inv.fs().find(inv.path(operand));
        if (!(node instanceof FileTree.File file)) {
          String reason = node == null ? FsException.NOT_FOUND : FsException.IS_A_DIRECTORY;
          return fail(inv, "can't open '" + operand + "': " + reason, 1);
        }
        List<byte[]> chunks = file.chunks();
        java.util.concurrent.Callable<byte[]> work = () -> {
          MessageDigest digest = newDigest(algorithm);
          chunks.forEach(digest::update);
          return digest.digest();
        };
        try {
          hash = file.size() > INLINE_BYTES ? inv.container().blocking(work) : Future.succeededFuture(work.call());
        } catch (Exception e) {
          return Future.failedFuture(e);
        }
      }
      return hash.map(bytes -> {
        out.append(HexFormat.of().formatHex(bytes)).append("  ").append(operand).append('\n');
        return 0;
      });
    }).compose(status -> inv.io().stdout().write(out.toString()).map(v -> status));
  }

  private static MessageDigest newDigest(String algorithm) {
    try {
      return MessageDigest.getInstance(algorithm);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Future<Integer> sleep(Invocation inv) {
    double seconds = 0;
    for (String arg : inv.args()) {
      Matcher matcher = Pattern.compile("(\\d+(?:\\.\\d*)?|\\.\\d+)([smhd]?)").matcher(arg);
      if (!matcher.matches()) {
        return fail(inv, "invalid number '" + arg + "'", 1);
      }
      double unit = switch (matcher.group(2)) {
        case "m" -> 60;
        case "h" -> 3600;
        case "d" -> 86400;
        default -> 1;
      };
      seconds += Double.parseDouble(matcher.group(1)) * unit;
    }
    if (inv.args().isEmpty()) {
      return fail(inv, "usage: sleep N[smhd]...", 1);
    }
    Promise<Integer> done = Promise.promise();
    long millis = Math.max(1, Math.round(seconds * 1000));
    long timer = inv.container().vertx().setTimer(millis, id -> done.tryComplete(0));
    Runnable forget = inv.cancellation().onCancel(() -> {
      inv.container().vertx().cancelTimer(timer);
      done.tryComplete(Shell.INTERRUPTED);
    });
    return done.future().onComplete(result -> forget.run());
  }

  // ---- test ----

  private static Future<Integer> bracket(Invocation inv) {
    List<String> args = inv.args();
    if (args.isEmpty() || !args.get(args.size() - 1).equals("]")) {
      return inv.io().stderr().write("sh: missing ]\n").map(v -> 2);
    }
    return test(inv, args.subList(0, args.size() - 1));
  }

  private static Future<Integer> test(Invocation inv, List<String> args) {
    try {
      return Future.succeededFuture(new TestExpression(inv, args).evaluate() ? 0 : 1);
    } catch (IllegalArgumentException e) {
      return inv.io().stderr().write("sh: test: " + e.getMessage() + "\n").map(v -> 2);
    }
  }

  /** {@code test}'s expression language: file tests, string and integer comparisons, ! -a -o and parentheses. */
  private static final class TestExpression {
    private final Invocation inv;
    private final List<String> args;
    private int index;

    TestExpression(Invocation inv, List<String> args) {
      this.inv = inv;
      this.args = args;
    }

    boolean evaluate() {
      if (args.isEmpty()) {
        return false;
      }
      boolean result = or();
      if (index < args.size()) {
        throw new IllegalArgumentException(args.get(index) + ": unexpected operator");
      }
      return result;
    }

    private boolean or() {
      boolean result = and();
      while (index < args.size() && args.get(index).equals("-o")) {
        index++;
        result |= and();
      }
      return result;
    }

    private boolean and() {
      boolean result = not();
      while (index < args.size() && args.get(index).equals("-a")) {
        index++;
        result &= not();
      }
      return result;
    }

    private boolean not() {
      if (index < args.size() - 1 && args.get(index).equals("!")) {
        index++;
        return !not();
      }
      return primary();
    }

    private boolean primary() {
      if (index >= args.size()) {
        throw new IllegalArgumentException("argument expected");
      }
      String first = args.get(index);
      if (first.equals("(") && args.size() - index > 2) {
        index++;
        boolean result = or();
        if (index >= args.size() || !args.get(index).equals(")")) {
          throw new IllegalArgumentException("missing )");
        }
        index++;
        return result;
      }
      if (index + 2 < args.size() && isBinary(args.get(index + 1))) {
        String operator = args.get(index + 1);
        String second = args.get(index + 2);
        index += 3;
        return binary(first, operator, second);
      }
      if (first.length() == 2 && first.startsWith("-") && "efdsrwxLhzn".indexOf(first.charAt(1)) >= 0
          && index + 1 < args.size()) {
        String operand = args.get(index + 1);
        index += 2;
        return unary(first.charAt(1), operand);
      }
      index++;
      return !first.isEmpty();
    }

    private static boolean isBinary(String operator) {
      return List.of("=", "==", "!=", "-eq", "-ne", "-lt", "-le", "-gt", "-ge").contains(operator);
    }

    private boolean binary(String left, String operator, String right) {
      return switch (operator) {
        case "=", "==" -> left.equals(right);
        case "!=" -> !left.equals(right);
        default -> {
          long a = integer(left);
          long b = integer(right);
          yield switch (operator) {
            case "-eq" -> a == b;
            case "-ne" -> a != b;
            case "-lt" -> a < b;
            case "-le" -> a <= b;
            case "-gt" -> a > b;
            default -> a >= b;
          };
        }
      };
    }

    private static long integer(String text) {
      try {
        return Long.parseLong(text.strip());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(text + ": bad number");
      }
    }

    private boolean unary(char test, String operand) {
      if (test == 'z') {
        return operand.isEmpty();
      }
      if (test == 'n') {
        return !operand.isEmpty();
      }
      String path = inv.path(operand);
      FileTree.Node node = test == 'L' || test == 'h' ? inv.fs().findNoFollow(path) : inv.fs().find(path);
      return switch (test) {
        case 'e', 'r', 'w' -> node != null;
        case 'f' -> node instanceof FileTree.File;
        case 'd' -> node instanceof FileTree.Dir;
        case 's' -> node instanceof FileTree.File file && file.size() > 0;
        case 'x' -> node != null && (node.mode() & 0111) != 0;
        default -> node instanceof FileTree.Symlink;
      };
    }
  }

  // ---- the shell as a program ----

  private static Future<Integer> sh(Invocation inv) {
    List<String> args = inv.args();
    int index = 0;
    String script = null;
    boolean readStdin = false;
    while (index < args.size() && args.get(index).startsWith("-") && args.get(index).length() > 1) {
      String option = args.get(index++);
      if (option.equals("--")) {
        break;
      }
      if (option.contains("c")) {
        if (index >= args.size()) {
          return inv.io().stderr().write("sh: -c requires an argument\n").map(v -> 2);
        }
        script = args.get(index++);
      }
      readStdin |= option.contains("s");
    }
    Shell shell = new Shell(inv.container(), inv.environment(), inv.shell().cwd(), inv.cancellation());
    if (script != null) {
      List<String> positional = new ArrayList<>();
      positional.add(index < args.size() ? args.get(index++) : "sh");
      positional.addAll(args.subList(index, args.size()));
      shell.positional(positional);
      return shell.runScript(script, inv.io());
    }
    if (index < args.size() && !readStdin) {
      String file = args.get(index);
      FileTree.Node node = inv.fs().find(inv.path(file));
      if (!(node instanceof FileTree.File content)) {
        return inv.io().stderr().write("sh: can't open '" + file + "': " + FsException.NOT_FOUND + "\n")
            .map(v -> Shell.NOT_FOUND);
      }
      shell.positional(args.subList(index, args.size()));
      return shell.runScript(new String(content.bytes(), StandardCharsets.UTF_8), inv.io());
    }
    return shell.interactive(inv.io());
  }
}
