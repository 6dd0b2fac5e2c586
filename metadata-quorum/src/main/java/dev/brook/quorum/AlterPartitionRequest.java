package dev.brook.quorum;

import java.util.List;

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
 */
public record AlterPartitionRequest(String topic, int partition, int leaderId, long leaderBrokerEpoch, int leaderEpoch,
    int partitionEpoch, List<Integer> newIsr) {
  public AlterPartitionRequest {
    newIsr = List.copyOf(newIsr);
  }
}
