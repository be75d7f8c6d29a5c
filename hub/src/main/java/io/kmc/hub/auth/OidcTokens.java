package io.kmc.hub.auth;

import io.kmc.common.KmcException;
import io.kmc.hub.config.HubConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.authentication.TokenCredentials;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;
import io.vertx.ext.web.client.WebClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;

/**
 * Tokens of an external OpenID Connect issuer, verified with the keys of its JWKS (fetched at start
 * and again periodically, so that key rotation is followed). The user name and groups come from
 * configured claims.
 */
final class OidcTokens {

  private static final Logger LOG = LoggerFactory.getLogger(OidcTokens.class);

  private final Vertx vertx;
  private final HubConfig.Oidc config;
  private final WebClient client;
  private volatile JWTAuth verifier;
  private long refreshTimer = -1;

  private OidcTokens(Vertx vertx, HubConfig.Oidc config, WebClient client) {
    this.vertx = vertx;
    this.config = config;
    this.client = client;
  }

  static Future<OidcTokens> start(Vertx vertx, HubConfig.Oidc config) {
    OidcTokens tokens = new OidcTokens(vertx, config, WebClient.create(vertx));
    return tokens.fetchKeys().map(v -> {
      tokens.refreshTimer = vertx.setPeriodic(config.jwksRefresh().toMillis(), t -> tokens.fetchKeys()
          .onFailure(e -> LOG.warn("cannot refresh the JWKS of {}: {}", config.issuer(), e.getMessage())));
      return tokens;
    });
  }

  String issuer() {
    return config.issuer();
  }

  Future<Principal> authenticate(String token) {
    return verifier.authenticate(new TokenCredentials(token))
        .recover(e -> Future.failedFuture(KmcException.unauthorized("invalid OIDC token: " + e.getMessage())))
        .compose(user -> {
          JsonObject claims = user.principal();
          String name = claims.getString(config.usernameClaim());
          if (name == null || name.isBlank()) {
            return Future.failedFuture(KmcException.unauthorized("the OIDC token has no '" + config.usernameClaim()
                + "' claim"));
          }
          Object groups = claims.getValue(config.groupsClaim());
          return Future.succeededFuture(new Principal(name,
              groups instanceof JsonArray array ? TokenService.strings(array) : List.of(), Principal.OIDC, null));
        });
  }

  private Future<Void> fetchKeys() {
    return client.getAbs(config.jwksUrl()).send().compose(response -> {
      if (response.statusCode() != 200) {
        return Future.failedFuture("JWKS answered HTTP " + response.statusCode());
      }
      JsonArray keys = response.bodyAsJsonObject().getJsonArray("keys");
      if (keys == null || keys.isEmpty()) {
        return Future.failedFuture("the JWKS has no keys");
      }
      List<JsonObject> jwks = new ArrayList<>();
      keys.forEach(key -> jwks.add((JsonObject) key));
      verifier = JWTAuth.create(vertx, new JWTAuthOptions().setJwks(jwks).setJWTOptions(new JWTOptions()
          .setIssuer(config.issuer()).setAudience(List.of(config.audience())).setLeeway(5)));
      return Future.<Void>succeededFuture();
    });
  }

  void close() {
    vertx.cancelTimer(refreshTimer);
    client.close();
  }
}
