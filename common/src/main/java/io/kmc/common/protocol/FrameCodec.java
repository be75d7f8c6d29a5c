package io.kmc.common.protocol;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.exc.InvalidTypeIdException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/** Encodes frames to JSON and back. Thread-safe. */
public final class FrameCodec {

  private static final ObjectMapper MAPPER = JsonMapper.builder()
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .build();
  private static final ObjectReader READER = MAPPER.readerFor(Frame.class);

  private FrameCodec() {
  }

  public static byte[] encode(Frame frame) {
    try {
      return MAPPER.writeValueAsBytes(frame);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot encode " + frame.getClass().getSimpleName(), e);
    }
  }

  public static String encodeToString(Frame frame) {
    try {
      return MAPPER.writeValueAsString(frame);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot encode " + frame.getClass().getSimpleName(), e);
    }
  }

  /**
   * Decodes one frame. Unknown fields are ignored (newer peers may add some) and missing numbers and
   * flags are zero and false; an unknown type, bad JSON or a missing or invalid required field is a
   * {@link ProtocolException}.
   */
  public static Frame decode(byte[] json) {
    if (!startsWithObject(json)) {
      throw new ProtocolException(ProtocolException.MALFORMED_FRAME, "frame is not a JSON object");
    }
    try {
      Frame frame = READER.readValue(json);
      if (frame == null) {
        throw new ProtocolException(ProtocolException.MALFORMED_FRAME, "frame is JSON null");
      }
      return frame;
    } catch (InvalidTypeIdException e) {
      String type = e.getTypeId();
      throw new ProtocolException(type == null ? ProtocolException.MALFORMED_FRAME : ProtocolException.UNKNOWN_TYPE,
          type == null ? "frame has no type" : "unknown frame type '" + abbreviate(type) + "'");
    } catch (ValueInstantiationException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      throw new ProtocolException(ProtocolException.MALFORMED_FRAME, cause.getMessage());
    } catch (JsonProcessingException e) {
      throw new ProtocolException(ProtocolException.MALFORMED_FRAME, "frame is not valid: "
          + abbreviate(e.getOriginalMessage()));
    } catch (IOException e) {
      throw new ProtocolException(ProtocolException.MALFORMED_FRAME, "frame cannot be read: "
          + abbreviate(e.getMessage()));
    }
  }

  /**
   * The exchange id of a frame that could not be decoded, if it names one (so that the exchange can
   * be ended at once instead of waiting for its timeout); null otherwise. Only for the error path.
   */
  public static String exchangeId(byte[] json) {
    try {
      JsonNode id = MAPPER.readTree(json).get("id");
      return id != null && id.isTextual() && !id.asText().isEmpty() && id.asText().length() <= 128 ? id.asText() : null;
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /** The name of a frame's type as it is written in JSON ({@code request}, {@code data}...). */
  public static String typeName(Frame frame) {
    return frame.getClass().getSimpleName().toLowerCase(Locale.ROOT);
  }

  public static Frame decode(String json) {
    return decode(json.getBytes(StandardCharsets.UTF_8));
  }

  private static boolean startsWithObject(byte[] json) {
    for (byte b : json) {
      if (b != ' ' && b != '\n' && b != '\r' && b != '\t') {
        return b == '{';
      }
    }
    return false;
  }

  private static String abbreviate(String text) {
    if (text == null) {
      return "";
    }
    String firstLine = text.lines().findFirst().orElse("");
    return firstLine.length() > 200 ? firstLine.substring(0, 200) + "…" : firstLine;
  }
}
