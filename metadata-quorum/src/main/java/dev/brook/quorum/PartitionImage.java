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
 * @param partitionEpoch grows by one at every change of leader or ISR, 0 at creation; an
 *     {@link AlterPartitionRequest} must name the current one
 */
public record PartitionImage(int partition, int leaderId, int leaderEpoch, List<Integer> replicas, List<Integer> isr,
    int partitionEpoch) {
  public PartitionImage {
    replicas = List.copyOf(replicas);
    isr = List.copyOf(isr);
  }

  /** The preferred leader: the first replica. */
  public int preferredLeader() {
    return replicas.get(0);
  }
}
