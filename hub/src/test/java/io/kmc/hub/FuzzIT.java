package io.kmc.hub;

import io.kmc.common.protocol.Frame;
import io.kmc.common.protocol.FrameCodec;
import io.kmc.hub.support.Fleet;
import io.kmc.hub.support.RawAgent;
import io.kmc.hub.support.RawHttp;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static io.kmc.hub.support.Fleet.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Randomised input, seeded so that a failure can be replayed ({@code -Dkmc.fuzz.seed=N}): thousands
 * of mutated agent frames and of odd HTTP requests. Whatever arrives, the hub answers with a client
 * error or a 502/503/504 {@code Status}, within the request timeout, keeps serving a healthy cluster,
 * and keeps its audit log.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class FuzzIT {

  private static final long SEED = Long.getLong("kmc.fuzz.seed", 20261202L);
  private static final int FRAMES = 2_500;
  private static final int REQUESTS = 2_500;
  private static final int REQUEST_TIMEOUT_MILLIS = 3_000;
  /** Slack for a loaded two-core machine on top of the request timeout. */
  private static final int ANSWER_WITHIN_MILLIS = REQUEST_TIMEOUT_MILLIS + 7_000;

  private static Fleet fleet;
  private static Hub hub;
  private static final ExecutorService CLIENTS = Executors.newFixedThreadPool(8);

  @BeforeAll
  static void start() {
    fleet = new Fleet().hubSettings(Map.of("KMC_TUNNEL_REQUEST_TIMEOUT", REQUEST_TIMEOUT_MILLIS + "ms",
        "KMC_AUTH_REQUESTS_PER_MINUTE", "1000000", "KMC_AUTH_LOGIN_ATTEMPTS", "1000"));
    fleet.cluster("c1");
    fleet.cluster("fuzz");
    hub = fleet.hubs(1).get(0);
    fleet.agent("c1", hub);
    fleet.awaitConnected(hub, "c1");
    System.out.println("FuzzIT seed " + SEED + " (replay with -Dkmc.fuzz.seed=" + SEED + ")");
  }

  @AfterAll
  static void stop() {
    fleet.close();
    CLIENTS.shutdownNow();
  }

  @Test
  void mutatedAgentFramesNeverHurtTheHubOrLeaveAClientHanging() throws Exception {
    Random random = new Random(SEED);
    RawAgent agent = connect();
    List<CompletableFuture<RawHttp.Answer>> asked = new ArrayList<>();
    List<String> pendingIds = new ArrayList<>();
    int reconnects = 0;
    for (int i = 0; i < FRAMES; i++) {
      if (i % 50 == 0) {
        asked.add(ask("/k8s/clusters/fuzz/api/v1/namespaces/default/configmaps" + (i % 100 == 0 ? "?watch=1" : "")));
      }
      for (Frame frame = agent.next(0); frame != null; frame = agent.next(0)) {
        if (frame instanceof Frame.Request request) {
          pendingIds.add(request.id());
        }
      }
      String id = pendingIds.isEmpty() || random.nextInt(4) == 0 ? "x" + random.nextInt(100)
          : pendingIds.get(random.nextInt(pendingIds.size()));
      agent.sendText(Mutations.frame(random, id));
      if (agent.isClosed()) {
        reconnects++;
        agent = connect();
      }
    }
    agent.send(new Frame.Ping(1));
    long deadline = System.currentTimeMillis() + 10_000;
    while (!agent.isClosed() && System.currentTimeMillis() < deadline && !(agent.next(1) instanceof Frame.Pong)) {
      // drain what the hub sent until it answers the ping
    }
    for (CompletableFuture<RawHttp.Answer> future : asked) {
      // Whatever status the fuzzed agent claimed is its cluster's answer; what matters is that one came in time.
      RawHttp.Answer answer = future.get(ANSWER_WITHIN_MILLIS * 2L, TimeUnit.MILLISECONDS);
      assertTrue(answer.status() > 0, "a request to the fuzzed cluster got no answer: " + answer);
    }
    System.out.println("FuzzIT frames: " + FRAMES + " sent, " + asked.size() + " requests answered, "
        + reconnects + " reconnects");
    agent.close();
    stillHealthy();
  }

  @Test
  void randomisedRequestsGetAClearAnswer() throws Exception {
    Random random = new Random(SEED + 1);
    List<String> requests = new ArrayList<>();
    for (int i = 0; i < REQUESTS; i++) {
      requests.add(Mutations.request(random, fleet.adminToken()));
    }
    ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
    List<CompletableFuture<Void>> sent = new ArrayList<>();
    for (String request : requests) {
      sent.add(CompletableFuture.runAsync(() -> {
        try {
          RawHttp.Answer answer = RawHttp.exchange(hub.port(), request, ANSWER_WITHIN_MILLIS);
          String problem = problem(answer);
          if (problem != null) {
            problems.add(problem + " for " + request.lines().findFirst().orElse(""));
          }
        } catch (Exception e) {
          problems.add(e + " for " + request.lines().findFirst().orElse(""));
        }
      }, CLIENTS));
    }
    CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).get(240, TimeUnit.SECONDS);
    assertTrue(problems.isEmpty(), () -> problems.size() + " bad answers, e.g. " + problems.stream().limit(5).toList());
    stillHealthy();
  }

  private static RawAgent connect() throws InterruptedException {
    RawAgent agent = await(RawAgent.connect(fleet.memberVertx(), hub, "fuzz", fleet.joinToken("fuzz")));
    agent.hello("fuzz");
    return agent;
  }

  private static CompletableFuture<RawHttp.Answer> ask(String path) {
    return CompletableFuture.supplyAsync(() -> {
      try {
        return RawHttp.exchange(hub.port(), RawHttp.request("GET", path, fleet.adminToken(), null),
            ANSWER_WITHIN_MILLIS);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }, CLIENTS);
  }

  /** What is wrong with an answer, or null: it came in time, and a server error is a gateway one with a body. */
  private static String problem(RawHttp.Answer answer) {
    if (answer.status() < 0) {
      return "no answer within " + ANSWER_WITHIN_MILLIS + " ms: " + answer.body();
    }
    if (RawHttp.STILL_STREAMING.equals(answer.body())) {
      return null; // a watch or followed log, open until the client leaves
    }
    if (answer.millis() > ANSWER_WITHIN_MILLIS) {
      return "answered after " + answer.millis() + " ms";
    }
    if (answer.status() >= 500 && !List.of(502, 503, 504).contains(answer.status())) {
      return "status " + answer.status() + ": " + answer.body();
    }
    if (answer.status() >= 500) {
      try {
        JsonObject body = new JsonObject(answer.body());
        if (!body.containsKey("message")) {
          return "status " + answer.status() + " without a message: " + answer.body();
        }
      } catch (RuntimeException e) {
        return "status " + answer.status() + " with a body that is not JSON: " + answer.body();
      }
    }
    return null;
  }

  private static void stillHealthy() {
    assertEquals(200, fleet.call(hub, "GET", "/k8s/clusters/c1/api/v1/namespaces/kube-system", fleet.adminToken(),
        null).statusCode());
    String marker = "fuzz-audit-" + System.nanoTime();
    fleet.call(hub, "GET", "/k8s/clusters/c1/api/v1/namespaces/default/configmaps/" + marker, fleet.adminToken(), null);
    Fleet.eventually(java.time.Duration.ofSeconds(20), () -> fleet.api(hub, "/api/v1/audit?limit=5&path="
        + "/k8s/clusters/c1/api/v1/namespaces/default/configmaps/" + marker).body().contains(marker),
        "the audit log still records");
  }

  /** Mutations of valid input, from a seeded random. */
  static final class Mutations {

    private static final String[] ODD = {"", "\u0000", "\r\n", "%", "%zz", "%00", "..", "//", "\u00e9", "\uD83D\uDE00",
        "'", "\"", "\\", "<script>", "{", "}", "[", "]", "null", "-1", "99999999999999999999", "1e308", "x".repeat(300),
        "\t", " ", "+", "?", "#", ";", ",", "=", "&"};

    private Mutations() {
    }

    static String frame(Random random, String id) {
      String valid = FrameCodec.encodeToString(switch (random.nextInt(9)) {
        case 0 -> new Frame.Response(id, 200 + random.nextInt(400), Map.of("Content-Type", List.of("application/json")),
            "{\"kind\":\"ConfigMapList\",\"items\":[]}".getBytes(StandardCharsets.UTF_8), random.nextBoolean());
        case 1 -> new Frame.Data(id, bytes(random));
        case 2 -> new Frame.End(id, random.nextBoolean() ? null : word(random));
        case 3 -> new Frame.Error(random.nextBoolean() ? id : null, word(random), word(random));
        case 4 -> new Frame.Ping(random.nextLong());
        case 5 -> new Frame.Pong(random.nextLong());
        case 6 -> new Frame.Credit(id, 1 + random.nextInt(10));
        case 7 -> new Frame.Hello(List.of(random.nextInt(3)), "fuzz", word(random), word(random), List.of());
        default -> new Frame.Response(id, 200, Map.of(word(random), List.of(word(random))), bytes(random), false);
      });
      return mutate(random, valid);
    }

    static String mutate(Random random, String text) {
      StringBuilder out = new StringBuilder(text);
      int edits = random.nextInt(4);
      for (int e = 0; e < edits && out.length() > 0; e++) {
        int at = random.nextInt(out.length());
        switch (random.nextInt(6)) {
          case 0 -> out.deleteCharAt(at);
          case 1 -> out.insert(at, ODD[random.nextInt(ODD.length)]);
          case 2 -> out.setCharAt(at, (char) random.nextInt(128));
          case 3 -> out.setLength(at);
          case 4 -> out.insert(at, out.substring(at, Math.min(out.length(), at + random.nextInt(20))));
          default -> out.replace(at, Math.min(out.length(), at + 5), ODD[random.nextInt(ODD.length)]);
        }
      }
      return out.toString();
    }

    static String request(Random random, String adminToken) {
      String[] methods = {"GET", "GET", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "FOO"};
      String method = methods[random.nextInt(methods.length)];
      String[] templates = {"/k8s/clusters/c1/api/v1/namespaces/%s/configmaps/%s", "/k8s/clusters/%s/api/v1/%s",
          "/k8s/clusters/c1/apis/%s/%s/%s", "/k8s/clusters/c1/api/v1/namespaces/default/pods/%s/log",
          "/api/v1/clusters/%s", "/api/v1/users/%s", "/api/v1/audit", "/api/v1/tokens/%s", "/api/v1/rbac/roles",
          "/api/v1/auth/login", "/api/v1/auth/refresh", "/agent/v1/connect", "/healthz", "/%s", "/api/v1/%s/%s"};
      String template = templates[random.nextInt(templates.length)];
      Object[] segments = new Object[3];
      for (int i = 0; i < segments.length; i++) {
        segments[i] = segment(random);
      }
      String path = String.format(template, segments);
      if (random.nextInt(5) == 0) {
        path = mutate(random, path);
      }
      path = path.replace(" ", "%20").replace("\r", "").replace("\n", "");
      if (!path.startsWith("/")) {
        path = "/" + path;
      }
      StringBuilder query = new StringBuilder();
      for (int i = random.nextInt(4); i > 0; i--) {
        String[] keys = {"watch", "limit", "labelSelector", "follow", "user", "path", "before", "status", "since", "x"};
        query.append(query.length() == 0 ? "?" : "&").append(keys[random.nextInt(keys.length)]).append('=')
            .append(segment(random).replace(" ", "+"));
      }
      String bearer = switch (random.nextInt(5)) {
        case 0 -> null;
        case 1 -> mutate(random, adminToken);
        case 2 -> "eyJhbGciOiJFUzI1NiJ9." + segment(random) + ".AAAA";
        default -> adminToken;
      };
      String body = method.equals("GET") || method.equals("HEAD") || random.nextInt(4) == 0 ? null
          : mutate(random, new JsonObject().put("name", segment(random)).put("username", segment(random))
              .put("password", segment(random)).put("labels", new JsonObject().put(segment(random), segment(random)))
              .put("metadata", new JsonObject().put("name", segment(random))).encode());
      String contentType = switch (random.nextInt(4)) {
        case 0 -> "Content-Type: application/json";
        case 1 -> "Content-Type: application/merge-patch+json";
        case 2 -> "Content-Type: " + segment(random).replace("\r", "").replace("\n", "");
        default -> "X-Fuzz: " + random.nextInt();
      };
      return RawHttp.request(method, path + query, bearer, body, contentType);
    }

    /** A path segment or value: mostly names, sometimes odd; never the healthy cluster's or the admin's own. */
    private static String segment(Random random) {
      String segment;
      do {
        segment = random.nextInt(3) == 0 ? ODD[random.nextInt(ODD.length)] : word(random);
      } while (segment.equals("c1") || segment.equals("admin") || segment.equals("kube-system"));
      return segment.replace("\r", "").replace("\n", "").replace(" ", "%20").replace("#", "%23").replace("?", "%3F");
    }

    private static String word(Random random) {
      int length = 1 + random.nextInt(12);
      StringBuilder word = new StringBuilder();
      for (int i = 0; i < length; i++) {
        word.append("abcdefghijklmnopqrstuvwxyz0123456789-._".charAt(random.nextInt(39)));
      }
      return word.toString();
    }

    private static byte[] bytes(Random random) {
      byte[] bytes = new byte[random.nextInt(200)];
      random.nextBytes(bytes);
      return bytes;
    }
  }
}
