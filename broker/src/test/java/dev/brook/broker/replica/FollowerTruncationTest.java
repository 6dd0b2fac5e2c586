package dev.brook.broker.replica;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.google.protobuf.ByteString;
import dev.brook.broker.log.EpochEndOffset;
import dev.brook.broker.log.LeaderEpochHistory;
import dev.brook.broker.log.LogConfig;
import dev.brook.broker.log.PartitionLog;
import dev.brook.proto.v1.Record;
import dev.brook.proto.v1.RecordBatch;
import dev.brook.proto.v1.RecordList;
import dev.brook.protocol.StoredBatch;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Divergence scenarios between real logs, driven through the same two decisions the broker makes:
 * the leader's check of a fetch ({@link Partition#divergence}) and the follower's truncation point
 * ({@link ReplicaFetcher#truncationOffset}). Each ends with byte-identical logs and histories.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FollowerTruncationTest {
  @TempDir
  Path dir;

  private final List<PartitionLog> open = new ArrayList<>();
  private long lowestFollowerEnd;

  @AfterEach
  void closeLogs() throws Exception {
    for (PartitionLog l : open) l.close();
  }

  private PartitionLog log(String name) throws Exception {
    PartitionLog l = PartitionLog.open(dir.resolve(name), LogConfig.defaults(), () -> 1_000_000L);
    open.add(l);
    return l;
  }

  private static RecordBatch batch(String tag, int records) {
    RecordList.Builder list = RecordList.newBuilder();
    for (int i = 0; i < records; i++) {
      list.addRecords(Record.newBuilder().setOffsetDelta(i).setValue(ByteString.copyFromUtf8(tag + "/" + i)));
    }
    RecordBatch b = RecordBatch.newBuilder().setRecordCount(records).setBaseTimestamp(1).setMaxTimestamp(1)
        .setProducerId(-1).setProducerEpoch(-1).setBaseSequence(-1).setRecords(list.build().toByteString()).build();
    return b.toBuilder().setCrc(StoredBatch.computeCrc(b)).build();
  }

  /** Appends {@code count} one-record batches as leader of {@code epoch}. */
  private static void write(PartitionLog log, int epoch, int count, String tag) throws Exception {
    log.assignEpoch(epoch);
    for (int i = 0; i < count; i++) log.append(List.of(batch(tag + i, 1)), epoch);
  }

  /** Copies the leader's log from the follower's end up to {@code until}, as plain replication. */
  private static void copy(PartitionLog leader, PartitionLog follower, long until) throws Exception {
    while (follower.logEndOffset() < until) {
      ByteString frames = leader.read(follower.logEndOffset(), 1, Long.MAX_VALUE).records();
      follower.appendAsFollower(frames);
    }
  }

  /** The follower fetches from the leader until caught up: divergence check, truncation, appends. */
  private int sync(PartitionLog leader, PartitionLog follower) throws Exception {
    lowestFollowerEnd = follower.logEndOffset();
    int truncations = 0;
    for (int round = 0; round < 20; round++) {
      long fetchOffset = follower.logEndOffset();
      EpochEndOffset diverging = Partition.divergence(leader, fetchOffset, follower.latestEpoch());
      if (diverging != null) {
        follower.truncateTo(ReplicaFetcher.truncationOffset(follower, diverging, leader.logStartOffset()));
        lowestFollowerEnd = Math.min(lowestFollowerEnd, follower.logEndOffset());
        truncations++;
        continue;
      }
      if (fetchOffset == leader.logEndOffset()) return truncations;
      follower.appendAsFollower(leader.read(fetchOffset, 1 << 20, Long.MAX_VALUE).records());
    }
    return fail("no agreement after 20 rounds");
  }

  private static void assertSame(PartitionLog a, PartitionLog b) throws Exception {
    assertThat(b.logEndOffset()).isEqualTo(a.logEndOffset());
    assertThat(b.read(0, Integer.MAX_VALUE, Long.MAX_VALUE).records())
        .isEqualTo(a.read(0, Integer.MAX_VALUE, Long.MAX_VALUE).records());
    List<LeaderEpochHistory.Entry> ea = a.epochs().entries();
    // the leader may carry an epoch it took over with and never wrote in; compare what both wrote
    assertThat(b.epochs().entries()).isEqualTo(ea.stream().filter(e -> e.startOffset() < a.logEndOffset()).toList());
  }

  @Test
  void uncommittedTailOfTheOldLeaderIsCutWhereTheNewLeadersEpochBegan() throws Exception {
    PartitionLog a = log("a");
    PartitionLog b = log("b");
    write(a, 1, 10, "one");
    copy(a, b, 6);            // b has 0..5
    b.assignEpoch(2);          // b leads epoch 2 from 6
    write(b, 2, 3, "two");
    assertThat(sync(b, a)).isEqualTo(1);
    assertThat(lowestFollowerEnd).isEqualTo(6);
    assertSame(b, a);
  }

  @Test
  void leaderChangedTwiceQuickly() throws Exception {
    // KIP-279: A led epoch 1; B led epoch 2 briefly without C seeing it; C leads epoch 3.
    PartitionLog a = log("a");
    PartitionLog b = log("b");
    PartitionLog c = log("c");
    write(a, 1, 10, "one");
    copy(a, b, 10);
    copy(a, c, 10);
    write(a, 1, 3, "lost-a"); // 10..12 on A only
    write(b, 2, 2, "lost-b"); // 10..11 on B only, epoch 2
    write(c, 3, 5, "three");  // C never saw epoch 2
    assertThat(sync(c, b)).isEqualTo(1);
    assertThat(lowestFollowerEnd).isEqualTo(10);
    assertSame(c, b);
    assertThat(sync(c, a)).isEqualTo(1);
    assertThat(lowestFollowerEnd).isEqualTo(10);
    assertSame(c, a);
  }

  @Test
  void epochsOnlyTheFollowerHasTakeSeveralRounds() throws Exception {
    // F led epoch 3 (offsets 4..7, lost); L led epoch 2 (4..5) and then epoch 4 (6..9).
    PartitionLog l = log("l");
    PartitionLog f = log("f");
    write(l, 1, 4, "one");
    copy(l, f, 4);
    write(f, 3, 4, "f3");
    write(l, 2, 2, "l2");
    write(l, 4, 4, "l4");
    // round 1: L has no epoch 3; it answers epoch 2 ending at 6; F has no epoch 2, so it cuts
    // where its own epochs above 2 begin (4) and asks again with epoch 1
    assertThat(sync(l, f)).isEqualTo(1);
    assertThat(lowestFollowerEnd).isEqualTo(4);
    assertSame(l, f);
  }

  @Test
  void aFollowerThatAgreesIsNeverTruncatedToItsHighWatermark() throws Exception {
    // KAFKA-7164: a follower restarting with a low high watermark keeps its matching records
    PartitionLog leader = log("leader");
    PartitionLog follower = log("follower");
    write(leader, 1, 10, "one");
    copy(leader, follower, 10);
    leader.assignEpoch(2);
    write(leader, 2, 3, "two");
    leader.assignEpoch(5); // another takeover, nothing written yet
    assertThat(sync(leader, follower)).isZero();
    assertThat(lowestFollowerEnd).isEqualTo(10);
    assertSame(leader, follower);
  }

  @Test
  void aFollowerWithEpochsOlderThanAnyOfTheLeadersStartsOverAtTheLeadersFirstEpoch() throws Exception {
    PartitionLog leader = log("leader");
    PartitionLog follower = log("follower");
    write(follower, 0, 3, "zero"); // written in epoch 0, which the leader never had
    write(leader, 2, 5, "two");
    assertThat(sync(leader, follower)).isEqualTo(1);
    assertThat(lowestFollowerEnd).isZero();
    assertSame(leader, follower);
  }
}
