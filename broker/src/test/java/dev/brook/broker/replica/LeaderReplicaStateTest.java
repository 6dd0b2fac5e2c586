package dev.brook.broker.replica;

import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.broker.replica.LeaderReplicaState.AlterResult;
import dev.brook.broker.replica.LeaderReplicaState.BrokerStatus;
import dev.brook.broker.replica.LeaderReplicaState.IsrChange;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The leader's follower bookkeeping, on a fake clock: high watermark, ISR shrink and expansion. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class LeaderReplicaStateTest {
  private static final long LAG_MS = 10_000;
  private long now = 1_000_000;
  private final Map<Integer, BrokerStatus> brokers = new HashMap<>();
  private LeaderReplicaState state;

  @BeforeEach
  void setUp() {
    brokers.put(1, new BrokerStatus(11, false, false));
    brokers.put(2, new BrokerStatus(12, false, false));
    brokers.put(3, new BrokerStatus(13, false, false));
    state = new LeaderReplicaState(1, LAG_MS);
  }

  private void lead(List<Integer> isr, long epochStart, long hw) {
    state.becomeLeader(5, 10, List.of(1, 2, 3), isr, List.of(), brokers, epochStart, hw, now);
  }

  private LeaderReplicaState.FetchOutcome fetch(int replica, long offset, long leaderEnd) {
    return state.onFollowerFetch(replica, brokers.get(replica).brokerEpoch(), offset, leaderEnd, now);
  }

  @Test
  void highWatermarkIsTheMinimumOverTheIsrAndNeverMovesBack() {
    lead(List.of(1, 2, 3), 0, 0);
    assertThat(state.maybeAdvanceHighWatermark(100)).as("followers' positions unknown: hold").isEqualTo(-1);
    assertThat(fetch(2, 80, 100).newHighWatermark()).isEqualTo(-1);
    assertThat(fetch(3, 60, 100).newHighWatermark()).isEqualTo(60);
    assertThat(fetch(2, 100, 100).newHighWatermark()).isEqualTo(-1);
    assertThat(fetch(3, 100, 100).newHighWatermark()).isEqualTo(100);
    // a follower reporting less (it restarted and lost its tail) does not pull it back
    assertThat(fetch(3, 90, 100).newHighWatermark()).isEqualTo(-1);
    assertThat(state.highWatermark()).isEqualTo(100);
    // never beyond the leader's end
    assertThat(fetch(2, 120, 110).newHighWatermark()).isEqualTo(-1);
    assertThat(fetch(3, 120, 110).newHighWatermark()).isEqualTo(110);
  }

  @Test
  void theHighWatermarkHoldsWhileThePartitionHasEligibleLeaderReplicas() {
    // 3 left the ISR below min.insync.replicas: it must keep every record below the high watermark.
    state.becomeLeader(5, 10, List.of(1, 2, 3), List.of(1), List.of(3), brokers, 0, 40, now);
    assertThat(state.maybeAdvanceHighWatermark(100)).isEqualTo(-1);
    assertThat(state.highWatermark()).isEqualTo(40);
    // 2 caught up and joined; the quorum emptied the ELR: it moves again.
    state.onImage(11, List.of(1, 2, 3), List.of(1, 2), List.of(3), brokers, now);
    assertThat(fetch(2, 100, 100).newHighWatermark()).isEqualTo(-1);
    state.onImage(12, List.of(1, 2, 3), List.of(1, 2), List.of(), brokers, now);
    assertThat(state.maybeAdvanceHighWatermark(100)).isEqualTo(100);
  }

  @Test
  void anIsrMemberFetchingBelowTheHighWatermarkLostCommittedRecordsAndLeavesAtOnce() {
    lead(List.of(1, 2, 3), 0, 0);
    fetch(2, 100, 100);
    fetch(3, 100, 100);
    assertThat(state.highWatermark()).isEqualTo(100);
    // 3 comes back with a log cut at 40 (an unclean recovery or a repair): no waiting for the lag time.
    IsrChange change = fetch(3, 40, 100).isrChange();
    assertThat(change).isNotNull();
    assertThat(change.newIsr()).containsExactly(1, 2);
    // A follower outside the ISR catching up from below is normal.
    state.onAlterPartitionResult(change, AlterResult.APPLIED, 11, List.of(1, 2), List.of(), now);
    assertThat(fetch(3, 50, 100).isrChange()).isNull();
  }

  @Test
  void aCorruptLeaderResignsToAnEligibleMemberOrStays() {
    lead(List.of(1, 2, 3), 0, 0);
    assertThat(state.hasEligibleSuccessor()).as("positions unknown: nobody known to have everything").isFalse();
    fetch(2, 100, 100);
    fetch(3, 100, 100);
    brokers.put(2, new BrokerStatus(12, true, false)); // fenced
    state.onImage(10, List.of(1, 2, 3), List.of(1, 2, 3), List.of(), brokers, now);
    assertThat(state.hasEligibleSuccessor()).isTrue();
    IsrChange resign = state.proposeResign(now);
    assertThat(resign.newIsr()).containsExactly(3);
    assertThat(state.proposeResign(now)).as("one change in flight").isNull();

    state = new LeaderReplicaState(1, LAG_MS);
    lead(List.of(1), 0, 0);
    assertThat(state.hasEligibleSuccessor()).isFalse();
    assertThat(state.proposeResign(now)).isNull();

    // Alone in the ISR, but 3 is an eligible leader replica on an active broker: it takes over.
    state = new LeaderReplicaState(1, LAG_MS);
    state.becomeLeader(5, 10, List.of(1, 2, 3), List.of(1), List.of(2, 3), brokers, 0, 0, now);
    assertThat(state.proposeResign(now).newIsr()).as("2 is fenced").containsExactly(3);
  }

  @Test
  void aFollowerWhoseStreamClosedLeavesAfterTheDisconnectTimeoutNotTheLagTime() {
    state = new LeaderReplicaState(1, LAG_MS, 1500);
    lead(List.of(1, 2, 3), 0, 0);
    fetch(2, 100, 100);
    fetch(3, 100, 100);
    state.onFollowerDisconnected(3, now); // its broker was killed: the TCP connection broke
    now += 1000;
    fetch(2, 100, 100);
    assertThat(state.maybeShrink(now)).as("within the disconnect timeout").isNull();
    now += 600;
    assertThat(state.maybeShrink(now)).isEqualTo(new IsrChange(5, 10, List.of(1, 2)));

    // A follower that reconnects and fetches again in time stays.
    state = new LeaderReplicaState(1, LAG_MS, 1500);
    lead(List.of(1, 2, 3), 0, 0);
    fetch(2, 100, 100);
    fetch(3, 100, 100);
    state.onFollowerDisconnected(3, now);
    now += 800;
    fetch(3, 100, 100); // on its new stream
    now += 1000;
    fetch(2, 100, 100);
    assertThat(state.maybeShrink(now)).isNull();
  }

  @Test
  void aLeaderAloneInTheIsrAdvancesOnItsOwnAppends() {
    lead(List.of(1), 0, 0);
    assertThat(state.maybeAdvanceHighWatermark(7)).isEqualTo(7);
    assertThat(state.maybeAdvanceHighWatermark(7)).isEqualTo(-1);
  }

  @Test
  void followersOutsideTheIsrDoNotHoldTheHighWatermark() {
    lead(List.of(1, 2), 0, 0);
    assertThat(fetch(2, 50, 50).newHighWatermark()).isEqualTo(50);
    assertThat(fetch(3, 0, 60).isrChange()).as("far behind, not in the ISR").isNull();
    assertThat(fetch(2, 60, 60).newHighWatermark()).isEqualTo(60);
  }

  @Test
  void shrinkAfterTheLagTimeAndKeepCountingTheLeavingMemberWhileInFlight() {
    lead(List.of(1, 2, 3), 0, 0);
    fetch(2, 100, 100);
    fetch(3, 100, 100);
    now += LAG_MS; // replica 3 stops fetching; replica 2 keeps up
    fetch(2, 100, 100);
    assertThat(state.maybeShrink(now)).as("exactly the lag time is not yet too long").isNull();
    now += 1;
    fetch(2, 100, 100);
    IsrChange change = state.maybeShrink(now);
    assertThat(change).isEqualTo(new IsrChange(5, 10, List.of(1, 2)));
    assertThat(state.maybeShrink(now)).as("one change in flight").isNull();
    // in flight: 3 still counts, so a new record is not committed by 1 and 2 alone
    fetch(2, 150, 150);
    assertThat(state.highWatermark()).isEqualTo(100);
    assertThat(state.maximalIsr()).containsExactly(1, 2, 3);
    state.onAlterPartitionResult(change, AlterResult.APPLIED, 11, List.of(1, 2), List.of(), now);
    assertThat(state.isr()).containsExactly(1, 2);
    assertThat(state.maybeAdvanceHighWatermark(150)).isEqualTo(150);
  }

  @Test
  void aFollowerThatKeepsFetchingButNeverCatchesUpIsRemoved() {
    lead(List.of(1, 2, 3), 0, 0);
    fetch(3, 0, 0);
    for (int i = 1; i <= 12; i++) {
      now += 1000;
      fetch(2, 100L * i, 100L * i);
      fetch(3, 100L * i - 100, 100L * i); // always one step behind the leader's end at this fetch
    }
    // Kafka's rule: fetching at the leader's end as of its previous fetch counts as caught up then
    assertThat(state.maybeShrink(now)).isNull();
    for (int i = 13; i <= 25; i++) {
      now += 1000;
      fetch(2, 100L * i, 100L * i);
      fetch(3, 1100, 100L * i); // stuck where it got to
    }
    assertThat(state.maybeShrink(now)).isEqualTo(new IsrChange(5, 10, List.of(1, 2)));
  }

  @Test
  void fencedOrShuttingDownMembersAreRemovedAtOnce() {
    lead(List.of(1, 2, 3), 0, 0);
    fetch(2, 0, 0);
    fetch(3, 0, 0);
    brokers.put(3, new BrokerStatus(13, true, false));
    brokers.put(2, new BrokerStatus(12, false, true));
    state.onImage(10, List.of(1, 2, 3), List.of(1, 2, 3), List.of(), brokers, now);
    assertThat(state.maybeShrink(now)).isEqualTo(new IsrChange(5, 10, List.of(1)));
  }

  @Test
  void expansionNeedsTheHighWatermarkTheEpochStartACurrentBrokerEpochAndAnActiveBroker() {
    lead(List.of(1, 2), 40, 0);
    fetch(2, 100, 100); // hw 100
    assertThat(state.highWatermark()).isEqualTo(100);
    assertThat(fetch(3, 90, 100).isrChange()).as("below the high watermark").isNull();
    // a stale broker epoch (fetching under an older registration) is not eligible
    assertThat(state.onFollowerFetch(3, 7, 100, 100, now).isrChange()).isNull();
    brokers.put(3, new BrokerStatus(13, false, true));
    state.onImage(10, List.of(1, 2, 3), List.of(1, 2), List.of(), brokers, now);
    assertThat(fetch(3, 100, 100).isrChange()).as("shutting down").isNull();
    brokers.put(3, new BrokerStatus(13, true, false));
    state.onImage(10, List.of(1, 2, 3), List.of(1, 2), List.of(), brokers, now);
    assertThat(fetch(3, 100, 100).isrChange()).as("fenced").isNull();
    brokers.put(3, new BrokerStatus(13, false, false));
    state.onImage(10, List.of(1, 2, 3), List.of(1, 2), List.of(), brokers, now);
    IsrChange change = fetch(3, 100, 100).isrChange();
    assertThat(change).isEqualTo(new IsrChange(5, 10, List.of(1, 2, 3), java.util.Map.of(3, 13L)));
    // in flight: the joining member already counts for the high watermark (maximal ISR)
    fetch(2, 130, 130);
    assertThat(state.highWatermark()).isEqualTo(100);
    fetch(3, 130, 130);
    assertThat(state.highWatermark()).isEqualTo(130);
    // the image showing the change ends the pending state
    state.onImage(11, List.of(1, 2, 3), List.of(1, 2, 3), List.of(), brokers, now);
    assertThat(state.pending()).isNull();
    assertThat(state.isr()).containsExactly(1, 2, 3);
  }

  @Test
  void expansionWaitsForTheStartOfTheLeadersEpoch() {
    lead(List.of(1), 100, 100); // took over at offset 100, hw already there
    assertThat(fetch(2, 120, 120).isrChange()).isNotNull();
    LeaderReplicaState other = new LeaderReplicaState(1, LAG_MS);
    other.becomeLeader(5, 10, List.of(1, 2, 3), List.of(1), List.of(), brokers, 100, 50, now);
    assertThat(other.onFollowerFetch(2, 12, 80, 120, now).isrChange())
        .as("above the high watermark (50) but below the epoch start (100)").isNull();
  }

  @Test
  void aStaleRejectionBlocksProposalsUntilANewerImage() {
    lead(List.of(1, 2, 3), 0, 0);
    now += LAG_MS + 1;
    IsrChange change = state.maybeShrink(now);
    assertThat(change).isNotNull();
    state.onAlterPartitionResult(change, AlterResult.REJECTED_STALE, -1, List.of(), List.of(), now);
    assertThat(state.pending()).isNull();
    assertThat(state.maybeShrink(now)).as("blocked until a newer image").isNull();
    state.onImage(10, List.of(1, 2, 3), List.of(1, 2, 3), List.of(), brokers, now);
    assertThat(state.maybeShrink(now)).as("same partition epoch: still blocked").isNull();
    state.onImage(12, List.of(1, 2, 3), List.of(1, 2, 3), List.of(), brokers, now);
    assertThat(state.maybeShrink(now)).isEqualTo(new IsrChange(5, 12, List.of(1)));
  }

  @Test
  void aRetriableRejectionBacksOff() {
    lead(List.of(1, 2, 3), 0, 0);
    now += LAG_MS + 1;
    IsrChange change = state.maybeShrink(now);
    state.onAlterPartitionResult(change, AlterResult.REJECTED_RETRIABLE, -1, List.of(), List.of(), now);
    assertThat(state.maybeShrink(now)).isNull();
    now += LeaderReplicaState.RETRY_BACKOFF_MS;
    assertThat(state.maybeShrink(now)).isEqualTo(change);
  }

  @Test
  void theQuorumsAnswerIsAppliedAsItIs() {
    lead(List.of(1, 2), 0, 0);
    fetch(2, 10, 10);
    IsrChange change = fetch(3, 10, 10).isrChange();
    assertThat(change).isNotNull();
    // the quorum applied something else (say, the controller removed 2 meanwhile)
    state.onAlterPartitionResult(change, AlterResult.APPLIED, 12, List.of(1, 3), List.of(), now);
    assertThat(state.isr()).containsExactly(1, 3);
    assertThat(state.partitionEpoch()).isEqualTo(12);
    // an older image arriving late changes nothing
    state.onImage(11, List.of(1, 2, 3), List.of(1, 2), List.of(), brokers, now);
    assertThat(state.isr()).containsExactly(1, 3);
  }

  @Test
  void becomingLeaderAgainResetsFollowersButKeepsTheHighWatermark() {
    lead(List.of(1, 2, 3), 0, 0);
    fetch(2, 100, 100);
    fetch(3, 100, 100);
    assertThat(state.highWatermark()).isEqualTo(100);
    state.becomeLeader(7, 14, List.of(1, 2, 3), List.of(1, 2, 3), List.of(), brokers, 100, 40, now);
    assertThat(state.highWatermark()).isEqualTo(100);
    assertThat(state.followerLogEndOffset(2)).isEqualTo(-1);
    assertThat(state.maybeAdvanceHighWatermark(150)).isEqualTo(-1);
  }
}
