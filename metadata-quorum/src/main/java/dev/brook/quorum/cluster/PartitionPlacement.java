package dev.brook.quorum.cluster;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

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
public final class PartitionPlacement {
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

  /**
   * Rack-aware when {@code brokerRacks} names two or more racks (an empty rack counts as a rack of
   * its own name ""), else {@link #place(List, int, int, int)}.
   *
   * @param brokerRacks usable broker id to rack, not empty
   */
  static List<List<Integer>> place(Map<Integer, String> brokerRacks, int partitions, int replicationFactor, int seed) {
    TreeMap<String, List<Integer>> byRack = new TreeMap<>();
    for (Map.Entry<Integer, String> e : new TreeMap<>(brokerRacks).entrySet()) {
      byRack.computeIfAbsent(e.getValue(), k -> new ArrayList<>()).add(e.getKey());
    }
    if (byRack.size() < 2) return place(List.copyOf(new TreeMap<>(brokerRacks).keySet()), partitions, replicationFactor, seed);
    int n = brokerRacks.size();
    if (partitions < 1) throw new IllegalArgumentException("partitions must be >= 1, got " + partitions);
    if (replicationFactor < 1 || replicationFactor > n) {
      throw new IllegalArgumentException("replication factor must be 1.." + n + ", got " + replicationFactor);
    }
    // Alternate racks: the i-th broker of every rack, rack by rack.
    List<Integer> arranged = new ArrayList<>(n);
    for (int i = 0; arranged.size() < n; i++) {
      for (List<Integer> rack : byRack.values()) if (i < rack.size()) arranged.add(rack.get(i));
    }
    int racks = byRack.size();
    int start = Math.floorMod(seed, n);
    int shift = Math.floorMod(seed / n, n);
    List<List<Integer>> out = new ArrayList<>(partitions);
    for (int p = 0; p < partitions; p++) {
      if (p > 0 && p % n == 0) shift++;
      int first = (start + p) % n;
      int leader = arranged.get(first);
      List<Integer> replicas = new ArrayList<>(replicationFactor);
      Set<String> racksUsed = new HashSet<>();
      replicas.add(leader);
      racksUsed.add(brokerRacks.get(leader));
      for (int k = 0; replicas.size() < replicationFactor; k++) {
        int offset = 1 + Math.floorMod(shift * racks + k, n - 1);
        int broker = arranged.get((first + offset) % n);
        String rack = brokerRacks.get(broker);
        // Bounded: within 2(n-1) steps every broker was a candidate with all racks used.
        if (replicas.contains(broker)) continue;
        if (racksUsed.contains(rack) && racksUsed.size() < racks && k < n - 1) continue;
        replicas.add(broker);
        racksUsed.add(rack);
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
