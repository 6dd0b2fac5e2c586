package dev.brook.broker.log;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Recovery found durable data changed on disk in a partition that has no other replica to repair
 * it from, and left everything as it was. The message is meant for the operator: what was found,
 * and the repair command that would set aside the damaged part ({@link LogRepair}).
 */
public final class DamagedLogException extends IOException {
  private static final long serialVersionUID = 1L;

  private final transient Path dir;
  private final long offset;

  DamagedLogException(Path dir, long offset, String message) {
    super(message);
    this.dir = dir;
    this.offset = offset;
  }

  /** The partition directory. */
  public Path dir() {
    return dir;
  }

  /** The first offset that could not be recovered. */
  public long offset() {
    return offset;
  }
}
