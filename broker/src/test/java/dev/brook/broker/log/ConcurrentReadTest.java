package dev.brook.broker.log;

import static dev.brook.broker.log.TestBatches.assertWellFormed;
import static dev.brook.broker.log.TestBatches.batch;
import static dev.brook.broker.log.TestBatches.config;
import static dev.brook.broker.log.TestBatches.lastOffset;
import static dev.brook.broker.log.TestBatches.parse;
import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.RecordBatch;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Readers running while the single writer appends, rolls, truncates and while retention deletes
 * segments: every result must be whole, CRC-valid frames with contiguous offsets, starting with
 * the batch that holds the fetch offset. Seeded; the seed is in every assertion message.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ConcurrentReadTest {
  private static final long SEED = 20260101L;

  @TempDir Path dir;
  private final AtomicLong clock = new AtomicLong(1_000);
  private final ExecutorService pool = Executors.newFixedThreadPool(4);
  private PartitionLog log;

  @AfterEach
  void tearDown() throws IOException {
    pool.shutdownNow();
    if (log != null) log.close();
  }

  /** Checks one read result against the fetch offset; returns the next offset to fetch. */
  private static long check(ReadResult result, long fetchOffset, long limit) {
    List<RecordBatch> batches = parse(result);
    if (batches.isEmpty()) return fetchOffset;
    assertWellFormed(batches);
    RecordBatch first = batches.get(0);
    assertThat(first.getBaseOffset()).as("seed %d fetch %d", SEED, fetchOffset).isLessThanOrEqualTo(fetchOffset);
    assertThat(lastOffset(first)).as("seed %d fetch %d", SEED, fetchOffset).isGreaterThanOrEqualTo(fetchOffset);
    assertThat(result.firstBatchOffset()).isEqualTo(first.getBaseOffset());
    long next = lastOffset(batches.get(batches.size() - 1)) + 1;
    assertThat(next).as("seed %d: read beyond the limit", SEED).isLessThanOrEqualTo(limit);
    return next;
  }

  @Test
  void readersSeeOnlyWholeValidFramesWhileTheWriterAppendsAndRolls() throws Exception {
    log = PartitionLog.open(dir, config("segment.bytes", "4096", "index.interval.bytes", "256"), clock::get);
    int batches = 3000;
    Random random = new Random(SEED);
    List<RecordBatch> toSend = new ArrayList<>();
    long total = 0;
    for (int i = 0; i < batches; i++) {
      int records = 1 + random.nextInt(4);
      toSend.add(batch("b" + i, records, i, 10 + random.nextInt(60)));
      total += records;
    }
    long end = total;

    Future<?> writer = pool.submit(() -> {
      for (int i = 0; i < batches; i += 3) {
        log.append(toSend.subList(i, Math.min(i + 3, batches)), 1);
      }
      return null;
    });
    List<Future<Long>> readers = new ArrayList<>();
    for (int r = 0; r < 3; r++) {
      long readerSeed = SEED + r;
      boolean useHighWatermark = r == 2;
      readers.add(pool.submit(() -> {
        Random rnd = new Random(readerSeed);
        long offset = 0;
        long batchesSeen = 0;
        while (offset < end) {
          long limit = useHighWatermark ? Math.max(0, log.logEndOffset() - rnd.nextInt(5)) : Long.MAX_VALUE;
          ReadResult result = log.read(offset, rnd.nextInt(3000), limit);
          long next = check(result, offset, Math.min(limit, result.logEndOffset()));
          if (next > offset) {
            assertThat(parse(result).get(0).getBaseOffset()).as("seed %d", readerSeed).isEqualTo(offset);
            batchesSeen += parse(result).size();
          } else {
            Thread.onSpinWait();
          }
          offset = next;
        }
        return batchesSeen;
      }));
    }
    writer.get(60, TimeUnit.SECONDS);
    for (Future<Long> reader : readers) {
      assertThat(reader.get(60, TimeUnit.SECONDS)).isEqualTo(batches);
    }
    assertThat(log.segmentCount()).isGreaterThan(10);
  }

  @Test
  void readersRacingRetentionGetOutOfRangeOrValidFrames() throws Exception {
    log = PartitionLog.open(dir, config("segment.bytes", "2048", "retention.bytes", "8192"), clock::get);
    AtomicBoolean done = new AtomicBoolean();
    Future<?> writer = pool.submit(() -> {
      Random rnd = new Random(SEED);
      for (int i = 0; i < 4000; i++) {
        log.append(List.of(batch("b" + i, 1 + rnd.nextInt(3), i)), 1);
      }
      done.set(true);
      return null;
    });
    Future<?> retention = pool.submit(() -> {
      while (!done.get()) log.enforceRetention();
      return null;
    });
    Callable<Long> reader = () -> {
      long offset = 0;
      long outOfRange = 0;
      while (!done.get() || offset < log.logEndOffset()) {
        try {
          offset = check(log.read(offset, 1500, Long.MAX_VALUE), offset, Long.MAX_VALUE);
        } catch (LogException e) {
          assertThat(e.code()).as("seed %d: %s", SEED, e.getMessage()).isEqualTo(ErrorCode.OFFSET_OUT_OF_RANGE);
          long start = log.logStartOffset();
          assertThat(start).isGreaterThan(offset);
          offset = start;
          outOfRange++;
        }
      }
      return outOfRange;
    };
    Future<Long> r1 = pool.submit(reader);
    writer.get(60, TimeUnit.SECONDS);
    retention.get(60, TimeUnit.SECONDS);
    r1.get(60, TimeUnit.SECONDS);
    // The retention loop stops once the writer is done: its last pass may have started before
    // the last appends (on a busy machine, several segments before), so the bound holds only
    // after one more pass.
    log.enforceRetention();
    assertThat(log.logStartOffset()).isPositive();
    assertThat(log.sizeInBytes()).isLessThan(8192 + 2048);
  }

  @Test
  void readersRacingTruncationNeverSeeTornOrMixedResults() throws Exception {
    log = PartitionLog.open(dir, config("segment.bytes", "2048", "index.interval.bytes", "128"), clock::get);
    AtomicBoolean done = new AtomicBoolean();
    Future<?> writer = pool.submit(() -> {
      Random rnd = new Random(SEED);
      for (int i = 0; i < 3000; i++) {
        log.append(List.of(batch("g" + i, 1 + rnd.nextInt(3), i)), i);
        if (i % 40 == 39) log.truncateTo(log.logEndOffset() - 1 - rnd.nextInt(40));
      }
      done.set(true);
      return null;
    });
    List<Future<Long>> readers = new ArrayList<>();
    for (int r = 0; r < 2; r++) {
      long readerSeed = SEED + r;
      readers.add(pool.submit(() -> {
        Random rnd = new Random(readerSeed);
        long offset = 0;
        long reads = 0;
        while (!done.get()) {
          try {
            offset = check(log.read(offset, rnd.nextInt(4000), Long.MAX_VALUE), offset, Long.MAX_VALUE);
            reads++;
          } catch (LogException e) {
            assertThat(e.code()).as("seed %d: %s", readerSeed, e.getMessage()).isEqualTo(ErrorCode.OFFSET_OUT_OF_RANGE);
            offset = Math.max(0, log.logEndOffset() - rnd.nextInt(100));
          }
        }
        return reads;
      }));
    }
    writer.get(60, TimeUnit.SECONDS);
    for (Future<Long> reader : readers) assertThat(reader.get(60, TimeUnit.SECONDS)).isPositive();
    List<RecordBatch> all = TestBatches.readAll(log, 0);
    assertWellFormed(all);
    assertThat(lastOffset(all.get(all.size() - 1))).isEqualTo(log.logEndOffset() - 1);
  }
}
