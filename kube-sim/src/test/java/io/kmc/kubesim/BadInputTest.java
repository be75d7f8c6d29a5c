package io.kmc.kubesim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Malformed, unknown, oversized and mistyped requests get the apiserver's Status answers; the server keeps serving. */
@ExtendWith(VertxExtension.class)
class BadInputTest {

  private static KubeSim sim;
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeAll
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  static void start(Vertx vertx, VertxTestContext context) {
    KubeSim.start(vertx, new KubeSimOptions()).onComplete(context.succeeding(started -> {
      sim = started;
      context.completeNow();
    }));
  }

  @AfterAll
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  static void stop(VertxTestContext context) {
    sim.close().onComplete(context.succeedingThenComplete());
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void malformedJsonIsABadRequest() throws Exception {
    JsonObject status = expectStatus(send("POST", "/api/v1/namespaces/default/configmaps", "application/json",
        "{\"metadata\": {\"name\": "), 400);
    assertEquals("BadRequest", status.getString("reason"));
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void unknownResourcesAreNotFound() throws Exception {
    expectStatus(send("GET", "/api/v1/namespaces/default/widgets", null, null), 404);
    expectStatus(send("GET", "/apis/nowhere.io/v1/things", null, null), 404);
    expectStatus(send("GET", "/apis/nowhere.io/v1", null, null), 404);
    JsonObject missing = expectStatus(send("GET", "/api/v1/namespaces/default/configmaps/absent", null, null), 404);
    assertEquals("NotFound", missing.getString("reason"));
    assertEquals(new JsonObject().put("name", "absent").put("kind", "configmaps"), missing.getJsonObject("details"));
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void unknownContentTypeIsUnsupported() throws Exception {
    JsonObject status = expectStatus(send("POST", "/api/v1/namespaces/default/configmaps", "text/plain", "hello"),
        415);
    assertEquals("UnsupportedMediaType", status.getString("reason"));
    expectStatus(send("PATCH", "/api/v1/namespaces/default/configmaps/x", "application/x-unknown", "{}"), 415);
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void oversizedBodyIsRejectedAndTheServerKeepsServing() throws Exception {
    char[] filler = new char[4 * 1024 * 1024];
    Arrays.fill(filler, 'x');
    String huge = "{\"metadata\":{\"name\":\"big\"},\"data\":{\"blob\":\"" + new String(filler) + "\"}}";
    JsonObject status = expectStatus(send("POST", "/api/v1/namespaces/default/configmaps", "application/json", huge),
        413);
    assertEquals("RequestEntityTooLarge", status.getString("reason"));
    assertEquals(200, send("GET", "/version", null, null).statusCode());
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void wrongMethodIsNotAllowed() throws Exception {
    expectStatus(send("POST", "/api/v1/namespaces/default/configmaps/named", "application/json", "{}"), 405);
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void invalidNamesAndMissingNamesAreInvalid() throws Exception {
    expectStatus(send("POST", "/api/v1/namespaces/default/configmaps", "application/json",
        "{\"metadata\":{\"name\":\"UPPER\"}}"), 422);
    expectStatus(send("POST", "/api/v1/namespaces/default/configmaps", "application/json", "{\"metadata\":{}}"), 422);
    expectStatus(send("POST", "/api/v1/namespaces/default/configmaps", "application/json",
        "{\"metadata\":{\"name\":\"x\",\"namespace\":\"other\"}}"), 400);
    expectStatus(send("POST", "/api/v1/namespaces/nowhere/configmaps", "application/json",
        "{\"metadata\":{\"name\":\"x\"}}"), 404);
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void discoveryAndOpenApiAnswer() throws Exception {
    JsonObject version = new JsonObject(send("GET", "/version", null, null).body());
    assertEquals(sim.version(), version.getString("gitVersion"));
    assertTrue(send("GET", "/apis", null, null).body().contains("\"apps/v1\""));
    HttpResponse<String> core = send("GET", "/api/v1", "application/json;g=apidiscovery.k8s.io;v=v2;"
        + "as=APIGroupDiscoveryList,application/json", null);
    assertEquals("application/json", core.headers().firstValue("Content-Type").orElse(""),
        "plain JSON makes clients fall back from aggregated discovery");
    assertTrue(core.body().contains("\"pods/log\""));
    HttpResponse<byte[]> protobuf = HTTP.send(HttpRequest.newBuilder(URI.create(sim.url() + "/openapi/v2"))
        .header("Accept", "application/com.github.proto-openapi.spec.v2@v1.0+protobuf").build(),
        HttpResponse.BodyHandlers.ofByteArray());
    assertArrayEquals(new byte[] {0x0a, 3, '2', '.', '0', 0x12}, Arrays.copyOf(protobuf.body(), 6));
    assertTrue(send("GET", "/openapi/v3/apis/apps/v1", null, null).body().contains("fieldValidation"));
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void tablesAnswerKubectlGet() throws Exception {
    HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create(sim.url() + "/api/v1/namespaces"))
        .header("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json").build(),
        HttpResponse.BodyHandlers.ofString());
    JsonObject table = new JsonObject(response.body());
    assertEquals("Table", table.getString("kind"));
    assertEquals("Name", table.getJsonArray("columnDefinitions").getJsonObject(0).getString("name"));
    assertEquals("PartialObjectMetadata", table.getJsonArray("rows").getJsonObject(0).getJsonObject("object")
        .getString("kind"));
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void protobufBodiesAreDecoded() throws Exception {
    io.kubernetes.client.proto.V1.ConfigMap configMap = io.kubernetes.client.proto.V1.ConfigMap.newBuilder()
        .setMetadata(io.kubernetes.client.proto.Meta.ObjectMeta.newBuilder().setName("from-proto")
            .setGenerateName("").putLabels("via", "protobuf"))
        .putData("key", "value").build();
    io.kubernetes.client.proto.Runtime.Unknown envelope = io.kubernetes.client.proto.Runtime.Unknown.newBuilder()
        .setTypeMeta(io.kubernetes.client.proto.Runtime.TypeMeta.newBuilder().setApiVersion("v1").setKind("ConfigMap"))
        .setRaw(configMap.toByteString()).build();
    byte[] body = new byte[4 + envelope.getSerializedSize()];
    System.arraycopy(new byte[] {'k', '8', 's', 0}, 0, body, 0, 4);
    System.arraycopy(envelope.toByteArray(), 0, body, 4, envelope.getSerializedSize());
    HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create(sim.url()
        + "/api/v1/namespaces/default/configmaps")).header("Content-Type", "application/vnd.kubernetes.protobuf")
        .header("Accept", "application/vnd.kubernetes.protobuf, */*")
        .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(201, response.statusCode(), response.body());
    assertEquals("application/json", response.headers().firstValue("Content-Type").orElse(""));
    JsonObject created = new JsonObject(response.body());
    assertEquals("value", created.getJsonObject("data").getString("key"));
    assertEquals("protobuf", created.getJsonObject("metadata").getJsonObject("labels").getString("via"));
    assertTrue(!created.getJsonObject("metadata").containsKey("generateName"), "Go's empty strings are dropped");
    expectStatus(send("POST", "/api/v1/namespaces/default/configmaps", "application/vnd.kubernetes.protobuf",
        "not protobuf"), 400);
  }

  private static HttpResponse<String> send(String method, String path, String contentType, String body)
      throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(sim.url() + path))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (contentType != null) {
      request.header(method.equals("GET") ? "Accept" : "Content-Type", contentType);
    }
    return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static JsonObject expectStatus(HttpResponse<String> response, int code) {
    assertEquals(code, response.statusCode(), response.body());
    JsonObject status = new JsonObject(response.body());
    assertEquals("Status", status.getString("kind"));
    assertEquals("Failure", status.getString("status"));
    assertEquals(code, status.getInteger("code"));
    return status;
  }
}
