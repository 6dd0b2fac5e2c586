package dev.brook.broker.replica;

import dev.brook.broker.log.CorruptLogException;
import dev.brook.broker.log.LogException;
import dev.brook.broker.log.PartitionLog;
import dev.brook.broker.log.ReadResult;
import dev.brook.protocol.StoredBatch;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads every closed segment of every hosted partition in the background and checks each batch
 * (CRC, structure, contiguous offsets: the checks every read makes), so that damage on disk is
 * found before a consumer or a failover needs the data. What it finds is handled as a read would
 * handle it ({@link Partition#onCorruption}): a follower cuts its log and re-fetches, a leader
 * hands over to an in-sync replica, a partition without a good copy is reported. Off unless
 * {@code log.scrubber.enable} is set; at most {@code log.scrubber.bytes.per.second}; a full pass
 * every {@code log.scrubber.interval.ms}.
 *
 * <p>Threading: one daemon thread of its own, which may pause (that is how it is rate-limited);
 * it reads logs lock-free like any reader. {@link #close} stops it.
 */
final class LogScrubber implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LogScrubber.class);
  private static final int CHUNK_BYTES = 1 << 20;

  private final Supplier<List<Partition>> partitions;
  private final long bytesPerSecond;
  private final long intervalMs;
  private final Thread thread;
  private volatile boolean closed;
  private volatile long passes;

  LogScrubber(int nodeId, Supplier<List<Partition>> partitions, long bytesPerSecond, long intervalMs) {
    this.partitions = partitions;
    this.bytesPerSecond = bytesPerSecond;
    this.intervalMs = intervalMs;
    this.thread = new Thread(this::run, "brook-log-scrubber-" + nodeId);
    this.thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  /** Completed full passes (tests). */
  long passes() {
    return passes;
  }

  private void run() {
    ByteRateLimiter limiter = new ByteRateLimiter(bytesPerSecond);
    try {
      while (!closed) {
        long started = System.nanoTime();
        long bytes = 0;
        int found = 0;
        List<Partition> all = partitions.get();
        for (Partition p : all) {
          if (closed) return;
          try {
            Pass pass = scrub(p, limiter);
            bytes += pass.bytes();
            if (pass.corrupt()) found++;
          } catch (RuntimeException e) {
            // A partition deleted or truncated under it: the next pass sees the new state.
            LOG.debug("log scrubber: skipping {} this pass: {}", p, e.toString());
          }
        }
        passes++;
        LOG.info("log scrubber: checked {} bytes of closed segments in {} partition(s) in {} ms; {} with corrupt batches",
            bytes, all.size(), (System.nanoTime() - started) / 1_000_000, found);
        sleepMs(intervalMs);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private record Pass(long bytes, boolean corrupt) {}

  /** Checks the closed segments of one partition, from its log start to its active segment. */
  private Pass scrub(Partition p, ByteRateLimiter limiter) throws InterruptedException {
    PartitionLog log = p.log();
    long offset = log.logStartOffset();
    long limit = log.activeSegmentBaseOffset();
    long bytes = 0;
    while (offset < limit && !closed) {
      ReadResult r;
      try {
        r = log.read(offset, CHUNK_BYTES, limit);
      } catch (CorruptLogException e) {
        p.onCorruption(e);
        return new Pass(bytes, true);
      } catch (LogException e) {
        return new Pass(bytes, false); // retention or truncation moved the log: the next pass sees it
      }
      int size = r.records().size();
      if (size == 0) break;
      // (Each read starts where the last ended; LogSegment checks every header it walks over,
      // so a batch that claims to start elsewhere is reported as corrupt there.)
      offset = endOffset(r);
      bytes += size;
      long pause = limiter.pauseNanosAfter(size, System.nanoTime());
      if (pause > 0) sleepMs(Math.max(1, pause / 1_000_000));
    }
    return new Pass(bytes, false);
  }

  /** The offset after the last batch of a read result. */
  private static long endOffset(ReadResult r) {
    ByteBuffer buf = r.records().asReadOnlyByteBuffer().slice().order(ByteOrder.LITTLE_ENDIAN);
    int pos = 0;
    long end = r.firstBatchOffset();
    while (pos < buf.limit()) {
      int size = StoredBatch.frameSizeAt(buf, pos, buf.limit());
      if (size < 0) break;
      end = StoredBatch.lastOffset(buf, pos) + 1;
      pos += size;
    }
    return end;
  }

  private void sleepMs(long ms) throws InterruptedException {
    synchronized (this) {
      long deadline = System.currentTimeMillis() + ms;
      long left = ms;
      while (!closed && left > 0) {
        wait(left);
        left = deadline - System.currentTimeMillis();
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    synchronized (this) {
      notifyAll();
    }
    try {
      thread.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
