package dev.brook.broker.log;

import static dev.brook.broker.log.TestBatches.batch;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.protobuf.ByteString;
import dev.brook.proto.v1.ErrorCode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@link PartitionLog#appendAsFollower}: frames from a leader's read, written as they are. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FollowerAppendTest {
  @TempDir
  Path leaderDir;
  @TempDir
  Path followerDir;

  private final AtomicLong clock = new AtomicLong(1_000_000);
  private final LogConfig config = TestBatches.config("segment.bytes", "2000", "index.interval.bytes", "300");

  /** Copies the leader's log into the follower's as a replica fetcher would, in reads of maxBytes. */
  private static void replicate(PartitionLog leader, PartitionLog follower, int maxBytes) throws Exception {
    while (follower.logEndOffset() < leader.logEndOffset()) {
      ReadResult read = leader.read(follower.logEndOffset(), maxBytes, Long.MAX_VALUE);
      follower.appendAsFollower(read.records());
    }
  }

  private static byte[] allBytes(Path dir) throws Exception {
    try (Stream<Path> files = Files.list(dir)) {
      List<Path> logs = files.filter(f -> f.toString().endsWith(".log")).sorted().toList();
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      for (Path f : logs) out.write(Files.readAllBytes(f));
      return out.toByteArray();
    }
  }

  private static List<String> segmentNames(Path dir) throws Exception {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(".log")).sorted().toList();
    }
  }

  @Test
  void followerLogIsByteIdenticalIncludingSegmentsAndEpochs() throws Exception {
    try (PartitionLog leader = PartitionLog.open(leaderDir, config, clock::get);
        PartitionLog follower = PartitionLog.open(followerDir, config, clock::get)) {
      for (int i = 0; i < 60; i++) {
        leader.append(List.of(batch("b" + i, 1 + i % 4, 1000 + i, 30)), i / 20);
      }
      replicate(leader, follower, 700);
      assertThat(follower.logEndOffset()).isEqualTo(leader.logEndOffset());
      assertThat(follower.epochs().entries()).isEqualTo(leader.epochs().entries());
      assertThat(segmentNames(followerDir)).isEqualTo(segmentNames(leaderDir)).hasSizeGreaterThan(2);
      assertThat(allBytes(followerDir)).isEqualTo(allBytes(leaderDir));
      List<dev.brook.proto.v1.RecordBatch> read = TestBatches.readAll(follower, 0);
      TestBatches.assertWellFormed(read);
      assertThat(read).hasSize(60);
    }
    // and recovery accepts what the follower wrote
    try (PartitionLog follower = PartitionLog.open(followerDir, config, clock::get)) {
      assertThat(follower.epochs().entries()).extracting(LeaderEpochHistory.Entry::epoch).containsExactly(0, 1, 2);
      assertThat(TestBatches.readAll(follower, 0)).hasSize(60);
    }
  }

  @Test
  void badFramesAreRefusedAndChangeNothing() throws Exception {
    try (PartitionLog leader = PartitionLog.open(leaderDir, config, clock::get);
        PartitionLog follower = PartitionLog.open(followerDir, config, clock::get)) {
      leader.append(List.of(batch("a", 2, 1)), 1);
      leader.append(List.of(batch("b", 3, 1)), 1);
      leader.append(List.of(batch("c", 1, 1)), 2);
      ByteString all = leader.read(0, 1 << 20, Long.MAX_VALUE).records();
      ByteString fromTwo = leader.read(2, 1 << 20, Long.MAX_VALUE).records();

      // not at the log end
      assertThat(catchThrowableOfType(LogException.class, () -> follower.appendAsFollower(fromTwo)).code())
          .isEqualTo(ErrorCode.OFFSET_OUT_OF_RANGE);
      // a torn frame
      assertThat(catchThrowableOfType(LogException.class,
          () -> follower.appendAsFollower(all.substring(0, all.size() - 3))).code()).isEqualTo(ErrorCode.CORRUPT_RECORD);
      // a flipped byte in the records of the second frame
      byte[] flipped = all.toByteArray();
      flipped[flipped.length - 5] ^= 0x40;
      assertThat(catchThrowableOfType(LogException.class,
          () -> follower.appendAsFollower(ByteString.copyFrom(flipped))).code()).isEqualTo(ErrorCode.CORRUPT_RECORD);
      // frames that skip offsets
      ByteString first = leader.read(0, 1, Long.MAX_VALUE).records();
      ByteString third = leader.read(5, 1, Long.MAX_VALUE).records();
      assertThat(catchThrowableOfType(LogException.class,
          () -> follower.appendAsFollower(first.concat(third))).code()).isEqualTo(ErrorCode.CORRUPT_RECORD);
      // empty and garbage
      assertThat(catchThrowableOfType(LogException.class, () -> follower.appendAsFollower(ByteString.EMPTY)).code())
          .isEqualTo(ErrorCode.INVALID_REQUEST);
      assertThat(catchThrowableOfType(LogException.class,
          () -> follower.appendAsFollower(ByteString.copyFromUtf8("hello"))).code()).isEqualTo(ErrorCode.CORRUPT_RECORD);

      assertThat(follower.logEndOffset()).isZero();
      assertThat(follower.latestEpoch()).isEqualTo(-1);
      assertThat(follower.sizeInBytes()).isZero();

      follower.appendAsFollower(all);
      assertThat(follower.logEndOffset()).isEqualTo(6);
      assertThat(follower.epochs().entries()).isEqualTo(leader.epochs().entries());
    }
  }

  @Test
  void framesOfAnOlderEpochThanTheHistoryAreRefused() throws Exception {
    try (PartitionLog leader = PartitionLog.open(leaderDir, config, clock::get);
        PartitionLog follower = PartitionLog.open(followerDir, config, clock::get)) {
      leader.append(List.of(batch("a", 2, 1)), 1);
      follower.assignEpoch(3); // this replica led in epoch 3 without writing
      LogException e = catchThrowableOfType(LogException.class,
          () -> follower.appendAsFollower(leader.read(0, 1 << 20, Long.MAX_VALUE).records()));
      assertThat(e.code()).isEqualTo(ErrorCode.FENCED_LEADER_EPOCH);
      // the divergence check makes the follower drop the empty epoch first
      follower.truncateTo(0);
      follower.appendAsFollower(leader.read(0, 1 << 20, Long.MAX_VALUE).records());
      assertThat(follower.logEndOffset()).isEqualTo(2);
    }
  }
}
