package dev.brook.broker.log;

import java.io.IOException;

/**
 * Bytes of a segment that should hold a whole frame do not. During recovery that marks the
 * corrupt tail; during a read it means the reader raced with a truncation (and retries) or the
 * file was damaged after recovery.
 */
final class FrameFormatException extends IOException {
  private static final long serialVersionUID = 1L;

  /** The file position of the bad frame, or -1 when unknown. */
  final long position;
  /** The offset the bad frame should start at, or -1 when unknown. */
  final long offset;

  FrameFormatException(String message) {
    this(message, -1, -1);
  }

  FrameFormatException(String message, long position, long offset) {
    super(message);
    this.position = position;
    this.offset = offset;
  }
}
