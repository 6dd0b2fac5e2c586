package dev.brook.protocol;

import dev.brook.proto.v1.ErrorCode;

/**
 * A record batch breaks a rule of records.proto. {@link #code()} is the error a client is told
 * (CORRUPT_RECORD, INVALID_REQUEST, UNSUPPORTED_COMPRESSION or RECORD_TOO_LARGE, as errors.proto
 * documents them); the message says which rule and where, for the client and the broker's log.
 */
public final class InvalidBatchException extends Exception {
  private static final long serialVersionUID = 1L;

  private final ErrorCode code;

  public InvalidBatchException(ErrorCode code, String message) {
    super(message, null, false, false);
    this.code = code;
  }

  public ErrorCode code() {
    return code;
  }
}
