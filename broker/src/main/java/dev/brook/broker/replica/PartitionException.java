package dev.brook.broker.replica;

import dev.brook.proto.v1.ErrorCode;

/** A request for a partition that this broker refuses, with the wire error code to answer. */
public final class PartitionException extends Exception {
  private static final long serialVersionUID = 1L;
  private final ErrorCode code;

  public PartitionException(ErrorCode code, String message) {
    super(message, null, false, false);
    this.code = code;
  }

  public ErrorCode code() {
    return code;
  }
}
