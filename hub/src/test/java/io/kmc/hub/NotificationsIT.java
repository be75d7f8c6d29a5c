package io.kmc.hub;

import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;
import io.kmc.common.KmcVersion;
import io.kmc.common.protocol.Frame;
import io.kmc.hub.notify.Signatures;
import io.kmc.hub.support.Fleet;
import io.kmc.hub.support.RawAgent;
import io.kmc.hub.support.WebhookReceiver;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import jakarta.mail.internet.MimeMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Notifications end to end, on two clustered hub nodes with a real agent and simulated cluster:
 * signed webhooks for an agent's connection and a policy refusal, a receiver that fails and then
 * accepts (retried, arrives once), one that never accepts (dead letter in the API and the metrics),
 * Slack's payload, e-mail through a real SMTP server (GreenMail), each delivery sent once by two
 * nodes, nothing lost across a restart of the whole hub, secrets never returned, bad input refused.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class NotificationsIT {

  private static final String SECRET = "webhook-hmac-key-0123456789";
  private static final String CHANNELS = "/api/v1/notifications/channels";
  private static final String SUBSCRIPTIONS = "/api/v1/notifications/subscriptions";

  private static Fleet fleet;
  private static Hub nodeA;
  private static Hub nodeB;
  private static Vertx receiverVertx;
  private static WebhookReceiver receiver;

  @BeforeAll
  static void start() {
    fleet = new Fleet().hubSettings(Map.of(
        "KMC_NOTIFICATIONS_POLL_INTERVAL", "200ms",
        "KMC_NOTIFICATIONS_INITIAL_BACKOFF", "200ms",
        "KMC_NOTIFICATIONS_MAX_BACKOFF", "1s",
        "KMC_NOTIFICATIONS_REQUEST_TIMEOUT", "3s",
        "KMC_NOTIFICATIONS_DISCONNECT_GRACE", "300ms",
        "KMC_AUTH_LOGIN_ATTEMPTS", "3"));
    fleet.cluster("prod");
    List<Hub> hubs = fleet.hubs(2);
    nodeA = hubs.get(0);
    nodeB = hubs.get(1);
    receiverVertx = Vertx.vertx();
    receiver = new WebhookReceiver(receiverVertx);
    created(nodeA, CHANNELS, webhook("hook", "/ok"));
  }

  @AfterAll
  static void stop() {
    if (fleet != null) {
      fleet.close();
    }
    if (receiver != null) {
      receiver.close();
      Fleet.await(receiverVertx.close());
    }
  }

  @Test
  @Order(1)
  void badInputIsRefusedWith400AndOnlyAdminsMayTouchNotifications() {
    assertEquals(400, post(nodeA, CHANNELS, "{\"name\": \"x\", \"type\": ").statusCode(), "malformed JSON");
    assertBadRequest(new JsonObject().put("name", "x").put("type", "pager").put("config", new JsonObject()),
        "unknown channel type 'pager'");
    assertBadRequest(webhook("x", "/ok").put("config", new JsonObject().put("url", "ftp://example.com/hook")
        .put("secret", SECRET)), "must be an absolute http or https URL");
    assertBadRequest(webhook("x", "/ok").put("config", new JsonObject().put("url", "not a url").put("secret", SECRET)),
        "config.url");
    assertBadRequest(webhook("x", "/ok").put("config", new JsonObject().put("url", receiver.url("/ok"))),
        "config.secret is required");
    assertBadRequest(webhook("Bad Name", "/ok"), "not a valid name");
    assertBadRequest(new JsonObject().put("name", "m").put("type", "email").put("config", new JsonObject()
        .put("host", "127.0.0.1").put("from", "kmc@example.com").put("to", new JsonArray().add("nobody"))),
        "config.to");

    HttpResponse<String> unknownType = fleet.call(nodeA, "POST", SUBSCRIPTIONS, fleet.adminToken(),
        subscription("s", "hook").put("eventTypes", new JsonArray().add("cluster.exploded")));
    assertEquals(400, unknownType.statusCode(), unknownType.body());
    assertTrue(unknownType.body().contains("unknown event type 'cluster.exploded'"), unknownType.body());
    HttpResponse<String> unknownChannel = fleet.call(nodeA, "POST", SUBSCRIPTIONS, fleet.adminToken(),
        subscription("s", "no-such-channel"));
    assertEquals(400, unknownChannel.statusCode(), unknownChannel.body());
    HttpResponse<String> badSeverity = fleet.call(nodeA, "POST", SUBSCRIPTIONS, fleet.adminToken(),
        subscription("s", "hook").put("minSeverity", "loud"));
    assertEquals(400, badSeverity.statusCode(), badSeverity.body());
    assertEquals(409, fleet.call(nodeA, "POST", CHANNELS, fleet.adminToken(), webhook("hook", "/ok")).statusCode(),
        "a second channel of the same name");

    assertEquals(201, fleet.call(nodeA, "POST", "/api/v1/users", fleet.adminToken(), new JsonObject()
        .put("name", "dora").put("password", "dora-password-123")).statusCode());
    String dora = fleet.login(nodeA, "dora", "dora-password-123");
    assertEquals(403, fleet.call(nodeA, "GET", CHANNELS, dora, null).statusCode());
    assertEquals(403, fleet.call(nodeB, "POST", SUBSCRIPTIONS, dora, subscription("s", "hook")).statusCode());
  }

  @Test
  @Order(2)
  void channelSecretsAreNeverReturned() {
    created(nodeA, CHANNELS, webhook("secretive", "/ok"));
    for (Hub via : List.of(nodeA, nodeB)) {
      String one = fleet.api(via, CHANNELS + "/secretive").body();
      String all = fleet.api(via, CHANNELS).body();
      assertFalse(one.contains(SECRET) || all.contains(SECRET), one + all);
      assertEquals(new JsonArray().add("secret"), new JsonObject(one).getJsonArray("secretsSet"), one);
      assertEquals(receiver.url("/ok"), new JsonObject(one).getJsonObject("config").getString("url"));
    }
    // A client writes back what it read (no secret): the stored secret stays; the answer shows none either.
    JsonObject read = new JsonObject(fleet.api(nodeB, CHANNELS + "/secretive").body());
    HttpResponse<String> replaced = fleet.call(nodeB, "PUT", CHANNELS + "/secretive", fleet.adminToken(),
        new JsonObject().put("name", "secretive").put("type", "webhook").put("config", read.getJsonObject("config"))
            .put("maxAttempts", 4));
    assertEquals(200, replaced.statusCode(), replaced.body());
    assertFalse(replaced.body().contains(SECRET), replaced.body());
    assertEquals(4, new JsonObject(replaced.body()).getInteger("maxAttempts"));
    assertEquals(204, fleet.call(nodeA, "DELETE", CHANNELS + "/secretive", fleet.adminToken(), null).statusCode());
  }

  /** The agent connects, goes, comes back: connected and disconnected arrive signed; the flap is de-duplicated. */
  @Test
  @Order(3)
  void anAgentConnectingAndDisconnectingIsNotifiedSigned() throws Exception {
    created(nodeA, SUBSCRIPTIONS, subscription("lifecycle", "hook").put("clusters", new JsonArray().add("prod"))
        .put("eventTypes", new JsonArray().add("cluster.connected").add("cluster.disconnected")));
    Thread.sleep(1_000); // in force on node B too (it hears of the subscription on the event bus)
    fleet.agent("prod", nodeB);
    WebhookReceiver.Received connected = awaitEvent("/ok", "cluster.connected", "prod");
    assertSigned(connected);
    JsonObject event = connected.json().getJsonObject("event");
    assertEquals("info", event.getString("severity"));
    assertEquals(nodeB.nodeId(), event.getJsonObject("details").getString("hubNode"));
    assertEquals(connected.header("X-Kmc-Delivery"), String.valueOf(connected.json().getLong("delivery")));

    fleet.stopAgent("prod");
    WebhookReceiver.Received disconnected = awaitEvent("/ok", "cluster.disconnected", "prod");
    assertSigned(disconnected);
    assertEquals("warning", disconnected.json().getJsonObject("event").getString("severity"));

    fleet.agent("prod", nodeA);
    fleet.awaitConnected(nodeB, "prod");
    Fleet.eventually(Duration.ofSeconds(10), () -> metric(nodeA, "kmc_notification_events_suppressed_total",
        "type=\"cluster.connected\"") >= 1, "the reconnection within the window counted as suppressed");
    Thread.sleep(500);
    assertEquals(1, events("/ok", "cluster.connected", "prod").size(), "a flap within the window is sent once");
  }

  @Test
  @Order(4)
  void aPolicyRefusalOfAPassThroughWriteIsNotified() {
    HttpResponse<String> policy = fleet.call(nodeB, "POST", "/api/v1/policies", fleet.adminToken(), new JsonObject(
        """
        {"apiVersion": "kmc.io/v1alpha1", "kind": "Policy", "metadata": {"name": "no-forbidden-key"},
         "spec": {"action": "deny", "match": {"kinds": ["ConfigMap"]},
                  "validations": [{"expression": "!has(object.data) || !('forbidden' in object.data)",
                                   "message": "configmaps must not have a key named forbidden"}]}}
        """));
    assertEquals(201, policy.statusCode(), policy.body());
    created(nodeA, SUBSCRIPTIONS, subscription("policies", "hook")
        .put("eventTypes", new JsonArray().add("policy.violation")).put("minSeverity", "warning")
        .put("clusterSelector", new JsonObject().put("matchLabels", new JsonObject().put("env", "test"))));
    fleet.awaitConnected(nodeA, "prod");
    JsonObject configMap = new JsonObject().put("apiVersion", "v1").put("kind", "ConfigMap")
        .put("metadata", new JsonObject().put("name", "bad-config").put("namespace", "default"))
        .put("data", new JsonObject().put("forbidden", "yes"));
    Fleet.eventually(Duration.ofSeconds(10), () -> fleet.call(nodeA, "POST",
        "/k8s/clusters/prod/api/v1/namespaces/default/configmaps", fleet.adminToken(), configMap).statusCode() == 403,
        "the write is refused (once the policy is in force on node A)");

    WebhookReceiver.Received refused = awaitEvent("/ok", "policy.violation", "prod");
    assertSigned(refused);
    JsonObject event = refused.json().getJsonObject("event");
    assertEquals("warning", event.getString("severity"));
    JsonObject details = event.getJsonObject("details");
    assertTrue(details.getBoolean("denied"), details.encode());
    assertEquals("admin", details.getString("user"));
    assertEquals("bad-config", details.getString("name"));
    assertEquals("no-forbidden-key", details.getJsonArray("violations").getJsonObject(0).getString("policy"));
    assertTrue(event.getString("summary").contains("configmaps must not have a key named forbidden"),
        event.getString("summary"));
  }

  /** The receiver fails twice: the third attempt of the same delivery is accepted, and nothing more is sent. */
  @Test
  @Order(5)
  void aFailingReceiverGetsTheDeliveryRetriedUntilItArrivesOnce() throws Exception {
    receiver.answer("/flaky", before -> before < 2 ? 503 : 200);
    created(nodeA, CHANNELS, webhook("flaky", "/flaky"));
    String cluster = registeredCluster("flaky-target");
    created(nodeA, SUBSCRIPTIONS, rotations("flaky-rotations", "flaky", cluster));
    rotate(nodeA, cluster);

    Fleet.eventually(Duration.ofSeconds(20), () -> receiver.acceptedAt("/flaky").size() == 1, "the third attempt");
    Thread.sleep(1_000);
    List<WebhookReceiver.Received> all = receiver.at("/flaky");
    assertEquals(3, all.size(), "two failures and one success, nothing after");
    assertEquals(List.of("1", "2", "3"), all.stream().map(r -> r.header("X-Kmc-Attempt")).toList());
    assertEquals(1, all.stream().map(r -> r.header("X-Kmc-Delivery")).distinct().count(), "one delivery");
    all.forEach(NotificationsIT::assertSigned);
    JsonObject delivery = deliveries("channel=flaky").getJsonObject(0);
    assertEquals("delivered", delivery.getString("state"));
    assertEquals(3, delivery.getInteger("attempts"));
  }

  @Test
  @Order(6)
  void aReceiverDownForGoodEndsInTheDeadLetters() {
    receiver.answer("/down", before -> 500);
    created(nodeA, CHANNELS, webhook("down", "/down").put("maxAttempts", 3));
    String cluster = registeredCluster("dead-target");
    created(nodeA, SUBSCRIPTIONS, rotations("dead-rotations", "down", cluster));
    rotate(nodeA, cluster);

    JsonObject dead = Fleet.awaitValue(Duration.ofSeconds(20), () -> {
      JsonArray items = deliveries("state=dead&channel=down");
      return items.isEmpty() ? null : items.getJsonObject(0);
    }, "a dead delivery in the API");
    assertEquals(3, dead.getInteger("attempts"));
    assertTrue(dead.getString("lastError").contains("500"), dead.encode());
    assertEquals("cluster.token_rotated", dead.getString("eventType"));
    assertEquals(cluster, dead.getString("cluster"));
    assertEquals(3, receiver.at("/down").size());
    Fleet.eventually(Duration.ofSeconds(10), () -> metric(nodeB, "kmc_notification_deliveries_dead", "") >= 1,
        "the dead-letter gauge");
    assertTrue(metric(nodeA, "kmc_notification_deliveries_total", "outcome=\"dead\"")
        + metric(nodeB, "kmc_notification_deliveries_total", "outcome=\"dead\"") == 1, "one delivery gave up");

    // Once the receiver is back, a dead letter can be sent again.
    receiver.answer("/down", before -> 200);
    HttpResponse<String> retried = fleet.call(nodeB, "POST", "/api/v1/notifications/deliveries/"
        + dead.getLong("id") + "/retry", fleet.adminToken(), null);
    assertEquals(202, retried.statusCode(), retried.body());
    Fleet.eventually(Duration.ofSeconds(10), () -> receiver.acceptedAt("/down").size() == 1, "the retried delivery");
  }

  @Test
  @Order(7)
  void aSlackChannelGetsSlacksPayloadAndHidesItsUrl() {
    JsonObject created = created(nodeA, CHANNELS, new JsonObject().put("name", "chat").put("type", "slack")
        .put("config", new JsonObject().put("url", receiver.url("/slack/T000/B000/token-in-the-url"))));
    assertEquals(new JsonObject(), created.getJsonObject("config"), "the webhook URL holds a token: it is a secret");
    assertEquals(new JsonArray().add("url"), created.getJsonArray("secretsSet"));
    String cluster = registeredCluster("slack-target");
    created(nodeA, SUBSCRIPTIONS, rotations("slack-rotations", "chat", cluster));
    rotate(nodeA, cluster);

    WebhookReceiver.Received message = Fleet.awaitValue(Duration.ofSeconds(20), () -> receiver
        .at("/slack/T000/B000/token-in-the-url").stream().findFirst().orElse(null), "the Slack message");
    JsonObject payload = message.json();
    assertTrue(payload.getString("text").contains("[info]") && payload.getString("text").contains(cluster),
        payload.encode());
    JsonArray blocks = payload.getJsonArray("blocks");
    assertEquals("section", blocks.getJsonObject(0).getString("type"));
    assertEquals("mrkdwn", blocks.getJsonObject(0).getJsonObject("text").getString("type"));
    assertEquals("context", blocks.getJsonObject(1).getString("type"));
    assertTrue(blocks.getJsonObject(1).getJsonArray("elements").getJsonObject(0).getString("text")
        .contains("cluster.token_rotated"), payload.encode());
    assertEquals("application/json", message.header("Content-Type"));

    HttpResponse<String> test = fleet.call(nodeB, "POST", CHANNELS + "/chat/test", fleet.adminToken(), null);
    assertEquals(202, test.statusCode(), test.body());
    Fleet.eventually(Duration.ofSeconds(10), () -> receiver.at("/slack/T000/B000/token-in-the-url").stream()
        .anyMatch(r -> r.json().getJsonArray("blocks").getJsonObject(1).getJsonArray("elements").getJsonObject(0)
            .getString("text").contains("notification.test")), "the test message");
  }

  @Test
  @Order(8)
  void anEmailChannelSendsThroughARealSmtpServer() throws Exception {
    GreenMail smtp = new GreenMail(new ServerSetup(Fleet.freePort(), "127.0.0.1", ServerSetup.PROTOCOL_SMTP));
    smtp.setUser("kmc@example.com", "kmc-mailer", "smtp-password-42");
    smtp.start();
    try {
      JsonObject created = created(nodeB, CHANNELS, new JsonObject().put("name", "mail").put("type", "email")
          .put("config", new JsonObject().put("host", "127.0.0.1").put("port", smtp.getSmtp().getPort())
              .put("tls", "none").put("username", "kmc-mailer").put("password", "smtp-password-42")
              .put("from", "kmc@example.com").put("to", new JsonArray().add("oncall@example.com"))));
      assertFalse(created.encode().contains("smtp-password-42"), created.encode());
      assertFalse(fleet.api(nodeA, CHANNELS + "/mail").body().contains("smtp-password-42"));
      String cluster = registeredCluster("mail-target");
      created(nodeA, SUBSCRIPTIONS, rotations("mail-rotations", "mail", cluster));
      rotate(nodeA, cluster);

      assertTrue(smtp.waitForIncomingEmail(20_000, 1), "an e-mail arrives");
      MimeMessage mail = smtp.getReceivedMessages()[0];
      assertTrue(mail.getSubject().startsWith("[kmc] info: the join token of cluster " + cluster), mail.getSubject());
      assertEquals("oncall@example.com", mail.getAllRecipients()[0].toString());
      assertEquals("kmc@example.com", mail.getFrom()[0].toString());
      String text = new String(mail.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(text.contains("Event:    cluster.token_rotated") && text.contains("Cluster:  " + cluster), text);
      Fleet.eventually(Duration.ofSeconds(5), () -> "delivered".equals(deliveries("channel=mail").getJsonObject(0)
          .getString("state")), "the delivery recorded as delivered");
    } finally {
      smtp.stop();
    }
  }

  /** Both nodes poll the outbox; every delivery still goes out once. */
  @Test
  @Order(9)
  void twoNodesSendEveryDeliveryOnce() throws Exception {
    created(nodeA, CHANNELS, webhook("counted", "/counted"));
    String cluster = registeredCluster("many-target");
    created(nodeB, SUBSCRIPTIONS, rotations("many-rotations", "counted", cluster));
    // A subscription is in force on the node that took it at once, on the others once they hear of it.
    Thread.sleep(1_000);
    int events = 20;
    for (int i = 0; i < events; i++) {
      rotate(i % 2 == 0 ? nodeA : nodeB, cluster);
    }
    Fleet.eventually(Duration.ofSeconds(20), () -> receiver.at("/counted").size() >= events, "every delivery");
    Thread.sleep(1_500);
    List<WebhookReceiver.Received> got = receiver.at("/counted");
    Set<String> deliveries = got.stream().map(r -> r.header("X-Kmc-Delivery")).collect(Collectors.toSet());
    Set<String> eventIds = got.stream().map(r -> r.json().getJsonObject("event").getString("id"))
        .collect(Collectors.toSet());
    assertEquals(events, got.size(), "no delivery was sent twice");
    assertEquals(events, deliveries.size());
    assertEquals(events, eventIds.size());
    got.forEach(NotificationsIT::assertSigned);
    JsonArray recorded = deliveries("channel=counted&limit=100");
    assertEquals(events, recorded.size());
    assertTrue(recorded.stream().allMatch(d -> "delivered".equals(((JsonObject) d).getString("state"))
        && ((JsonObject) d).getInteger("attempts") == 1), recorded.encode());
    assertEquals(Set.of(nodeA.nodeId(), nodeB.nodeId()), recorded.stream().map(d -> ((JsonObject) d).getString("node"))
        .collect(Collectors.toSet()), "both nodes sent some");
  }

  /** Past its rate a channel's deliveries wait for the next minute; they are not dropped or counted as failed. */
  @Test
  @Order(10)
  void aChannelsRateLimitHoldsBackTheRest() {
    created(nodeA, CHANNELS, webhook("slow", "/slow").put("rateLimitPerMinute", 2));
    String cluster = registeredCluster("rate-target");
    created(nodeA, SUBSCRIPTIONS, rotations("rate-rotations", "slow", cluster));
    for (int i = 0; i < 3; i++) {
      rotate(nodeA, cluster);
    }
    Fleet.eventually(Duration.ofSeconds(10), () -> receiver.at("/slow").size() == 2, "two deliveries");
    JsonObject held = Fleet.awaitValue(Duration.ofSeconds(10), () -> {
      JsonArray pending = deliveries("state=pending&channel=slow");
      return pending.isEmpty() ? null : pending.getJsonObject(0);
    }, "the third delivery waiting");
    assertEquals(0, held.getInteger("attempts"), held.encode());
    assertNotNull(held.getString("nextAttemptAt"));
    assertEquals(2, receiver.at("/slow").size());
  }

  /** A failed login limit reached is notified once, from whichever node counted it. */
  @Test
  @Order(11)
  void repeatedFailedLoginsAreNotified() {
    created(nodeA, SUBSCRIPTIONS, subscription("security", "hook")
        .put("eventTypes", new JsonArray().add("auth.login_failures")).put("minSeverity", "critical"));
    for (int i = 0; i < 3; i++) {
      Hub via = i % 2 == 0 ? nodeA : nodeB;
      HttpResponse<String> refused = fleet.send(HttpRequest.newBuilder(fleet.uri(via, "/api/v1/auth/login"))
          .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(new JsonObject()
              .put("username", "mallory").put("password", "guess-" + i).encode())).build());
      assertEquals(401, refused.statusCode(), refused.body());
    }
    WebhookReceiver.Received alert = Fleet.awaitValue(Duration.ofSeconds(10), () -> receiver.at("/ok").stream()
        .filter(r -> "auth.login_failures".equals(r.header("X-Kmc-Event"))).findFirst().orElse(null),
        "the login-failure alert");
    JsonObject event = alert.json().getJsonObject("event");
    assertEquals("critical", event.getString("severity"));
    assertEquals("mallory", event.getJsonObject("details").getString("user"));
  }

  /** An agent of another version than the hub's is reported. */
  @Test
  @Order(12)
  void anAgentOfAnotherVersionIsNotified() throws Exception {
    created(nodeA, SUBSCRIPTIONS, subscription("skew", "hook").put("eventTypes", new JsonArray()
        .add("agent.version_skew")));
    HttpResponse<String> registered = fleet.call(nodeA, "POST", "/api/v1/clusters", fleet.adminToken(),
        new JsonObject().put("name", "old-agent"));
    assertEquals(201, registered.statusCode(), registered.body());
    String token = new JsonObject(registered.body()).getString("token");
    try (RawAgent agent = Fleet.await(RawAgent.connect(receiverVertx, nodeA, "old-agent", token))) {
      agent.send(new Frame.Hello(List.of(1), "old-agent", "0.0.9", "v1.30.0", List.of()));
      assertTrue(agent.next(5) instanceof Frame.Welcome);
      WebhookReceiver.Received skew = awaitEvent("/ok", "agent.version_skew", "old-agent");
      JsonObject details = skew.json().getJsonObject("event").getJsonObject("details");
      assertEquals("0.0.9", details.getString("agentVersion"));
      assertEquals(KmcVersion.current(), details.getString("hubVersion"));
    }
  }

  /**
   * The receiver is down while the whole hub stops; a new node on the same database sends what was
   * pending, each delivery once.
   */
  @Test
  @Order(20)
  void aHubRestartLosesNoPendingDelivery() throws Exception {
    receiver.answer("/gate", before -> 503);
    created(nodeA, CHANNELS, webhook("gated", "/gate").put("maxAttempts", 100));
    String cluster = registeredCluster("restart-target");
    created(nodeA, SUBSCRIPTIONS, rotations("restart-rotations", "gated", cluster));
    for (int i = 0; i < 3; i++) {
      rotate(nodeA, cluster);
    }
    Fleet.eventually(Duration.ofSeconds(20), () -> {
      JsonArray items = deliveries("channel=gated");
      return items.size() == 3 && items.stream().allMatch(d -> ((JsonObject) d).getInteger("attempts") >= 1
          && "pending".equals(((JsonObject) d).getString("state")));
    }, "three deliveries tried and pending");
    fleet.stopAgent("prod");
    fleet.stopHub(nodeA);
    fleet.stopHub(nodeB);
    int triedBefore = receiver.at("/gate").size();
    assertTrue(triedBefore >= 3, "each delivery was tried at least once");

    receiver.answer("/gate", before -> 200);
    Hub again = fleet.startHub(Fleet.freePort());
    Fleet.eventually(Duration.ofSeconds(30), () -> receiver.acceptedAt("/gate").size() >= 3,
        "the pending deliveries sent by the new node");
    Thread.sleep(1_000);
    List<WebhookReceiver.Received> accepted = receiver.acceptedAt("/gate");
    assertEquals(3, accepted.size(), "each once");
    assertEquals(3, accepted.stream().map(r -> r.header("X-Kmc-Delivery")).distinct().count());
    JsonArray after = new JsonObject(fleet.api(again, "/api/v1/notifications/deliveries?channel=gated").body())
        .getJsonArray("items");
    assertTrue(after.stream().allMatch(d -> "delivered".equals(((JsonObject) d).getString("state"))), after.encode());
  }

  // Helpers

  private static JsonObject webhook(String name, String path) {
    return new JsonObject().put("name", name).put("type", "webhook")
        .put("config", new JsonObject().put("url", receiver.url(path)).put("secret", SECRET));
  }

  private static JsonObject subscription(String name, String channel) {
    return new JsonObject().put("name", name).put("channels", new JsonArray().add(channel));
  }

  private static JsonObject rotations(String name, String channel, String cluster) {
    return subscription(name, channel).put("eventTypes", new JsonArray().add("cluster.token_rotated"))
        .put("clusters", new JsonArray().add(cluster));
  }

  private static JsonObject created(Hub via, String path, JsonObject body) {
    HttpResponse<String> response = fleet.call(via, "POST", path, fleet.adminToken(), body);
    assertEquals(201, response.statusCode(), path + ": " + response.body());
    return new JsonObject(response.body());
  }

  private static HttpResponse<String> post(Hub via, String path, String rawBody) {
    return fleet.send(HttpRequest.newBuilder(fleet.uri(via, path)).header("Content-Type", "application/json")
        .header("Authorization", "Bearer " + fleet.adminToken())
        .POST(HttpRequest.BodyPublishers.ofString(rawBody)).build());
  }

  private static void assertBadRequest(JsonObject channel, String message) {
    HttpResponse<String> response = fleet.call(nodeB, "POST", CHANNELS, fleet.adminToken(), channel);
    assertEquals(400, response.statusCode(), response.body());
    assertTrue(response.body().contains(message), "expected '" + message + "' in " + response.body());
  }

  /** Registers a cluster through the API (no agent); its token can be rotated at will. */
  private static String registeredCluster(String name) {
    HttpResponse<String> response = fleet.call(nodeA, "POST", "/api/v1/clusters", fleet.adminToken(),
        new JsonObject().put("name", name));
    assertEquals(201, response.statusCode(), response.body());
    return name;
  }

  private static void rotate(Hub via, String cluster) {
    HttpResponse<String> response = fleet.call(via, "POST", "/api/v1/clusters/" + cluster + "/token",
        fleet.adminToken(), null);
    assertEquals(200, response.statusCode(), response.body());
  }

  private static List<WebhookReceiver.Received> events(String path, String type, String cluster) {
    return receiver.at(path).stream().filter(r -> type.equals(r.header("X-Kmc-Event"))
        && cluster.equals(r.json().getJsonObject("event").getString("cluster"))).toList();
  }

  private static WebhookReceiver.Received awaitEvent(String path, String type, String cluster) {
    return Fleet.awaitValue(Duration.ofSeconds(20), () -> events(path, type, cluster).stream().findFirst()
        .orElse(null), type + " of " + cluster + " at " + path);
  }

  /** The signature verifies with the channel's secret over timestamp.body, and the timestamp is recent. */
  private static void assertSigned(WebhookReceiver.Received received) {
    String timestamp = received.header(Signatures.TIMESTAMP_HEADER);
    String signature = received.header(Signatures.SIGNATURE_HEADER);
    assertNotNull(signature, "signed");
    assertTrue(Signatures.verify(SECRET, timestamp, signature, received.body().getBytes(StandardCharsets.UTF_8), 300),
        "the signature verifies: " + signature);
    assertFalse(Signatures.verify("another-secret-0123456789", timestamp, signature,
        received.body().getBytes(StandardCharsets.UTF_8), 300), "and only with the channel's secret");
    assertFalse(Signatures.verify(SECRET, timestamp, signature,
        (received.body() + " ").getBytes(StandardCharsets.UTF_8), 300), "and only over this body");
  }

  private static JsonArray deliveries(String query) {
    HttpResponse<String> response = fleet.api(nodeA, "/api/v1/notifications/deliveries?" + query);
    assertEquals(200, response.statusCode(), response.body());
    return new JsonObject(response.body()).getJsonArray("items");
  }

  /** The sum of a metric's samples whose labels contain {@code labels}, on one node. */
  private static double metric(Hub via, String name, String labels) {
    String body = fleet.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + via.managementPort()
        + "/metrics")).build()).body();
    return body.lines().filter(line -> line.startsWith(name + "{") || line.startsWith(name + " "))
        .filter(line -> line.contains(labels))
        .mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1))).sum();
  }
}
