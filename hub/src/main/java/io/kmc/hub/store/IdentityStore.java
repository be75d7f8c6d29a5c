package io.kmc.hub.store;

import io.kmc.common.KmcException;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;

import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Users, login sessions, API tokens and the token signing key, in PostgreSQL. Only hashes of secrets. */
public final class IdentityStore {

  public record User(String name, String passwordHash, List<String> groups, boolean disabled,
                     OffsetDateTime createdAt) {
    static User from(Row row) {
      String[] groups = row.getArrayOfStrings("groups");
      return new User(row.getString("name"), row.getString("password_hash"),
          groups == null ? List.of() : List.copyOf(Arrays.asList(groups)), row.getBoolean("disabled"),
          row.getOffsetDateTime("created_at"));
    }
  }

  public record Session(String id, String user, String refreshSha256, OffsetDateTime expiresAt,
                        OffsetDateTime revokedAt) {
    static Session from(Row row) {
      return new Session(row.getString("id"), row.getString("user_name"), row.getString("refresh_sha256"),
          row.getOffsetDateTime("expires_at"), row.getOffsetDateTime("revoked_at"));
    }
  }

  public record ApiToken(String id, String name, String user, String tokenSha256, OffsetDateTime createdAt,
                         OffsetDateTime expiresAt, OffsetDateTime revokedAt, OffsetDateTime lastUsedAt) {
    static ApiToken from(Row row) {
      return new ApiToken(row.getString("id"), row.getString("name"), row.getString("user_name"),
          row.getString("token_sha256"), row.getOffsetDateTime("created_at"), row.getOffsetDateTime("expires_at"),
          row.getOffsetDateTime("revoked_at"), row.getOffsetDateTime("last_used_at"));
    }
  }

  public record SigningKey(String algorithm, String privatePem, String publicPem) {
  }

  private static final String USER_COLUMNS = "name, password_hash, groups, disabled, created_at";
  private static final String TOKEN_COLUMNS = "id, name, user_name, token_sha256, created_at, expires_at, revoked_at, "
      + "last_used_at";

  private final Pool pool;

  public IdentityStore(Pool pool) {
    this.pool = pool;
  }

  // ---- users --------------------------------------------------------------------------------

  public Future<User> user(String name) {
    return pool.preparedQuery("select " + USER_COLUMNS + " from users where name = $1").execute(Tuple.of(name))
        .map(rows -> rows.size() == 0 ? null : User.from(rows.iterator().next()));
  }

  public Future<List<User>> users() {
    return pool.query("select " + USER_COLUMNS + " from users order by name").execute().map(rows -> {
      List<User> users = new ArrayList<>();
      rows.forEach(row -> users.add(User.from(row)));
      return users;
    });
  }

  public Future<User> createUser(String name, String passwordHash, List<String> groups) {
    return pool.preparedQuery("insert into users (name, password_hash, groups) values ($1, $2, $3) returning "
            + USER_COLUMNS)
        .execute(Tuple.of(name, passwordHash, groups.toArray(String[]::new)))
        .recover(e -> Future.failedFuture(ClusterRegistry.isUniqueViolation(e)
            ? new KmcException.ClientError(409, "AlreadyExists", "user '" + name + "' already exists") : e))
        .map(rows -> User.from(rows.iterator().next()));
  }

  /** Creates the user unless one of that name exists; true if it was created. */
  public Future<Boolean> createUserIfAbsent(String name, String passwordHash, List<String> groups) {
    return pool.preparedQuery("insert into users (name, password_hash, groups) values ($1, $2, $3) "
            + "on conflict (name) do nothing")
        .execute(Tuple.of(name, passwordHash, groups.toArray(String[]::new)))
        .map(rows -> rows.rowCount() == 1);
  }

  /** Null fields are left as they are. */
  public Future<User> updateUser(String name, String passwordHash, List<String> groups, Boolean disabled) {
    return pool.preparedQuery("update users set password_hash = coalesce($2, password_hash), "
            + "groups = coalesce($3, groups), disabled = coalesce($4, disabled), updated_at = now() "
            + "where name = $1 returning " + USER_COLUMNS)
        .execute(Tuple.of(name, passwordHash, groups == null ? null : groups.toArray(String[]::new), disabled))
        .compose(rows -> rows.size() == 0 ? Future.failedFuture(noUser(name))
            : Future.succeededFuture(User.from(rows.iterator().next())));
  }

  public Future<Void> deleteUser(String name) {
    return pool.preparedQuery("delete from users where name = $1").execute(Tuple.of(name))
        .compose(rows -> rows.rowCount() == 0 ? Future.failedFuture(noUser(name)) : Future.succeededFuture());
  }

  // ---- sessions -----------------------------------------------------------------------------

  public Future<Void> createSession(String id, String user, String refreshSha256, String source,
                                    OffsetDateTime expiresAt) {
    return pool.preparedQuery("insert into sessions (id, user_name, refresh_sha256, source, expires_at) "
            + "values ($1, $2, $3, $4, $5)")
        .execute(Tuple.of(id, user, refreshSha256, source, expiresAt)).mapEmpty();
  }

  public Future<Session> session(String id) {
    return pool.preparedQuery("select id, user_name, refresh_sha256, expires_at, revoked_at from sessions "
            + "where id = $1").execute(Tuple.of(id))
        .map(rows -> rows.size() == 0 ? null : Session.from(rows.iterator().next()));
  }

  /** Swaps the refresh token hash only if it is still {@code expected}: a refresh token works once. */
  public Future<Boolean> rotateRefresh(String id, String expected, String next) {
    return pool.preparedQuery("update sessions set refresh_sha256 = $3, refreshed_at = now() "
            + "where id = $1 and refresh_sha256 = $2 and revoked_at is null")
        .execute(Tuple.of(id, expected, next)).map(rows -> rows.rowCount() == 1);
  }

  public Future<Void> revokeSession(String id) {
    return pool.preparedQuery("update sessions set revoked_at = now() where id = $1 and revoked_at is null")
        .execute(Tuple.of(id)).mapEmpty();
  }

  /** Revokes every open session of a user and returns their ids. */
  public Future<List<String>> revokeSessionsOf(String user) {
    return pool.preparedQuery("update sessions set revoked_at = now() where user_name = $1 and revoked_at is null "
            + "and expires_at > now() returning id")
        .execute(Tuple.of(user)).map(rows -> {
          List<String> ids = new ArrayList<>();
          rows.forEach(row -> ids.add(row.getString("id")));
          return ids;
        });
  }

  // ---- API tokens ---------------------------------------------------------------------------

  public Future<ApiToken> createApiToken(String id, String name, String user, String tokenSha256,
                                         OffsetDateTime expiresAt) {
    return pool.preparedQuery("insert into api_tokens (id, name, user_name, token_sha256, expires_at) "
            + "values ($1, $2, $3, $4, $5) returning " + TOKEN_COLUMNS)
        .execute(Tuple.of(id, name, user, tokenSha256, expiresAt))
        .map(rows -> ApiToken.from(rows.iterator().next()));
  }

  public Future<ApiToken> apiToken(String id) {
    return pool.preparedQuery("select " + TOKEN_COLUMNS + " from api_tokens where id = $1").execute(Tuple.of(id))
        .map(rows -> rows.size() == 0 ? null : ApiToken.from(rows.iterator().next()));
  }

  /** The tokens of one user, or of everyone when {@code user} is null. */
  public Future<List<ApiToken>> apiTokens(String user) {
    return pool.preparedQuery("select " + TOKEN_COLUMNS + " from api_tokens where ($1::text is null or user_name = $1) "
            + "order by created_at desc")
        .execute(Tuple.of(user)).map(rows -> {
          List<ApiToken> tokens = new ArrayList<>();
          rows.forEach(row -> tokens.add(ApiToken.from(row)));
          return tokens;
        });
  }

  public Future<Boolean> revokeApiToken(String id) {
    return pool.preparedQuery("update api_tokens set revoked_at = now() where id = $1 and revoked_at is null")
        .execute(Tuple.of(id)).map(rows -> rows.rowCount() == 1);
  }

  public Future<Void> touchApiToken(String id) {
    return pool.preparedQuery("update api_tokens set last_used_at = now() where id = $1").execute(Tuple.of(id))
        .mapEmpty();
  }

  // ---- signing key --------------------------------------------------------------------------

  /**
   * The shared signing key: the stored one, or {@code generated} if none is stored yet. When several
   * nodes start together the first insert wins and all use that one.
   */
  public Future<SigningKey> signingKey(SigningKey generated) {
    return pool.preparedQuery("insert into signing_keys (id, algorithm, private_pem, public_pem) "
            + "values ('primary', $1, $2, $3) on conflict (id) do nothing")
        .execute(Tuple.of(generated.algorithm(), generated.privatePem(), generated.publicPem()))
        .compose(v -> pool.query("select algorithm, private_pem, public_pem from signing_keys where id = 'primary'")
            .execute())
        .map(rows -> {
          Row row = rows.iterator().next();
          return new SigningKey(row.getString("algorithm"), row.getString("private_pem"), row.getString("public_pem"));
        });
  }

  /** The answer for a user that does not exist. */
  public static KmcException noUser(String name) {
    return KmcException.notFound("user '" + name + "' does not exist");
  }
}
