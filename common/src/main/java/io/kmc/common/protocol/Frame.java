package io.kmc.common.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import io.kmc.common.KmcException;
import io.kmc.common.KubeStatus;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One message of protocol v1 between an agent and the hub. On the websocket every frame is one
 * text message holding a JSON object whose {@code type} names the record below; bodies are byte
 * arrays and travel base64-encoded. The same encoding carries frames between hub nodes on the
 * event bus. See docs/protocol.md.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
@JsonSubTypes({
    @JsonSubTypes.Type(value = Frame.Hello.class, name = "hello"),
    @JsonSubTypes.Type(value = Frame.Welcome.class, name = "welcome"),
    @JsonSubTypes.Type(value = Frame.Request.class, name = "request"),
    @JsonSubTypes.Type(value = Frame.Response.class, name = "response"),
    @JsonSubTypes.Type(value = Frame.Data.class, name = "data"),
    @JsonSubTypes.Type(value = Frame.End.class, name = "end"),
    @JsonSubTypes.Type(value = Frame.Credit.class, name = "credit"),
    @JsonSubTypes.Type(value = Frame.Cancel.class, name = "cancel"),
    @JsonSubTypes.Type(value = Frame.Ping.class, name = "ping"),
    @JsonSubTypes.Type(value = Frame.Pong.class, name = "pong"),
    @JsonSubTypes.Type(value = Frame.Error.class, name = "error"),
    @JsonSubTypes.Type(value = Frame.GoAway.class, name = "goaway"),
})
@JsonInclude(JsonInclude.Include.NON_NULL)
public sealed interface Frame {

  /** Frames that belong to one request or stream. */
  sealed interface Exchange extends Frame {
    String id();
  }

  /** Agent → hub, first frame: who is calling and which protocol versions it speaks. */
  record Hello(List<Integer> protocolVersions, String cluster, String agentVersion,
               String kubernetesVersion, List<String> capabilities) implements Frame {
    public Hello {
      require(protocolVersions != null && !protocolVersions.isEmpty(), "hello.protocolVersions is required");
      require(cluster != null && !cluster.isBlank(), "hello.cluster is required");
      capabilities = capabilities == null ? List.of() : List.copyOf(capabilities);
    }
  }

  /** Hub → agent, answer to hello: the chosen version and the limits both sides enforce. */
  record Welcome(int protocolVersion, String hubNode, Limits limits) implements Frame {
    public Welcome {
      Objects.requireNonNull(limits, "welcome.limits");
    }
  }

  /**
   * Hub → agent: execute one Kubernetes REST call on behalf of {@code user}, as that user when
   * {@code impersonate} is set. With {@code stream} the answer is a stream (watch, logs with follow)
   * read without a timeout; otherwise it is one response, whose body may still arrive in chunks.
   * {@code credits} is how many data frames the agent may send before it must wait for a
   * {@link Credit}.
   */
  record Request(String id, String method, String path, String query, Map<String, List<String>> headers,
                 byte[] body, ActingUser user, boolean impersonate, boolean stream, int credits, long timeoutMillis)
      implements Exchange {
    public Request {
      require(id != null && !id.isEmpty(), "request.id is required");
      require(method != null && !method.isEmpty(), "request.method is required");
      require(path != null && path.startsWith("/"), "request.path must start with /");
      require(credits >= 0, "request.credits must not be negative");
      headers = headers == null ? Map.of() : headers;
    }
  }

  /**
   * Agent → hub: status and headers of the answer, and its body or the first part of it. With
   * {@code more} the rest follows as {@link Data} frames and one {@link End}.
   */
  record Response(String id, int status, Map<String, List<String>> headers, byte[] body, boolean more)
      implements Exchange {
    public Response {
      require(id != null && !id.isEmpty(), "response.id is required");
      require(status >= 100 && status <= 599, "response.status must be an HTTP status");
      headers = headers == null ? Map.of() : headers;
    }

    /** The whole answer to a request kmc itself could not serve: a Kubernetes Status. */
    public static Response failure(String id, KmcException e) {
      return new Response(id, e.status(), Map.of("Content-Type", List.of("application/json")), KubeStatus.failure(e),
          false);
    }
  }

  /** Agent → hub: the next part of a chunked body or stream. Costs one credit. */
  record Data(String id, byte[] data) implements Exchange {
    public Data {
      require(id != null && !id.isEmpty(), "data.id is required");
      require(data != null, "data.data is required");
    }
  }

  /** Agent → hub: the body or stream is complete; with an error it ended abnormally. */
  record End(String id, String error) implements Exchange {
    public End {
      require(id != null && !id.isEmpty(), "end.id is required");
    }
  }

  /** Hub → agent: the hub has room for this many more data frames of a stream. */
  record Credit(String id, int credits) implements Exchange {
    public Credit {
      require(id != null && !id.isEmpty(), "credit.id is required");
      require(credits > 0, "credit.credits must be positive");
    }
  }

  /** Hub → agent: stop working on a request or stream; nothing more is wanted. */
  record Cancel(String id, String reason) implements Exchange {
    public Cancel {
      require(id != null && !id.isEmpty(), "cancel.id is required");
    }
  }

  /** Either side: are you there? Answered by a pong carrying the same timestamp. */
  record Ping(long sentAtMillis) implements Frame {
  }

  record Pong(long sentAtMillis) implements Frame {
  }

  /**
   * Either side: something was wrong with what the other sent. With an {@code id} it concerns
   * that request only; without one, the connection.
   */
  record Error(String id, String code, String message) implements Frame {
    public Error {
      require(code != null && !code.isEmpty(), "error.code is required");
    }
  }

  /** Hub → agent: this node is going away; reconnect (to another node) after the given delay. */
  record GoAway(String reason, long reconnectAfterMillis) implements Frame {
  }

  private static void require(boolean condition, String message) {
    if (!condition) {
      throw new IllegalArgumentException(message);
    }
  }
}
