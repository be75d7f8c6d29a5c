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
    @JsonSubTypes.Type(value = Frame.Index.class, name = "index"),
    @JsonSubTypes.Type(value = Frame.IndexAck.class, name = "indexack"),
    @JsonSubTypes.Type(value = Frame.IndexSynced.class, name = "indexsynced"),
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

  /**
   * Hub → agent, answer to hello: the chosen version, the limits both sides enforce and what the hub
   * can do beyond the exchanges of the protocol version ({@code index}: it keeps a fleet index fed by
   * {@link Index} frames). An older hub sends no capabilities.
   */
  record Welcome(int protocolVersion, String hubNode, Limits limits, List<String> capabilities) implements Frame {
    public Welcome {
      Objects.requireNonNull(limits, "welcome.limits");
      capabilities = capabilities == null ? List.of() : List.copyOf(capabilities);
    }

    public Welcome(int protocolVersion, String hubNode, Limits limits) {
      this(protocolVersion, hubNode, limits, List.of());
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

    /**
     * The whole answer to a request kmc itself could not serve: a Kubernetes Status, with {@code Retry-After}
     * when the failure says when to try again.
     */
    public static Response failure(String id, KmcException e) {
      List<String> json = List.of("application/json");
      Map<String, List<String>> headers = e.retryAfterSeconds() > 0
          ? Map.of("Content-Type", json, "Retry-After", List.of(Long.toString(e.retryAfterSeconds())))
          : Map.of("Content-Type", json);
      return new Response(id, e.status(), headers, KubeStatus.failure(e), false);
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

  /**
   * Agent → hub: changes of one kind of object in the agent's cluster, for the hub's fleet index.
   * {@code seq} numbers the agent's batches on this connection (the hub acknowledges each with an
   * {@link IndexAck}). {@code watermark} says which of the agent's changes the batch completes
   * ({@code <epoch>:<seq>}, opaque to the hub, which keeps it and hands it back after a reconnect so
   * that the agent sends only what the hub missed). A relist spans the batches from one with
   * {@code relistStart} to one with {@code relistEnd} (possibly the same): together they hold every
   * object of the kind, and the hub forgets those of its copies that were not among them.
   * {@code group} is empty for the core group. See docs/protocol.md.
   */
  record Index(long seq, String group, String version, String resource, String kind, boolean namespaced,
               String watermark, boolean relistStart, boolean relistEnd, List<IndexedObject> upserts,
               List<IndexedKey> deletes) implements Frame {
    public Index {
      require(seq > 0, "index.seq must be positive");
      require(group != null, "index.group is required (empty for the core group)");
      require(version != null && !version.isEmpty(), "index.version is required");
      require(resource != null && !resource.isEmpty(), "index.resource is required");
      require(kind != null && !kind.isEmpty(), "index.kind is required");
      upserts = upserts == null ? List.of() : upserts;
      deletes = deletes == null ? List.of() : deletes;
    }

    /**
     * Where a request asks an indexing agent for one whole object from its informer cache (not the API
     * server): {@code <CACHE_PATH><group or core>/<version>/<resource>/<namespace or _>/<name>}.
     */
    public static final String CACHE_PATH = "/kmc.io/cache/";

    /** How a kind is named in watermarks: {@code deployments.apps}, {@code pods} for the core group. */
    public static String kindKey(String group, String resource) {
      return group == null || group.isEmpty() ? resource : resource + "." + group;
    }
  }

  /**
   * What the index keeps of one object: never its spec or data, only metadata and a small status
   * summary ({@code readyReplicas}, {@code phase}...), whose values are strings, numbers or booleans.
   *
   * @param owner   the controlling owner as {@code Kind/name}, or null
   * @param created the creation timestamp as the API server wrote it (RFC 3339), or null
   * @param object  the whole object, only for the kinds the agent is configured to keep whole
   *                ({@code index.keep_objects}), so that the hub can answer with it while the cluster
   *                is offline; null otherwise
   */
  record IndexedObject(String uid, String namespace, String name, String resourceVersion, Map<String, String> labels,
                       String owner, String created, Map<String, Object> summary, Map<String, Object> object) {

    public IndexedObject(String uid, String namespace, String name, String resourceVersion,
                         Map<String, String> labels, String owner, String created, Map<String, Object> summary) {
      this(uid, namespace, name, resourceVersion, labels, owner, created, summary, null);
    }
  }

  /** An object the index should forget: deleted in the cluster. */
  record IndexedKey(String namespace, String name) {
  }

  /**
   * Hub → agent: the index batch {@code seq} is applied (or, with an {@code error}, refused and not
   * applied). With {@code seq} 0 it is the first word of the hub about the index on this connection:
   * {@code watermarks} then holds, per kind ({@code <resource>.<group>}, or {@code <resource>} for
   * the core group), the watermark of the last change the hub holds, and the agent resumes from there.
   */
  record IndexAck(long seq, String error, Map<String, String> watermarks) implements Frame {
    public IndexAck {
      require(seq >= 0, "indexack.seq must not be negative");
      watermarks = watermarks == null ? Map.of() : watermarks;
    }
  }

  /**
   * Agent → hub, only to a hub whose welcome lists {@link #INDEX_SYNCED} (and from an agent whose hello
   * does): since this connection's first {@link IndexAck}, the informer of every kind the agent indexes
   * has finished its list, and the {@link Index} batches up to {@code afterSeq} (0: none) hold everything
   * the hub missed while the agent was away, deletions included. Sent once per connection. The hub
   * tells live streams the cluster is resynced once it has written those batches.
   */
  record IndexSynced(long afterSeq) implements Frame {
    /** The capability, in hello and welcome, of the sides that send and take {@link IndexSynced}. */
    public static final String INDEX_SYNCED = "index-synced";

    public IndexSynced {
      require(afterSeq >= 0, "indexsynced.afterSeq must not be negative");
    }
  }

  private static void require(boolean condition, String message) {
    if (!condition) {
      throw new IllegalArgumentException(message);
    }
  }
}
