package io.kmc.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code kmc kubeconfig <cluster>…|--all [--merge]}: kubeconfigs that reach clusters through the hub,
 * each with an API token of its own (revocable with kmc tokens revoke), printed or merged into
 * ~/.kube/config, and the hub's read-only fleet context beside them.
 */
@Command(name = "kubeconfig", mixinStandardHelpOptions = true,
    description = {"Get kubeconfig contexts that reach clusters through the hub, one API token each.",
        "Prints the kubeconfig, or with --merge adds the contexts (named as the clusters) to ~/.kube/config "
            + "(or $KUBECONFIG's first file), leaving every other entry as it is.",
        "A context named fleet comes too: every cluster you may see at once, read-only, from the hub's index "
            + "(kubectl --context fleet get deployments -A); it shares the first cluster's token."})
final class KubeconfigCommand implements Callable<Integer> {

  private final Cli cli;

  @Mixin
  KmcCommand.HubOption hubOption;

  @Parameters(paramLabel = "CLUSTER", arity = "0..*", description = "Clusters to get contexts for.")
  List<String> clusters = new ArrayList<>();

  @Option(names = "--all", description = "Every cluster you can see.")
  boolean all;

  @Option(names = "--merge", description = "Merge into the kubeconfig file instead of printing.")
  boolean merge;

  @Option(names = "--kubeconfig", paramLabel = "FILE", description = "The file to merge into.")
  Path file;

  @Option(names = "--prefix", paramLabel = "TEXT", defaultValue = "",
      description = "Put before each context's name (when a name is taken by another cluster).")
  String prefix;

  KubeconfigCommand(Cli cli) {
    this.cli = cli;
  }

  @Override
  public Integer call() {
    if (clusters.isEmpty() && !all) {
      throw new CliException("name a cluster, or pass --all (" + cli.commandName() + " clusters list shows them)", 2);
    }
    CliConfig.Hub login = CliConfig.load(cli.configFile()).hub(hubOption.hub, cli.commandName());
    HubClient hub = HubClient.of(cli, hubOption.hub);
    List<String> names = new ArrayList<>(clusters);
    if (all) {
      for (JsonNode cluster : hub.get("/api/v1/clusters").path("items")) {
        if (!names.contains(cluster.get("name").asText())) {
          names.add(cluster.get("name").asText());
        }
      }
      if (names.isEmpty()) {
        throw new CliException("you can see no clusters on " + hub.base() + ": add one with " + cli.commandName()
            + " clusters add <name>");
      }
    }
    List<KubeconfigFile.Entry> entries = new ArrayList<>();
    KubeconfigFile.Entry fleet = null;
    // As the hub's own kubeconfigs: a fleet context beside the clusters' (unless a cluster is named so).
    boolean withFleet = !names.contains(KubeconfigFile.FLEET);
    for (String name : names) {
      if (login.oidc()) {
        // The hub's API tokens belong to its own users; an OIDC sign-in's contexts ask kmc for a fresh token.
        hub.get("/api/v1/clusters/" + name);
        entries.add(KubeconfigFile.execEntry(login, name, prefix, cli.commandName()));
        if (withFleet && fleet == null) {
          fleet = KubeconfigFile.execFleetEntry(login, prefix, cli.commandName());
        }
        continue;
      }
      Map<String, Object> served = KubeconfigFile.parse(hub.text("/api/v1/clusters/" + name + "/kubeconfig"),
          "the hub's kubeconfig for " + name);
      entries.add(KubeconfigFile.fromHub(served, name, prefix, login.user));
      if (withFleet && fleet == null) {
        fleet = KubeconfigFile.fleetFromHub(served, prefix, login.user);
      }
    }
    if (fleet != null) {
      entries.add(fleet);
    }
    if (!merge) {
      cli.out().print(KubeconfigFile.dump(KubeconfigFile.of(entries)));
      cli.out().flush();
      return 0;
    }
    Path target = file != null ? file : cli.kubeconfigFile();
    Map<String, Object> kubeconfig = KubeconfigFile.read(target);
    List<String> replaced = KubeconfigFile.merge(kubeconfig, entries);
    CliConfig.writePrivately(target, KubeconfigFile.dump(kubeconfig));
    List<String> contexts = entries.stream().map(KubeconfigFile.Entry::context).toList();
    cli.out().println("Merged context" + (contexts.size() == 1 ? " " : "s ") + String.join(", ", contexts)
        + " into " + target + (replaced.isEmpty() ? "" : " (replacing " + String.join(", ", replaced) + ")") + ".");
    cli.out().println("Try: kubectl --context " + contexts.get(0) + " get ns");
    if (fleet != null) {
      cli.out().println("     kubectl --context " + fleet.context() + " get deployments -A   (every cluster, read-only)");
    }
    return 0;
  }
}
