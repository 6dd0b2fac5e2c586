package dev.brook.it.faults;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Availability per fault kind (reported, not a violation): for each fault, the longest time
 * without any acknowledgement from its injection until the first acknowledgement after its heal,
 * (1) over all partitions together ("any"), (2) per partition, worst of the partitions that the
 * nodes it hit led when it was injected ("led"), (3) the same over the other partitions
 * ("other"); (4) from the heal until every partition had an acknowledgement again ("heal":
 * what an outage costs once its nodes are restarted, JVM start included); and (5) the same from
 * the moment the first killed node was back, ready to serve ("back": the figure for
 * {@code kill-two}, "once one of them is back"; equal to "heal" for faults that kill nothing);
 * per kind the maximum over its faults, as {@code max-unavailable-ms{kind=any/led/other/heal/back,...}} ("-" when
 * no fault of the kind had such partitions). A fault after whose heal no acknowledgement came is
 * measured up to the end of the run.
 */
public final class AvailabilityChecker implements Checker {
  @Override
  public CheckResult check(History history, FinalState end, long runEndNanos) {
    CheckResult r = new CheckResult();
    List<History.Ack> acks = history.snapshotAcks();
    int partitions = end.partitions();
    long[] all = acks.stream().mapToLong(History.Ack::nanos).sorted().toArray();
    long[][] byPartition = new long[partitions][];
    for (int p = 0; p < partitions; p++) {
      int part = p;
      byPartition[p] = acks.stream().filter(a -> a.partition() == part).mapToLong(History.Ack::nanos).sorted().toArray();
    }
    Map<String, long[]> byKind = new TreeMap<>();
    for (History.FaultEvent f : history.faults()) {
      long[] w = windows(f, all, byPartition, runEndNanos);
      long[] m = byKind.computeIfAbsent(f.kind(), k -> new long[] {0, -1, -1, 0, 0});
      for (int i = 0; i < m.length; i++) m[i] = Math.max(m[i], w[i]);
    }
    List<String> parts = new ArrayList<>();
    byKind.forEach((k, m) -> parts.add(k + "=" + format(m)));
    r.field("max-unavailable-ms", "{" + String.join(",", parts) + "}");
    return r;
  }

  /** The windows of each fault, in the order of {@link History#faults()}, as "any/led/other/heal/back" ms. */
  static List<String> perFault(History history, int partitions, long runEndNanos) {
    List<History.Ack> acks = history.snapshotAcks();
    long[] all = acks.stream().mapToLong(History.Ack::nanos).sorted().toArray();
    long[][] byPartition = new long[partitions][];
    for (int p = 0; p < partitions; p++) {
      int part = p;
      byPartition[p] = acks.stream().filter(a -> a.partition() == part).mapToLong(History.Ack::nanos).sorted().toArray();
    }
    List<String> out = new ArrayList<>();
    for (History.FaultEvent f : history.faults()) out.add(format(windows(f, all, byPartition, runEndNanos)));
    return out;
  }

  /** {any, led, other, heal, back} in ms for one fault; -1 where it had no such partition. */
  private static long[] windows(History.FaultEvent f, long[] all, long[][] byPartition, long runEndNanos) {
    long[] m = {maxGap(all, f.startNanos(), f.healNanos(), runEndNanos) / 1_000_000, -1, -1, 0, 0};
    for (int p = 0; p < byPartition.length; p++) {
      long gap = maxGap(byPartition[p], f.startNanos(), f.healNanos(), runEndNanos) / 1_000_000;
      int slot = f.ledPartitions().contains(p) ? 1 : 2;
      m[slot] = Math.max(m[slot], gap);
      m[3] = Math.max(m[3], sinceHeal(byPartition[p], f.healNanos(), runEndNanos) / 1_000_000);
      m[4] = Math.max(m[4], sinceHeal(byPartition[p], f.backNanos(), runEndNanos) / 1_000_000);
    }
    return m;
  }

  /** From {@code heal} to the first time at or after it in {@code sorted} (ascending), or to {@code runEnd}. */
  static long sinceHeal(long[] sorted, long heal, long runEnd) {
    int i = Arrays.binarySearch(sorted, heal);
    i = i < 0 ? -i - 1 : i;
    return (i < sorted.length ? sorted[i] : Math.max(heal, runEnd)) - heal;
  }

  private static String format(long[] m) {
    return m[0] + "/" + (m[1] < 0 ? "-" : m[1]) + "/" + (m[2] < 0 ? "-" : m[2]) + "/" + m[3] + "/" + m[4];
  }

  /**
   * The longest interval without a time in {@code sorted} (ascending), from {@code start} to the
   * first time after {@code heal} (or {@code runEnd} if there is none).
   */
  static long maxGap(long[] sorted, long start, long heal, long runEnd) {
    int i = Arrays.binarySearch(sorted, start);
    i = i < 0 ? -i - 1 : i;
    long prev = start;
    long max = 0;
    for (; i < sorted.length; i++) {
      long t = sorted[i];
      max = Math.max(max, t - prev);
      prev = t;
      if (t > heal) return max;
    }
    return Math.max(max, runEnd - prev);
  }
}
