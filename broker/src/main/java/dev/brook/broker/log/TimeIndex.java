package dev.brook.broker.log;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * The time index of a segment: entries (max timestamp so far, int64; relative offset of the batch
 * that carried it, int32), appended only when the segment's max timestamp grew, so timestamps
 * strictly increase. Written at offset-index points and when the segment stops being active, so
 * the last entry of a closed segment holds the segment's max timestamp. In memory entries are two
 * longs each: [timestamp, relOffset].
 *
 * <p>Thread-safety: see {@link IndexFile}.
 */
final class TimeIndex extends IndexFile {
  static final int ENTRY_BYTES = 12;
  private final long[] scratch = new long[2];

  TimeIndex(Path file) {
    super(file, ENTRY_BYTES, 2);
  }

  @Override
  void encode(long[] slots, int at, ByteBuffer out) {
    out.putLong(slots[at]).putInt((int) slots[at + 1]);
  }

  @Override
  void decode(ByteBuffer in, long[] slots, int at) {
    slots[at] = in.getLong();
    slots[at + 1] = in.getInt();
  }

  @Override
  boolean isConsistent(long segmentSize) {
    int n = entries();
    long[] a = slots();
    for (int i = 0; i < n; i++) {
      if (a[2 * i + 1] < 0) return false;
      if (i > 0 && (a[2 * i] <= a[2 * i - 2] || a[2 * i + 1] < a[2 * i - 1])) return false;
    }
    return segmentSize > 0 || n == 0;
  }

  /** Writer only: appends (timestamp, relOffset) if the timestamp is larger than the last one. */
  void maybeAppend(long timestamp, int relOffset) throws IOException {
    int n = entries();
    if (n > 0 && timestamp <= slots()[2 * n - 2]) return;
    scratch[0] = timestamp;
    scratch[1] = relOffset;
    appendEntry(scratch);
  }

  /** The largest timestamp indexed, or Long.MIN_VALUE when empty. */
  long lastTimestamp() {
    int n = entries();
    return n == 0 ? Long.MIN_VALUE : slots()[2 * n - 2];
  }

  /** Relative offset of the last entry, or -1 when empty. */
  long lastRelOffset() {
    int n = entries();
    return n == 0 ? -1 : slots()[2 * n - 1];
  }

  /**
   * The relative offset of the last entry whose timestamp is below {@code timestamp}, or -1: every
   * batch up to and including that offset has a max timestamp below it, so a search for the first
   * batch at or above {@code timestamp} may start right after it.
   */
  long lastRelOffsetBelow(long timestamp) {
    int n = entries();
    long[] a = slots();
    int lo = 0;
    int hi = n - 1;
    int found = -1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      if (a[2 * mid] < timestamp) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? -1 : a[2 * found + 1];
  }

  /** Writer only: forgets entries for batches at or beyond {@code relOffset} (memory only). */
  void truncateInMemoryTo(long relOffset) {
    int n = entries();
    long[] a = slots();
    int keep = n;
    while (keep > 0 && a[2 * keep - 1] >= relOffset) keep--;
    truncateInMemory(keep);
  }
}
