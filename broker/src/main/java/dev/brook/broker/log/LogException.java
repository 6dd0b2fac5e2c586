package dev.brook.broker.log;

import dev.brook.proto.v1.ErrorCode;

/**
 * A partition log operation failed with an error a client can be told about: {@link #code()}
 * goes into the response's {@code Error.code}, {@link #getMessage()} into its message.
 */
public class LogException extends Exception {
  private static final long serialVersionUID = 1L;

  private final ErrorCode code;

  public LogException(ErrorCode code, String message) {
    super(message);
    this.code = code;
  }

  public LogException(ErrorCode code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  public ErrorCode code() {
    return code;
  }
}
