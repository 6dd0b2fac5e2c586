package dev.brook.it.faults;

import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The partition-log checks of a run with acks=all producers and from-the-beginning readers:
 * <ul>
 *   <li><b>lost</b> (violation): an acknowledged value that is nowhere in the final log of its
 *       partition;
 *   <li><b>wrong-offset</b> (violation): an acknowledged value that is in the final log, but not
 *       at the offset it was acknowledged with;
 *   <li><b>vanished</b> (violation): a (partition, offset) at which a consumer saw a value that
 *       the final log does not have there (gone, or replaced by another), including a consumer
 *       that saw two different values at one offset;
 *   <li><b>duplicates</b> (reported): extra copies of a value in the final logs (a retried send
 *       whose first attempt was written; zero only with an idempotent producer);
 *   <li><b>reordered</b> (reported): per producer and partition, a value stored after a value
 *       that the same producer sent later;
 *   <li><b>unreadable</b> (violation): acknowledged values in partitions whose end could not be
 *       learned after the final heal (no leader): neither found nor known to be lost;
 *   <li><b>unacked-present</b> (reported): values in the log that were never acknowledged
 *       (sends that failed or timed out after being written: indeterminate, not an error).
 * </ul>
 */
public final class LogChecker implements Checker {
  @Override
  public CheckResult check(History history, FinalState end, long runEndNanos) {
    CheckResult r = new CheckResult();
    List<History.Ack> acks = history.snapshotAcks();
    int partitions = end.partitions();

    // Where each value id is in the final logs (only built if some ack is not at its offset).
    Map<Long, long[]> where = null;
    long lost = 0;
    long wrongOffset = 0;
    long unreadable = 0;
    Map<Integer, BitSet> acked = new HashMap<>();
    for (History.Ack a : acks) {
      acked.computeIfAbsent(a.producer(), k -> new BitSet()).set(Math.toIntExact(a.seq()));
      long id = a.valueId();
      if (end.unreadable[a.partition()]) {
        unreadable++;
        continue;
      }
      if (end.at(a.partition(), a.offset()) == id) continue;
      if (where == null) where = index(end);
      long[] at = where.get(id);
      if (at == null) {
        lost++;
        r.example("lost: " + ValueIds.describe(id) + " acknowledged at partition " + a.partition() + " offset "
            + a.offset() + ", which holds " + ValueIds.describe(end.at(a.partition(), a.offset()))
            + " (high watermark " + end.highWatermarks[a.partition()] + ")");
      } else {
        wrongOffset++;
        r.example("wrong-offset: " + ValueIds.describe(id) + " acknowledged at partition " + a.partition()
            + " offset " + a.offset() + " is at partition " + at[0] + " offset " + at[1]);
      }
    }
    r.violationCount("lost", lost);
    r.violationCount("wrong-offset", wrongOffset);
    r.violationCount("unreadable", unreadable);

    // Vanished: what consumers saw must still be there.
    long vanished = 0;
    BitSet[] vanishedAt = new BitSet[partitions];
    for (int p = 0; p < partitions; p++) vanishedAt[p] = new BitSet();
    for (History.ConsumedLog c : history.consumedLogs()) {
      for (int p = 0; p < partitions; p++) {
        if (end.unreadable[p]) continue;
        long[] seen = c.partition(p);
        for (int o = 0; o < seen.length; o++) {
          if (seen[o] == 0 || end.at(p, o) == seen[o] || vanishedAt[p].get(o)) continue;
          vanishedAt[p].set(o);
          vanished++;
          r.example("vanished: consumer " + c.name() + " saw " + ValueIds.describe(seen[o]) + " at partition " + p
              + " offset " + o + ", which now holds " + ValueIds.describe(end.at(p, o)));
        }
      }
    }
    for (History.Conflict c : history.conflicts()) {
      if (end.unreadable[c.partition()]) continue;
      if (vanishedAt[c.partition()].get(Math.toIntExact(c.offset()))) continue;
      vanishedAt[c.partition()].set(Math.toIntExact(c.offset()));
      vanished++;
      r.example("vanished: consumer " + c.consumer() + " saw " + ValueIds.describe(c.seenId()) + " and later "
          + ValueIds.describe(c.laterId()) + " at partition " + c.partition() + " offset " + c.offset());
    }
    r.violationCount("vanished", vanished);

    // Duplicates, order, unacknowledged values in the log.
    long duplicates = 0;
    long reordered = 0;
    long unackedPresent = 0;
    Map<Integer, BitSet> present = new HashMap<>();
    for (int p = 0; p < partitions; p++) {
      Map<Integer, Long> lastSeq = new HashMap<>();
      long[] l = end.log[p];
      for (long id : l) {
        if (id == 0) continue;
        int producer = ValueIds.producer(id);
        int seq = Math.toIntExact(ValueIds.seq(id));
        BitSet seen = present.computeIfAbsent(producer, k -> new BitSet());
        if (seen.get(seq)) {
          duplicates++;
          continue;
        }
        seen.set(seq);
        BitSet a = acked.get(producer);
        if (a == null || !a.get(seq)) unackedPresent++;
        Long last = lastSeq.get(producer);
        if (last != null && seq < last) {
          reordered++;
        } else {
          lastSeq.put(producer, (long) seq);
        }
      }
    }
    r.count("duplicates", duplicates);
    r.count("reordered", reordered);
    r.count("unacked-present", unackedPresent);
    return r;
  }

  /** value id to {partition, first offset} over the final logs. */
  private static Map<Long, long[]> index(FinalState end) {
    Map<Long, long[]> where = new HashMap<>();
    for (int p = 0; p < end.partitions(); p++) {
      long[] l = end.log[p];
      for (int o = 0; o < l.length; o++) {
        if (l[o] != 0) where.putIfAbsent(l[o], new long[] {p, o});
      }
    }
    return where;
  }
}
