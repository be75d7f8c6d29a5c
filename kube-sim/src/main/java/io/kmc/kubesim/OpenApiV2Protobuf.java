package io.kmc.kubesim;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * A swagger 2.0 document (as {@link OpenApi} builds it) in the protobuf form kubectl asks
 * {@code /openapi/v2} for: gnostic's {@code openapi.v2.Document}. Hand-encoded, with the field
 * numbers of gnostic's {@code OpenAPIv2.proto}, so no generated classes are needed: swagger, info
 * and the definitions with their schemas; vendor extensions (and enum values, defaults, examples)
 * travel as YAML text, for which JSON serves. Paths are left out: no kubectl reads them from v2.
 */
final class OpenApiV2Protobuf {

  private OpenApiV2Protobuf() {
  }

  static Buffer encode(JsonObject document) {
    Writer info = new Writer()
        .string(1, document.getJsonObject("info").getString("title"))
        .string(2, document.getJsonObject("info").getString("version"));
    Writer definitions = new Writer();
    for (Map.Entry<String, Object> definition : document.getJsonObject("definitions")) {
      definitions.message(1, namedSchema(definition.getKey(), (JsonObject) definition.getValue()));
    }
    Writer encoded = new Writer()
        .string(1, document.getString("swagger"))
        .message(2, info)
        .message(9, definitions);
    return Buffer.buffer(encoded.toByteArray());
  }

  private static Writer namedSchema(String name, JsonObject schema) {
    return new Writer().string(1, name).message(2, schema(schema));
  }

  /** {@code openapi.v2.Schema}. */
  private static Writer schema(JsonObject schema) {
    Writer out = new Writer();
    for (Map.Entry<String, Object> entry : schema) {
      Object value = entry.getValue();
      if (value == null) {
        continue;
      }
      switch (entry.getKey()) {
        case "$ref" -> out.string(1, (String) value);
        case "format" -> out.string(2, (String) value);
        case "title" -> out.string(3, (String) value);
        case "description" -> out.string(4, (String) value);
        case "default" -> out.message(5, any(value));
        case "multipleOf" -> out.doubleValue(6, ((Number) value).doubleValue());
        case "maximum" -> out.doubleValue(7, ((Number) value).doubleValue());
        case "exclusiveMaximum" -> out.bool(8, (Boolean) value);
        case "minimum" -> out.doubleValue(9, ((Number) value).doubleValue());
        case "exclusiveMinimum" -> out.bool(10, (Boolean) value);
        case "maxLength" -> out.varint(11, ((Number) value).longValue());
        case "minLength" -> out.varint(12, ((Number) value).longValue());
        case "pattern" -> out.string(13, (String) value);
        case "maxItems" -> out.varint(14, ((Number) value).longValue());
        case "minItems" -> out.varint(15, ((Number) value).longValue());
        case "uniqueItems" -> out.bool(16, (Boolean) value);
        case "maxProperties" -> out.varint(17, ((Number) value).longValue());
        case "minProperties" -> out.varint(18, ((Number) value).longValue());
        case "required" -> ((JsonArray) value).forEach(field -> out.string(19, String.valueOf(field)));
        case "enum" -> ((JsonArray) value).forEach(item -> out.message(20, any(item)));
        case "additionalProperties" -> out.message(21, value instanceof JsonObject json
            ? new Writer().message(1, schema(json)) : new Writer().bool(2, Boolean.TRUE.equals(value)));
        case "type" -> out.message(22, typeItem(value));
        case "items" -> out.message(23, itemsItem(value));
        case "allOf" -> ((JsonArray) value).forEach(item -> out.message(24, schema((JsonObject) item)));
        case "properties" -> out.message(25, properties((JsonObject) value));
        case "readOnly" -> out.bool(27, (Boolean) value);
        case "example" -> out.message(30, any(value));
        default -> {
          if (entry.getKey().startsWith("x-")) {
            out.message(31, new Writer().string(1, entry.getKey()).message(2, any(value)));
          }
        }
      }
    }
    return out;
  }

  private static Writer typeItem(Object type) {
    Writer out = new Writer();
    if (type instanceof JsonArray types) {
      types.forEach(t -> out.string(1, String.valueOf(t)));
    } else {
      out.string(1, String.valueOf(type));
    }
    return out;
  }

  private static Writer itemsItem(Object items) {
    Writer out = new Writer();
    if (items instanceof JsonArray list) {
      list.forEach(item -> out.message(1, schema((JsonObject) item)));
    } else {
      out.message(1, schema((JsonObject) items));
    }
    return out;
  }

  private static Writer properties(JsonObject properties) {
    Writer out = new Writer();
    for (Map.Entry<String, Object> property : properties) {
      out.message(1, namedSchema(property.getKey(), (JsonObject) property.getValue()));
    }
    return out;
  }

  /** {@code openapi.v2.Any} with its {@code yaml} field: JSON text is valid YAML. */
  private static Writer any(Object value) {
    String yaml = value instanceof JsonObject || value instanceof JsonArray ? value.toString()
        : value instanceof String text ? io.vertx.core.json.Json.encode(text) : String.valueOf(value);
    return new Writer().string(2, yaml);
  }

  /** The few protobuf wire encodings a Document needs. */
  private static final class Writer {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    Writer string(int field, String value) {
      if (value != null) {
        bytes(field, value.getBytes(StandardCharsets.UTF_8));
      }
      return this;
    }

    Writer message(int field, Writer message) {
      return bytes(field, message.toByteArray());
    }

    Writer bool(int field, boolean value) {
      return value ? varint(field, 1) : this;
    }

    Writer varint(int field, long value) {
      tag(field, 0);
      writeVarint(value);
      return this;
    }

    Writer doubleValue(int field, double value) {
      tag(field, 1);
      long bits = Double.doubleToLongBits(value);
      for (int i = 0; i < 8; i++) {
        out.write((int) (bits >>> (8 * i)) & 0xff);
      }
      return this;
    }

    private Writer bytes(int field, byte[] value) {
      tag(field, 2);
      writeVarint(value.length);
      out.writeBytes(value);
      return this;
    }

    private void tag(int field, int wireType) {
      writeVarint(((long) field << 3) | wireType);
    }

    private void writeVarint(long value) {
      long remaining = value;
      while ((remaining & ~0x7FL) != 0) {
        out.write((int) ((remaining & 0x7F) | 0x80));
        remaining >>>= 7;
      }
      out.write((int) remaining);
    }

    byte[] toByteArray() {
      return out.toByteArray();
    }
  }
}
