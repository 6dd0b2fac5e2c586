package dev.brook.quorum;

import java.util.List;

/**
 * One partition's assignment in a {@link MetadataImage}: immutable.
 *
 * @param leaderId the leader's node id, -1 when the partition has no leader
 * @param leaderEpoch grows by one at every leader change, 0 at creation
 * @param replicas broker node ids, the preferred leader first
 * @param isr in-sync replicas, a subset of {@code replicas}
 */
public record PartitionImage(int partition, int leaderId, int leaderEpoch, List<Integer> replicas, List<Integer> isr) {
  public PartitionImage {
    replicas = List.copyOf(replicas);
    isr = List.copyOf(isr);
  }
}
