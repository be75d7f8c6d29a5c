package io.kmc.hub;

import io.kmc.hub.support.Fleet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Requests per minute are limited per API token and per user, across nodes, with a clear 429. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RateLimitIT {

  private static final int LIMIT = 15;
  private static Fleet fleet;
  private static List<Hub> hubs;

  @BeforeAll
  static void start() {
    fleet = new Fleet().hubSettings(Map.of("KMC_AUTH_REQUESTS_PER_MINUTE", String.valueOf(LIMIT)));
    hubs = fleet.hubs(2);
  }

  @AfterAll
  static void stop() {
    fleet.close();
  }

  @Test
  void eachTokenHasItsOwnBudgetSharedByTheNodes() {
    String first = fleet.apiToken(hubs.get(0), fleet.login(hubs.get(0), "admin", Fleet.ADMIN_PASSWORD), "first");
    String second = fleet.apiToken(hubs.get(1), fleet.login(hubs.get(1), "admin", Fleet.ADMIN_PASSWORD), "second");
    for (int i = 0; i < LIMIT; i++) {
      assertEquals(200, whoami(hubs.get(i % 2), first).statusCode(), "request " + i);
    }
    HttpResponse<String> limited = whoami(hubs.get(0), first);
    assertEquals(429, limited.statusCode());
    assertTrue(limited.body().contains("TooManyRequests"), limited.body());
    long retryAfter = Long.parseLong(limited.headers().firstValue("Retry-After").orElseThrow());
    assertTrue(retryAfter >= 1 && retryAfter <= 60, "Retry-After " + retryAfter);
    HttpResponse<String> kube = fleet.call(hubs.get(1), "GET", "/k8s/clusters/x/api", first, null);
    assertEquals(429, kube.statusCode());
    assertTrue(kube.body().contains("\"kind\":\"Status\""), kube.body());

    assertEquals(200, whoami(hubs.get(1), second).statusCode(), "another token has its own budget");
  }

  private static HttpResponse<String> whoami(Hub via, String token) {
    return fleet.call(via, "GET", "/api/v1/auth/whoami", token, null);
  }
}
