package dev.brook.broker.replica;

/**
 * Spreads work over time at a fixed number of bytes per second: after each piece of work the
 * caller asks how long to pause so that the average rate since the start stays at or below the
 * limit (no bursts are saved up across idle time beyond one second's worth). Pure: the caller
 * passes the time and does the waiting. Not thread-safe; one user.
 */
final class ByteRateLimiter {
  private final long bytesPerSecond;
  /** The time at which the bytes counted so far are "paid for". */
  private long paidUntilNanos = Long.MIN_VALUE;

  ByteRateLimiter(long bytesPerSecond) {
    if (bytesPerSecond < 1) throw new IllegalArgumentException("bytes per second must be >= 1, got " + bytesPerSecond);
    this.bytesPerSecond = bytesPerSecond;
  }

  /** Counts {@code bytes} done at {@code nowNanos}; returns how many nanoseconds to pause (0 for none). */
  long pauseNanosAfter(long bytes, long nowNanos) {
    long cost = (long) (bytes * 1e9 / bytesPerSecond);
    // Idle time earns at most one second of credit.
    long start = paidUntilNanos == Long.MIN_VALUE ? nowNanos : Math.max(paidUntilNanos, nowNanos - 1_000_000_000L);
    paidUntilNanos = start + cost;
    return Math.max(0, paidUntilNanos - nowNanos);
  }
}
