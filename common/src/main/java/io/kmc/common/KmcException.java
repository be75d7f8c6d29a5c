package io.kmc.common;

/**
 * A failure with an HTTP status and a Kubernetes-style reason, so that every layer can turn it into
 * the same error body. Client errors (4xx) and server errors (5xx) are separate types. Either may say
 * when to try again ({@link #retryAfterSeconds()}): whoever writes the error (the hub's HTTP error
 * writer, {@code Frame.Response.failure} on either side of the tunnel) turns it into {@code Retry-After}.
 */
public abstract sealed class KmcException extends RuntimeException
    permits KmcException.ClientError, KmcException.ServerError {

  private final int status;
  private final String reason;
  private final long retryAfterSeconds;

  protected KmcException(int status, String reason, String message, Throwable cause, long retryAfterSeconds) {
    super(message, cause, false, false);
    if (retryAfterSeconds < 0) {
      throw new IllegalArgumentException("retry-after must not be negative: " + retryAfterSeconds);
    }
    this.status = status;
    this.reason = reason;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  /** How long the client should wait before trying again (HTTP {@code Retry-After}), or 0 when not said. */
  public long retryAfterSeconds() {
    return retryAfterSeconds;
  }

  public int status() {
    return status;
  }

  /** The Kubernetes {@code Status.reason}, e.g. {@code NotFound} or {@code ServiceUnavailable}. */
  public String reason() {
    return reason;
  }

  public static final class ClientError extends KmcException {
    public ClientError(int status, String reason, String message) {
      this(status, reason, message, 0);
    }

    public ClientError(int status, String reason, String message, long retryAfterSeconds) {
      super(status, reason, message, null, retryAfterSeconds);
      if (status < 400 || status > 499) {
        throw new IllegalArgumentException("client error status must be 4xx: " + status);
      }
    }
  }

  public static final class ServerError extends KmcException {
    public ServerError(int status, String reason, String message, Throwable cause) {
      this(status, reason, message, cause, 0);
    }

    public ServerError(int status, String reason, String message, Throwable cause, long retryAfterSeconds) {
      super(status, reason, message, cause, retryAfterSeconds);
      if (status < 500 || status > 599) {
        throw new IllegalArgumentException("server error status must be 5xx: " + status);
      }
    }
  }

  public static ClientError badRequest(String message) {
    return new ClientError(400, "BadRequest", message);
  }

  public static ClientError unauthorized(String message) {
    return new ClientError(401, "Unauthorized", message);
  }

  public static ClientError forbidden(String message) {
    return new ClientError(403, "Forbidden", message);
  }

  public static ClientError notFound(String message) {
    return new ClientError(404, "NotFound", message);
  }

  public static ClientError tooLarge(String message) {
    return new ClientError(413, "RequestEntityTooLarge", message);
  }

  public static ClientError tooManyRequests(String message) {
    return new ClientError(429, "TooManyRequests", message);
  }

  /** 429 that tells the client when to come back. */
  public static ClientError tooManyRequests(String message, long retryAfterSeconds) {
    return new ClientError(429, "TooManyRequests", message, retryAfterSeconds);
  }

  public static ServerError internal(String message, Throwable cause) {
    return new ServerError(500, "InternalError", message, cause);
  }

  public static ServerError badGateway(String message) {
    return new ServerError(502, "BadGateway", message, null);
  }

  public static ServerError unavailable(String message) {
    return new ServerError(503, "ServiceUnavailable", message, null);
  }

  /** 503 that tells the client when to come back. */
  public static ServerError unavailable(String message, long retryAfterSeconds) {
    return new ServerError(503, "ServiceUnavailable", message, null, retryAfterSeconds);
  }

  public static ServerError timeout(String message) {
    return new ServerError(504, "Timeout", message, null);
  }
}
