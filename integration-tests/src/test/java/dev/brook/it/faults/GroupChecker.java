package dev.brook.it.faults;

import java.util.List;
import java.util.Map;

/**
 * The consumer-group checks of a run with {@link GroupWorkload} (what the members saw is also
 * checked for vanished records by {@link LogChecker}):
 * <ul>
 *   <li><b>group-lost-commits</b> (violation): partitions whose committed offset after the final
 *       heal is below an offset a commit was acknowledged with. Committed offsets only move
 *       forward in this workload (a member commits what it was handed; the next owner starts
 *       from the committed offset), so this is an acknowledged commit rolled back, or a fenced
 *       zombie's commit let through;
 *   <li><b>group-skipped</b> (violation): offsets below a partition's committed offset that no
 *       member was ever handed (at-least-once broken across a rebalance, a member's leave, or a
 *       coordinator failover);
 *   <li><b>group-beyond-end</b> (violation): partitions whose committed offset is above the final
 *       high watermark;
 *   <li><b>group-unreadable</b> (violation): the committed offsets could not be read after the
 *       final heal;
 *   <li><b>group-redelivered</b> (reported): offsets handed to more than one member slot
 *       (re-delivery after a partition moved: allowed by at-least-once);
 *   <li><b>group-lag</b> (reported): records between the committed offsets and the high
 *       watermarks when the members stopped;
 *   <li><b>group-commits</b> (reported): acknowledged commits.
 * </ul>
 */
public final class GroupChecker implements Checker {
  @Override
  public CheckResult check(History history, FinalState end, long runEndNanos) {
    CheckResult r = new CheckResult();
    Map<Integer, Long> committed = history.groupCommittedAtEnd();
    List<History.ConsumedLog> logs = history.groupLogs();
    long lostCommits = 0;
    long skipped = 0;
    long beyondEnd = 0;
    long redelivered = 0;
    long lag = 0;
    r.violationCount("group-unreadable", committed == null ? 1 : 0);
    if (committed != null) {
      for (Map.Entry<Integer, Long> acked : history.groupAckedCommits().entrySet()) {
        long at = committed.getOrDefault(acked.getKey(), -1L);
        if (at < acked.getValue()) {
          lostCommits++;
          r.example("group-lost-commits: partition " + acked.getKey() + " committed at " + at
              + " after the run, but a commit of " + acked.getValue() + " was acknowledged");
        }
      }
      for (int p = 0; p < end.partitions(); p++) {
        long at = committed.getOrDefault(p, 0L);
        if (!end.unreadable[p] && at > end.highWatermarks[p]) {
          beyondEnd++;
          r.example("group-beyond-end: partition " + p + " committed at " + at + ", high watermark " + end.highWatermarks[p]);
        }
        if (!end.unreadable[p]) lag += Math.max(0, end.highWatermarks[p] - at);
        long[][] seen = new long[logs.size()][];
        for (int s = 0; s < logs.size(); s++) seen[s] = logs.get(s).partition(p);
        long firstSkipped = -1;
        long skippedHere = 0;
        for (long o = 0; o < at; o++) {
          int holders = 0;
          for (long[] l : seen) if (o < l.length && l[(int) o] != 0) holders++;
          if (holders == 0) {
            skippedHere++;
            if (firstSkipped < 0) firstSkipped = o;
          }
          if (holders > 1) redelivered += holders - 1;
        }
        if (skippedHere > 0) {
          r.example("group-skipped: partition " + p + ": " + skippedHere + " offsets below the committed offset " + at
              + " were never handed to a member, the first " + firstSkipped);
        }
        skipped += skippedHere;
      }
    }
    r.violationCount("group-lost-commits", lostCommits);
    r.violationCount("group-skipped", skipped);
    r.violationCount("group-beyond-end", beyondEnd);
    r.count("group-redelivered", redelivered);
    r.count("group-lag", lag);
    r.count("group-commits", history.groupCommitCount());
    return r;
  }
}
