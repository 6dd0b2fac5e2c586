package dev.brook.broker.log;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * The sparse offset index of a segment: entries (offset relative to the segment base, int32;
 * file position of the batch that starts at that offset, int32), one every
 * {@code index.interval.bytes} of log, in increasing order of both. The first batch of a segment
 * (position 0) is implicit. In memory each entry is one long, {@code relOffset << 32 | position},
 * so entries sort by relative offset and a lookup is a binary search over one array.
 *
 * <p>Thread-safety: see {@link IndexFile}.
 */
final class OffsetIndex extends IndexFile {
  static final int ENTRY_BYTES = 8;
  private final long[] scratch = new long[1];

  OffsetIndex(Path file) {
    super(file, ENTRY_BYTES, 1);
  }

  @Override
  void encode(long[] slots, int at, ByteBuffer out) {
    out.putInt((int) (slots[at] >>> 32)).putInt((int) slots[at]);
  }

  @Override
  void decode(ByteBuffer in, long[] slots, int at) {
    int rel = in.getInt();
    int pos = in.getInt();
    slots[at] = pack(rel, pos);
  }

  @Override
  boolean isConsistent(long segmentSize) {
    int n = entries();
    long[] a = slots();
    long prevRel = 0;
    long prevPos = 0;
    for (int i = 0; i < n; i++) {
      long rel = a[i] >>> 32;
      long pos = a[i] & 0xFFFFFFFFL;
      if (rel <= prevRel || pos <= prevPos || pos >= segmentSize || rel > Integer.MAX_VALUE) return false;
      prevRel = rel;
      prevPos = pos;
    }
    return true;
  }

  private static long pack(int relOffset, int position) {
    return ((long) relOffset << 32) | (position & 0xFFFFFFFFL);
  }

  /** Writer only: records that the batch starting at {@code relOffset} is at {@code position}. */
  void append(int relOffset, int position) throws IOException {
    scratch[0] = pack(relOffset, position);
    appendEntry(scratch);
  }

  /** Index of the last entry with relative offset <= {@code relOffset}, or -1. */
  private static int floor(long[] a, int n, long relOffset) {
    int lo = 0;
    int hi = n - 1;
    int found = -1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      if ((a[mid] >>> 32) <= relOffset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /** The position of the last indexed batch starting at or before {@code relOffset}; 0 if none. */
  long floorPosition(long relOffset) {
    int n = entries();
    long[] a = slots();
    int i = floor(a, n, relOffset);
    return i < 0 ? 0 : a[i] & 0xFFFFFFFFL;
  }

  /**
   * The last entry with relative offset <= {@code relOffset}, packed as relative offset (high 32
   * bits) and position (low 32 bits), or -1 when there is none (the segment's first batch, at
   * position 0, is then the place to start).
   */
  long floorEntry(long relOffset) {
    int n = entries();
    long[] a = slots();
    int i = floor(a, n, relOffset);
    return i < 0 ? -1 : a[i];
  }

  /**
   * The position of the first indexed batch starting at or after {@code relOffset}, or -1: every
   * byte from there on belongs to batches at or beyond that offset.
   */
  long ceilingPosition(long relOffset) {
    int n = entries();
    long[] a = slots();
    int i = floor(a, n, relOffset - 1) + 1;
    return i < n ? a[i] & 0xFFFFFFFFL : -1;
  }

  /** Writer only: forgets entries for batches at or beyond {@code relOffset} (memory only). */
  void truncateInMemoryTo(long relOffset) {
    int n = entries();
    truncateInMemory(floor(slots(), n, relOffset - 1) + 1);
  }

  /** Relative offset and position of the last entry packed as in memory, or -1 when empty. */
  long lastEntry() {
    int n = entries();
    return n == 0 ? -1 : slots()[n - 1];
  }
}
