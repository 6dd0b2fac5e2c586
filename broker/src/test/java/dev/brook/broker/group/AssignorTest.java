package dev.brook.broker.group;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class AssignorTest {
  private static final List<PartitionAssignor> ASSIGNORS =
      List.of(new UniformAssignor(), new RangeAssignor(), new RoundRobinAssignor());

  /** n members m0..m(n-1), all subscribed to {@code topics}, with no current assignment. */
  private static SortedMap<String, PartitionAssignor.Member> members(int n, Set<String> topics) {
    SortedMap<String, PartitionAssignor.Member> out = new TreeMap<>();
    for (int i = 0; i < n; i++) out.put("m" + i, new PartitionAssignor.Member(topics, Set.of()));
    return out;
  }

  private static Map<String, Integer> sizes(Map<String, Set<TopicPartition>> result) {
    Map<String, Integer> out = new TreeMap<>();
    result.forEach((id, tps) -> out.put(id, tps.size()));
    return out;
  }

  private static int spread(Map<String, Set<TopicPartition>> result) {
    IntStream loads = result.values().stream().mapToInt(Set::size);
    var stats = loads.summaryStatistics();
    return stats.getMax() - stats.getMin();
  }

  /** The same members, each with {@code result} as its current assignment. */
  private static SortedMap<String, PartitionAssignor.Member> withCurrent(
      SortedMap<String, PartitionAssignor.Member> members, Map<String, Set<TopicPartition>> result) {
    SortedMap<String, PartitionAssignor.Member> out = new TreeMap<>();
    members.forEach((id, m) -> out.put(id, new PartitionAssignor.Member(m.topics(), result.getOrDefault(id, Set.of()))));
    return out;
  }

  @Test
  void threeMembersOnSixPartitionsGetTwoEach() {
    var input = new PartitionAssignor.Input(members(3, Set.of("t")), Map.of("t", 6));
    for (PartitionAssignor a : ASSIGNORS) {
      Map<String, Set<TopicPartition>> r = a.assign(input);
      assertThat(Assignments.check(input, r)).as(a.name()).isNull();
      assertThat(sizes(r)).as(a.name()).containsOnly(Map.entry("m0", 2), Map.entry("m1", 2), Map.entry("m2", 2));
    }
  }

  @Test
  void membersBeyondThePartitionCountAreIdle() {
    var input = new PartitionAssignor.Input(members(5, Set.of("t")), Map.of("t", 3));
    for (PartitionAssignor a : ASSIGNORS) {
      Map<String, Set<TopicPartition>> r = a.assign(input);
      assertThat(Assignments.check(input, r)).as(a.name()).isNull();
      assertThat(r.values().stream().filter(Set::isEmpty).count()).as(a.name()).isEqualTo(2);
      assertThat(spread(r)).as(a.name()).isEqualTo(1);
    }
  }

  @Test
  void rangeGivesContiguousRangesPerTopicAndTheSameNumbersAcrossTopics() {
    var input = new PartitionAssignor.Input(members(2, Set.of("a", "b")), Map.of("a", 5, "b", 5));
    Map<String, Set<TopicPartition>> r = new RangeAssignor().assign(input);
    assertThat(r.get("m0")).extracting(TopicPartition::toString).containsExactly("a-0", "a-1", "a-2", "b-0", "b-1", "b-2");
    assertThat(r.get("m1")).extracting(TopicPartition::toString).containsExactly("a-3", "a-4", "b-3", "b-4");
  }

  @Test
  void roundRobinDealsPartitionsInTurnAndSkipsMembersNotSubscribed() {
    SortedMap<String, PartitionAssignor.Member> m = new TreeMap<>();
    m.put("a", new PartitionAssignor.Member(Set.of("x", "y"), Set.of()));
    m.put("b", new PartitionAssignor.Member(Set.of("x"), Set.of()));
    var input = new PartitionAssignor.Input(m, Map.of("x", 3, "y", 2));
    Map<String, Set<TopicPartition>> r = new RoundRobinAssignor().assign(input);
    assertThat(Assignments.check(input, r)).isNull();
    assertThat(r.get("a")).extracting(TopicPartition::toString).containsExactly("x-0", "x-2", "y-0", "y-1");
    assertThat(r.get("b")).extracting(TopicPartition::toString).containsExactly("x-1");
  }

  @Test
  void aFourthMemberTakesItsShareWithoutMovingAnythingElse() {
    UniformAssignor uniform = new UniformAssignor();
    var three = members(3, Set.of("t"));
    Map<String, Set<TopicPartition>> before = uniform.assign(new PartitionAssignor.Input(three, Map.of("t", 12)));
    SortedMap<String, PartitionAssignor.Member> four = withCurrent(three, before);
    four.put("m3", new PartitionAssignor.Member(Set.of("t"), Set.of()));
    Map<String, Set<TopicPartition>> after = uniform.assign(new PartitionAssignor.Input(four, Map.of("t", 12)));
    assertThat(sizes(after).values()).containsOnly(3);
    for (String id : List.of("m0", "m1", "m2")) assertThat(before.get(id)).containsAll(after.get(id)); // only gave up
    assertThat(after.get("m3")).hasSize(3);
  }

  @Test
  void aLeavingMembersPartitionsGoToTheOthersAndNothingElseMoves() {
    UniformAssignor uniform = new UniformAssignor();
    var four = members(4, Set.of("t"));
    Map<String, Set<TopicPartition>> before = uniform.assign(new PartitionAssignor.Input(four, Map.of("t", 12)));
    SortedMap<String, PartitionAssignor.Member> three = withCurrent(four, before);
    three.remove("m1");
    Map<String, Set<TopicPartition>> after = uniform.assign(new PartitionAssignor.Input(three, Map.of("t", 12)));
    assertThat(sizes(after).values()).containsOnly(4);
    for (String id : three.keySet()) assertThat(after.get(id)).containsAll(before.get(id)); // only gained
  }

  @Test
  void aCurrentAssignmentOfAGoneTopicOrPartitionIsDropped() {
    SortedMap<String, PartitionAssignor.Member> m = new TreeMap<>();
    m.put("a", new PartitionAssignor.Member(Set.of("t"), Set.of(new TopicPartition("t", 5), new TopicPartition("gone", 0))));
    m.put("b", new PartitionAssignor.Member(Set.of("t"), Set.of(new TopicPartition("t", 0))));
    var input = new PartitionAssignor.Input(m, Map.of("t", 2));
    Map<String, Set<TopicPartition>> r = new UniformAssignor().assign(input);
    assertThat(Assignments.check(input, r)).isNull();
    assertThat(r.get("b")).containsExactly(new TopicPartition("t", 0));
  }

  @Test
  void theCheckNamesWhatIsWrong() {
    var input = new PartitionAssignor.Input(members(2, Set.of("t")), Map.of("t", 2));
    TopicPartition t0 = new TopicPartition("t", 0);
    TopicPartition t1 = new TopicPartition("t", 1);
    assertThat(Assignments.check(input, Map.of("m0", Set.of(t0, t1)))).contains("are not the group's");
    assertThat(Assignments.check(input, Map.of("m0", Set.of(t0, t1), "m1", Set.of(t1)))).contains("given to both");
    assertThat(Assignments.check(input, Map.of("m0", Set.of(t0), "m1", Set.of()))).contains("t-1 is given to nobody");
    assertThat(Assignments.check(input, Map.of("m0", Set.of(t0, t1), "m1", Set.of(new TopicPartition("t", 2)))))
        .contains("does not exist");
  }

  // Properties over random groups (seeded, so a failure names the seed that reproduces it):
  // members with random subscriptions over up to four topics (and one that does not exist), and
  // random current assignments, stale and conflicting ones too.

  private static final int TRIES = 300;

  private static PartitionAssignor.Input randomGroup(Random rng) {
    List<String> names = List.of("a", "b", "c", "d");
    Map<String, Integer> parts = new TreeMap<>();
    int topics = 1 + rng.nextInt(4);
    for (int i = 0; i < topics; i++) parts.put(names.get(rng.nextInt(4)), 1 + rng.nextInt(40));
    List<String> subscribable = List.of("a", "b", "c", "d", "absent");
    SortedMap<String, PartitionAssignor.Member> m = new TreeMap<>();
    int members = 1 + rng.nextInt(12);
    for (int i = 0; i < members; i++) {
      Set<String> subscription = new TreeSet<>();
      int n = 1 + rng.nextInt(3);
      for (int k = 0; k < n; k++) subscription.add(subscribable.get(rng.nextInt(subscribable.size())));
      Set<TopicPartition> current = new TreeSet<>();
      int c = rng.nextInt(11);
      for (int k = 0; k < c; k++) current.add(new TopicPartition(names.get(rng.nextInt(4)), rng.nextInt(46)));
      m.put(String.format("member-%02d", i), new PartitionAssignor.Member(subscription, current));
    }
    return new PartitionAssignor.Input(m, parts);
  }

  /** Runs {@code property} over {@link #TRIES} random groups, naming the seed of a failing one. */
  private static void forRandomGroups(long baseSeed, java.util.function.Consumer<PartitionAssignor.Input> property) {
    for (int i = 0; i < TRIES; i++) {
      long seed = baseSeed + i;
      PartitionAssignor.Input input = randomGroup(new Random(seed));
      try {
        property.accept(input);
      } catch (AssertionError e) {
        throw new AssertionError("seed " + seed + ", input " + input + ": " + e.getMessage(), e);
      }
    }
  }

  @Test
  void everyAssignorKeepsTheContractAndIsDeterministic() {
    forRandomGroups(1_000, input -> {
      for (PartitionAssignor a : ASSIGNORS) {
        Map<String, Set<TopicPartition>> r = a.assign(input);
        assertThat(Assignments.check(input, r)).as(a.name()).isNull();
        assertThat(a.assign(input)).as(a.name()).isEqualTo(r);
      }
    });
  }

  @Test
  void uniformLeavesNoPartitionThatCouldMoveToAMemberWithTwoFewer() {
    forRandomGroups(2_000, input -> {
      Map<String, Set<TopicPartition>> r = new UniformAssignor().assign(input);
      r.forEach((donor, tps) -> {
        for (TopicPartition tp : tps) {
          input.members().forEach((id, m) -> {
            if (input.eligible(m, tp)) {
              assertThat(r.get(id).size()).as(tp + " of " + donor + " could go to " + id).isGreaterThan(tps.size() - 2);
            }
          });
        }
      });
    });
  }

  @Test
  void uniformWithTheSameSubscriptionsIsBalancedStableAndKeepsFairShares() {
    forRandomGroups(3_000, random -> {
      Set<String> topics = random.partitions().keySet();
      SortedMap<String, PartitionAssignor.Member> same = new TreeMap<>();
      random.members().forEach((id, m) -> same.put(id, new PartitionAssignor.Member(topics, m.current())));
      var input = new PartitionAssignor.Input(same, random.partitions());
      UniformAssignor uniform = new UniformAssignor();
      Map<String, Set<TopicPartition>> r = uniform.assign(input);
      assertThat(spread(r)).isLessThanOrEqualTo(1);
      // Recomputed from its own result (a new coordinator after a failover), nothing moves.
      assertThat(uniform.assign(new PartitionAssignor.Input(withCurrent(same, r), random.partitions()))).isEqualTo(r);
      // A member keeps every valid partition it alone claimed, as long as they are below its fair share.
      int total = r.values().stream().mapToInt(Set::size).sum();
      int floorShare = total / same.size();
      Map<TopicPartition, Long> claims = new HashMap<>();
      same.values().forEach(o -> o.current().forEach(tp -> claims.merge(tp, 1L, Long::sum)));
      same.forEach((id, m) -> {
        Set<TopicPartition> valid = m.current().stream().filter(tp -> input.eligible(m, tp))
            .collect(Collectors.toCollection(TreeSet::new));
        boolean unique = valid.stream().allMatch(tp -> claims.get(tp) == 1);
        if (unique && valid.size() <= floorShare) assertThat(r.get(id)).as(id).containsAll(valid);
      });
    });
  }
}
