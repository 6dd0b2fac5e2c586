package dev.brook.broker.log;

import dev.brook.proto.v1.ErrorCode;
import java.nio.file.Path;

/**
 * A stored batch failed its check (CRC, structure, contiguous offsets) when it was read: the
 * bytes on disk changed after they were written. Carries where, so the owner of the replica can
 * stop trusting the log from {@link #offset()} on and repair it.
 */
public final class CorruptLogException extends LogException {
  private static final long serialVersionUID = 1L;

  private final long offset;
  private final transient Path segment;
  private final long position;

  CorruptLogException(long offset, Path segment, long position, String problem) {
    super(ErrorCode.CORRUPT_RECORD, "the stored batch at offset " + offset + " is corrupt (" + problem + ", segment "
        + segment.getFileName() + " position " + position + ")");
    this.offset = offset;
    this.segment = segment;
    this.position = position;
  }

  /** The first offset that cannot be read: the base offset the corrupt batch should have. */
  public long offset() {
    return offset;
  }

  /** The segment file holding the corrupt batch. */
  public Path segment() {
    return segment;
  }

  /** Where in the segment file the corrupt batch starts. */
  public long position() {
    return position;
  }
}
