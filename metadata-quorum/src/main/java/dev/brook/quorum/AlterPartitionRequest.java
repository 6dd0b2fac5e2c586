package dev.brook.quorum;

import java.util.List;
import java.util.Map;

/**
 * A partition leader's request to change the ISR of its partition (shrink when followers lag,
 * expand when they caught up). Checked against the current state on the quorum leader and again
 * when applied (KIP-497, KIP-841, KIP-903).
 *
 * @param leaderId the broker sending the request, which must lead the partition
 * @param leaderBrokerEpoch its current broker epoch (a restarted broker's stale request is refused)
 * @param leaderEpoch the leader epoch the leader knows
 * @param partitionEpoch the partition epoch the leader knows
 * @param newIsr the whole new ISR; must contain the leader; added members must be active replicas
 * @param addedBrokerEpochs for members being added: the broker epoch each had when the leader saw
 *     it catch up. A member that restarted since (and may have lost records) has another epoch
 *     now, and the change is refused with STALE_BROKER_EPOCH (KIP-903). Members not listed are
 *     not checked.
 */
public record AlterPartitionRequest(String topic, int partition, int leaderId, long leaderBrokerEpoch, int leaderEpoch,
    int partitionEpoch, List<Integer> newIsr, Map<Integer, Long> addedBrokerEpochs) {
  public AlterPartitionRequest {
    newIsr = List.copyOf(newIsr);
    addedBrokerEpochs = Map.copyOf(addedBrokerEpochs);
  }

  /** A change that checks no member broker epochs (shrinks, tests). */
  public AlterPartitionRequest(String topic, int partition, int leaderId, long leaderBrokerEpoch, int leaderEpoch,
      int partitionEpoch, List<Integer> newIsr) {
    this(topic, partition, leaderId, leaderBrokerEpoch, leaderEpoch, partitionEpoch, newIsr, Map.of());
  }
}
