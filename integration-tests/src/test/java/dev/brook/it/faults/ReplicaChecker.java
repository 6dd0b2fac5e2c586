package dev.brook.it.faults;

import java.util.Map;

/**
 * <b>divergent</b> (violation): offsets below a partition's high watermark at which the replicas'
 * stored batches differ (another batch, other bytes, or missing on one replica). Replicas are
 * compared by a fingerprint of the batch that holds each offset (its base and last offset and
 * CRC), read from each node's log directory after a clean shutdown.
 */
public final class ReplicaChecker implements Checker {
  @Override
  public CheckResult check(History history, FinalState end, long runEndNanos) {
    CheckResult r = new CheckResult();
    long divergent = 0;
    Map<Integer, long[][]> prints = end.replicaPrints;
    if (prints.size() >= 2) {
      for (int p = 0; p < end.partitions(); p++) {
        long hw = end.highWatermarks[p];
        long firstBad = -1;
        long bad = 0;
        for (long o = 0; o < hw; o++) {
          long ref = -1;
          boolean differs = false;
          for (long[][] byPartition : prints.values()) {
            long[] fp = byPartition[p];
            long v = o < fp.length ? fp[(int) o] : 0;
            if (v == 0 || (ref != -1 && v != ref)) differs = true;
            if (ref == -1) ref = v;
          }
          if (differs) {
            if (firstBad < 0) firstBad = o;
            bad++;
          }
        }
        if (bad > 0) {
          StringBuilder sb = new StringBuilder("divergent: partition " + p + " has " + bad
              + " offsets below its high watermark " + hw + " where replicas differ, the first at " + firstBad + " (");
          for (Map.Entry<Integer, long[][]> e : prints.entrySet()) {
            long[] fp = e.getValue()[p];
            sb.append("node ").append(e.getKey()).append(": ")
                .append(firstBad < fp.length && fp[(int) firstBad] != 0 ? Long.toHexString(fp[(int) firstBad]) : "missing")
                .append(", ").append(fp.length).append(" offsets; ");
          }
          r.example(sb.append(')').toString());
        }
        divergent += bad;
      }
    }
    r.violationCount("divergent", divergent);
    r.field("replicas-compared", String.valueOf(prints.size()));
    return r;
  }
}
