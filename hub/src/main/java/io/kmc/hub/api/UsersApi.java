package io.kmc.hub.api;

import io.kmc.common.KmcException;
import io.kmc.hub.auth.TokenService;
import io.kmc.hub.store.IdentityStore;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.util.List;
import java.util.regex.Pattern;

/** {@code /api/v1/users}: local users (admins only). Passwords are stored as Argon2id hashes. */
public final class UsersApi {

  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._@-]{0,62}");
  private static final int MIN_PASSWORD = 12;
  /** Passwords are hashed with Argon2id, which costs memory and time per character: bounded. */
  static final int MAX_PASSWORD = 1024;

  private final IdentityStore store;
  private final TokenService tokens;

  /** The name, if it is a valid user name; else a 400 that says why. */
  static String validName(String name, String field) {
    if (!NAME.matcher(name).matches()) {
      throw KmcException.badRequest("'" + field + "' is not a valid user name (lowercase letters, digits, '.', '_', "
          + "'@', '-'; at most 63)");
    }
    return name;
  }

  public UsersApi(IdentityStore store, TokenService tokens) {
    this.store = store;
    this.tokens = tokens;
  }

  public void list(RoutingContext ctx) {
    store.users().onSuccess(users -> {
      JsonArray items = new JsonArray();
      users.forEach(user -> items.add(describe(user)));
      Bodies.json(ctx, new JsonObject().put("items", items));
    }).onFailure(ctx::fail);
  }

  public void get(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    store.user(name).compose(user -> user == null
            ? Future.failedFuture(IdentityStore.noUser(name))
            : Future.succeededFuture(user))
        .onSuccess(user -> Bodies.json(ctx, describe(user))).onFailure(ctx::fail);
  }

  /** {@code POST} {@code {"name", "password", "groups"}}. */
  public void create(RoutingContext ctx) {
    JsonObject body = Bodies.object(ctx);
    String name = validName(Bodies.string(body, "name", true), "name");
    String password = checkedPassword(Bodies.string(body, "password", true, MAX_PASSWORD));
    List<String> groups = Bodies.strings(body, "groups");
    tokens.hashPassword(password)
        .compose(hash -> store.createUser(name, hash, groups == null ? List.of() : groups))
        // A user of this name that was deleted before left a block behind; this one starts afresh.
        .compose(user -> tokens.userBlocked(name, false).map(user))
        .onSuccess(user -> Bodies.json(ctx, 201, describe(user))).onFailure(ctx::fail);
  }

  /** {@code PATCH} {@code {"password"?, "groups"?, "disabled"?}}; disabling ends the user's sessions. */
  public void update(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    JsonObject body = Bodies.object(ctx);
    String password = Bodies.string(body, "password", false, MAX_PASSWORD);
    List<String> groups = Bodies.strings(body, "groups");
    Boolean disabled = Bodies.bool(body, "disabled");
    Future<String> hash = password == null ? Future.succeededFuture(null) : tokens.hashPassword(checkedPassword(password));
    hash.compose(h -> store.updateUser(name, h, groups, disabled))
        .compose(user -> (Boolean.TRUE.equals(disabled) ? tokens.revokeSessionsOf(name) : Future.succeededFuture(0))
            .compose(x -> disabled == null ? Future.<Void>succeededFuture() : tokens.userBlocked(name, disabled))
            .map(x -> user))
        .onSuccess(user -> {
          tokens.userChanged(name);
          Bodies.json(ctx, describe(user));
        })
        .onFailure(ctx::fail);
  }

  public void delete(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    tokens.revokeSessionsOf(name)
        .compose(x -> store.deleteUser(name))
        .compose(x -> tokens.userBlocked(name, true))
        .onSuccess(v -> Bodies.noContent(ctx))
        .onFailure(ctx::fail);
  }

  /** {@code DELETE /api/v1/users/{name}/sessions}: logs the user out everywhere, at once. */
  public void revokeSessions(RoutingContext ctx) {
    tokens.revokeSessionsOf(ctx.pathParam("name"))
        .onSuccess(count -> Bodies.json(ctx, new JsonObject().put("revokedSessions", count)))
        .onFailure(ctx::fail);
  }

  private static String checkedPassword(String password) {
    if (password.length() < MIN_PASSWORD) {
      throw KmcException.badRequest("a password needs at least " + MIN_PASSWORD + " characters");
    }
    return password;
  }

  private static JsonObject describe(IdentityStore.User user) {
    return new JsonObject().put("name", user.name()).put("groups", new JsonArray(user.groups()))
        .put("disabled", user.disabled()).put("createdAt", user.createdAt().toInstant().toString());
  }
}
