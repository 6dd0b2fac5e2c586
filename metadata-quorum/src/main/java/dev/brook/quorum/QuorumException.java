package dev.brook.quorum;

import dev.brook.proto.v1.ErrorCode;

/**
 * A MetadataClient call that failed as a whole: the quorum could not be reached, has no leader or
 * did not answer in time ({@link ErrorCode#QUORUM_NOT_AVAILABLE}, retry after a backoff), or the
 * request was refused before reaching the log ({@link ErrorCode#INVALID_REQUEST}). Per-item
 * failures (one topic of a CreateTopics) are not exceptions: they are errors in the response.
 */
public class QuorumException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final ErrorCode code;

  public QuorumException(ErrorCode code, String message) {
    super(message);
    this.code = code;
  }

  public QuorumException(ErrorCode code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  public ErrorCode code() {
    return code;
  }
}
