package io.kmc.hub.auth;

import io.kmc.common.protocol.ActingUser;

import java.util.List;

/**
 * Who is calling, as established from a bearer token.
 *
 * @param user         the user name
 * @param groups       the user's groups
 * @param kind         how the caller authenticated: {@code session} (login), {@code api-token} or {@code oidc}
 * @param credentialId the session id or API token id (null for OIDC tokens)
 */
public record Principal(String user, List<String> groups, String kind, String credentialId) {

  public static final String SESSION = "session";
  public static final String API_TOKEN = "api-token";
  public static final String OIDC = "oidc";

  public Principal {
    groups = groups == null ? List.of() : List.copyOf(groups);
  }

  public ActingUser actingUser() {
    return new ActingUser(user, groups);
  }

  /** The key rate limits count under: one per API token, one per user otherwise. */
  public String rateLimitKey() {
    return API_TOKEN.equals(kind) ? "token:" + credentialId : "user:" + user;
  }
}
