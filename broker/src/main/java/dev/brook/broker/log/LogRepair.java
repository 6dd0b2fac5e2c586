package dev.brook.broker.log;

import dev.brook.protocol.StoredBatch;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Cuts a partition log at a batch boundary without deleting anything: the segment holding the cut
 * is copied aside whole ({@code <segment>.log.corrupt-<time>}) before it is truncated, and every
 * later segment is renamed aside ({@code <segment>.log.detached-<time>}); recovery ignores both,
 * so the log ends at the cut. Used by recovery for a replicated partition (the rest comes back from
 * the leader) and by {@code bin/brook log repair} for a partition that has no other replica, with
 * the node stopped. An operator deletes the set-aside files once they are no longer wanted.
 */
public final class LogRepair {
  private LogRepair() {}

  /** What {@link #truncateAt} did. */
  public record Result(long offset, long bytesSetAside, int segmentsSetAside, String stamp) {}

  /**
   * Cuts the log in {@code dir} (a partition directory; its node must be stopped) so that it ends
   * at {@code offset}, which must be the base offset of a batch (the corrupt batch a recovery
   * error names), or the log end.
   *
   * @throws IOException when the directory has no log, or {@code offset} is not a batch boundary
   *     that can be reached by reading whole batches from the start of its segment
   */
  public static Result truncateAt(Path dir, long offset) throws IOException {
    List<Long> bases = SegmentRecovery.listSegments(dir);
    if (bases.isEmpty()) throw new IOException(dir + " holds no log segments");
    int index = -1;
    for (int i = 0; i < bases.size(); i++) {
      if (bases.get(i) <= offset) index = i;
    }
    if (index < 0) throw new IOException("offset " + offset + " is before the log start " + bases.get(0) + " of " + dir);
    long base = bases.get(index);
    long position = boundary(SegmentRecovery.logFile(dir, base), base, offset);
    List<Long> later = bases.subList(index + 1, bases.size());
    long cut = Files.size(SegmentRecovery.logFile(dir, base)) - position;
    long bytes = cut;
    for (long b : later) bytes += Files.size(SegmentRecovery.logFile(dir, b));
    int segments = later.size() + (cut > 0 ? 1 : 0);
    String stamp = Long.toString(System.currentTimeMillis());
    setAside(dir, base, position, later, stamp);
    Files.deleteIfExists(dir.resolve(SegmentRecovery.CLEAN_SHUTDOWN_FILE));
    if (RecoveryPoint.read(dir) > offset) RecoveryPoint.write(dir, offset);
    return new Result(offset, bytes, segments, stamp);
  }

  /** The file position where the batch at {@code offset} starts, walking whole frames from the start. */
  private static long boundary(Path log, long base, long offset) throws IOException {
    long size = Files.size(log);
    ByteBuffer head = ByteBuffer.allocate(1 + 5 + StoredBatch.HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
    long pos = 0;
    long next = base;
    long previous = base;
    try (FileChannel ch = FileChannel.open(log, StandardOpenOption.READ)) {
      while (next < offset) {
        if (pos >= size) throw new IOException("offset " + offset + " is beyond the end of the log (" + next + ")");
        head.clear();
        while (head.hasRemaining() && ch.read(head, pos + head.position()) > 0) {
          // read the frame's tag, length and fixed header
        }
        int have = head.position();
        long v = have > 1 ? StoredBatch.readVarint(head, 1, have) : -1;
        int lengthBytes = (int) (v >>> 32);
        int m = 1 + lengthBytes;
        long frameSize = 1L + lengthBytes + (int) v;
        if (head.get(0) != StoredBatch.FRAME_TAG || v < 0 || m + StoredBatch.HEADER_SIZE > have
            || pos + frameSize > size || head.getLong(m + StoredBatch.BASE_OFFSET_POS) != next
            || head.getInt(m + StoredBatch.RECORD_COUNT_POS) < 1) {
          throw new IOException("the batch at offset " + next + " (position " + pos + " of " + log.getFileName()
              + ") is unreadable: cut there instead (--truncate-at " + next + ")");
        }
        pos += frameSize;
        previous = next;
        next += head.getInt(m + StoredBatch.RECORD_COUNT_POS);
      }
    }
    if (next != offset) {
      throw new IOException("offset " + offset + " is inside a batch: the batch holding it starts at "
          + previous + " and the next at " + next + "; cut at a batch's first offset");
    }
    return pos;
  }

  /**
   * Copies segment {@code base} aside and cuts it at {@code validBytes} (skipped when {@code base}
   * is -1 or nothing is cut), then renames every segment in {@code later} aside and removes their
   * indexes (rebuilt from the log if they are ever put back).
   */
  static void setAside(Path dir, long base, long validBytes, List<Long> later, String stamp) throws IOException {
    if (base >= 0) {
      Path log = SegmentRecovery.logFile(dir, base);
      if (validBytes < Files.size(log)) {
        Path copy = dir.resolve(log.getFileName() + SegmentRecovery.CORRUPT_SUFFIX + stamp);
        Files.copy(log, copy);
        // The copy must be on disk before the original is cut.
        try (FileChannel ch = FileChannel.open(copy, StandardOpenOption.WRITE)) {
          ch.force(true);
        }
        RecoveryPoint.syncDirectory(dir);
        try (FileChannel ch = FileChannel.open(log, StandardOpenOption.WRITE)) {
          ch.truncate(validBytes);
          ch.force(true);
        }
      }
      String name = LogSegment.fileName(base);
      Files.deleteIfExists(dir.resolve(name + LogSegment.INDEX_SUFFIX));
      Files.deleteIfExists(dir.resolve(name + LogSegment.TIME_INDEX_SUFFIX));
    }
    for (long b : later) {
      Path log = SegmentRecovery.logFile(dir, b);
      if (Files.exists(log)) Files.move(log, dir.resolve(log.getFileName() + SegmentRecovery.DETACHED_SUFFIX + stamp));
      String name = LogSegment.fileName(b);
      Files.deleteIfExists(dir.resolve(name + LogSegment.INDEX_SUFFIX));
      Files.deleteIfExists(dir.resolve(name + LogSegment.TIME_INDEX_SUFFIX));
    }
    RecoveryPoint.syncDirectory(dir);
  }
}
