package io.kmc.kubesim.container;

import io.vertx.core.Context;
import io.vertx.core.Future;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;

/**
 * {@code tar}, enough of GNU tar for {@code kubectl cp} ({@code tar cf - PATH} from a pod,
 * {@code tar -xmf - -C DIR} into one, {@code tar cf - PATH | tail -c+N} when it resumes) and for
 * people: create, extract and list, to and from stdin/stdout or a file in the container, optionally
 * gzipped, with {@code -C}, {@code -v} and {@code -m}.
 *
 * <p>The archive is read and written with commons-compress on a worker thread, through
 * {@link WorkerStreams}, so a big archive neither stalls the event loop nor sits in memory twice;
 * the tree is only touched on the event loop, one entry at a time. Messages and the exit status
 * (2 after any error) are GNU tar's.
 */
final class Tar {

  private static final String REMOVING_SLASH = "tar: Removing leading `/' from member names\n";
  private static final String FAILURE = "tar: Exiting with failure status due to previous errors\n";
  private static final java.time.format.DateTimeFormatter LIST_TIME =
      java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm", java.util.Locale.ROOT);
  private static final Set<String> IGNORED_LONG_OPTIONS = Set.of("--no-same-permissions", "--no-same-owner",
      "--same-owner", "--preserve-permissions", "--same-permissions", "--overwrite", "--no-overwrite-dir",
      "--numeric-owner", "--touch");

  private Tar() {
  }

  /** What the command line asks for. */
  private static final class Request {
    char mode;
    String archive = "-";
    String directory;
    boolean verbose;
    boolean gzip;
    boolean keepModifiedTimes = true;
    boolean umask;
    final List<String> operands = new ArrayList<>();
  }

  private static final class UsageException extends Exception {
    UsageException(String message) {
      super(message, null, false, false);
    }
  }

  static Future<Integer> run(Invocation inv) {
    Request request;
    try {
      request = parse(inv.args());
    } catch (UsageException e) {
      return inv.io().stderr().write("tar: " + e.getMessage() + "\nTry 'tar --help' for more information.\n")
          .map(v -> 2);
    }
    String base = inv.shell().cwd();
    if (request.directory != null) {
      base = inv.path(request.directory);
      if (!(inv.fs().find(base) instanceof FileTree.Dir)) {
        return inv.io().stderr().write("tar: " + request.directory + ": Cannot open: " + FsException.NOT_FOUND
            + "\ntar: Error is not recoverable: exiting now\n").map(v -> 2);
      }
    }
    return switch (request.mode) {
      case 'c' -> create(inv, request, base);
      case 'x', 't' -> extract(inv, request, base);
      default -> inv.io().stderr().write("tar: You must specify one of the '-Acdtrux', '--delete' or "
          + "'--test-label' options\nTry 'tar --help' for more information.\n").map(v -> 2);
    };
  }

  private static Request parse(List<String> args) throws UsageException {
    Request request = new Request();
    List<Character> needArguments = new ArrayList<>();
    List<String> rest = new ArrayList<>(args);
    if (!rest.isEmpty() && !rest.get(0).startsWith("-") && !rest.get(0).isEmpty()) {
      for (char letter : rest.remove(0).toCharArray()) {
        if (letter(request, letter)) {
          needArguments.add(letter);
        }
      }
    }
    int index = 0;
    while (index < rest.size()) {
      String arg = rest.get(index++);
      if (!needArguments.isEmpty()) {
        argument(request, needArguments.remove(0), arg);
      } else if (arg.startsWith("--")) {
        index = longOption(request, arg, rest, index);
      } else if (arg.startsWith("-") && arg.length() > 1) {
        for (int i = 1; i < arg.length(); i++) {
          char letter = arg.charAt(i);
          if (letter(request, letter)) {
            String value = arg.substring(i + 1);
            if (value.isEmpty()) {
              if (index >= rest.size()) {
                throw new UsageException("option requires an argument -- '" + letter + "'");
              }
              value = rest.get(index++);
            }
            argument(request, letter, value);
            break;
          }
        }
      } else {
        request.operands.add(arg);
      }
    }
    if (!needArguments.isEmpty()) {
      throw new UsageException("option requires an argument -- '" + needArguments.get(0) + "'");
    }
    return request;
  }

  /** Applies a one-letter option; true when it takes an argument. */
  private static boolean letter(Request request, char letter) throws UsageException {
    switch (letter) {
      case 'c', 'x', 't' -> {
        if (request.mode != 0 && request.mode != letter) {
          throw new UsageException("You may not specify more than one '-Acdtrux', '--delete' or '--test-label'"
              + " option");
        }
        request.mode = letter;
      }
      case 'f', 'C' -> {
        return true;
      }
      case 'v' -> request.verbose = true;
      case 'z' -> request.gzip = true;
      case 'm' -> request.keepModifiedTimes = false;
      case 'p', 'o', 'h', 'k', 'O' -> { }
      default -> throw new UsageException("invalid option -- '" + letter + "'");
    }
    return false;
  }

  private static void argument(Request request, char letter, String value) {
    if (letter == 'f') {
      request.archive = value;
    } else {
      request.directory = value;
    }
  }

  private static int longOption(Request request, String arg, List<String> rest, int index) throws UsageException {
    String name = arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg;
    String value = arg.contains("=") ? arg.substring(arg.indexOf('=') + 1) : null;
    switch (name) {
      case "--create" -> letter(request, 'c');
      case "--extract", "--get" -> letter(request, 'x');
      case "--list" -> letter(request, 't');
      case "--verbose" -> request.verbose = true;
      case "--gzip" -> request.gzip = true;
      case "--touch" -> request.keepModifiedTimes = false;
      case "--file", "--directory" -> {
        if (value == null) {
          if (index >= rest.size()) {
            throw new UsageException("option '" + name + "' requires an argument");
          }
          value = rest.get(index++);
        }
        argument(request, name.equals("--file") ? 'f' : 'C', value);
      }
      default -> {
        if (name.startsWith("--warning")) {
          break;
        }
        if (!IGNORED_LONG_OPTIONS.contains(name)) {
          throw new UsageException("unrecognized option '" + arg + "'");
        }
      }
    }
    if (name.equals("--no-same-permissions")) {
      request.umask = true;
    }
    return index;
  }

  // ---- create ----

  /** One member to write, captured on the event loop; the chunks are immutable, so the worker may read them. */
  private record Member(String name, FileTree.Node node, List<byte[]> chunks, long size) {
  }

  private static Future<Integer> create(Invocation inv, Request request, String base) {
    if (request.operands.isEmpty()) {
      return inv.io().stderr().write("tar: Cowardly refusing to create an empty archive\n"
          + "Try 'tar --help' for more information.\n").map(v -> 2);
    }
    StringBuilder problems = new StringBuilder();
    List<Member> members = new ArrayList<>();
    boolean strippedSlash = false;
    for (String operand : request.operands) {
      String path = FileTree.absolute(base, operand);
      FileTree.Node node = inv.fs().findNoFollow(path);
      if (node == null) {
        problems.append("tar: ").append(operand).append(": Cannot stat: ").append(FsException.NOT_FOUND).append('\n');
        continue;
      }
      String name = operand.replaceAll("/{2,}", "/");
      if (name.startsWith("/")) {
        name = name.replaceFirst("^/+", "");
        strippedSlash = true;
      }
      collect(name.isEmpty() ? "./" : name, node, members);
    }
    boolean failed = problems.length() > 0;
    Context context = inv.shell().container().vertx().getOrCreateContext();
    boolean toStdout = request.archive.equals("-");
    OutputStream sink = toStdout ? new WorkerStreams.OutputBridge(context, inv.io().stdout(), inv.cancellation())
        : new ByteArrayOutputStream();
    Output listing = toStdout ? inv.io().stderr() : inv.io().stdout();
    return inv.io().stderr().write((strippedSlash ? REMOVING_SLASH : "") + problems)
        .compose(v -> inv.container().blocking(() -> {
          writeArchive(members, sink, request, context, listing);
          return null;
        }))
        .compose(v -> toStdout ? Future.succeededFuture()
            : storeArchive(inv, request, ((ByteArrayOutputStream) sink).toByteArray()))
        .compose(v -> inv.io().stderr().write(failed ? FAILURE : ""))
        .map(v -> failed ? 2 : 0)
        .recover(error -> archiveFailure(inv, error));
  }

  private static void collect(String name, FileTree.Node node, List<Member> members) {
    if (node instanceof FileTree.Dir dir) {
      String dirName = name.endsWith("/") ? name : name + "/";
      members.add(new Member(dirName, node, List.of(), 0));
      for (Map.Entry<String, FileTree.Node> child : new TreeMap<>(dir.children()).entrySet()) {
        collect(dirName.equals("./") ? child.getKey() : dirName + child.getKey(), child.getValue(), members);
      }
    } else if (node instanceof FileTree.File file) {
      members.add(new Member(name, node, file.chunks(), file.size()));
    } else {
      members.add(new Member(name, node, List.of(), 0));
    }
  }

  private static void writeArchive(List<Member> members, OutputStream sink, Request request, Context context,
      Output listing) throws IOException {
    OutputStream compressed = request.gzip ? new GzipCompressorOutputStream(sink) : sink;
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(compressed)) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
      StringBuilder names = new StringBuilder();
      for (Member member : members) {
        TarArchiveEntry entry;
        if (member.node() instanceof FileTree.Symlink link) {
          entry = new TarArchiveEntry(member.name(), TarConstants.LF_SYMLINK);
          entry.setLinkName(link.target());
        } else {
          entry = new TarArchiveEntry(member.name());
          entry.setSize(member.size());
        }
        entry.setMode((member.node() instanceof FileTree.Dir ? 040000 : member.node() instanceof FileTree.Symlink
            ? 0120000 : 0100000) | member.node().mode());
        // Whole seconds, as GNU tar writes them: finer times would add a PAX header to every member.
        entry.setLastModifiedTime(FileTime.from(member.node().modifiedMillis() / 1000, TimeUnit.SECONDS));
        entry.setUserName("root");
        entry.setGroupName("root");
        tar.putArchiveEntry(entry);
        for (byte[] chunk : member.chunks()) {
          tar.write(chunk);
        }
        tar.closeArchiveEntry();
        if (request.verbose) {
          names.append(member.name()).append('\n');
        }
      }
      tar.finish();
      if (names.length() > 0) {
        context.runOnContext(v -> listing.write(names.toString()));
      }
    }
  }

  private static Future<Void> storeArchive(Invocation inv, Request request, byte[] archive) {
    List<byte[]> chunks = new ArrayList<>();
    for (int offset = 0; offset < archive.length; offset += Streams.CHUNK_BYTES) {
      chunks.add(java.util.Arrays.copyOfRange(archive, offset, Math.min(archive.length, offset + Streams.CHUNK_BYTES)));
    }
    try {
      inv.fs().writeFile(inv.path(request.archive), chunks, 0644);
      return Future.succeededFuture();
    } catch (FsException e) {
      return Future.failedFuture(new ArchiveError(request.archive + ": Cannot open: " + e.reason()));
    }
  }

  // ---- extract and list ----

  private static Future<Integer> extract(Invocation inv, Request request, String base) {
    Context context = inv.shell().container().vertx().getOrCreateContext();
    InputStream source;
    if (request.archive.equals("-")) {
      source = new WorkerStreams.PipeInput(context, inv.io().stdin(), inv.cancellation());
    } else {
      FileTree.Node node = inv.fs().find(inv.path(request.archive));
      if (!(node instanceof FileTree.File file)) {
        return inv.io().stderr().write("tar: " + request.archive + ": Cannot open: " + FsException.NOT_FOUND
            + "\ntar: Error is not recoverable: exiting now\n").map(v -> 2);
      }
      source = new ChunkInput(file.chunks());
    }
    Extraction extraction = new Extraction(inv, request, base, context);
    return inv.container().blocking(() -> {
      try (InputStream in = source) {
        return extraction.readArchive(in);
      }
    }).recover(error -> archiveFailure(inv, error));
  }

  /** Reads the archive on a worker; applies each member to the tree on the event loop. */
  private static final class Extraction {
    private final Invocation inv;
    private final Request request;
    private final String base;
    private final Context context;
    private boolean failed;
    private boolean strippedSlash;

    Extraction(Invocation inv, Request request, String base, Context context) {
      this.inv = inv;
      this.request = request;
      this.base = base;
      this.context = context;
    }

    int readArchive(InputStream source) throws IOException {
      InputStream in = request.gzip ? new GzipCompressorInputStream(source) : source;
      TarArchiveInputStream tar = new TarArchiveInputStream(in);
      boolean any = false;
      while (true) {
        TarArchiveEntry entry;
        try {
          entry = tar.getNextEntry();
        } catch (InterruptedIOException e) {
          throw e;
        } catch (IOException | IllegalArgumentException e) {
          throw new ArchiveError(any ? "Unexpected EOF in archive" : "This does not look like a tar archive");
        }
        if (entry == null) {
          break;
        }
        any = true;
        member(tar, entry);
      }
      if (failed) {
        say(FAILURE);
      }
      return failed ? 2 : 0;
    }

    private void member(TarArchiveInputStream tar, TarArchiveEntry entry) throws IOException {
      String name = entry.getName();
      if (name.startsWith("/")) {
        name = name.replaceFirst("^/+", "");
        if (!strippedSlash) {
          strippedSlash = true;
          say(REMOVING_SLASH);
        }
      }
      if (List.of(name.split("/")).contains("..")) {
        say("tar: " + entry.getName() + ": Member name contains '..'\n");
        failed = true;
        return;
      }
      if (request.verbose || request.mode == 't') {
        say(request.mode == 't' && request.verbose ? listing(entry, name) : name + "\n", request.mode == 't');
      }
      if (request.mode == 't' || name.isEmpty() || name.equals("./")) {
        return;
      }
      String path = FileTree.absolute(base, name);
      int mode = entry.getMode() & 07777;
      if (request.umask) {
        mode &= ~022;
      }
      long modified = request.keepModifiedTimes ? entry.getLastModifiedTime().toMillis() : -1;
      int finalMode = mode;
      if (entry.isDirectory()) {
        apply(name, () -> {
          FileTree.Dir dir = inv.fs().mkdirs(path, finalMode == 0 ? 0755 : finalMode);
          touch(dir, modified);
        });
      } else if (entry.isSymbolicLink()) {
        apply(name, () -> {
          inv.fs().mkdirs(FileTree.parent(path), 0755);
          if (inv.fs().findNoFollow(path) != null) {
            inv.fs().remove(path, true);
          }
          inv.fs().symlink(path, entry.getLinkName());
        });
      } else if (entry.isLink()) {
        String target = FileTree.absolute(base, entry.getLinkName());
        apply(name, () -> {
          FileTree.File linked = inv.fs().file(target);
          inv.fs().writeFile(path, linked.chunks(), linked.mode());
        });
      } else if (entry.isFile()) {
        long available = WorkerStreams.onContext(context, () -> inv.fs().availableBytes());
        if (entry.getSize() > available) {
          say("tar: " + name + ": Cannot write: " + FsException.NO_SPACE + "\n");
          failed = true;
          return;
        }
        List<byte[]> chunks = new ArrayList<>();
        byte[] chunk = new byte[Streams.CHUNK_BYTES];
        int filled = 0;
        int n;
        while ((n = tar.read(chunk, filled, chunk.length - filled)) > 0) {
          filled += n;
          if (filled == chunk.length) {
            chunks.add(chunk);
            chunk = new byte[Streams.CHUNK_BYTES];
            filled = 0;
          }
        }
        if (filled > 0) {
          chunks.add(java.util.Arrays.copyOf(chunk, filled));
        }
        apply(name, () -> {
          inv.fs().mkdirs(FileTree.parent(path), 0755);
          touch(inv.fs().writeFile(path, chunks, finalMode == 0 ? 0644 : finalMode), modified);
        });
      }
    }

    private static void touch(FileTree.Node node, long modified) {
      if (modified >= 0) {
        node.modifiedMillis(modified);
      }
    }

    private void apply(String name, Runnable change) throws IOException {
      String problem = WorkerStreams.onContext(context, () -> {
        try {
          change.run();
          return null;
        } catch (FsException e) {
          return e.reason();
        }
      });
      if (problem != null) {
        say("tar: " + name + ": Cannot open: " + problem + "\n");
        failed = true;
      }
    }

    private String listing(TarArchiveEntry entry, String name) {
      FileTree.Node shape = entry.isDirectory() ? new FileTree.Dir(entry.getMode() & 07777, 0)
          : new FileTree.File(entry.getMode() & 07777, 0, List.of());
      String time = LIST_TIME.format(entry.getLastModifiedTime().toInstant().atZone(java.time.ZoneOffset.UTC));
      return String.format(java.util.Locale.ROOT, "%s root/root %8d %s %s%n", Commands.permissions(shape),
          entry.getSize(), time, name);
    }

    private void say(String text) throws IOException {
      say(text, false);
    }

    /** Writes to stderr (stdout for a listing), waiting for it so messages keep their order. */
    private void say(String text, boolean toStdout) throws IOException {
      WorkerStreams.write(context, toStdout ? inv.io().stdout() : inv.io().stderr(), text);
    }
  }

  /** A failure that ends tar with GNU tar's "not recoverable" message. */
  private static final class ArchiveError extends IOException {
    ArchiveError(String message) {
      super(message);
    }
  }

  private static Future<Integer> archiveFailure(Invocation inv, Throwable error) {
    if (error instanceof InterruptedIOException) {
      return Future.succeededFuture(Shell.INTERRUPTED);
    }
    if (error instanceof WorkerStreams.BrokenPipe) {
      return Future.succeededFuture(Shell.BROKEN_PIPE);
    }
    String message = error instanceof ArchiveError ? error.getMessage() : String.valueOf(error.getMessage());
    return inv.io().stderr().write("tar: " + message + "\ntar: Error is not recoverable: exiting now\n")
        .map(v -> 2);
  }

  /** A file's content as an InputStream, for extracting from an archive stored in the container. */
  private static final class ChunkInput extends InputStream {
    private final List<byte[]> chunks;
    private int chunk;
    private int offset;

    ChunkInput(List<byte[]> chunks) {
      this.chunks = chunks;
    }

    @Override
    public int read() {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] target, int targetOffset, int length) {
      while (chunk < chunks.size() && offset >= chunks.get(chunk).length) {
        chunk++;
        offset = 0;
      }
      if (chunk >= chunks.size()) {
        return -1;
      }
      int n = Math.min(length, chunks.get(chunk).length - offset);
      System.arraycopy(chunks.get(chunk), offset, target, targetOffset, n);
      offset += n;
      return n;
    }
  }
}
