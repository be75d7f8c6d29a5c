package io.kmc.common;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.charset.StandardCharsets;

/**
 * A Kubernetes {@code meta/v1 Status} body, the error shape every Kubernetes client understands.
 * Used wherever kmc answers on a Kubernetes path in place of the member cluster.
 */
public final class KubeStatus {

  private static final ObjectMapper MAPPER = new ObjectMapper();

  private KubeStatus() {
  }

  public static byte[] failure(int code, String reason, String message) {
    ObjectNode status = MAPPER.createObjectNode();
    status.put("kind", "Status");
    status.put("apiVersion", "v1");
    status.putObject("metadata");
    status.put("status", "Failure");
    status.put("message", message);
    status.put("reason", reason);
    status.put("code", code);
    return status.toString().getBytes(StandardCharsets.UTF_8);
  }

  public static byte[] failure(KmcException e) {
    return failure(e.status(), e.reason(), e.getMessage());
  }
}
