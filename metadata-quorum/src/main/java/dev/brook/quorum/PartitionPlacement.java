package dev.brook.quorum;

import java.util.ArrayList;
import java.util.List;

/**
 * Chooses the replicas of a new topic's partitions: round-robin over the usable brokers, the
 * preferred leader of partition p being broker {@code (start + p) mod n}, so leaders are spread
 * evenly; followers are the next brokers after the leader, shifted by one every n partitions
 * (Kafka's rack-unaware assignment) so that a broker's followers are not always the same brokers.
 *
 * <p>Pure and deterministic: the same inputs give the same placement. The start offset comes from
 * the caller (derived from the topic name) instead of randomness, so tests can reproduce it.
 * Rack awareness comes later.
 */
final class PartitionPlacement {
  private PartitionPlacement() {}

  /**
   * @param brokers usable broker ids, sorted ascending, no duplicates, not empty
   * @param partitions >= 1
   * @param replicationFactor 1..brokers.size()
   * @param seed any int; the same seed gives the same placement
   * @return one replica list per partition, preferred leader first
   */
  static List<List<Integer>> place(List<Integer> brokers, int partitions, int replicationFactor, int seed) {
    int n = brokers.size();
    if (n == 0) throw new IllegalArgumentException("no brokers");
    if (partitions < 1) throw new IllegalArgumentException("partitions must be >= 1, got " + partitions);
    if (replicationFactor < 1 || replicationFactor > n) {
      throw new IllegalArgumentException("replication factor must be 1.." + n + ", got " + replicationFactor);
    }
    int start = Math.floorMod(seed, n);
    int shift = n > 1 ? Math.floorMod(seed / n, n - 1) : 0;
    List<List<Integer>> out = new ArrayList<>(partitions);
    for (int p = 0; p < partitions; p++) {
      if (p > 0 && p % n == 0) shift++;
      int first = (start + p) % n;
      List<Integer> replicas = new ArrayList<>(replicationFactor);
      replicas.add(brokers.get(first));
      for (int j = 0; j < replicationFactor - 1; j++) {
        // offsets 1..n-1 from the leader, distinct for j < n-1: never the leader, never twice.
        int offset = 1 + (shift + j) % (n - 1);
        replicas.add(brokers.get((first + offset) % n));
      }
      out.add(List.copyOf(replicas));
    }
    return out;
  }

  /** A stable seed for a topic name (String.hashCode is specified, so equal on every JVM). */
  static int seedFor(String topicName) {
    return topicName.hashCode();
  }
}
