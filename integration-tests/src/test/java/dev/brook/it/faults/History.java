package dev.brook.it.faults;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * What happened during a run, as recorded by the workloads and the nemesis: every acknowledged
 * record, every record a consumer saw, every fault with its injection and heal times. Thread-safe
 * for recording; the checkers read an immutable {@link #snapshotAcks() snapshot}.
 *
 * <p>Record values are identified by a {@code long} value id (see {@link ValueIds}) so that a long
 * run's history stays small.
 */
public final class History {
  /** The producer {@code producer} got an acknowledgement for its record {@code seq} at (partition, offset). */
  public record Ack(int producer, long seq, int partition, long offset, long nanos) {
    long valueId() {
      return ValueIds.of(producer, seq);
    }
  }

  /**
   * A fault: its kind, what it hit, the partitions the nodes it hit led just before (their
   * leaders were affected), when it was injected, healed and recovered (nanoTime; -1: never), and
   * when the first node it killed was back (ready again after its restart; the heal time when it
   * killed none).
   */
  public record FaultEvent(String kind, String target, List<Integer> ledPartitions, long startNanos, long healNanos,
      long recoveredNanos, long backNanos) {
    public FaultEvent(String kind, String target, List<Integer> ledPartitions, long startNanos, long healNanos,
        long recoveredNanos) {
      this(kind, target, ledPartitions, startNanos, healNanos, recoveredNanos, healNanos);
    }

    public FaultEvent(String kind, String target, long startNanos, long healNanos, long recoveredNanos) {
      this(kind, target, List.of(), startNanos, healNanos, recoveredNanos);
    }
  }

  /** A consumer saw {@code seenId} at (partition, offset) and later {@code laterId} at the same place. */
  public record Conflict(String consumer, int partition, long offset, long seenId, long laterId) {}

  private final ConcurrentLinkedQueue<Ack> acks = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<FaultEvent> faults = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<Conflict> conflicts = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<ConsumedLog> consumed = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<String> notes = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<ConsumedLog> groupConsumed = new ConcurrentLinkedQueue<>();
  /** Per partition, the highest offset a group commit was acknowledged with (-1: none). */
  private final java.util.concurrent.ConcurrentHashMap<Integer, Long> groupAcked = new java.util.concurrent.ConcurrentHashMap<>();
  private final java.util.concurrent.atomic.AtomicLong groupCommits = new java.util.concurrent.atomic.AtomicLong();
  /** The group's committed offsets as read after the final heal; null until read (or when they could not be). */
  private volatile Map<Integer, Long> groupCommitted;

  public void ack(Ack a) {
    acks.add(a);
  }

  public void fault(FaultEvent f) {
    faults.add(f);
  }

  public void conflict(Conflict c) {
    conflicts.add(c);
  }

  /** Registers a consumer's log of what it saw (it keeps filling it). */
  public void consumed(ConsumedLog log) {
    consumed.add(log);
  }

  /** A free-form observation worth printing (a stuck recovery, a failed heal). */
  public void note(String s) {
    notes.add(s);
  }

  public List<Ack> snapshotAcks() {
    return new ArrayList<>(acks);
  }

  public List<FaultEvent> faults() {
    return new ArrayList<>(faults);
  }

  public List<Conflict> conflicts() {
    return new ArrayList<>(conflicts);
  }

  public List<ConsumedLog> consumedLogs() {
    return new ArrayList<>(consumed);
  }

  public List<String> notes() {
    return new ArrayList<>(notes);
  }

  /**
   * Registers the log of one consumer-group member slot (its successive clients fill it). It is
   * also a consumer log: what a member saw must not vanish either.
   */
  public void groupConsumed(ConsumedLog log) {
    groupConsumed.add(log);
    consumed.add(log);
  }

  /** The group acknowledged a commit of {@code offset} for {@code partition}. */
  public void groupCommitAcked(int partition, long offset) {
    groupCommits.incrementAndGet();
    groupAcked.merge(partition, offset, Math::max);
  }

  /** The group's committed offsets after the final heal (partition -> offset; absent: none). */
  public void groupCommitted(Map<Integer, Long> committed) {
    groupCommitted = Map.copyOf(committed);
  }

  public List<ConsumedLog> groupLogs() {
    return new ArrayList<>(groupConsumed);
  }

  public Map<Integer, Long> groupAckedCommits() {
    return Map.copyOf(groupAcked);
  }

  public long groupCommitCount() {
    return groupCommits.get();
  }

  /** Null when the final committed offsets could not be read. */
  public Map<Integer, Long> groupCommittedAtEnd() {
    return groupCommitted;
  }

  /**
   * One consumer's view: per partition, the value id it saw at each offset (0 = not seen).
   * Written by the consumer's thread only; read after it stopped.
   */
  public static final class ConsumedLog {
    final String name;
    final LongArray[] byPartition;

    public ConsumedLog(String name, int partitions) {
      this.name = name;
      this.byPartition = new LongArray[partitions];
      for (int p = 0; p < partitions; p++) byPartition[p] = new LongArray();
    }

    /** Records {@code id} at (partition, offset); returns the id seen there before, or 0. */
    public long see(int partition, long offset, long id) {
      LongArray a = byPartition[partition];
      long before = a.get(offset);
      if (before == 0) a.set(offset, id);
      return before;
    }

    public String name() {
      return name;
    }

    public long[] partition(int p) {
      return byPartition[p].toArray();
    }
  }

  /** A growable array of longs indexed by offset; 0 where nothing was set. */
  static final class LongArray {
    private long[] a = new long[1024];
    private int size;

    long get(long i) {
      return i < size ? a[(int) i] : 0;
    }

    void set(long i, long v) {
      int idx = Math.toIntExact(i);
      if (idx >= a.length) a = java.util.Arrays.copyOf(a, Math.max(idx + 1, a.length * 2));
      a[idx] = v;
      size = Math.max(size, idx + 1);
    }

    long[] toArray() {
      return java.util.Arrays.copyOf(a, size);
    }
  }
}
