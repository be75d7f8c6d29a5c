package io.kmc.hub.plugin;

import io.kmc.plugin.KmcPlugin;
import io.kmc.plugin.NotificationChannel;
import io.kmc.plugin.PluginApi;
import io.kmc.plugin.PluginContext;
import io.kmc.plugin.PolicyFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The plugins of a hub node: each jar in the plugins directory, loaded at start in a class loader of
 * its own (its parent has the hub's classes, so the plugin API is the hub's). A jar is checked
 * before any of its classes load: it must be a jar, declare its name and the plugin API version it
 * was built for ({@value PluginApi#DESCRIPTOR}), and that version must be this hub's. A broken or
 * incompatible jar is left out with an error naming it; the hub starts without it and reports it.
 */
public final class Plugins {

  private static final Logger LOG = LoggerFactory.getLogger(Plugins.class);
  private static final String SERVICES = "META-INF/services/" + KmcPlugin.class.getName();
  private static final Pattern FUNCTION_NAME = Pattern.compile("[A-Za-z][A-Za-z0-9_]{0,62}");

  /** One plugin as loaded: what it adds. */
  public record Loaded(String name, Path jar, List<NotificationChannel> channels, List<PolicyFunction> functions) {
  }

  /** A jar that was left out, and why. */
  public record Failure(Path jar, String reason) {
    @Override
    public String toString() {
      return jar.getFileName() + ": " + reason;
    }
  }

  private final List<Loaded> loaded;
  private final List<Failure> failures;
  private final List<URLClassLoader> loaders;

  private Plugins(List<Loaded> loaded, List<Failure> failures, List<URLClassLoader> loaders) {
    this.loaded = List.copyOf(loaded);
    this.failures = List.copyOf(failures);
    this.loaders = loaders;
  }

  public static Plugins none() {
    return new Plugins(List.of(), List.of(), List.of());
  }

  /**
   * Loads every {@code *.jar} of {@code dir} (none if it does not exist), in name order. Blocking
   * (file I/O, class loading): call it on a worker. {@code reservedChannelTypes} are the hub's own.
   */
  public static Plugins load(Path dir, PluginContext context, Set<String> reservedChannelTypes) {
    if (dir == null || !Files.isDirectory(dir)) {
      LOG.info("no plugins: {} is not a directory", dir);
      return none();
    }
    List<Path> jars;
    try (Stream<Path> files = Files.list(dir)) {
      jars = files.filter(f -> f.getFileName().toString().endsWith(".jar")).sorted().toList();
    } catch (IOException e) {
      return new Plugins(List.of(), List.of(new Failure(dir, "cannot list the plugins directory: " + e.getMessage())),
          List.of());
    }
    List<Loaded> loaded = new ArrayList<>();
    List<Failure> failures = new ArrayList<>();
    List<URLClassLoader> loaders = new ArrayList<>();
    Set<String> channelTypes = new HashSet<>(reservedChannelTypes);
    Set<String> functions = new HashSet<>();
    Set<String> names = new HashSet<>();
    for (Path jar : jars) {
      URLClassLoader loader = null;
      try {
        String declared = checkJar(jar);
        loader = new PluginClassLoader(jar, Plugins.class.getClassLoader());
        Loaded plugin = instantiate(jar, declared, loader, context);
        checkUnique(plugin, names, channelTypes, functions);
        loaded.add(plugin);
        loaders.add(loader);
        LOG.info("plugin {} loaded from {}: channel types {}, policy functions {}", plugin.name(), jar,
            plugin.channels().stream().map(NotificationChannel::type).toList(),
            plugin.functions().stream().map(PolicyFunction::name).toList());
      } catch (Exception | LinkageError | java.util.ServiceConfigurationError e) {
        String reason = e instanceof PluginException ? e.getMessage() : e.getClass().getSimpleName() + ": "
            + e.getMessage();
        failures.add(new Failure(jar, reason));
        LOG.error("plugin {} is left out: {}", jar, reason);
        close(loader);
      }
    }
    return new Plugins(loaded, failures, loaders);
  }

  /** Checks the jar's descriptor without loading a class; returns the declared name. */
  private static String checkJar(Path jar) {
    try (ZipFile zip = new ZipFile(jar.toFile())) {
      ZipEntry descriptor = zip.getEntry(PluginApi.DESCRIPTOR);
      if (descriptor == null) {
        throw new PluginException("not a kmc plugin: it has no " + PluginApi.DESCRIPTOR);
      }
      Properties properties = new Properties();
      try (InputStream in = zip.getInputStream(descriptor)) {
        properties.load(in);
      }
      String name = properties.getProperty("name", "").trim();
      String version = properties.getProperty("api-version", "").trim();
      if (name.isEmpty()) {
        throw new PluginException(PluginApi.DESCRIPTOR + " has no name");
      }
      if (!version.equals(String.valueOf(PluginApi.VERSION))) {
        throw new PluginException("plugin " + name + " was built for plugin API version "
            + (version.isEmpty() ? "(none declared)" : version) + "; this hub has version " + PluginApi.VERSION);
      }
      if (zip.getEntry(SERVICES) == null) {
        throw new PluginException("plugin " + name + " has no " + SERVICES + " naming its implementation");
      }
      return name;
    } catch (IOException e) {
      throw new PluginException("not a readable jar: " + e.getMessage());
    }
  }

  private static Loaded instantiate(Path jar, String declared, URLClassLoader loader, PluginContext context) {
    List<KmcPlugin> found = new ArrayList<>();
    // Only the jar's own providers: the parent's (none, normally) belong to no plugin.
    ServiceLoader.load(KmcPlugin.class, loader).stream()
        .filter(provider -> provider.type().getClassLoader() == loader)
        .forEach(provider -> found.add(provider.get()));
    if (found.size() != 1) {
      throw new PluginException("plugin " + declared + " must provide exactly one " + KmcPlugin.class.getName()
          + ", it provides " + found.size());
    }
    KmcPlugin plugin = found.get(0);
    if (!declared.equals(plugin.name())) {
      throw new PluginException("its descriptor names it " + declared + " but the plugin calls itself "
          + plugin.name());
    }
    List<NotificationChannel> channels = List.copyOf(plugin.channels(context));
    List<PolicyFunction> functions = List.copyOf(plugin.policyFunctions());
    for (PolicyFunction f : functions) {
      if (f.name() == null || !FUNCTION_NAME.matcher(f.name()).matches() || f.parameters() == null
          || f.result() == null || f.parameters().size() > 8) {
        throw new PluginException("plugin " + declared + ": policy function '" + f.name()
            + "' needs a name of letters, digits and '_', a result type and at most 8 parameters");
      }
    }
    return new Loaded(plugin.name(), jar, channels, functions);
  }

  private static void checkUnique(Loaded plugin, Set<String> names, Set<String> channelTypes, Set<String> functions) {
    if (names.contains(plugin.name())) {
      throw new PluginException("another jar is plugin " + plugin.name() + " already");
    }
    Set<String> mine = new HashSet<>();
    for (NotificationChannel channel : plugin.channels()) {
      if (channelTypes.contains(channel.type()) || !mine.add("channel:" + channel.type())) {
        throw new PluginException("plugin " + plugin.name() + ": channel type '" + channel.type()
            + "' exists already");
      }
    }
    for (PolicyFunction f : plugin.functions()) {
      String key = f.name() + f.parameters();
      if (functions.contains(key) || !mine.add("function:" + key)) {
        throw new PluginException("plugin " + plugin.name() + ": policy function " + f.name() + f.parameters()
            + " exists already");
      }
    }
    names.add(plugin.name());
    plugin.channels().forEach(c -> channelTypes.add(c.type()));
    plugin.functions().forEach(f -> functions.add(f.name() + f.parameters()));
  }

  public List<Loaded> loaded() {
    return loaded;
  }

  public List<Failure> failures() {
    return failures;
  }

  public List<NotificationChannel> channels() {
    return loaded.stream().flatMap(p -> p.channels().stream()).toList();
  }

  public List<PolicyFunction> functions() {
    return loaded.stream().flatMap(p -> p.functions().stream()).toList();
  }

  /** What /ready says: the plugins loaded and those left out, by jar. */
  public String describe() {
    if (loaded.isEmpty() && failures.isEmpty()) {
      return "none";
    }
    StringBuilder text = new StringBuilder(loaded.size() + " loaded");
    if (!loaded.isEmpty()) {
      text.append(" (").append(String.join(", ", loaded.stream().map(p -> p.name() + " from "
          + p.jar().getFileName()).toList())).append(')');
    }
    if (!failures.isEmpty()) {
      text.append("; ").append(failures.size()).append(" left out: ")
          .append(String.join("; ", failures.stream().map(Failure::toString).toList()));
    }
    return text.toString();
  }

  public void close() {
    loaders.forEach(Plugins::close);
  }

  private static void close(URLClassLoader loader) {
    if (loader != null) {
      try {
        loader.close();
      } catch (IOException e) {
        // nothing to do: the hub is stopping
      }
    }
  }

  /** A reason to leave a jar out, as the operator reads it. */
  private static final class PluginException extends RuntimeException {
    PluginException(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * A plugin jar's class loader: the hub's classes first (the plugin API must be the hub's own), then
   * the jar's. Services are looked up in the jar alone, so that one plugin's providers are never
   * taken for another's.
   */
  private static final class PluginClassLoader extends URLClassLoader {

    PluginClassLoader(Path jar, ClassLoader parent) throws IOException {
      super("kmc-plugin-" + jar.getFileName(), new URL[] {jar.toUri().toURL()}, parent);
    }

    @Override
    public Enumeration<URL> getResources(String name) throws IOException {
      if (name.startsWith("META-INF/services/")) {
        return findResources(name);
      }
      return super.getResources(name);
    }

    @Override
    public Enumeration<URL> findResources(String name) throws IOException {
      Enumeration<URL> own = super.findResources(name);
      return own == null ? Collections.emptyEnumeration() : own;
    }
  }
}
