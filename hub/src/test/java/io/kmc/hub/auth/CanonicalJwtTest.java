package io.kmc.hub.auth;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CanonicalJwtTest {

  /** {"alg":"ES256"} . {"sub":"a"} . a 64-byte signature. */
  private static final String SIGNATURE = "A".repeat(85) + "Q";
  private static final String JWT = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0." + SIGNATURE;

  @Test
  void acceptsOnlyTheCanonicalSpelling() {
    assertTrue(TokenService.canonicalJwt(JWT));
    assertFalse(TokenService.canonicalJwt(JWT + "."), "a trailing dot");
    assertFalse(TokenService.canonicalJwt(JWT + "A"), "one extra base64 character: a 65th signature byte");
    assertFalse(TokenService.canonicalJwt(JWT + "AA"), "two extra characters");
    assertFalse(TokenService.canonicalJwt(JWT.substring(0, JWT.length() - 1) + "F"), "non-zero bits after the last byte");
    assertFalse(TokenService.canonicalJwt(JWT + "=="), "padding");
    assertFalse(TokenService.canonicalJwt("." + JWT.substring(JWT.indexOf('.') + 1)), "an empty header");
    assertFalse(TokenService.canonicalJwt(JWT.replace("eyJzdWIiOiJhIn0", "eyJzdWIiOiJhIn0+")), "base64, not base64url");
    assertFalse(TokenService.canonicalJwt(JWT + ".x"), "four segments");
    assertFalse(TokenService.canonicalJwt("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0"), "two segments");
    assertTrue(TokenService.canonicalJwt("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.AAE"), "RSA: the verifier checks the length");
  }
}
