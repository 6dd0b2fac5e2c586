package dev.brook.client;

import dev.brook.proto.v1.Error;
import dev.brook.proto.v1.ErrorCode;
import java.util.EnumSet;
import java.util.Set;

/**
 * A failure reported by the cluster for one item (a partition, a topic), carrying the wire
 * {@link ErrorCode}, or a failure to reach the cluster at all ({@link #isTransport()}).
 */
public class BrookException extends RuntimeException {
  /** Codes a client may retry after a metadata refresh and a backoff. */
  private static final Set<ErrorCode> RETRIABLE = EnumSet.of(
      ErrorCode.NOT_LEADER, ErrorCode.LEADER_NOT_AVAILABLE, ErrorCode.REQUEST_TIMED_OUT,
      ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.FENCED_LEADER_EPOCH, ErrorCode.UNKNOWN_LEADER_EPOCH,
      ErrorCode.QUORUM_NOT_AVAILABLE, ErrorCode.STORAGE_ERROR);

  private final ErrorCode code;
  private final boolean retriable;
  private final boolean transport;
  private boolean refused;

  public BrookException(ErrorCode code, String message) {
    this(code, message, null, isRetriable(code), false);
  }

  public BrookException(ErrorCode code, String message, Throwable cause) {
    this(code, message, cause, isRetriable(code), false);
  }

  BrookException(ErrorCode code, String message, Throwable cause, boolean retriable, boolean transport) {
    super(message, cause);
    this.code = code;
    this.retriable = retriable;
    this.transport = transport;
  }

  /** A broker could not be reached or the call failed in transport (gRPC status). */
  static BrookException transport(String message, Throwable cause, boolean retriable) {
    return new BrookException(ErrorCode.UNKNOWN_SERVER_ERROR, message, cause, retriable, true);
  }

  /** Every address refused the connection: nothing listens there (as opposed to a slow broker). */
  static BrookException refused(String message, Throwable cause) {
    BrookException e = new BrookException(ErrorCode.UNKNOWN_SERVER_ERROR, message, cause, true, true);
    e.refused = true;
    return e;
  }

  /** True when every broker address refused the connection (see {@link #isTransport()}). */
  boolean connectionRefused() {
    return refused;
  }

  static boolean isConnectionRefused(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof java.net.ConnectException) return true;
    }
    return false;
  }

  /**
   * Why a call did not reach a broker, in a few words: "connection refused", "unknown host x",
   * "no answer within the deadline", or the gRPC status.
   */
  static String transportReason(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof java.net.ConnectException) {
        String m = c.getMessage() == null ? "" : c.getMessage().toLowerCase(java.util.Locale.ROOT);
        if (m.contains("refused")) return "connection refused";
        if (m.contains("timed out")) return "connection timed out";
        return "cannot connect" + (c.getMessage() == null ? "" : " (" + c.getMessage() + ")");
      }
      if (c instanceof java.net.UnknownHostException) return "unknown host " + c.getMessage();
      if (c instanceof java.net.NoRouteToHostException) return "no route to host";
    }
    io.grpc.Status s = io.grpc.Status.fromThrowable(t);
    if (s.getCode() == io.grpc.Status.Code.DEADLINE_EXCEEDED) return "no answer within the deadline";
    return s.getCode() + (s.getDescription() == null ? "" : " " + s.getDescription());
  }

  static BrookException of(Error error, String context) {
    String msg = error.getMessage().isEmpty() ? error.getCode().name() : error.getCode() + ": " + error.getMessage();
    return new BrookException(error.getCode(), context == null ? msg : context + ": " + msg);
  }

  /** The wire error code; UNKNOWN_SERVER_ERROR for transport failures. */
  public ErrorCode code() {
    return code;
  }

  /** Whether the same request may succeed if retried (after a metadata refresh and backoff). */
  public boolean retriable() {
    return retriable;
  }

  /** True when no broker answered (connection refused, deadline, stream broken). */
  public boolean isTransport() {
    return transport;
  }

  static boolean isRetriable(ErrorCode code) {
    return RETRIABLE.contains(code);
  }

  /** Codes after which the client's metadata is probably stale. */
  static boolean invalidatesMetadata(ErrorCode code) {
    switch (code) {
      case NOT_LEADER:
      case LEADER_NOT_AVAILABLE:
      case UNKNOWN_TOPIC_OR_PARTITION:
      case FENCED_LEADER_EPOCH:
      case UNKNOWN_LEADER_EPOCH:
      case STORAGE_ERROR:
        return true;
      default:
        return false;
    }
  }
}
