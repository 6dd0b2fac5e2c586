package dev.brook.broker.log;

import dev.brook.protocol.StoredBatch;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;

/**
 * Walks the frame headers of a segment file without reading whole frames: reads the file in
 * blocks with positional reads, so a walk over small batches costs one read per block and over
 * large batches one read per header. Only bytes below {@code limit} (the published size) are read.
 *
 * <p>Not thread-safe: one cursor per thread (readers use {@link #forThisThread()}), or one owned
 * by the writer.
 */
final class FrameCursor {
  /** Frame tag, longest length varint, fixed header: enough to read every header field. */
  private static final int HEADER_PEEK = 1 + 5 + StoredBatch.HEADER_SIZE;
  private static final int BLOCK_SIZE = 8192;
  private static final ThreadLocal<FrameCursor> PER_THREAD = ThreadLocal.withInitial(FrameCursor::new);

  private final ByteBuffer block = ByteBuffer.allocate(BLOCK_SIZE).order(ByteOrder.LITTLE_ENDIAN);
  private FileChannel channel;
  private long limit;
  private long blockStart = -1;
  private int blockLength;

  /** The current frame: its position in the file, size, and header fields. */
  long position;
  int frameSize;
  long baseOffset;
  int recordCount;
  int leaderEpoch;
  long maxTimestamp;

  static FrameCursor forThisThread() {
    return PER_THREAD.get();
  }

  /** Starts a walk over {@code channel}, reading nothing at or beyond {@code limit}. */
  FrameCursor reset(FileChannel channel, long limit) {
    this.channel = channel;
    this.limit = limit;
    this.blockStart = -1;
    this.blockLength = 0;
    return this;
  }

  long lastOffset() {
    return baseOffset + recordCount - 1;
  }

  /** Moves to the frame after the current one; false at the limit. */
  boolean next() throws IOException {
    return load(position + frameSize);
  }

  /**
   * Reads the header of the frame at {@code pos}. Returns false when {@code pos} is at or beyond
   * the limit; throws {@link FrameFormatException} when the bytes there are not a whole frame.
   */
  boolean load(long pos) throws IOException {
    if (pos >= limit) return false;
    int need = (int) Math.min(HEADER_PEEK, limit - pos);
    if (pos < blockStart || pos + need > blockStart + blockLength) {
      fill(pos, need);
    }
    int at = (int) (pos - blockStart);
    int end = at + need;
    if (block.get(at) != StoredBatch.FRAME_TAG) throw new FrameFormatException("no frame tag at position " + pos);
    long v = StoredBatch.readVarint(block, at + 1, end);
    if (v < 0) throw new FrameFormatException("bad frame length at position " + pos);
    int messageLength = (int) v;
    int lengthBytes = (int) (v >>> 32);
    long size = 1L + lengthBytes + messageLength;
    if (messageLength < StoredBatch.HEADER_SIZE + 2 || pos + size > limit) {
      throw new FrameFormatException("frame at position " + pos + " of " + size + " bytes exceeds the segment end " + limit);
    }
    int m = at + 1 + lengthBytes;
    position = pos;
    frameSize = (int) size;
    baseOffset = block.getLong(m + StoredBatch.BASE_OFFSET_POS);
    recordCount = block.getInt(m + StoredBatch.RECORD_COUNT_POS);
    leaderEpoch = block.getInt(m + StoredBatch.LEADER_EPOCH_POS);
    maxTimestamp = block.getLong(m + StoredBatch.MAX_TIMESTAMP_POS);
    if (recordCount < 1) throw new FrameFormatException("record count " + recordCount + " at position " + pos);
    return true;
  }

  private void fill(long pos, int need) throws IOException {
    int want = (int) Math.min(block.capacity(), limit - pos);
    block.clear().limit(want);
    while (block.position() < want) {
      int n = channel.read(block, pos + block.position());
      if (n < 0) {
        if (block.position() >= need) break;
        throw new EOFException("segment ends at " + (pos + block.position()) + ", before its published size " + limit);
      }
    }
    blockStart = pos;
    blockLength = block.position();
    block.clear();
  }
}
