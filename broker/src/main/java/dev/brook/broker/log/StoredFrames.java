package dev.brook.broker.log;

import com.google.protobuf.ByteString;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.protocol.BatchValidator;
import dev.brook.protocol.InvalidBatchException;
import dev.brook.protocol.StoredBatch;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A run of stored frames received from a leader, validated and indexed once so that they can be
 * written as they are: the header fields the writer needs per frame, kept in primitive arrays
 * (one allocation per run, none per record). Immutable after {@link #parse}; not shared.
 */
final class StoredFrames {
  private final ByteBuffer bytes;
  private final int count;
  private final int[] positions;
  private final int[] sizes;
  private final long[] baseOffsets;
  private final int[] recordCounts;
  private final int[] epochs;
  private final long[] maxTimestamps;

  private StoredFrames(ByteBuffer bytes, int count, int[] positions, int[] sizes, long[] baseOffsets,
      int[] recordCounts, int[] epochs, long[] maxTimestamps) {
    this.bytes = bytes;
    this.count = count;
    this.positions = positions;
    this.sizes = sizes;
    this.baseOffsets = baseOffsets;
    this.recordCounts = recordCounts;
    this.epochs = epochs;
    this.maxTimestamps = maxTimestamps;
  }

  /**
   * Checks that {@code data} is a sequence of whole frames with contiguous offsets and
   * non-decreasing leader epochs, each of them valid by every rule of records.proto (see
   * {@link BatchValidator}, records no larger than {@code maxRecordBytes}), and indexes them. Wraps the bytes without
   * copying when the ByteString is flat (as a parsed response's field is).
   *
   * @throws LogException CORRUPT_RECORD naming the first bad frame; INVALID_REQUEST when empty
   */
  static StoredFrames parse(ByteString data, int maxRecordBytes) throws LogException {
    if (data.isEmpty()) throw new LogException(ErrorCode.INVALID_REQUEST, "no frames to append");
    ByteBuffer buf = data.asReadOnlyByteBuffer().slice().order(ByteOrder.LITTLE_ENDIAN);
    int limit = buf.limit();
    int capacity = 16;
    int[] positions = new int[capacity];
    int[] sizes = new int[capacity];
    long[] bases = new long[capacity];
    int[] counts = new int[capacity];
    int[] epochs = new int[capacity];
    long[] maxTs = new long[capacity];
    BatchValidator validator = BatchValidator.forThread();
    int n = 0;
    int pos = 0;
    while (pos < limit) {
      int size = StoredBatch.frameSizeAt(buf, pos, limit);
      if (size < 0) {
        throw new LogException(ErrorCode.CORRUPT_RECORD, (size == -1 ? "incomplete" : "malformed")
            + " frame at byte " + pos + " of " + limit);
      }
      try {
        validator.validateFrame(buf, pos, size, BatchValidator.Origin.REPLICA, maxRecordBytes);
      } catch (InvalidBatchException e) {
        throw new LogException(ErrorCode.CORRUPT_RECORD, e.getMessage());
      }
      long base = StoredBatch.baseOffset(buf, pos);
      int records = StoredBatch.recordCount(buf, pos);
      int epoch = StoredBatch.leaderEpoch(buf, pos);
      if ((StoredBatch.attributes(buf, pos) & ~StoredBatch.KNOWN_ATTRIBUTE_BITS) != 0) {
        throw new LogException(ErrorCode.CORRUPT_RECORD, "frame at offset " + base + " has unknown attribute bits");
      }
      if (n > 0) {
        long expected = bases[n - 1] + counts[n - 1];
        if (base != expected) {
          throw new LogException(ErrorCode.CORRUPT_RECORD, "frame at byte " + pos + " has base offset " + base
              + ", expected " + expected + " (frames must be contiguous)");
        }
        if (epoch < epochs[n - 1]) {
          throw new LogException(ErrorCode.CORRUPT_RECORD, "frame at offset " + base + " has leader epoch " + epoch
              + ", lower than the " + epochs[n - 1] + " before it");
        }
      }
      if (epoch < 0 || base < 0) {
        throw new LogException(ErrorCode.CORRUPT_RECORD, "frame at byte " + pos + " has no offset or epoch assigned");
      }
      if (n == capacity) {
        capacity *= 2;
        positions = Arrays.copyOf(positions, capacity);
        sizes = Arrays.copyOf(sizes, capacity);
        bases = Arrays.copyOf(bases, capacity);
        counts = Arrays.copyOf(counts, capacity);
        epochs = Arrays.copyOf(epochs, capacity);
        maxTs = Arrays.copyOf(maxTs, capacity);
      }
      positions[n] = pos;
      sizes[n] = size;
      bases[n] = base;
      counts[n] = records;
      epochs[n] = epoch;
      maxTs[n] = StoredBatch.maxTimestamp(buf, pos);
      n++;
      pos += size;
    }
    return new StoredFrames(buf, n, positions, sizes, bases, counts, epochs, maxTs);
  }

  ByteBuffer bytes() { return bytes; }
  int count() { return count; }
  int position(int i) { return positions[i]; }
  int size(int i) { return sizes[i]; }
  long baseOffset(int i) { return baseOffsets[i]; }
  int recordCount(int i) { return recordCounts[i]; }
  int epoch(int i) { return epochs[i]; }
  long maxTimestamp(int i) { return maxTimestamps[i]; }

  long firstOffset() { return baseOffsets[0]; }

  long endOffset() { return baseOffsets[count - 1] + recordCounts[count - 1]; }
}
