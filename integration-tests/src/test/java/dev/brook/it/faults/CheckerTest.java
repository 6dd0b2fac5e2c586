package dev.brook.it.faults;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The checkers on synthetic histories: each violation is found, and a clean history has none. */
class CheckerTest {
  private static final long MS = 1_000_000L;

  private static long id(int producer, long seq) {
    return ValueIds.of(producer, seq);
  }

  /** Producer 0 wrote seq 0..n-1 to partition 0 at offsets 0..n-1, all acknowledged at t = seq ms. */
  private static History cleanHistory(int n) {
    History h = new History();
    for (int s = 0; s < n; s++) h.ack(new History.Ack(0, s, 0, s, s * MS));
    return h;
  }

  private static long[] sequence(int n) {
    long[] l = new long[n];
    for (int s = 0; s < n; s++) l[s] = id(0, s);
    return l;
  }

  private static FinalState state(long[]... logs) {
    long[] hw = new long[logs.length];
    for (int p = 0; p < logs.length; p++) hw[p] = logs[p].length;
    return new FinalState(hw, logs);
  }

  @Test
  void valueIdsRoundTrip() {
    String v = ValueIds.value(3, 123456, 64);
    assertThat(v).hasSize(64).startsWith("p3-123456;");
    long id = ValueIds.parse(v);
    assertThat(ValueIds.producer(id)).isEqualTo(3);
    assertThat(ValueIds.seq(id)).isEqualTo(123456);
    assertThat(ValueIds.parse("garbage")).isEqualTo(-1);
  }

  @Test
  void cleanHistoryHasNoViolation() {
    History h = cleanHistory(10);
    History.ConsumedLog c = new History.ConsumedLog("c0", 1);
    for (int o = 0; o < 10; o++) c.see(0, o, id(0, o));
    h.consumed(c);
    CheckResult r = new LogChecker().check(h, state(sequence(10)), 10 * MS);
    assertThat(r.violated()).isFalse();
    assertThat(r.counts()).containsEntry("lost", 0L).containsEntry("wrong-offset", 0L).containsEntry("vanished", 0L)
        .containsEntry("duplicates", 0L).containsEntry("reordered", 0L).containsEntry("unacked-present", 0L);
  }

  @Test
  void acknowledgedValueMissingIsLost() {
    long[] log = sequence(10);
    log[4] = 0; // unreadable
    long[] shorter = java.util.Arrays.copyOf(sequence(10), 8); // offsets 8, 9 gone
    CheckResult r = new LogChecker().check(cleanHistory(10), state(shorter), 0);
    assertThat(r.get("lost")).isEqualTo(2);
    assertThat(r.violations()).containsExactly("lost=2");
    assertThat(new LogChecker().check(cleanHistory(10), state(log), 0).get("lost")).isEqualTo(1);
  }

  @Test
  void acknowledgedValueElsewhereIsWrongOffset() {
    long[] log = sequence(10);
    log[3] = id(0, 4);
    log[4] = id(0, 3); // swapped
    CheckResult r = new LogChecker().check(cleanHistory(10), state(log), 0);
    assertThat(r.get("wrong-offset")).isEqualTo(2);
    assertThat(r.get("lost")).isZero();
    assertThat(r.get("reordered")).isEqualTo(1);
    assertThat(r.violated()).isTrue();
  }

  @Test
  void acknowledgedValueInAnotherPartitionIsWrongOffset() {
    History h = new History();
    h.ack(new History.Ack(0, 0, 0, 0, 0));
    CheckResult r = new LogChecker().check(h, state(new long[] {0}, new long[] {id(0, 0)}), 0);
    assertThat(r.get("wrong-offset")).isEqualTo(1);
    assertThat(r.examples()).anyMatch(e -> e.contains("is at partition 1 offset 0"));
  }

  @Test
  void consumedValueThatChangedOrDisappearedVanished() {
    History h = cleanHistory(5);
    History.ConsumedLog c = new History.ConsumedLog("c0", 1);
    for (int o = 0; o < 5; o++) c.see(0, o, id(0, o));
    c.see(0, 5, id(1, 99)); // seen, never acknowledged, gone from the final log
    h.consumed(c);
    History.ConsumedLog c2 = new History.ConsumedLog("c1", 1);
    c2.see(0, 5, id(1, 99)); // the same place: counted once
    h.consumed(c2);
    CheckResult r = new LogChecker().check(h, state(sequence(5)), 0);
    assertThat(r.get("vanished")).isEqualTo(1);

    long[] changed = sequence(5);
    changed[2] = id(2, 7);
    History h2 = cleanHistory(2);
    History.ConsumedLog c3 = new History.ConsumedLog("c0", 1);
    c3.see(0, 2, id(0, 2));
    h2.consumed(c3);
    h2.conflict(new History.Conflict("c0", 0, 3, id(0, 3), id(2, 8)));
    CheckResult r2 = new LogChecker().check(h2, state(changed), 0);
    assertThat(r2.get("vanished")).isEqualTo(2);
  }

  @Test
  void duplicatesAndUnacknowledgedAreReportedNotViolations() {
    History h = cleanHistory(3);
    long[] log = {id(0, 0), id(0, 1), id(0, 1), id(0, 2), id(0, 3)}; // seq 1 twice; seq 3 never acknowledged
    h = new History();
    h.ack(new History.Ack(0, 0, 0, 0, 0));
    h.ack(new History.Ack(0, 1, 0, 2, 0)); // acknowledged for the retry at offset 2
    h.ack(new History.Ack(0, 2, 0, 3, 0));
    CheckResult r = new LogChecker().check(h, state(log), 0);
    assertThat(r.get("duplicates")).isEqualTo(1);
    assertThat(r.get("unacked-present")).isEqualTo(1);
    assertThat(r.get("reordered")).isZero();
    assertThat(r.violated()).isFalse();
  }

  @Test
  void acknowledgedValuesOfAPartitionWithoutLeaderAreUnreadableNotLost() {
    History h = cleanHistory(3);
    History.ConsumedLog c = new History.ConsumedLog("c0", 1);
    c.see(0, 0, id(0, 0));
    h.consumed(c);
    FinalState s = state(new long[0]).unreadable(0);
    CheckResult r = new LogChecker().check(h, s, 0);
    assertThat(r.get("unreadable")).isEqualTo(3);
    assertThat(r.get("lost")).isZero();
    assertThat(r.get("vanished")).isZero();
    assertThat(r.violations()).containsExactly("unreadable=3");
  }

  @Test
  void replicasThatDifferBelowTheHighWatermarkDiverge() {
    FinalState s = state(sequence(6));
    long[] a = {11, 11, 11, 22, 22, 33};
    long[] b = {11, 11, 11, 22, 22, 33};
    long[] c = {11, 11, 11, 44, 44}; // another batch at 3..4, nothing at 5
    s.replica(1, new long[][] {a}).replica(2, new long[][] {b}).replica(3, new long[][] {c});
    CheckResult r = new ReplicaChecker().check(new History(), s, 0);
    assertThat(r.get("divergent")).isEqualTo(3);
    assertThat(r.violations()).containsExactly("divergent=3");
    assertThat(r.examples().get(0)).contains("partition 0", "the first at 3");

    FinalState same = state(sequence(6));
    same.replica(1, new long[][] {a}).replica(2, new long[][] {b});
    assertThat(new ReplicaChecker().check(new History(), same, 0).violated()).isFalse();
  }

  @Test
  void availabilityIsTheLongestGapFromInjectionToTheFirstAckAfterTheHeal() {
    History h = new History();
    // partition 0 acks every 100 ms except 1000..4000; partition 1 acks until 1500, then from 6000.
    for (long t = 0; t <= 10_000; t += 100) {
      if (t <= 1000 || t >= 4000) h.ack(new History.Ack(0, t, 0, t, t * MS));
      if (t <= 1500 || t >= 6000) h.ack(new History.Ack(1, t, 1, t, t * MS));
    }
    // The killed node is back (ready) at 4500, 1500 ms after its restart began.
    h.fault(new History.FaultEvent("kill-partition-leader", "node 1", List.of(1), 900 * MS, 3000 * MS, 3500 * MS, 4500 * MS));
    h.fault(new History.FaultEvent("pause-random", "node 2", 8000 * MS, 8500 * MS, 9000 * MS));
    CheckResult r = new AvailabilityChecker().check(h, state(new long[0], new long[0]), 10_000 * MS);
    // any partition: acks of partition 1 until 1500, then partition 0 from 4000: 2500 ms;
    // the led partition 1: from 1500 to 6000; the other, partition 0: from 1000 to 4000;
    // after the heal at 3000, partition 1 acks again at 6000 (partition 0 at 4000).
    // From the node being back at 4500: partition 1 acks at 6000. The pause healed at 8500, where
    // both partitions ack.
    assertThat(r.fields().get("max-unavailable-ms"))
        .isEqualTo("{kill-partition-leader=2500/4500/3000/3000/1500,pause-random=100/-/100/0/0}");
    assertThat(AvailabilityChecker.maxGap(new long[] {1, 2}, 5, 6, 20)).isEqualTo(15);
    assertThat(AvailabilityChecker.sinceHeal(new long[] {1, 2}, 5, 20)).isEqualTo(15);
    assertThat(AvailabilityChecker.sinceHeal(new long[] {1, 7}, 5, 20)).isEqualTo(2);
  }

  @Test
  void resultsMergeAndNameTheirViolations() {
    CheckResult a = new CheckResult().violationCount("lost", 0).count("duplicates", 2);
    CheckResult b = new CheckResult().violationCount("divergent", 1).example("x");
    a.merge(b);
    assertThat(a.violations()).isEqualTo(List.of("divergent=1"));
    assertThat(a.counts()).containsEntry("duplicates", 2L);
    assertThat(a.examples()).containsExactly("x");
  }

  /** Two member slots that together were handed offsets 0..9 of partition 0 (slot 1 also 4 and 5 again). */
  private static History groupHistory() {
    History h = cleanHistory(10);
    History.ConsumedLog a = new History.ConsumedLog("g0", 1);
    History.ConsumedLog b = new History.ConsumedLog("g1", 1);
    for (int o = 0; o < 6; o++) a.see(0, o, id(0, o));
    for (int o = 4; o < 10; o++) b.see(0, o, id(0, o));
    h.groupConsumed(a);
    h.groupConsumed(b);
    h.groupCommitAcked(0, 6);
    h.groupCommitAcked(0, 10);
    return h;
  }

  @Test
  void aCleanGroupHistoryHasNoViolation() {
    History h = groupHistory();
    h.groupCommitted(java.util.Map.of(0, 10L));
    CheckResult r = new GroupChecker().check(h, state(sequence(10)), 10 * MS);
    assertThat(r.violated()).as(r.violations().toString()).isFalse();
    assertThat(r.counts()).containsEntry("group-redelivered", 2L).containsEntry("group-lag", 0L)
        .containsEntry("group-commits", 2L);
    assertThat(new LogChecker().check(h, state(sequence(10)), 10 * MS).violated()).isFalse();
  }

  @Test
  void aCommitRolledBackAnOffsetNobodyWasHandedAndACommitBeyondTheEndAreViolations() {
    History h = groupHistory();
    h.groupCommitted(java.util.Map.of(0, 6L));
    assertThat(new GroupChecker().check(h, state(sequence(10)), 10 * MS).get("group-lost-commits")).isEqualTo(1);

    History skipped = cleanHistory(10);
    History.ConsumedLog a = new History.ConsumedLog("g0", 1);
    for (int o = 0; o < 10; o++) if (o != 3) a.see(0, o, id(0, o));
    skipped.groupConsumed(a);
    skipped.groupCommitted(java.util.Map.of(0, 10L));
    CheckResult r = new GroupChecker().check(skipped, state(sequence(10)), 10 * MS);
    assertThat(r.get("group-skipped")).isEqualTo(1);
    assertThat(r.examples()).anyMatch(e -> e.contains("the first 3"));

    History beyond = groupHistory();
    beyond.groupCommitted(java.util.Map.of(0, 12L));
    assertThat(new GroupChecker().check(beyond, state(sequence(10)), 10 * MS).get("group-beyond-end")).isEqualTo(1);

    History unread = groupHistory();
    assertThat(new GroupChecker().check(unread, state(sequence(10)), 10 * MS).violations()).contains("group-unreadable=1");
  }
}
