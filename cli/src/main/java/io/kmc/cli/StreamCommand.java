package io.kmc.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.net.http.WebSocket;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Callable;

/**
 * {@code kmc stream v1/configmaps -n shop}: the hub's live stream of one kind across the fleet
 * (docs/streams.md), one line per event until interrupted or the hub closes the stream.
 */
@Command(name = "stream", mixinStandardHelpOptions = true,
    description = "Follow changes of one kind in every cluster you may see, live, from the fleet index.",
    footer = {"", "Examples:",
        "  kmc stream v1/configmaps -n shop",
        "  kmc stream apps/v1/deployments --cluster-selector env=prod -l app=web",
        "  kmc stream v1/pods --counts",
        "  kmc stream v1/pods -o json --resume <token from an earlier event>"})
final class StreamCommand implements Callable<Integer> {

  private final Cli cli;
  @Mixin
  KmcCommand.HubOption hubOption;
  @Parameters(index = "0", paramLabel = "KIND", description = "group/version/resource, v1/<resource> for the core group.")
  String kind;
  @Option(names = "--cluster", paramLabel = "NAME", description = "Only this cluster (repeatable).")
  List<String> clusters;
  @Option(names = "--cluster-selector", paramLabel = "SELECTOR", description = "Only clusters with these labels.")
  String clusterSelector;
  @Option(names = {"-n", "--namespace"}, paramLabel = "NAMESPACE")
  String namespace;
  @Option(names = {"-l", "--selector"}, paramLabel = "SELECTOR", description = "A label selector on the objects.")
  String selector;
  @Option(names = "--field", paramLabel = "FILTER=VALUE", description = "A field filter as in search (repeatable): "
      + "name, namePrefix, nameContains, owner or summary.<field>, e.g. --field summary.phase=Running.")
  Map<String, String> fields;
  @Option(names = "--counts", description = "Per-cluster counts instead of events.")
  boolean counts;
  @Option(names = "--resume", paramLabel = "TOKEN", description = "Resume from an event's token (with -o json).")
  String resume;
  @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", defaultValue = "text",
      description = "text (one line per event) or json (the messages as they come).")
  String output;

  StreamCommand(Cli cli) {
    this.cli = cli;
  }

  @Override
  public Integer call() throws InterruptedException {
    String[] parts = kind.split("/");
    if (parts.length < 2 || parts.length > 3) {
      throw new CliException("KIND is group/version/resource (apps/v1/deployments) or v1/<resource>");
    }
    ObjectNode subscribe = HubClient.JSON.createObjectNode().put("type", "subscribe").put("id", "cli")
        .put("group", parts.length == 3 ? parts[0] : "").put("version", parts[parts.length - 2])
        .put("resource", parts[parts.length - 1]).put("counts", counts);
    if (clusters != null) {
      clusters.forEach(subscribe.putArray("clusters")::add);
    }
    putIfSet(subscribe, "clusterSelector", clusterSelector);
    putIfSet(subscribe, "namespace", namespace);
    putIfSet(subscribe, "labelSelector", selector);
    putIfSet(subscribe, "resume", resume);
    if (fields != null) {
      fields.forEach(subscribe::put);
    }
    boolean json = "json".equals(output);
    CompletableFuture<String> ended = new CompletableFuture<>();
    WebSocket.Listener listener = new WebSocket.Listener() {
      private final StringBuilder partial = new StringBuilder();

      @Override
      public CompletionStage<?> onText(WebSocket socket, CharSequence data, boolean last) {
        partial.append(data);
        if (last) {
          print(partial.toString(), json);
          partial.setLength(0);
        }
        socket.request(1);
        return null;
      }

      @Override
      public CompletionStage<?> onClose(WebSocket socket, int status, String reason) {
        ended.complete("the hub closed the stream (" + status + (reason.isEmpty() ? "" : " " + reason) + ")");
        return null;
      }

      @Override
      public void onError(WebSocket socket, Throwable error) {
        ended.completeExceptionally(error);
      }
    };
    HubClient hub = HubClient.of(cli, hubOption.hub);
    WebSocket socket;
    try {
      socket = hub.webSocket("/api/v1/stream", listener).get();
      socket.sendText(HubClient.JSON.writeValueAsString(subscribe), true).get();
      cli.err().println(ended.get());
      cli.err().flush();
      return 1;
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof java.net.http.WebSocketHandshakeException handshake) {
        throw new CliException("the hub refused the stream (HTTP " + handshake.getResponse().statusCode()
            + "): log in again with " + cli.commandName() + " login");
      }
      throw cause instanceof IOException io ? HubClient.unreachable(hub.base(), io)
          : new CliException("the stream failed: " + cause);
    } catch (IOException e) {
      throw new CliException("cannot encode the subscription: " + e.getMessage());
    }
  }

  private void print(String text, boolean json) {
    if (json) {
      cli.out().println(text);
      cli.out().flush();
      return;
    }
    JsonNode message;
    try {
      message = HubClient.JSON.readTree(text);
    } catch (IOException e) {
      return;
    }
    String type = message.path("type").asText();
    JsonNode object = message.path("object");
    String line = switch (type) {
      case "ADDED", "MODIFIED", "DELETED" -> String.format("%-9s %-16s %s%s", type, message.path("cluster").asText(),
          object.path("namespace").asText().isEmpty() ? "" : object.path("namespace").asText() + "/",
          object.path("name").asText());
      case "COUNTS" -> "COUNTS    " + message.path("counts");
      case "CLUSTER" -> String.format("%-9s %-16s %s", "CLUSTER", message.path("cluster").asText(),
          message.path("state").asText());
      case "RESTART" -> String.format("%-9s %-16s %s", "RESTART", message.path("cluster").asText(),
          message.path("reason").asText());
      case "INITIAL_STATE_DONE" -> message.hasNonNull("cluster")
          ? "# initial state of " + message.path("cluster").asText() + " done" : "# initial state done";
      case "ERROR" -> "ERROR     " + message.path("code").asText() + " " + message.path("message").asText();
      case "CLOSING" -> "CLOSING   " + message.path("message").asText();
      default -> null;
    };
    if (line != null) {
      cli.out().println(line);
      cli.out().flush();
    }
  }

  private static void putIfSet(ObjectNode node, String field, String value) {
    if (value != null && !value.isBlank()) {
      node.put(field, value);
    }
  }
}
