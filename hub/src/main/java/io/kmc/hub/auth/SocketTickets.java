package io.kmc.hub.auth;

import io.kmc.common.KmcException;
import io.kmc.hub.cache.SharedState;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;

/**
 * One-use tickets that stand for a bearer token on a browser's websocket (the live stream, a pod's
 * exec), since a browser cannot set an Authorization header on one. A ticket is good once, within its
 * lifetime, on any node: it lives in the shared state under its hash and holds what the token said;
 * the token's revocation marks are checked again when it is used.
 */
public final class SocketTickets {

  private static final String KEY = "stream-ticket:";
  private static final SecureRandom RANDOM = new SecureRandom();

  private final TokenService tokens;
  private final SharedState shared;
  private final Duration lifetime;

  /** A ticket as issued: the secret, once, and when it ends. */
  public record Issued(String ticket, Instant expiresAt) {
  }

  public SocketTickets(TokenService tokens, SharedState shared, Duration lifetime) {
    this.tokens = tokens;
    this.shared = shared;
    this.lifetime = lifetime;
  }

  /** A ticket for the holder of this bearer token (fails with 401 if the token is not good). */
  public Future<Issued> issue(String bearer) {
    byte[] secret = new byte[32];
    RANDOM.nextBytes(secret);
    String ticket = "kmcst_" + Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
    return tokens.identify(bearer).compose(claim -> {
      Principal who = claim.principal();
      JsonObject stored = new JsonObject().put("user", who.user()).put("groups", new JsonArray(who.groups()))
          .put("kind", who.kind()).put("credentialId", who.credentialId())
          .put("marks", new JsonArray(claim.marks())).put("revoked", claim.revokedMessage());
      return shared.put(KEY + hash(ticket), stored.encode(), lifetime);
    }).map(v -> new Issued(ticket, Instant.now().plus(lifetime)));
  }

  /** What the token said when the ticket was issued; the ticket is used up. 401 if unknown, used or expired. */
  public Future<TokenService.Claim> redeem(String ticket) {
    if (ticket.length() > 200) {
      return Future.failedFuture(KmcException.unauthorized("the ticket is unknown, used or expired"));
    }
    return shared.take(KEY + hash(ticket)).compose(stored -> {
      if (stored == null) {
        return Future.failedFuture(KmcException.unauthorized("the ticket is unknown, used or expired"));
      }
      JsonObject json = new JsonObject(stored);
      @SuppressWarnings("unchecked")
      List<String> groups = json.getJsonArray("groups", new JsonArray()).getList();
      @SuppressWarnings("unchecked")
      List<String> marks = json.getJsonArray("marks", new JsonArray()).getList();
      Principal principal = new Principal(json.getString("user"), groups, json.getString("kind"),
          json.getString("credentialId"));
      return Future.succeededFuture(new TokenService.Claim(principal, marks, json.getString("revoked")));
    });
  }

  private static String hash(String ticket) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
          .digest(ticket.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is not available", e);
    }
  }
}
