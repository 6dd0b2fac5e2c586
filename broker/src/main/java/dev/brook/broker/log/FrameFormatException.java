package dev.brook.broker.log;

import java.io.IOException;

/**
 * Bytes of a segment that should hold a whole frame do not. During recovery that marks the
 * corrupt tail; during a read it means the reader raced with a truncation (and retries) or the
 * file was damaged after recovery.
 */
final class FrameFormatException extends IOException {
  private static final long serialVersionUID = 1L;

  FrameFormatException(String message) {
    super(message);
  }
}
