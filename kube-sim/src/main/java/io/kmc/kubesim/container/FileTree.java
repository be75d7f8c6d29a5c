package io.kmc.kubesim.container;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.LongSupplier;

/**
 * A container's filesystem, in memory: directories, regular files and symbolic links, with modes
 * and modification times, and a capacity past which writes fail as a full disk does.
 *
 * <p>File contents are lists of immutable chunks, so that reading a big file (cat, tar) never copies
 * it and a reader on another thread can hold a snapshot while the tree changes. The tree itself is
 * used on the container's event-loop context only.
 */
public final class FileTree {

  /** Symbolic links followed while resolving one path before giving up, as Linux's ELOOP limit. */
  private static final int MAX_LINK_HOPS = 40;

  /** A node: {@link Dir}, {@link File} or {@link Symlink}. */
  public abstract static sealed class Node permits Dir, File, Symlink {
    int mode;
    long modifiedMillis;

    Node(int mode, long modifiedMillis) {
      this.mode = mode;
      this.modifiedMillis = modifiedMillis;
    }

    /** Permission bits (0755...). */
    public int mode() {
      return mode;
    }

    public long modifiedMillis() {
      return modifiedMillis;
    }

    public void modifiedMillis(long millis) {
      this.modifiedMillis = millis;
    }
  }

  public static final class Dir extends Node {
    private final TreeMap<String, Node> children = new TreeMap<>();

    Dir(int mode, long modifiedMillis) {
      super(mode, modifiedMillis);
    }

    /** Entries by name, sorted. */
    public Map<String, Node> children() {
      return children;
    }
  }

  public static final class File extends Node {
    private List<byte[]> chunks;
    private long size;

    File(int mode, long modifiedMillis, List<byte[]> chunks) {
      super(mode, modifiedMillis);
      this.chunks = List.copyOf(chunks);
      this.size = sizeOf(chunks);
    }

    /** The content as it is now; later writes replace the list, never the chunks in it. */
    public List<byte[]> chunks() {
      return chunks;
    }

    public long size() {
      return size;
    }

    /** The content as one array; for small files. */
    public byte[] bytes() {
      byte[] all = new byte[Math.toIntExact(size)];
      int offset = 0;
      for (byte[] chunk : chunks) {
        System.arraycopy(chunk, 0, all, offset, chunk.length);
        offset += chunk.length;
      }
      return all;
    }
  }

  public static final class Symlink extends Node {
    private final String target;

    Symlink(long modifiedMillis, String target) {
      super(0777, modifiedMillis);
      this.target = target;
    }

    public String target() {
      return target;
    }
  }

  private final Dir root;
  private final long capacityBytes;
  private final LongSupplier clock;
  private long usedBytes;

  /** An empty tree (just "/") holding at most {@code capacityBytes} of file content. */
  public FileTree(long capacityBytes, LongSupplier clock) {
    this.capacityBytes = capacityBytes;
    this.clock = clock;
    this.root = new Dir(0755, clock.getAsLong());
  }

  public long usedBytes() {
    return usedBytes;
  }

  /** How many more bytes of content fit. */
  public long availableBytes() {
    return capacityBytes - usedBytes;
  }

  public long now() {
    return clock.getAsLong();
  }

  /**
   * The absolute, normalized form of {@code path} seen from the directory {@code cwd}: "." and ".."
   * resolved lexically, repeated slashes collapsed ("/" for the root).
   */
  public static String absolute(String cwd, String path) {
    String joined = path.startsWith("/") ? path : cwd + "/" + path;
    List<String> parts = new ArrayList<>();
    for (String part : joined.split("/")) {
      if (part.isEmpty() || part.equals(".")) {
        continue;
      }
      if (part.equals("..")) {
        if (!parts.isEmpty()) {
          parts.remove(parts.size() - 1);
        }
      } else {
        parts.add(part);
      }
    }
    return "/" + String.join("/", parts);
  }

  /** The directory part of an absolute path ("/" for "/x"). */
  public static String parent(String absolutePath) {
    int slash = absolutePath.lastIndexOf('/');
    return slash <= 0 ? "/" : absolutePath.substring(0, slash);
  }

  /** The last name of an absolute path ("" for "/"). */
  public static String baseName(String absolutePath) {
    return absolutePath.substring(absolutePath.lastIndexOf('/') + 1);
  }

  /** The node at an absolute path, following links (also the last one); null when nothing is there. */
  public Node find(String absolutePath) {
    return lookup(absolutePath, true, 0);
  }

  /** Like {@link #find}, but a link at the end is returned as the link. */
  public Node findNoFollow(String absolutePath) {
    return lookup(absolutePath, false, 0);
  }

  /** The node at a path, or the error a system call would report. */
  public Node get(String absolutePath) {
    Node node = find(absolutePath);
    if (node == null) {
      throw new FsException(absolutePath, FsException.NOT_FOUND);
    }
    return node;
  }

  public Dir directory(String absolutePath) {
    Node node = get(absolutePath);
    if (node instanceof Dir dir) {
      return dir;
    }
    throw new FsException(absolutePath, FsException.NOT_A_DIRECTORY);
  }

  public File file(String absolutePath) {
    Node node = get(absolutePath);
    if (node instanceof File file) {
      return file;
    }
    throw new FsException(absolutePath, FsException.IS_A_DIRECTORY);
  }

  /** Creates a directory; its parent must exist. Fails when something is already there. */
  public Dir mkdir(String absolutePath, int mode) {
    Dir parent = directory(parent(absolutePath));
    String name = baseName(absolutePath);
    if (name.isEmpty() || parent.children.containsKey(name)) {
      throw new FsException(absolutePath, FsException.EXISTS);
    }
    Dir dir = new Dir(mode, now());
    parent.children.put(name, dir);
    parent.modifiedMillis = now();
    return dir;
  }

  /** Creates a directory and any missing parents ({@code mkdir -p}); an existing directory is fine. */
  public Dir mkdirs(String absolutePath, int mode) {
    Node existing = find(absolutePath);
    if (existing instanceof Dir dir) {
      return dir;
    }
    if (existing != null) {
      throw new FsException(absolutePath, FsException.NOT_A_DIRECTORY);
    }
    mkdirs(parent(absolutePath), mode);
    return mkdir(absolutePath, mode);
  }

  /**
   * Creates or replaces a regular file with this content. The parent directory must exist; a
   * directory at the path is an error; a link at the path is followed.
   */
  public File writeFile(String absolutePath, List<byte[]> content, int mode) {
    String target = resolveLinkAtEnd(absolutePath);
    Dir parent = directory(parent(target));
    String name = baseName(target);
    Node existing = parent.children.get(name);
    if (existing instanceof Dir) {
      throw new FsException(absolutePath, FsException.IS_A_DIRECTORY);
    }
    long freed = existing instanceof File file ? file.size : 0;
    reserve(absolutePath, sizeOf(content) - freed);
    File file = new File(mode, now(), content);
    parent.children.put(name, file);
    parent.modifiedMillis = now();
    return file;
  }

  /** Appends to a file, creating it (mode 0644) when missing; what {@code >>} and every write to {@code >} do. */
  public File append(String absolutePath, byte[] data) {
    Node node = find(absolutePath);
    if (node == null) {
      return writeFile(absolutePath, List.of(data), 0644);
    }
    if (!(node instanceof File file)) {
      throw new FsException(absolutePath, FsException.IS_A_DIRECTORY);
    }
    reserve(absolutePath, data.length);
    List<byte[]> chunks = new ArrayList<>(file.chunks);
    chunks.add(data);
    file.chunks = List.copyOf(chunks);
    file.size += data.length;
    file.modifiedMillis = now();
    return file;
  }

  /** Creates a symbolic link; the parent must exist and nothing may be at the path. */
  public void symlink(String absolutePath, String target) {
    Dir parent = directory(parent(absolutePath));
    String name = baseName(absolutePath);
    if (parent.children.containsKey(name)) {
      throw new FsException(absolutePath, FsException.EXISTS);
    }
    parent.children.put(name, new Symlink(now(), target));
  }

  /** Removes a file or link, or a directory (which must be empty unless {@code recursive}). */
  public void remove(String absolutePath, boolean recursive) {
    if (absolutePath.equals("/")) {
      throw new FsException(absolutePath, FsException.BUSY);
    }
    Dir parent = directory(parent(absolutePath));
    String name = baseName(absolutePath);
    Node node = parent.children.get(name);
    if (node == null) {
      throw new FsException(absolutePath, FsException.NOT_FOUND);
    }
    if (node instanceof Dir dir && !dir.children.isEmpty() && !recursive) {
      throw new FsException(absolutePath, FsException.NOT_EMPTY);
    }
    parent.children.remove(name);
    parent.modifiedMillis = now();
    usedBytes -= contentBytes(node);
  }

  /** Moves a node to a new path whose parent exists, replacing a file there ({@code mv}). */
  public void move(String from, String to) {
    Dir fromParent = directory(parent(from));
    Node node = fromParent.children.get(baseName(from));
    if (node == null) {
      throw new FsException(from, FsException.NOT_FOUND);
    }
    Dir toParent = directory(parent(to));
    Node existing = toParent.children.get(baseName(to));
    if (existing instanceof Dir) {
      throw new FsException(to, FsException.IS_A_DIRECTORY);
    }
    if (existing != null) {
      usedBytes -= contentBytes(existing);
    }
    fromParent.children.remove(baseName(from));
    toParent.children.put(baseName(to), node);
    fromParent.modifiedMillis = now();
    toParent.modifiedMillis = now();
  }

  private void reserve(String path, long bytes) {
    if (bytes > 0 && usedBytes + bytes > capacityBytes) {
      throw new FsException(path, FsException.NO_SPACE);
    }
    usedBytes += bytes;
  }

  private static long contentBytes(Node node) {
    if (node instanceof File file) {
      return file.size;
    }
    if (node instanceof Dir dir) {
      long total = 0;
      for (Node child : dir.children.values()) {
        total += contentBytes(child);
      }
      return total;
    }
    return 0;
  }

  private static long sizeOf(List<byte[]> chunks) {
    long size = 0;
    for (byte[] chunk : chunks) {
      size += chunk.length;
    }
    return size;
  }

  /** The path a link at the end of {@code absolutePath} points to (the path itself when it is no link). */
  private String resolveLinkAtEnd(String absolutePath) {
    String path = absolutePath;
    for (int hops = 0; hops < MAX_LINK_HOPS; hops++) {
      if (!(findNoFollow(path) instanceof Symlink link)) {
        return path;
      }
      path = absolute(parent(path), link.target);
    }
    throw new FsException(absolutePath, FsException.LOOP);
  }

  private Node lookup(String absolutePath, boolean followLast, int hops) {
    if (hops > MAX_LINK_HOPS) {
      throw new FsException(absolutePath, FsException.LOOP);
    }
    Node current = root;
    String walked = "";
    String[] parts = absolute("/", absolutePath).substring(1).split("/");
    for (int i = 0; i < parts.length; i++) {
      String part = parts[i];
      if (part.isEmpty()) {
        continue;
      }
      if (!(current instanceof Dir dir)) {
        return null;
      }
      Node next = dir.children.get(part);
      boolean last = i == parts.length - 1;
      if (next instanceof Symlink link && (!last || followLast)) {
        String rest = last ? "" : "/" + String.join("/", java.util.Arrays.copyOfRange(parts, i + 1, parts.length));
        String target = absolute(walked.isEmpty() ? "/" : walked, link.target);
        return lookup(target + rest, followLast, hops + 1);
      }
      if (next == null) {
        return null;
      }
      current = next;
      walked = walked + "/" + part;
    }
    return current;
  }
}
