package dev.brook.client;

import java.util.List;

/**
 * A partition as the cluster metadata describes it. {@code leaderId} is -1 and
 * {@code leaderAddress} null when the partition has no (known) leader.
 */
public record PartitionInfo(String topic, int partition, int leaderId, String leaderAddress,
    int leaderEpoch, List<Integer> replicas, List<Integer> isr) {
  public PartitionInfo {
    replicas = List.copyOf(replicas);
    isr = List.copyOf(isr);
  }

  /** The same partition led by another broker (from a NOT_LEADER hint). */
  PartitionInfo withLeader(int newLeaderId, String newLeaderAddress) {
    return new PartitionInfo(topic, partition, newLeaderId, newLeaderAddress, leaderEpoch, replicas, isr);
  }
}
