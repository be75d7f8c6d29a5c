package io.kmc.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code kmc clusters …}: the hub's registry of member clusters. Alone, it lists them. */
@Command(name = "clusters", aliases = "cluster", mixinStandardHelpOptions = true,
    description = "Member clusters: list, get, add (prints the agent's install command), remove, label, rotate-token.",
    subcommands = {ClustersCommand.ListClusters.class, ClustersCommand.Get.class, ClustersCommand.Add.class,
        ClustersCommand.Remove.class, ClustersCommand.Label.class, ClustersCommand.RotateToken.class})
final class ClustersCommand implements Callable<Integer> {

  private final Cli cli;

  @Mixin
  KmcCommand.HubOption hubOption;

  @Mixin
  Output.Options output;

  ClustersCommand(Cli cli) {
    this.cli = cli;
  }

  @Override
  public Integer call() {
    return list(cli, hubOption, output);
  }

  static int list(Cli cli, KmcCommand.HubOption hubOption, Output.Options output) {
    JsonNode answer = HubClient.of(cli, hubOption.hub).get("/api/v1/clusters");
    Output.print(cli, output.format, answer, answer.get("items"), table());
    return 0;
  }

  static Output.Table table() {
    return new Output.Table()
        .column("NAME", c -> Output.text(c, "name"))
        .column("STATUS", ClustersCommand::status)
        .column("LABELS", c -> labels(c.get("labels")))
        .column("KUBERNETES", c -> Output.text(c.path("connection"), "kubernetesVersion"))
        .column("AGENT", c -> Output.text(c.path("connection"), "agentVersion"))
        .column("LAST SEEN", c -> Output.age(Output.text(c.path("connection"), "lastSeen")))
        .column("AGE", c -> Output.age(Output.text(c, "createdAt")));
  }

  static String status(JsonNode cluster) {
    if (!cluster.path("enabled").asBoolean(true)) {
      return "Disabled";
    }
    return cluster.path("connection").path("connected").asBoolean() ? "Connected" : "Disconnected";
  }

  static String labels(JsonNode labels) {
    List<String> pairs = new ArrayList<>();
    if (labels != null) {
      labels.fields().forEachRemaining(e -> pairs.add(e.getKey() + "=" + e.getValue().asText()));
    }
    return String.join(",", pairs);
  }

  @Command(name = "list", aliases = "ls", mixinStandardHelpOptions = true, description = "List the clusters you can see.")
  static final class ListClusters implements Callable<Integer> {
    private final Cli cli;
    @Mixin
    KmcCommand.HubOption hubOption;
    @Mixin
    Output.Options output;

    ListClusters(Cli cli) {
      this.cli = cli;
    }

    @Override
    public Integer call() {
      return list(cli, hubOption, output);
    }
  }

  @Command(name = "get", mixinStandardHelpOptions = true, description = "Show one cluster and its connection.")
  static final class Get implements Callable<Integer> {
    private final Cli cli;
    @Mixin
    KmcCommand.HubOption hubOption;
    @Mixin
    Output.Options output;
    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    Get(Cli cli) {
      this.cli = cli;
    }

    @Override
    public Integer call() {
      JsonNode cluster = HubClient.of(cli, hubOption.hub).get("/api/v1/clusters/" + name);
      if (output.format != Output.Format.table) {
        Output.print(cli, output.format, cluster, java.util.List.of(cluster), table());
        return 0;
      }
      JsonNode connection = cluster.path("connection");
      Map<String, String> fields = new LinkedHashMap<>();
      fields.put("Name", Output.text(cluster, "name"));
      fields.put("Display name", Output.text(cluster, "displayName"));
      fields.put("Status", status(cluster));
      fields.put("Mode", Output.text(cluster, "mode"));
      fields.put("Labels", labels(cluster.get("labels")));
      fields.put("Impersonates users", Output.text(cluster, "impersonate"));
      fields.put("Hub node", Output.text(connection, "node"));
      fields.put("Connected since", Output.text(connection, "connectedSince"));
      fields.put("Last seen", Output.text(connection, "lastSeen"));
      fields.put("Latency", connection.hasNonNull("latencyMillis") ? connection.get("latencyMillis").asText() + " ms" : null);
      fields.put("Agent", Output.text(connection, "agentVersion"));
      fields.put("Kubernetes", Output.text(connection, "kubernetesVersion"));
      fields.put("Created", Output.text(cluster, "createdAt"));
      fields.forEach((key, value) -> cli.out().printf("%-20s %s%n", key + ":", value == null || value.isEmpty() ? "-" : value));
      cli.out().flush();
      return 0;
    }
  }

  @Command(name = "add", mixinStandardHelpOptions = true,
      description = {"Register a cluster and print the command that installs its agent.",
          "Run that command where kubectl reaches the cluster: it needs only curl and kubectl, works once, "
              + "and for a limited time (the hub's auth.install_link_lifetime, 1h by default).",
          "The agent's own rights in the cluster (--access): manage (default) lets the hub's RBAC alone decide what "
              + "users may do; read lets the hub only look; impersonate makes every call run as the hub user, so the "
              + "cluster's own RBAC applies too."})
  static final class Add implements Callable<Integer> {
    private final Cli cli;
    @Mixin
    KmcCommand.HubOption hubOption;
    @Parameters(index = "0", paramLabel = "NAME", description = "Lowercase letters, digits and '-', at most 63.")
    String name;
    @Option(names = {"-l", "--label"}, paramLabel = "KEY=VALUE", description = "A label (repeatable).")
    java.util.List<String> labels = new ArrayList<>();
    @Option(names = "--display-name", paramLabel = "TEXT")
    String displayName;
    @Option(names = "--access", paramLabel = "LEVEL", description = "manage (default), read or impersonate.")
    String access;
    @Option(names = "--wait", description = "Wait until the agent connects, showing progress.")
    boolean wait;
    @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "15m",
        description = "How long --wait waits (default ${DEFAULT-VALUE}).")
    String timeout;
    @Mixin
    Output.Options output;

    Add(Cli cli) {
      this.cli = cli;
    }

    @Override
    public Integer call() throws Exception {
      HubClient hub = HubClient.of(cli, hubOption.hub);
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("name", name);
      body.put("labels", parseLabels(labels));
      if (displayName != null) {
        body.put("displayName", displayName);
      }
      if (access != null) {
        body.put("access", access);
      }
      JsonNode created = hub.post("/api/v1/clusters", body);
      if (output.format != Output.Format.table) {
        Output.print(cli, output.format, created, java.util.List.of(created), table());
      } else {
        printInstall(cli, created, name, "registered");
      }
      return wait ? awaitAgent(cli, hub, name, Durations.parse(timeout, "--timeout")) : 0;
    }
  }

  /** The install command on standard output (alone, for scripts); what it is and does on standard error. */
  static void printInstall(Cli cli, JsonNode answer, String name, String what) {
    String access = Output.text(answer, "access");
    cli.err().println("Cluster " + name + " " + what + "; its agent will have access '" + access + "' ("
        + switch (String.valueOf(access)) {
          case "read" -> "the hub can look, not change anything";
          case "impersonate" -> "every call runs as the hub user, so the cluster's RBAC applies too";
          default -> "the hub's RBAC alone decides what users may do";
        } + ").");
    cli.err().println("Install the agent: run this where kubectl reaches " + name + " (it works once, until "
        + Output.text(answer, "installExpiresAt") + "):");
    cli.err().println();
    cli.err().flush();
    cli.out().println("  " + Output.text(answer, "installCommand"));
    cli.out().flush();
    cli.err().println();
    String hubUrl = Output.text(answer, "hubUrl");
    if (hubUrl != null && HubUrls.loopback(hubUrl)) {
      cli.err().println("note: the agent will dial " + hubUrl + ", which works only from this machine. For a "
          + "cluster elsewhere, set the hub's server.public_url (KMC_SERVER_PUBLIC_URL) to an address it can reach.");
    }
    cli.err().flush();
  }

  /** Polls the cluster until its agent is connected, with a progress line. */
  static int awaitAgent(Cli cli, HubClient hub, String name, Duration timeout) throws InterruptedException {
    Instant started = Instant.now();
    Instant deadline = started.plus(timeout);
    String[] spinner = {"|", "/", "-", "\\"};
    int tick = 0;
    if (!cli.interactive()) {
      cli.err().println("Waiting for the agent of " + name + " to connect (up to " + Output.duration(timeout) + ")…");
      cli.err().flush();
    }
    while (true) {
      JsonNode cluster = hub.get("/api/v1/clusters/" + name);
      JsonNode connection = cluster.path("connection");
      if (connection.path("connected").asBoolean()) {
        if (cli.interactive()) {
          cli.err().print("\r\033[K");
        }
        cli.err().println("Cluster " + name + " is connected: agent " + Output.text(connection, "agentVersion")
            + ", Kubernetes " + Output.text(connection, "kubernetesVersion") + ", through hub node "
            + shortNode(Output.text(connection, "node")) + ". Next: " + cli.commandName() + " kubeconfig " + name
            + " --merge");
        cli.err().flush();
        return 0;
      }
      if (Instant.now().isAfter(deadline)) {
        if (cli.interactive()) {
          cli.err().println();
        }
        throw new CliException("the agent of " + name + " did not connect within " + Output.duration(timeout)
            + "; in that cluster, see: kubectl -n kmc-system logs deploy/kmc-agent");
      }
      if (cli.interactive()) {
        cli.err().print("\r" + spinner[tick++ % spinner.length] + " waiting for the agent of " + name + " to connect ("
            + Output.duration(Duration.between(started, Instant.now())) + ", Ctrl-C stops waiting; the cluster stays "
            + "registered)");
        cli.err().flush();
      }
      Thread.sleep(1000);
    }
  }

  private static String shortNode(String node) {
    return node == null ? "-" : node.length() > 8 ? node.substring(0, 8) : node;
  }

  static Map<String, String> parseLabels(java.util.List<String> pairs) {
    Map<String, String> labels = new LinkedHashMap<>();
    for (String pair : pairs) {
      int equals = pair.indexOf('=');
      if (equals <= 0) {
        throw new CliException("'" + pair + "' is not a label: write KEY=VALUE");
      }
      labels.put(pair.substring(0, equals), pair.substring(equals + 1));
    }
    return labels;
  }

  @Command(name = "remove", aliases = {"rm", "delete"}, mixinStandardHelpOptions = true,
      description = "Remove a cluster from the hub; its agent is disconnected and refused from then on.")
  static final class Remove implements Callable<Integer> {
    private final Cli cli;
    @Mixin
    KmcCommand.HubOption hubOption;
    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    Remove(Cli cli) {
      this.cli = cli;
    }

    @Override
    public Integer call() {
      HubClient.of(cli, hubOption.hub).delete("/api/v1/clusters/" + name);
      cli.out().println("Cluster " + name + " removed. Its agent still runs in the cluster: remove it there with "
          + "kubectl delete namespace kmc-system && kubectl delete clusterrole,clusterrolebinding kmc-agent");
      return 0;
    }
  }

  @Command(name = "label", mixinStandardHelpOptions = true,
      description = {"Set or remove labels, as kubectl label does: KEY=VALUE sets, KEY- removes."})
  static final class Label implements Callable<Integer> {
    private final Cli cli;
    @Mixin
    KmcCommand.HubOption hubOption;
    @Parameters(index = "0", paramLabel = "NAME")
    String name;
    @Parameters(index = "1..*", arity = "1..*", paramLabel = "KEY=VALUE|KEY-")
    java.util.List<String> changes;

    Label(Cli cli) {
      this.cli = cli;
    }

    @Override
    public Integer call() {
      HubClient hub = HubClient.of(cli, hubOption.hub);
      JsonNode cluster = hub.get("/api/v1/clusters/" + name);
      Map<String, String> labels = new LinkedHashMap<>();
      cluster.path("labels").fields().forEachRemaining(e -> labels.put(e.getKey(), e.getValue().asText()));
      for (String change : changes) {
        if (change.endsWith("-") && !change.contains("=")) {
          labels.remove(change.substring(0, change.length() - 1));
        } else {
          labels.putAll(parseLabels(java.util.List.of(change)));
        }
      }
      ObjectNode body = HubClient.JSON.createObjectNode();
      body.set("labels", HubClient.JSON.valueToTree(labels));
      JsonNode updated = hub.patch("/api/v1/clusters/" + name, body);
      cli.out().println("Cluster " + name + " labels: " + labels(updated.get("labels")));
      return 0;
    }
  }

  @Command(name = "rotate-token", mixinStandardHelpOptions = true,
      description = {"Give the cluster a new join token and print a new install command.",
          "The agent using the old token is disconnected; run the new command to install the new token."})
  static final class RotateToken implements Callable<Integer> {
    private final Cli cli;
    @Mixin
    KmcCommand.HubOption hubOption;
    @Parameters(index = "0", paramLabel = "NAME")
    String name;
    @Option(names = "--access", paramLabel = "LEVEL", description = "manage, read or impersonate (default: as now).")
    String access;
    @Option(names = "--wait", description = "Wait until the agent connects again.")
    boolean wait;
    @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "15m")
    String timeout;
    @Mixin
    Output.Options output;

    RotateToken(Cli cli) {
      this.cli = cli;
    }

    @Override
    public Integer call() throws Exception {
      HubClient hub = HubClient.of(cli, hubOption.hub);
      JsonNode answer = hub.post("/api/v1/clusters/" + name + "/token" + (access == null ? "" : "?access=" + access),
          null);
      if (output.format != Output.Format.table) {
        Output.print(cli, output.format, answer, java.util.List.of(answer), table());
      } else {
        printInstall(cli, answer, name, "has a new join token (its agent was disconnected)");
      }
      return wait ? awaitAgent(cli, hub, name, Durations.parse(timeout, "--timeout")) : 0;
    }
  }
}
