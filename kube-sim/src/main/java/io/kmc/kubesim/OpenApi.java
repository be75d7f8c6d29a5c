package io.kmc.kubesim;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The OpenAPI documents kubectl fetches before it writes.
 *
 * <p>kubectl 1.20 asks for /openapi/v2 as protobuf (gnostic {@code openapi_v2.Document}) and fails
 * {@code apply} unless it parses; with no definitions in it, kubectl skips client-side
 * validation and computes strategic merge patches from its compiled-in types.
 *
 * <p>Current kubectl reads /openapi/v3 to decide whether the server validates fields itself: it
 * looks, per group version, for a PATCH operation tagged with the kind's
 * {@code x-kubernetes-group-version-kind} that lists a {@code fieldValidation} parameter. Schemas
 * are deliberately absent, so kubectl again falls back to its compiled-in patch metadata.
 */
final class OpenApi {

  private final ResourceCatalog catalog;
  private final String gitVersion;

  OpenApi(ResourceCatalog catalog, String gitVersion) {
    this.catalog = catalog;
    this.gitVersion = gitVersion;
  }

  /** A gnostic Document with only swagger "2.0" and info{title, version}, hand-encoded. */
  Buffer v2Protobuf() {
    ByteArrayOutputStream info = new ByteArrayOutputStream();
    writeString(info, 1, "Kubernetes");
    writeString(info, 2, gitVersion);
    ByteArrayOutputStream document = new ByteArrayOutputStream();
    writeString(document, 1, "2.0");
    writeBytes(document, 2, info.toByteArray());
    return Buffer.buffer(document.toByteArray());
  }

  JsonObject v2Json() {
    return new JsonObject()
        .put("swagger", "2.0")
        .put("info", new JsonObject().put("title", "Kubernetes").put("version", gitVersion))
        .put("paths", new JsonObject())
        .put("definitions", new JsonObject());
  }

  /** The v3 index: one entry per served group version, each pointing at its own document. */
  JsonObject v3Root() {
    JsonObject paths = new JsonObject();
    catalog.groups().forEach((group, versions) -> {
      for (String version : versions) {
        String path = group.isEmpty() ? "api/" + version : "apis/" + group + "/" + version;
        String url = "/openapi/v3/" + path + "?hash=" + hash(group, version);
        paths.put(path, new JsonObject().put("serverRelativeURL", url));
      }
    });
    return new JsonObject().put("paths", paths);
  }

  /** The v3 document of one group version, or null when it is not served. */
  JsonObject v3GroupVersion(String group, String version) {
    if (!catalog.servesGroupVersion(group, version)) {
      return null;
    }
    JsonObject paths = new JsonObject();
    for (ResourceType type : catalog.types(group, version)) {
      JsonObject gvk = new JsonObject().put("group", group).put("version", version).put("kind", type.kind());
      JsonArray parameters = new JsonArray();
      for (String name : new String[] {"dryRun", "fieldManager", "fieldValidation", "force"}) {
        parameters.add(new JsonObject().put("name", name).put("in", "query").put("schema",
            new JsonObject().put("type", name.equals("force") ? "boolean" : "string").put("uniqueItems", true)));
      }
      JsonObject patch = new JsonObject()
          .put("operationId", "patch" + type.kind())
          .put("parameters", parameters)
          .put("responses", new JsonObject().put("200", new JsonObject().put("description", "OK")))
          .put("x-kubernetes-action", "patch")
          .put("x-kubernetes-group-version-kind", gvk);
      String path = type.apiPrefix() + (type.namespaced() ? "/namespaces/{namespace}/" : "/") + type.plural()
          + "/{name}";
      paths.put(path, new JsonObject().put("patch", patch));
    }
    return new JsonObject()
        .put("openapi", "3.0.0")
        .put("info", new JsonObject().put("title", "Kubernetes").put("version", gitVersion))
        .put("paths", paths)
        .put("components", new JsonObject().put("schemas", new JsonObject()));
  }

  /** Changes whenever the group version's kinds change, so kubectl's cache is invalidated. */
  private String hash(String group, String version) {
    StringBuilder kinds = new StringBuilder(gitVersion);
    catalog.types(group, version).forEach(type -> kinds.append(',').append(type.plural()));
    return String.format("%016X", (long) kinds.toString().hashCode() & 0xffffffffL);
  }

  private static void writeString(ByteArrayOutputStream out, int field, String value) {
    writeBytes(out, field, value.getBytes(StandardCharsets.UTF_8));
  }

  /** Protobuf length-delimited field: tag (field << 3 | 2), varint length, bytes. */
  private static void writeBytes(ByteArrayOutputStream out, int field, byte[] value) {
    writeVarint(out, (field << 3) | 2);
    writeVarint(out, value.length);
    out.writeBytes(value);
  }

  private static void writeVarint(ByteArrayOutputStream out, int value) {
    int remaining = value;
    while ((remaining & ~0x7F) != 0) {
      out.write((remaining & 0x7F) | 0x80);
      remaining >>>= 7;
    }
    out.write(remaining);
  }
}
