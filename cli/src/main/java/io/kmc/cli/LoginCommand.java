package io.kmc.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.kmc.common.tls.Fingerprints;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.net.InetAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code kmc login <hub-url>}: trusts the hub (its CA as the system knows it, or a self-signed
 * certificate the user accepts after comparing its fingerprint), logs in with a password, and keeps
 * an API token of the user's for the CLI in ~/.kmc/config. The login session itself is ended at
 * once: an API token does not rotate, so CLI commands run in parallel cannot invalidate each other.
 */
@Command(name = "login", mixinStandardHelpOptions = true,
    description = {"Log in to a hub and keep a token for the CLI in ~/.kmc/config (mode 600).",
        "With a password (asked, or --password-stdin), or, when the hub has an OIDC issuer with a client for "
            + "the CLI, in a browser (OAuth device flow).",
        "A hub with a self-signed certificate is trusted once you confirm its SHA-256 fingerprint, "
            + "which the hub logs at start (as ssh asks about a new host key)."})
final class LoginCommand implements Callable<Integer> {

  private final Cli cli;

  @Parameters(index = "0", paramLabel = "HUB-URL", description = "The hub's URL, e.g. https://localhost:8080.")
  String url;

  @Option(names = {"-u", "--username"}, description = "User name (asked if not given).")
  String username;

  @Option(names = "--password-stdin", description = "Read the password from the first line of standard input.")
  boolean passwordStdin;

  @Option(names = "--token", paramLabel = "TOKEN", description = "Use this API token instead of a password (for CI).")
  String token;

  @Option(names = "--oidc", description = "Sign in through the hub's OIDC issuer (the default when the hub offers it "
      + "and no --username is given).")
  boolean useOidc;

  @Option(names = "--ca-fingerprint", paramLabel = "SHA256",
      description = "Trust a self-signed hub whose certificate has this SHA-256 fingerprint, without asking.")
  String caFingerprint;

  @Option(names = "--ca-file", paramLabel = "FILE", description = "Trust the hub's certificate chain up to this PEM CA.")
  Path caFile;

  @Option(names = "--token-lifetime", paramLabel = "DURATION", defaultValue = "30d",
      description = "Lifetime of the CLI's API token (default ${DEFAULT-VALUE}; at most the hub's auth.api_token_max_lifetime).")
  String tokenLifetime;

  LoginCommand(Cli cli) {
    this.cli = cli;
  }

  @Override
  public Integer call() throws Exception {
    String hubUrl = HubUrls.normalize(url);
    CliConfig config = CliConfig.load(cli.configFile());
    CliConfig.Hub hub = new CliConfig.Hub();
    hub.url = hubUrl;
    trust(hub);

    HubClient anonymous = new HubClient(hubUrl, null, HubTls.context(hub), cli.commandName());
    JsonNode oidc = token != null ? null : providers(anonymous).get("oidc");
    if (useOidc && (oidc == null || oidc.isNull())) {
      throw new CliException("the hub at " + hubUrl + " offers no OIDC sign-in (its auth.oidc.client_id is unset): "
          + "log in with --username");
    }
    if (oidc != null && !oidc.isNull() && (useOidc || (username == null && !passwordStdin))) {
      OidcLogin.Tokens tokens = OidcLogin.deviceFlow(cli, oidc.get("issuer").asText(), oidc.get("clientId").asText(),
          oidc.get("audience").asText());
      hub.token = tokens.bearer();
      hub.oidcIssuer = oidc.get("issuer").asText();
      hub.oidcClientId = oidc.get("clientId").asText();
      hub.oidcAudience = oidc.get("audience").asText();
      hub.oidcRefreshToken = tokens.refreshToken();
      hub.oidcExpiresAt = tokens.expiresAtEpochSeconds();
      hub.user = Output.text(new HubClient(hubUrl, hub.token, HubTls.context(hub), cli.commandName())
          .get("/api/v1/auth/whoami"), "user");
      cli.out().println("Logged in to " + hubUrl + " as " + hub.user + " through " + hub.oidcIssuer + ".");
    } else if (token != null) {
      JsonNode whoami = new HubClient(hubUrl, token, HubTls.context(hub), cli.commandName()).get("/api/v1/auth/whoami");
      hub.user = Output.text(whoami, "user");
      hub.token = token;
      hub.ownToken = false;
    } else {
      String user = username != null ? username : cli.ask("Username: ");
      if (user == null || user.isBlank()) {
        throw new CliException("no user name given: pass --username");
      }
      String password = passwordStdin ? cli.readLine() : cli.askSecret("Password for " + user.trim() + ": ");
      if (password == null) {
        throw new CliException("no password given (standard input ended): type it, or pass --password-stdin");
      }
      JsonNode session = anonymous.post("/api/v1/auth/login", Map.of("username", user.trim(), "password", password));
      HubClient asSession = new HubClient(hubUrl, session.get("accessToken").asText(), HubTls.context(hub),
          cli.commandName());
      JsonNode created = asSession.post("/api/v1/tokens", Map.of("name", "kmc CLI " + user.trim() + "@" + hostName()
          + " " + Instant.now().toString().substring(0, 10), "expiresIn", tokenLifetime));
      asSession.post("/api/v1/auth/logout", null);
      hub.user = user.trim();
      hub.token = created.get("token").asText();
      hub.ownToken = true;
      cli.out().println("Logged in to " + hubUrl + " as " + hub.user + ". The CLI's token '"
          + Output.text(created, "name") + "' expires " + Output.text(created, "expiresAt") + " ("
          + cli.commandName() + " logout revokes it).");
    }
    revokeReplaced(config.hubs.get(hubUrl), hub);
    config.hubs.put(hubUrl, hub);
    config.current = hubUrl;
    config.save(cli.configFile());
    if (token != null) {
      cli.out().println("Logged in to " + hubUrl + " as " + hub.user + " with the token given.");
    }
    cli.out().println("Next: " + cli.commandName() + " clusters add <name>, or " + cli.commandName()
        + " clusters list");
    return 0;
  }

  /** How the hub signs users in; a hub without the endpoint (older) takes passwords. */
  private static JsonNode providers(HubClient anonymous) {
    try {
      return anonymous.get("/api/v1/auth/providers");
    } catch (CliException e) {
      return HubClient.JSON.createObjectNode().put("password", true);
    }
  }

  /** Decides how to trust the hub's certificate, asking the user when nothing else vouches for it. */
  private void trust(CliConfig.Hub hub) throws Exception {
    if (hub.url.startsWith("http://")) {
      cli.err().println("warning: " + hub.url + " is plain HTTP: your password and tokens travel unencrypted");
      new HubClient(hub.url, null, null, cli.commandName()).get("/healthz"); // reachable, before asking anything
      return;
    }
    HubTls.Probe probe = HubTls.probe(hub.url);
    String host = URI.create(hub.url).getHost();
    if (caFile != null) {
      hub.caCertificate = Files.readString(caFile);
      hub.caSha256 = Fingerprints.sha256(Fingerprints.certificates(hub.caCertificate).get(0));
    } else if (!probe.systemTrusted()) {
      String presented = Fingerprints.sha256(probe.anchor());
      if (caFingerprint != null) {
        if (!Fingerprints.same(caFingerprint, presented)) {
          throw new CliException("the hub's certificate has fingerprint " + presented + ", not the "
              + Fingerprints.display(caFingerprint) + " given: you may not be talking to your hub; nothing was saved");
        }
      } else if (!askToTrust(presented)) {
        throw new CliException("the hub's certificate was not trusted; nothing was saved");
      }
      hub.caCertificate = Fingerprints.pem(List.of(probe.anchor()));
      hub.caSha256 = presented;
    }
    if (!HubTls.names(probe.chain().get(0), host)) {
      throw new CliException("the hub's certificate does not name " + host + " (it names "
          + String.join(", ", HubTls.names(probe.chain().get(0))) + "), and kubectl would refuse it: use one of "
          + "those names, or add " + host + " to the hub's server.tls.hosts (a self-signed certificate is made "
          + "again when kmc-data/tls is removed)");
    }
  }

  private boolean askToTrust(String fingerprint) {
    cli.err().println("The hub's certificate is not signed by an authority this machine trusts (a new hub's is "
        + "self-signed).");
    cli.err().println("  SHA-256 fingerprint: " + fingerprint);
    cli.err().println("Compare it with the fingerprint in the hub's log at start, or on the hub with:");
    cli.err().println("  openssl x509 -in kmc-data/tls/hub.crt -noout -fingerprint -sha256");
    String answer = cli.ask("Trust this hub from now on? [y/N] ");
    if (answer == null) {
      throw new CliException("cannot ask whether to trust the hub (no input): pass --ca-fingerprint " + fingerprint
          + " once you have checked it");
    }
    return answer.trim().equalsIgnoreCase("y") || answer.trim().equalsIgnoreCase("yes");
  }

  /** A previous login to the same hub leaves a token the CLI made: it is no longer needed. */
  private void revokeReplaced(CliConfig.Hub previous, CliConfig.Hub current) {
    if (previous == null || !previous.ownToken || previous.token == null || previous.token.equals(current.token)) {
      return;
    }
    String id = tokenId(previous.token);
    if (id != null) {
      try {
        new HubClient(current.url, current.token, HubTls.context(current), cli.commandName())
            .delete("/api/v1/tokens/" + id);
      } catch (CliException e) {
        // already revoked or expired, or another user's: nothing to clean up
      }
    }
  }

  /** The id inside an API token {@code kmc_<id>_<secret>}. */
  static String tokenId(String token) {
    String[] parts = token.split("_", 3);
    return parts.length == 3 && parts[0].equals("kmc") ? parts[1] : null;
  }

  private static String hostName() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (Exception e) {
      return "localhost";
    }
  }
}
