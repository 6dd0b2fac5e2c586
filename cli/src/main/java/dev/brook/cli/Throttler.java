package dev.brook.cli;

/** Keeps a loop at a target rate of events per second (Kafka's ThroughputThrottler idea). */
final class Throttler {
  private final long targetPerSec;
  private final long startNanos;

  /** @param targetPerSec events per second; negative or zero means unthrottled */
  Throttler(long targetPerSec, long startNanos) {
    this.targetPerSec = targetPerSec;
    this.startNanos = startNanos;
  }

  /** Sleeps while {@code sent} events are ahead of schedule. */
  void throttle(long sent) throws InterruptedException {
    if (targetPerSec <= 0) return;
    long dueNanos = startNanos + sent * 1_000_000_000L / targetPerSec;
    long aheadNanos = dueNanos - System.nanoTime();
    if (aheadNanos > 2_000_000) {
      Thread.sleep(aheadNanos / 1_000_000, (int) (aheadNanos % 1_000_000));
    }
  }
}
