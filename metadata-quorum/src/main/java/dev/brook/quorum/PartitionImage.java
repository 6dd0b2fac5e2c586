package dev.brook.quorum;

import java.util.List;

/**
 * One partition's assignment in a {@link MetadataImage}: immutable.
 *
 * @param leaderId the leader's node id, -1 when the partition has no leader
 * @param leaderEpoch grows by one at every leader change (never on an ISR-only change, KAFKA-15021), 0 at creation
 * @param replicas broker node ids, the preferred leader first
 * @param isr in-sync replicas, a subset of {@code replicas}; never empty (the last member stays even
 *     when it is fenced, so we know who holds the data)
 * @param partitionEpoch grows by one at every change of leader, ISR or ELR, 0 at creation; an
 *     {@link AlterPartitionRequest} must name the current one
 * @param eligibleLeaderReplicas the ELR (Kafka's KIP-966): replicas outside the ISR that still
 *     hold every record below the high watermark, because they left the ISR while it had fewer
 *     than min.insync.replicas members and a leader does not advance its high watermark while
 *     this list is not empty. Disjoint from {@code isr}, in replica order; usually empty.
 */
public record PartitionImage(int partition, int leaderId, int leaderEpoch, List<Integer> replicas, List<Integer> isr,
    int partitionEpoch, List<Integer> eligibleLeaderReplicas) {
  public PartitionImage {
    replicas = List.copyOf(replicas);
    isr = List.copyOf(isr);
    eligibleLeaderReplicas = List.copyOf(eligibleLeaderReplicas);
  }

  /** A partition without eligible leader replicas. */
  public PartitionImage(int partition, int leaderId, int leaderEpoch, List<Integer> replicas, List<Integer> isr,
      int partitionEpoch) {
    this(partition, leaderId, leaderEpoch, replicas, isr, partitionEpoch, List.of());
  }

  /** The preferred leader: the first replica. */
  public int preferredLeader() {
    return replicas.get(0);
  }
}
