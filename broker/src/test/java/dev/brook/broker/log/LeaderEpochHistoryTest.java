package dev.brook.broker.log;

import static dev.brook.broker.log.TestBatches.batch;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The leader-epoch history: assignment, lookups, truncation with the log, persistence and recovery. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LeaderEpochHistoryTest {
  @TempDir
  Path dir;

  private final AtomicLong clock = new AtomicLong(1_000_000);

  private PartitionLog open() throws Exception {
    return PartitionLog.open(dir, LogConfig.defaults(), clock::get);
  }

  private static LeaderEpochHistory.Entry e(int epoch, long start) {
    return new LeaderEpochHistory.Entry(epoch, start);
  }

  @Test
  void leaderAppendsRecordTheFirstBatchOfEachEpoch() throws Exception {
    try (PartitionLog log = open()) {
      assertThat(log.latestEpoch()).isEqualTo(-1);
      assertThat(log.endOffsetForEpoch(0)).isEqualTo(EpochEndOffset.UNDEFINED);
      log.append(List.of(batch("a", 3, 1)), 0);
      log.append(List.of(batch("b", 2, 1)), 0);
      log.append(List.of(batch("c", 4, 1)), 2);
      log.append(List.of(batch("d", 1, 1)), 5);
      assertThat(log.epochs().entries()).containsExactly(e(0, 0), e(2, 5), e(5, 9));
      assertThat(log.latestEpoch()).isEqualTo(5);
      // largest epoch <= asked, and where it ended
      assertThat(log.endOffsetForEpoch(0)).isEqualTo(new EpochEndOffset(0, 5));
      assertThat(log.endOffsetForEpoch(1)).isEqualTo(new EpochEndOffset(0, 5));
      assertThat(log.endOffsetForEpoch(2)).isEqualTo(new EpochEndOffset(2, 9));
      assertThat(log.endOffsetForEpoch(4)).isEqualTo(new EpochEndOffset(2, 9));
      assertThat(log.endOffsetForEpoch(5)).isEqualTo(new EpochEndOffset(5, 10));
      assertThat(log.endOffsetForEpoch(7)).isEqualTo(new EpochEndOffset(5, 10));
    }
  }

  @Test
  void anOlderEpochIsRefusedAndAnEmptyTakeoverIsReplaced() throws Exception {
    try (PartitionLog log = open()) {
      log.append(List.of(batch("a", 3, 1)), 3);
      assertThat(org.assertj.core.api.Assertions.catchThrowableOfType(LogException.class,
          () -> log.append(List.of(batch("x", 1, 1)), 2)).code()).isEqualTo(dev.brook.proto.v1.ErrorCode.FENCED_LEADER_EPOCH);
      assertThat(log.logEndOffset()).isEqualTo(3);
      log.assignEpoch(4); // took over, wrote nothing
      log.assignEpoch(6); // took over again at the same offset: replaces epoch 4
      assertThat(log.epochs().entries()).containsExactly(e(3, 0), e(6, 3));
      assertThat(log.endOffsetForEpoch(4)).isEqualTo(new EpochEndOffset(3, 3));
    }
  }

  @Test
  void truncationCutsTheHistoryWithTheLog() throws Exception {
    try (PartitionLog log = open()) {
      log.append(List.of(batch("a", 3, 1)), 1);
      log.append(List.of(batch("b", 3, 1)), 2);
      log.append(List.of(batch("c", 3, 1)), 3);
      log.assignEpoch(4);
      log.truncateTo(6);
      assertThat(log.epochs().entries()).containsExactly(e(1, 0), e(2, 3));
      log.truncateTo(6); // at the end: nothing to cut
      assertThat(log.epochs().entries()).containsExactly(e(1, 0), e(2, 3));
      log.truncateTo(4); // inside batch b: the whole batch goes, so does epoch 2
      assertThat(log.logEndOffset()).isEqualTo(3);
      assertThat(log.epochs().entries()).containsExactly(e(1, 0));
      log.truncateFullyAndStartAt(100);
      assertThat(log.epochs().entries()).isEmpty();
      assertThat(log.logStartOffset()).isEqualTo(100);
    }
  }

  @Test
  void persistedAcrossRestartAndTrimmedToTheRecoveredLog() throws Exception {
    try (PartitionLog log = open()) {
      log.append(List.of(batch("a", 3, 1)), 1);
      log.append(List.of(batch("b", 3, 1)), 2);
      log.assignEpoch(7); // an empty epoch at the end is forgotten on restart
    }
    try (PartitionLog log = open()) {
      assertThat(log.epochs().entries()).containsExactly(e(1, 0), e(2, 3));
      assertThat(log.endOffsetForEpoch(2)).isEqualTo(new EpochEndOffset(2, 6));
    }
  }

  @Test
  void rebuiltFromTheBatchesWhenMissingOrGarbage() throws Exception {
    try (PartitionLog log = open()) {
      log.append(List.of(batch("a", 3, 1)), 1);
      log.append(List.of(batch("b", 3, 1), batch("c", 1, 1)), 4);
    }
    Path file = dir.resolve(LeaderEpochHistory.FILE_NAME);
    Files.delete(file);
    try (PartitionLog log = open()) {
      assertThat(log.epochs().entries()).containsExactly(e(1, 0), e(4, 3));
    }
    Files.writeString(file, "0\n2\n9 0\n3 5\n", StandardCharsets.UTF_8); // out of order
    try (PartitionLog log = open()) {
      assertThat(log.epochs().entries()).containsExactly(e(1, 0), e(4, 3));
    }
    Files.writeString(file, "0\n1\n1 0\n", StandardCharsets.UTF_8); // parses but misses epoch 4
    try (PartitionLog log = open()) {
      assertThat(log.epochs().entries()).containsExactly(e(1, 0), e(4, 3));
    }
  }

  @Test
  void retentionMovesTheFirstEntryToTheLogStart() throws Exception {
    LogConfig small = TestBatches.config("segment.bytes", "1024", "retention.bytes", "1");
    try (PartitionLog log = PartitionLog.open(dir, small, clock::get)) {
      for (int i = 0; i < 6; i++) log.append(List.of(batch("r" + i, 2, 1, 300)), i < 3 ? 1 : 2);
      assertThat(log.segmentCount()).isGreaterThan(2);
      log.enforceRetention();
      long start = log.logStartOffset();
      assertThat(start).isGreaterThan(0);
      assertThat(log.epochs().entries().get(0).startOffset()).isEqualTo(start);
      assertThat(log.latestEpoch()).isEqualTo(2);
    }
  }
}
