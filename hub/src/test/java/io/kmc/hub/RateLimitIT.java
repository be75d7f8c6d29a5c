package io.kmc.hub;

import io.kmc.hub.support.Fleet;
import io.kmc.hub.support.TestInfra;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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
    // Each node counts locally and adds its counts to Redis every redis.admission_sync (100 ms): once
    // the budget is spent, both nodes refuse within about that.
    Fleet.eventually(Duration.ofSeconds(2), () -> whoami(hubs.get(0), first).statusCode() == 429,
        "node A refuses once the token's budget is spent on both nodes");
    HttpResponse<String> limited = whoami(hubs.get(0), first);
    assertEquals(429, limited.statusCode());
    assertTrue(limited.body().contains("TooManyRequests"), limited.body());
    long retryAfter = Long.parseLong(limited.headers().firstValue("Retry-After").orElseThrow());
    assertTrue(retryAfter >= 1 && retryAfter <= 60, "Retry-After " + retryAfter);
    Fleet.eventually(Duration.ofSeconds(2), () -> fleet.call(hubs.get(1), "GET", "/k8s/clusters/x/api", first, null)
        .statusCode() == 429, "node B refuses too");
    HttpResponse<String> kube = fleet.call(hubs.get(1), "GET", "/k8s/clusters/x/api", first, null);
    assertEquals(429, kube.statusCode());
    assertTrue(kube.body().contains("\"kind\":\"Status\""), kube.body());

    assertEquals(200, whoami(hubs.get(1), second).statusCode(), "another token has its own budget");
  }

  @Test
  void requestsAreAdmittedWithoutARedisRoundTripEach() throws Exception {
    String token = fleet.apiToken(hubs.get(0), fleet.login(hubs.get(0), "admin", Fleet.ADMIN_PASSWORD), "counted");
    long before = scriptCalls();
    for (int i = 0; i < LIMIT - 1; i++) {
      assertEquals(200, whoami(hubs.get(0), token).statusCode(), "request " + i);
    }
    long calls = scriptCalls() - before;
    // The first request asks Redis; after that the node adds its counts in one call per 100 ms.
    assertTrue(calls < LIMIT - 1, calls + " Redis script calls for " + (LIMIT - 1) + " requests");
  }

  /** How many scripts Redis has run (both nodes' admission checks and count batches). */
  private static long scriptCalls() throws Exception {
    try (Socket socket = new Socket("127.0.0.1", TestInfra.redisPort())) {
      socket.setSoTimeout(5_000);
      socket.getOutputStream().write("INFO commandstats\r\n".getBytes(StandardCharsets.US_ASCII));
      BufferedReader reader = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
      int length = Integer.parseInt(reader.readLine().substring(1));
      char[] body = new char[length];
      for (int read = 0; read < length; ) {
        read += reader.read(body, read, length - read);
      }
      Matcher calls = Pattern.compile("cmdstat_evalsha:calls=(\\d+)").matcher(new String(body));
      return calls.find() ? Long.parseLong(calls.group(1)) : 0;
    }
  }

  private static HttpResponse<String> whoami(Hub via, String token) {
    return fleet.call(via, "GET", "/api/v1/auth/whoami", token, null);
  }
}
