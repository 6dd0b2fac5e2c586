package dev.brook.it.faults;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The cluster's state after the run was healed and settled: per partition the high watermark and
 * the value id at each offset below it as a fresh consumer read it from the leader (0 where it
 * could not be read), and per node and partition a fingerprint of the stored batch that holds
 * each offset below the high watermark (0 where the replica has none). Pure data.
 */
public final class FinalState {
  final long[] highWatermarks;
  final long[][] log;
  /** node id to per-partition, per-offset batch fingerprints; empty when replicas were not read. */
  final Map<Integer, long[][]> replicaPrints = new TreeMap<>();
  /** Why something could not be read (a partition that never settled, a replica that would not open). */
  final List<String> problems = new ArrayList<>();
  boolean settled = true;
  /** Partitions whose high watermark could not be learned (no leader after the final heal). */
  final boolean[] unreadable;

  public FinalState(long[] highWatermarks, long[][] log) {
    this.highWatermarks = highWatermarks;
    this.log = log;
    this.unreadable = new boolean[highWatermarks.length];
  }

  /** Marks a partition whose end could not be learned: its records are neither found nor lost. */
  public FinalState unreadable(int partition) {
    unreadable[partition] = true;
    return this;
  }

  public int partitions() {
    return highWatermarks.length;
  }

  /** The value id at (partition, offset) in the final read, or 0. */
  public long at(int partition, long offset) {
    long[] l = log[partition];
    return offset >= 0 && offset < l.length ? l[(int) offset] : 0;
  }

  public FinalState replica(int node, long[][] printsByPartition) {
    replicaPrints.put(node, printsByPartition);
    return this;
  }

  public FinalState problem(String p) {
    problems.add(p);
    return this;
  }
}
