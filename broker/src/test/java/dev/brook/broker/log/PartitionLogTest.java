package dev.brook.broker.log;

import static dev.brook.broker.log.TestBatches.assertWellFormed;
import static dev.brook.broker.log.TestBatches.batch;
import static dev.brook.broker.log.TestBatches.config;
import static dev.brook.broker.log.TestBatches.lastOffset;
import static dev.brook.broker.log.TestBatches.parse;
import static dev.brook.broker.log.TestBatches.readAll;
import static dev.brook.broker.log.TestBatches.tagOf;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.Record;
import dev.brook.proto.v1.RecordBatch;
import dev.brook.proto.v1.RecordList;
import dev.brook.protocol.StoredBatch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PartitionLogTest {
  @TempDir Path dir;
  private final AtomicLong clock = new AtomicLong(1_000_000);
  private PartitionLog log;

  @AfterEach
  void tearDown() throws IOException {
    if (log != null) log.close();
  }

  private PartitionLog open(LogConfig config) throws IOException {
    log = PartitionLog.open(dir, config, clock::get);
    return log;
  }

  /** Appends {@code n} single-batch requests of {@code records} records each; returns them. */
  private List<RecordBatch> appendMany(int n, int records) throws LogException {
    List<RecordBatch> sent = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      RecordBatch b = batch("b" + i, records, clock.get());
      log.append(List.of(b), 7);
      sent.add(b);
    }
    return sent;
  }

  @Test
  void appendsAndReadsAcrossSegments() throws Exception {
    open(config("segment.bytes", "1024", "index.interval.bytes", "100"));
    List<RecordBatch> sent = appendMany(60, 3);

    assertThat(log.segmentCount()).isGreaterThan(5);
    assertThat(log.logStartOffset()).isZero();
    assertThat(log.logEndOffset()).isEqualTo(180);
    List<RecordBatch> read = readAll(log, 0);
    assertThat(read).hasSize(60);
    assertWellFormed(read);
    for (int i = 0; i < read.size(); i++) {
      RecordBatch got = read.get(i);
      assertThat(got.getBaseOffset()).isEqualTo(3L * i);
      assertThat(got.getPartitionLeaderEpoch()).isEqualTo(7);
      assertThat(got.getRecords()).isEqualTo(sent.get(i).getRecords());
      assertThat(tagOf(got)).isEqualTo("b" + i);
    }
    try (Stream<Path> files = Files.list(dir)) {
      assertThat(files.map(p -> p.getFileName().toString())).contains(
          "00000000000000000000.log", "00000000000000000000.index", "00000000000000000000.timeindex");
    }
  }

  @Test
  void appendResultDescribesTheWholeRequest() throws Exception {
    open(LogConfig.defaults());
    log.append(List.of(batch("x", 2, 5)), 0);
    AppendResult r = log.append(List.of(batch("a", 3, 100), batch("b", 4, 300), batch("c", 1, 200)), 2);

    assertThat(r).isEqualTo(new AppendResult(2, 9, clock.get(), 300, 2));
    List<RecordBatch> read = parse(log.read(2, 1 << 20, Long.MAX_VALUE));
    assertThat(read).extracting(RecordBatch::getBaseOffset).containsExactly(2L, 5L, 9L);
  }

  @Test
  void readAtAnOffsetInsideABatchStartsWithThatBatch() throws Exception {
    open(config("index.interval.bytes", "0"));
    appendMany(10, 5);

    ReadResult r = log.read(23, 1, Long.MAX_VALUE);
    List<RecordBatch> got = parse(r);
    assertThat(got).hasSize(1);
    assertThat(got.get(0).getBaseOffset()).isEqualTo(20);
    assertThat(r.firstBatchOffset()).isEqualTo(20);
    assertThat(r.logStartOffset()).isZero();
    assertThat(r.logEndOffset()).isEqualTo(50);
  }

  @Test
  void maxBytesLimitsTheResultButAlwaysReturnsOneBatch() throws Exception {
    open(LogConfig.defaults());
    appendMany(10, 2);
    int frame = StoredBatch.frameSize(batch("b0", 2, 0).getRecords().size());

    assertThat(parse(log.read(0, 0, Long.MAX_VALUE))).hasSize(1);
    assertThat(parse(log.read(0, frame - 1, Long.MAX_VALUE))).hasSize(1);
    assertThat(parse(log.read(0, frame, Long.MAX_VALUE))).hasSize(1);
    ReadResult twoAndAHalf = log.read(0, frame * 5 / 2, Long.MAX_VALUE);
    assertThat(parse(twoAndAHalf)).hasSize(2);
    assertThat(twoAndAHalf.records().size()).isEqualTo(2 * frame);
    assertThat(parse(log.read(4, 1 << 20, Long.MAX_VALUE))).hasSize(8);
  }

  @Test
  void neverReturnsABatchReachingTheHighWatermark() throws Exception {
    open(config("index.interval.bytes", "0"));
    appendMany(5, 4); // batches at 0, 4, 8, 12, 16

    assertThat(parse(log.read(0, 1 << 20, 10))).extracting(RecordBatch::getBaseOffset).containsExactly(0L, 4L);
    assertThat(parse(log.read(0, 1 << 20, 12))).extracting(RecordBatch::getBaseOffset).containsExactly(0L, 4L, 8L);
    assertThat(parse(log.read(0, 1 << 20, 3))).isEmpty();
    ReadResult atHw = log.read(12, 1 << 20, 12);
    assertThat(atHw.records().isEmpty()).isTrue();
    assertThat(atHw.firstBatchOffset()).isEqualTo(12);
  }

  @Test
  void readAtLogEndIsEmptyAndBeyondIsOutOfRange() throws Exception {
    open(LogConfig.defaults());
    appendMany(3, 2);

    assertThat(log.read(6, 1000, Long.MAX_VALUE).records().isEmpty()).isTrue();
    assertThatThrownBy(() -> log.read(7, 1000, Long.MAX_VALUE))
        .isInstanceOfSatisfying(LogException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.OFFSET_OUT_OF_RANGE))
        .hasMessageContaining("[0, 6]");
    assertThatThrownBy(() -> log.read(-1, 1000, Long.MAX_VALUE))
        .isInstanceOfSatisfying(LogException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.OFFSET_OUT_OF_RANGE));
  }

  @Test
  void indexLookupsLandOnTheRightBatchAfterManyBatches() throws Exception {
    open(config("segment.bytes", "65536", "index.interval.bytes", "300"));
    Random random = new Random(42);
    List<long[]> ranges = new ArrayList<>();
    for (int i = 0; i < 2000; i++) {
      int records = 1 + random.nextInt(5);
      AppendResult r = log.append(List.of(batch("b" + i, records, clock.get())), 0);
      ranges.add(new long[] {r.firstOffset(), r.lastOffset()});
    }
    assertThat(log.segmentCount()).isGreaterThan(2);
    try (Stream<Path> files = Files.list(dir)) {
      assertThat(files.filter(p -> p.toString().endsWith(".index")).mapToLong(p -> p.toFile().length()).sum())
          .isGreaterThan(100L * OffsetIndex.ENTRY_BYTES);
    }
    long seed = random.nextLong();
    Random lookups = new Random(seed);
    for (int i = 0; i < 3000; i++) {
      int batchIndex = lookups.nextInt(ranges.size());
      long[] range = ranges.get(batchIndex);
      long offset = range[0] + lookups.nextInt((int) (range[1] - range[0] + 1));
      List<RecordBatch> got = parse(log.read(offset, 1, Long.MAX_VALUE));
      assertThat(got).as("seed %d offset %d", seed, offset).hasSize(1);
      assertThat(got.get(0).getBaseOffset()).as("seed %d offset %d", seed, offset).isEqualTo(range[0]);
      assertThat(tagOf(got.get(0))).isEqualTo("b" + batchIndex);
    }
  }

  @Test
  void offsetForTimestampFindsTheFirstRecordInsideABatch() throws Exception {
    open(config());
    log.append(List.of(batch("a", 2, 900)), 0);
    // One batch whose records are at 1000, 1005, 1010 and 1003 (a producer's clock may step back).
    RecordList.Builder list = RecordList.newBuilder();
    long[] ts = {1000, 1005, 1010, 1003};
    for (int i = 0; i < ts.length; i++) {
      list.addRecords(Record.newBuilder().setOffsetDelta(i).setTimestampDelta(ts[i] - 1000)
          .setValue(ByteString.copyFromUtf8("r" + i)));
    }
    RecordBatch.Builder b = RecordBatch.newBuilder().setRecordCount(4).setBaseTimestamp(1000).setMaxTimestamp(1010)
        .setProducerId(-1).setProducerEpoch(-1).setBaseSequence(-1).setRecords(list.build().toByteString());
    log.append(List.of(b.setCrc(StoredBatch.computeCrc(b.build())).build()), 0);

    assertThat(log.offsetForTimestamp(1000)).isEqualTo(new OffsetAndTimestamp(2, 1000));
    assertThat(log.offsetForTimestamp(1001)).isEqualTo(new OffsetAndTimestamp(3, 1005));
    assertThat(log.offsetForTimestamp(1006)).isEqualTo(new OffsetAndTimestamp(4, 1010));
    assertThat(log.offsetForTimestamp(1011)).isNull();
  }

  @Test
  void offsetForTimestampFindsTheFirstBatchAtOrAfterIt() throws Exception {
    open(config("segment.bytes", "1024", "index.interval.bytes", "150"));
    long[] timestamps = {1000, 1010, 1020, 1015, 1030, 1040, 1040, 1050, 1060, 1070, 1080, 1090, 1100, 1110, 1120};
    for (int i = 0; i < timestamps.length; i++) {
      log.append(List.of(batch("b" + i, 2, timestamps[i])), 0);
    }
    assertThat(log.segmentCount()).isGreaterThan(1);

    assertThat(log.offsetForTimestamp(0)).isEqualTo(new OffsetAndTimestamp(0, 1000));
    assertThat(log.offsetForTimestamp(1000)).isEqualTo(new OffsetAndTimestamp(0, 1000));
    assertThat(log.offsetForTimestamp(1012)).isEqualTo(new OffsetAndTimestamp(4, 1020));
    assertThat(log.offsetForTimestamp(1021)).isEqualTo(new OffsetAndTimestamp(8, 1030));
    assertThat(log.offsetForTimestamp(1055)).isEqualTo(new OffsetAndTimestamp(16, 1060));
    assertThat(log.offsetForTimestamp(1120)).isEqualTo(new OffsetAndTimestamp(28, 1120));
    assertThat(log.offsetForTimestamp(1121)).isNull();
    for (int t = 1000; t <= 1120; t += 3) {
      int expected = 0;
      while (timestamps[expected] < t) expected++;
      assertThat(log.offsetForTimestamp(t)).as("ts %d", t).isEqualTo(new OffsetAndTimestamp(2L * expected, timestamps[expected]));
    }
  }

  @Test
  void rollsWhenTheFirstBatchIsOlderThanSegmentMs() throws Exception {
    open(config("segment.ms", "1000"));
    log.append(List.of(batch("a", 1, clock.get())), 0);
    clock.addAndGet(500);
    log.append(List.of(batch("b", 1, clock.get())), 0);
    assertThat(log.segmentCount()).isEqualTo(1);
    clock.addAndGet(501);
    log.append(List.of(batch("c", 1, clock.get())), 0);
    assertThat(log.segmentCount()).isEqualTo(2);
    assertThat(Files.exists(dir.resolve("00000000000000000002.log"))).isTrue();
    assertThat(readAll(log, 0)).extracting(TestBatches::tagOf).containsExactly("a", "b", "c");
  }

  @Test
  void oldRecordTimestampsDoNotRollASegmentPerBatch() throws Exception {
    open(config("segment.ms", "1000"));
    clock.set(10_000_000);
    // A producer replaying data a day old: timestamps far behind the broker's clock, close together.
    for (int i = 0; i < 10; i++) {
      log.append(List.of(batch("old" + i, 1, 1_000 + i)), 0);
    }
    assertThat(log.segmentCount()).isEqualTo(1);
    log.append(List.of(batch("later", 1, 1_000 + 2_000)), 0);
    assertThat(log.segmentCount()).isEqualTo(2);
  }

  @Test
  void crcMismatchIsRejectedAndNothingIsWritten() throws Exception {
    open(LogConfig.defaults());
    appendMany(2, 2);
    long size = log.sizeInBytes();
    RecordBatch good = batch("good", 2, 0);
    RecordBatch bad = good.toBuilder().setCrc(good.getCrc() ^ 1).build();

    assertThatThrownBy(() -> log.append(List.of(good, bad, good), 7))
        .isInstanceOfSatisfying(LogException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CORRUPT_RECORD));
    assertThat(log.logEndOffset()).isEqualTo(4);
    assertThat(log.sizeInBytes()).isEqualTo(size);
    assertThat(Files.size(dir.resolve("00000000000000000000.log"))).isEqualTo(size);
    assertThat(log.append(List.of(good), 7).firstOffset()).isEqualTo(4);
  }

  @Test
  void oversizedBatchIsRejectedAndNothingIsWritten() throws Exception {
    open(config("max.message.bytes", "500"));
    appendMany(1, 1);
    long size = log.sizeInBytes();
    RecordBatch small = batch("small", 1, 0);
    RecordBatch big = batch("big", 2, 0, 400);

    assertThatThrownBy(() -> log.append(List.of(small, big), 0))
        .isInstanceOfSatisfying(LogException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.RECORD_TOO_LARGE))
        .hasMessageContaining("500");
    assertThat(log.logEndOffset()).isEqualTo(1);
    assertThat(log.sizeInBytes()).isEqualTo(size);
  }

  @Test
  void malformedBatchesAreRejected() throws Exception {
    open(LogConfig.defaults());
    RecordBatch zeroRecords = resign(batch("z", 1, 0).toBuilder().setRecordCount(0).build());
    RecordBatch unknownBit = resign(batch("u", 1, 0).toBuilder().setAttributes(0x40).build());
    RecordBatch badCodec = resign(batch("c", 1, 0).toBuilder().setAttributes(5).build());

    assertCode(List.of(zeroRecords), ErrorCode.INVALID_REQUEST);
    assertCode(List.of(unknownBit), ErrorCode.INVALID_REQUEST);
    assertCode(List.of(badCodec), ErrorCode.UNSUPPORTED_COMPRESSION);
    assertCode(List.of(), ErrorCode.INVALID_REQUEST);
    assertThat(log.logEndOffset()).isZero();
    assertThat(log.sizeInBytes()).isZero();
    assertThatThrownBy(() -> log.read(0, -1, Long.MAX_VALUE))
        .isInstanceOfSatisfying(LogException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST));
  }

  private static RecordBatch resign(RecordBatch b) {
    return b.toBuilder().setCrc(StoredBatch.computeCrc(b)).build();
  }

  private void assertCode(List<RecordBatch> batches, ErrorCode code) {
    assertThatThrownBy(() -> log.append(batches, 0))
        .isInstanceOfSatisfying(LogException.class, e -> assertThat(e.code()).isEqualTo(code));
  }

  @Test
  void truncateToDropsTheBatchContainingTheOffsetAndEverythingAfter() throws Exception {
    open(config("segment.bytes", "1024", "index.interval.bytes", "0"));
    appendMany(30, 3);
    int segmentsBefore = log.segmentCount();

    log.truncateTo(40); // inside the batch 39..41
    assertThat(log.logEndOffset()).isEqualTo(39);
    assertThat(log.segmentCount()).isLessThan(segmentsBefore);
    assertThatThrownBy(() -> log.read(40, 100, Long.MAX_VALUE))
        .isInstanceOfSatisfying(LogException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.OFFSET_OUT_OF_RANGE));
    AppendResult again = log.append(List.of(batch("again", 2, clock.get())), 9);
    assertThat(again.firstOffset()).isEqualTo(39);
    List<RecordBatch> all = readAll(log, 0);
    assertWellFormed(all);
    assertThat(all).hasSize(14);
    assertThat(tagOf(all.get(13))).isEqualTo("again");
    assertThat(all.get(13).getPartitionLeaderEpoch()).isEqualTo(9);

    log.close();
    open(config("segment.bytes", "1024", "index.interval.bytes", "0"));
    assertThat(log.logEndOffset()).isEqualTo(41);
    assertThat(readAll(log, 0)).hasSize(14);
  }

  @Test
  void aWriteFailureUndoesTheWholeRequest() throws Exception {
    open(config("segment.bytes", "1024"));
    appendMany(6, 3); // the active segment is nearly full: the request below rolls first
    long size = log.sizeInBytes();
    int segments = log.segmentCount();
    List<RecordBatch> request = new ArrayList<>();
    for (int i = 0; i < 12; i++) request.add(batch("lost" + i, 3, 0));

    // An interrupted writer: the JDK closes the channel under the write, which then fails.
    Thread.currentThread().interrupt();
    try {
      assertThatThrownBy(() -> log.append(request, 7))
          .isInstanceOfSatisfying(LogException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.STORAGE_ERROR));
    } finally {
      assertThat(Thread.interrupted()).isTrue();
    }
    assertThat(log.logEndOffset()).isEqualTo(18);
    assertThat(log.sizeInBytes()).isEqualTo(size);
    assertThat(log.segmentCount()).isEqualTo(segments);

    assertThat(log.append(List.of(batch("kept", 1, 0)), 7).firstOffset()).isEqualTo(18);
    log.close();
    open(config("segment.bytes", "1024"));
    assertThat(readAll(log, 0)).extracting(TestBatches::tagOf).containsExactly("b0", "b1", "b2", "b3", "b4", "b5", "kept");
  }

  @Test
  void truncateToTheStartEmptiesTheLog() throws Exception {
    open(config("segment.bytes", "1024"));
    appendMany(20, 2);
    log.truncateTo(0);
    assertThat(log.logEndOffset()).isZero();
    assertThat(log.segmentCount()).isEqualTo(1);
    assertThat(log.sizeInBytes()).isZero();
    assertThat(log.append(List.of(batch("n", 1, 0)), 1).firstOffset()).isZero();
  }

  @Test
  void deleteRemovesTheDirectory() throws Exception {
    open(LogConfig.defaults());
    appendMany(3, 1);
    log.delete();
    log = null;
    assertThat(Files.exists(dir)).isFalse();
  }

  @Test
  void flushPolicyAndExplicitFlushKeepTheLogWorking() throws Exception {
    open(config("flush.messages", "3", "flush.ms", "10"));
    appendMany(10, 2);
    clock.addAndGet(20);
    appendMany(1, 1);
    log.flush();
    assertThat(readAll(log, 0)).hasSize(11);
  }

  @Test
  void anIdleLogIsFlushedOnceItsOldestUnflushedBatchReachesFlushMs() throws Exception {
    open(config("flush.ms", "100"));
    assertThat(log.flushIfDue()).as("nothing written yet").isFalse();
    appendMany(1, 1);
    clock.addAndGet(60);
    appendMany(1, 1);
    clock.addAndGet(39);
    assertThat(log.flushIfDue()).as("oldest batch is 99 ms old").isFalse();
    clock.addAndGet(1);
    assertThat(log.flushIfDue()).isTrue();
    clock.addAndGet(1_000);
    assertThat(log.flushIfDue()).as("nothing unflushed since").isFalse();

    log.updateConfig(LogConfig.defaults()); // flush.ms: never
    appendMany(1, 1);
    clock.addAndGet(365L * 24 * 3600 * 1000);
    assertThat(log.flushIfDue()).isFalse();
  }

  @Test
  void configUpdatesApplyToLaterAppends() throws Exception {
    open(LogConfig.defaults());
    appendMany(1, 1);
    log.updateConfig(config("max.message.bytes", "100"));
    assertCode(List.of(batch("big", 5, 0)), ErrorCode.RECORD_TOO_LARGE);
  }

  @Test
  void readsAfterManyBatchesCoverTheLogExactly() throws Exception {
    open(config("segment.bytes", "2048", "index.interval.bytes", "64"));
    appendMany(100, 2);
    List<RecordBatch> all = readAll(log, 0);
    assertWellFormed(all);
    assertThat(lastOffset(all.get(all.size() - 1))).isEqualTo(log.logEndOffset() - 1);
  }
}
