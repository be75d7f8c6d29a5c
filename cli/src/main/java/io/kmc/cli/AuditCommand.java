package io.kmc.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/** {@code kmc audit}: the hub's audit log, newest first (admins). */
@Command(name = "audit", mixinStandardHelpOptions = true,
    description = "The audit log, newest first (admins): who did what, where, with what result.")
final class AuditCommand implements Callable<Integer> {

  private final Cli cli;
  @Mixin
  KmcCommand.HubOption hubOption;
  @Mixin
  Output.Options output;
  @Option(names = "--user", paramLabel = "NAME")
  String user;
  @Option(names = "--cluster", paramLabel = "NAME")
  String cluster;
  @Option(names = "--verb", paramLabel = "VERB", description = "get, list, create, delete, login…")
  String verb;
  @Option(names = "--status", paramLabel = "CODE", description = "HTTP status, e.g. 403.")
  Integer status;
  @Option(names = "--since", paramLabel = "WHEN", description = "A duration ago (1h, 7d) or a time (2026-11-27T00:00:00Z).")
  String since;
  @Option(names = "--limit", paramLabel = "N", defaultValue = "50", description = "At most this many (default ${DEFAULT-VALUE}, at most 500).")
  int limit;

  AuditCommand(Cli cli) {
    this.cli = cli;
  }

  @Override
  public Integer call() {
    Map<String, String> query = new LinkedHashMap<>();
    put(query, "user", user);
    put(query, "cluster", cluster);
    put(query, "verb", verb);
    put(query, "status", status == null ? null : String.valueOf(status));
    put(query, "since", since == null ? null : since.matches("\\d+[smhd]")
        ? Instant.now().minus(Durations.parse(since, "--since")).toString() : since);
    query.put("limit", String.valueOf(limit));
    String path = "/api/v1/audit?" + query.entrySet().stream()
        .map(e -> e.getKey() + "=" + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
        .collect(Collectors.joining("&"));
    JsonNode page = HubClient.of(cli, hubOption.hub).get(path);
    Output.print(cli, output.format, page, page.get("items"), new Output.Table()
        .column("AT", a -> Output.text(a, "at"))
        .column("USER", a -> Output.text(a, "user"))
        .column("VERB", a -> Output.text(a, "verb"))
        .column("STATUS", a -> Output.text(a, "status"))
        .column("CLUSTER", a -> Output.text(a, "cluster"))
        .column("PATH", a -> Output.text(a, "path")));
    return 0;
  }

  private static void put(Map<String, String> query, String key, String value) {
    if (value != null && !value.isBlank()) {
      query.put(key, value);
    }
  }
}
