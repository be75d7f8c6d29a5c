package io.kmc.hub.store;

import io.kmc.common.KmcException;
import io.kmc.hub.store.TokenHashes;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Arrays;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Install links: a URL that serves a cluster's agent manifest, join token included, once, for a
 * short time, without a bearer token, so that {@code curl … | kubectl apply -f -} is the whole
 * install on a machine that has nothing else. Kept in PostgreSQL, so any hub node serves a link any
 * node issued, and using one is a single conditional update: two nodes cannot both serve it.
 *
 * <p>The hub keeps only hashes of join tokens; a link has to hand one out later, so the token is
 * stored sealed with AES-GCM under a key derived from the link's secret. Only the hash of that
 * secret is stored: whoever reads the table cannot open what it holds.
 */
public final class InstallLinks {

  /** A new link; its secret is part of the URL and shown this once. */
  public record Issued(String secret, OffsetDateTime expiresAt) {
    @Override
    public String toString() {
      return "Issued[secret hidden, expiresAt=" + expiresAt + "]";
    }
  }

  /** What a link served: the cluster, the agent's access level and the join token. */
  public record Redeemed(String cluster, String access, String joinToken) {
    @Override
    public String toString() {
      return "Redeemed[cluster=" + cluster + ", access=" + access + ", joinToken hidden]";
    }
  }

  private static final SecureRandom RANDOM = new SecureRandom();
  private static final int NONCE_BYTES = 12;
  private static final int TAG_BITS = 128;

  private final Pool pool;

  public InstallLinks(Pool pool) {
    this.pool = pool;
  }

  /**
   * A link for the cluster's current join token. Older links of the cluster are dropped (they hold
   * a token that no longer works), and so are links that expired a day ago or more.
   */
  public Future<Issued> issue(String cluster, String access, String joinToken, Duration lifetime, String createdBy) {
    String secret = TokenHashes.newSecret();
    OffsetDateTime expires = OffsetDateTime.now(ZoneOffset.UTC).plus(lifetime);
    Buffer sealed = Buffer.buffer(seal(secret, joinToken));
    return pool.withTransaction(connection -> connection
        .preparedQuery("delete from install_links where cluster = $1 or expires_at < now() - interval '1 day'")
        .execute(Tuple.of(cluster))
        .compose(v -> connection.preparedQuery("insert into install_links (id, cluster, access, sealed_token, "
                + "created_by, expires_at) values ($1, $2, $3, $4, $5, $6)")
            .execute(Tuple.of(TokenHashes.sha256Hex(secret), cluster, access, sealed, createdBy, expires))))
        .map(v -> new Issued(secret, expires));
  }

  /**
   * Uses the link: its manifest is served once. Fails with 404 for a link that never existed and
   * 410 for one used or expired, each saying how to get a new one.
   */
  public Future<Redeemed> redeem(String secret) {
    String id = TokenHashes.sha256Hex(secret);
    return pool.preparedQuery("update install_links set used_at = now() where id = $1 and used_at is null "
            + "and expires_at > now() returning cluster, access, sealed_token")
        .execute(Tuple.of(id))
        .compose(rows -> {
          if (rows.size() == 1) {
            Row row = rows.iterator().next();
            return Future.succeededFuture(new Redeemed(row.getString("cluster"), row.getString("access"),
                open(secret, row.getBuffer("sealed_token").getBytes())));
          }
          return pool.preparedQuery("select cluster, used_at, expires_at from install_links where id = $1")
              .execute(Tuple.of(id))
              .compose(found -> Future.failedFuture(refusal(found.size() == 0 ? null : found.iterator().next())));
        });
  }

  private static KmcException refusal(Row row) {
    if (row == null) {
      return KmcException.notFound("no such install link; an admin gets a new install command with "
          + "'kmc clusters rotate-token <cluster>' (POST /api/v1/clusters/<cluster>/token)");
    }
    String cluster = row.getString("cluster");
    String why = row.getOffsetDateTime("used_at") != null
        ? "was used at " + row.getOffsetDateTime("used_at").toInstant()
        : "expired at " + row.getOffsetDateTime("expires_at").toInstant();
    return new KmcException.ClientError(410, "Gone", "this install link of cluster '" + cluster + "' " + why
        + " (links work once); get a new install command with 'kmc clusters rotate-token " + cluster
        + "' (POST /api/v1/clusters/" + cluster + "/token)");
  }

  static byte[] seal(String secret, String joinToken) {
    try {
      byte[] nonce = new byte[NONCE_BYTES];
      RANDOM.nextBytes(nonce);
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.ENCRYPT_MODE, key(secret), new GCMParameterSpec(TAG_BITS, nonce));
      byte[] sealed = cipher.doFinal(joinToken.getBytes(StandardCharsets.UTF_8));
      byte[] out = Arrays.copyOf(nonce, NONCE_BYTES + sealed.length);
      System.arraycopy(sealed, 0, out, NONCE_BYTES, sealed.length);
      return out;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot seal the join token: " + e.getMessage(), e);
    }
  }

  static String open(String secret, byte[] sealed) {
    try {
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.DECRYPT_MODE, key(secret), new GCMParameterSpec(TAG_BITS, sealed, 0, NONCE_BYTES));
      return new String(cipher.doFinal(sealed, NONCE_BYTES, sealed.length - NONCE_BYTES), StandardCharsets.UTF_8);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot open the join token of an install link: " + e.getMessage(), e);
    }
  }

  /** The link's secret is 32 random bytes: one SHA-256 (with a label, apart from the id's) makes the key. */
  private static SecretKeySpec key(String secret) throws GeneralSecurityException {
    MessageDigest digest = MessageDigest.getInstance("SHA-256");
    digest.update("kmc install link v1\0".getBytes(StandardCharsets.US_ASCII));
    return new SecretKeySpec(digest.digest(secret.getBytes(StandardCharsets.UTF_8)), "AES");
  }
}
