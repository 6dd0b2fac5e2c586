package dev.brook.client;

import java.util.List;

/**
 * A partition as the cluster metadata describes it. {@code leaderId} is -1 and
 * {@code leaderAddress} null when the partition has no (known) leader. {@code
 * eligibleLeaderReplicas}: replicas outside the ISR that still hold every committed record
 * (they left it while it was below min.insync.replicas), usually empty.
 */
public record PartitionInfo(String topic, int partition, int leaderId, String leaderAddress,
    int leaderEpoch, List<Integer> replicas, List<Integer> isr, List<Integer> eligibleLeaderReplicas) {
  public PartitionInfo {
    replicas = List.copyOf(replicas);
    isr = List.copyOf(isr);
    eligibleLeaderReplicas = List.copyOf(eligibleLeaderReplicas);
  }

  /** The same partition led by another broker (from a NOT_LEADER hint). */
  PartitionInfo withLeader(int newLeaderId, String newLeaderAddress) {
    return new PartitionInfo(topic, partition, newLeaderId, newLeaderAddress, leaderEpoch, replicas, isr, eligibleLeaderReplicas);
  }
}
