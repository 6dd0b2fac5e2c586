package dev.brook.broker.log;

import static dev.brook.broker.log.TestBatches.batch;
import static dev.brook.broker.log.TestBatches.config;
import static dev.brook.broker.log.TestBatches.readAll;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.brook.proto.v1.ErrorCode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RetentionTest {
  @TempDir Path dir;
  private final AtomicLong clock = new AtomicLong(1_000_000);
  private PartitionLog log;

  @AfterEach
  void tearDown() throws IOException {
    if (log != null) log.close();
  }

  /** Appends {@code n} batches of 2 records, one per fake millisecond step of {@code stepMs}. */
  private void append(int n, long stepMs) throws LogException {
    for (int i = 0; i < n; i++) {
      log.append(List.of(batch("b", 2, clock.get())), 0);
      clock.addAndGet(stepMs);
    }
  }

  private long logFiles() throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(p -> p.toString().endsWith(".log")).count();
    }
  }

  @Test
  void neverDeletesWhatIsNotBelowTheHighWatermark() throws Exception {
    log = PartitionLog.open(dir, config("segment.bytes", "1024", "retention.ms", "10000"), clock::get);
    append(40, 1000);
    clock.addAndGet(1_000_000); // everything is past retention
    assertThat(log.enforceRetention(0)).isZero();
    assertThat(log.logStartOffset()).isZero();
    int deleted = log.enforceRetention(40);
    assertThat(deleted).isPositive();
    // Only segments wholly below offset 40 went; the one holding offset 40 is still there.
    assertThat(log.logStartOffset()).isPositive().isLessThanOrEqualTo(40);
    assertThat(readAll(log, log.logStartOffset())).isNotEmpty();
  }

  @Test
  void deletesSegmentsWhoseNewestRecordIsOlderThanRetentionMs() throws Exception {
    log = PartitionLog.open(dir, config("segment.bytes", "1024", "retention.ms", "10000"), clock::get);
    append(40, 1000); // timestamps 1_000_000 .. 1_039_000, several segments
    int before = log.segmentCount();
    assertThat(before).isGreaterThan(4);

    // now = 1_040_000: segments whose max timestamp < 1_030_000 go.
    int deleted = log.enforceRetention();
    assertThat(deleted).isPositive();
    assertThat(log.segmentCount()).isEqualTo(before - deleted);
    assertThat(logFiles()).isEqualTo(log.segmentCount());
    long start = log.logStartOffset();
    assertThat(start).isPositive();
    List<dev.brook.proto.v1.RecordBatch> left = readAll(log, start);
    assertThat(left.get(0).getBaseOffset()).isEqualTo(start);
    assertThat(left.get(0).getMaxTimestamp()).isLessThan(1_030_000); // the first kept segment still has newer data
    assertThatThrownBy(() -> log.read(start - 1, 100, Long.MAX_VALUE))
        .isInstanceOfSatisfying(LogException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.OFFSET_OUT_OF_RANGE))
        .hasMessageContaining("[" + start + ", 80]");
    assertThat(log.enforceRetention()).isZero();

    // Much later everything is old, but the active segment stays.
    clock.addAndGet(1_000_000);
    log.enforceRetention();
    assertThat(log.segmentCount()).isEqualTo(1);
    assertThat(log.logEndOffset()).isEqualTo(80);
    assertThat(log.append(List.of(batch("new", 1, clock.get())), 0).firstOffset()).isEqualTo(80);
  }

  @Test
  void deletesOldestSegmentsWhileTheLogIsLargerThanRetentionBytes() throws Exception {
    log = PartitionLog.open(dir, config("segment.bytes", "1024", "retention.bytes", "3000", "retention.ms", "-1"), clock::get);
    append(60, 1);
    long size = log.sizeInBytes();
    assertThat(size).isGreaterThan(6000);

    int deleted = log.enforceRetention();
    assertThat(deleted).isPositive();
    assertThat(log.sizeInBytes()).isLessThanOrEqualTo(3000);
    assertThat(log.sizeInBytes()).isGreaterThan(3000 - 1024);
    try (Stream<Path> files = Files.list(dir)) {
      assertThat(files.filter(p -> p.toString().endsWith(".log")).mapToLong(p -> p.toFile().length()).sum())
          .isEqualTo(log.sizeInBytes());
    }
    assertThat(readAll(log, log.logStartOffset()).get(0).getBaseOffset()).isEqualTo(log.logStartOffset());
  }

  @Test
  void retentionMsMinusOneKeepsEverything() throws Exception {
    log = PartitionLog.open(dir, config("segment.bytes", "1024", "retention.ms", "-1"), clock::get);
    append(30, 1000);
    int before = log.segmentCount();
    clock.addAndGet(100_000_000_000L);
    assertThat(log.enforceRetention()).isZero();
    assertThat(log.segmentCount()).isEqualTo(before);
    assertThat(log.logStartOffset()).isZero();
  }

  @Test
  void retentionSurvivesAReopen() throws Exception {
    LogConfig cfg = config("segment.bytes", "1024", "retention.ms", "5000");
    log = PartitionLog.open(dir, cfg, clock::get);
    append(30, 1000);
    log.close();
    log = PartitionLog.open(dir, cfg, clock::get);
    assertThat(log.enforceRetention()).isPositive();
    long start = log.logStartOffset();
    log.close();
    log = PartitionLog.open(dir, cfg, clock::get);
    assertThat(log.logStartOffset()).isEqualTo(start);
    assertThat(log.logEndOffset()).isEqualTo(60);
  }
}
