package dev.brook.broker.group;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;

/**
 * The default assignor ({@code uniform}, as in Kafka 4): balanced and sticky. Every member keeps
 * the partitions of its current assignment that are still valid for it; the rest go, one by one
 * in partition order, to the least loaded member that subscribes to their topic; then partitions
 * move from the most to the least loaded eligible member while that narrows a gap of two or more.
 *
 * <p>Result: when all members subscribe to the same topics, member loads differ by at most one
 * and a member gives up only partitions it must (a member that joins takes its share from the
 * most loaded ones, a member that leaves hands its partitions to the least loaded). With
 * different subscriptions no partition can move to an eligible member with two fewer. Members
 * beyond the partition count are idle. Cost: O(P * M) for P partitions and M members when the
 * subscriptions are the same, up to O(P^2) when they differ.
 */
public final class UniformAssignor implements PartitionAssignor {
  public static final String NAME = "uniform";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Map<String, Set<TopicPartition>> assign(Input input) {
    Map<String, SortedSet<TopicPartition>> result = Assignments.emptyResult(input);
    Map<String, List<String>> subscribers = Assignments.subscribers(input);
    Map<TopicPartition, String> owner = new HashMap<>();
    // 1. Stickiness: keep what is still valid (a partition claimed twice goes to the first id).
    input.members().forEach((id, m) -> {
      for (TopicPartition tp : new java.util.TreeSet<>(m.current())) {
        if (input.eligible(m, tp) && !owner.containsKey(tp)) {
          owner.put(tp, id);
          result.get(id).add(tp);
        }
      }
    });
    // 2. The rest, each to the least loaded eligible member.
    for (TopicPartition tp : Assignments.subscribedPartitions(input)) {
      if (owner.containsKey(tp)) continue;
      String to = leastLoaded(subscribers.get(tp.topic()), result);
      owner.put(tp, to);
      result.get(to).add(tp);
    }
    // 3. Balance: from the most loaded member, move a partition that a member with two fewer can take.
    while (moveOne(input, subscribers, result)) {
      // until no move narrows a gap
    }
    return Assignments.frozen(result);
  }

  private static String leastLoaded(List<String> candidates, Map<String, SortedSet<TopicPartition>> result) {
    String best = null;
    for (String id : candidates) {
      if (best == null || result.get(id).size() < result.get(best).size()) best = id;
    }
    return best;
  }

  /** One move from a most loaded member to a least loaded eligible one with at least two fewer. */
  private static boolean moveOne(Input input, Map<String, List<String>> subscribers,
      Map<String, SortedSet<TopicPartition>> result) {
    List<String> donors = new java.util.ArrayList<>(result.keySet());
    // Most loaded first; ties in member id order (stable sort over the sorted ids).
    donors.sort((a, b) -> Integer.compare(result.get(b).size(), result.get(a).size()));
    for (String donor : donors) {
      int load = result.get(donor).size();
      if (load < 2) return false; // nobody can then be two below a donor
      // The donor's last partitions first: its first ones stay, which keeps moves stable.
      for (TopicPartition tp : reversed(result.get(donor))) {
        String to = leastLoaded(subscribers.get(tp.topic()), result);
        if (to != null && result.get(to).size() <= load - 2) {
          result.get(donor).remove(tp);
          result.get(to).add(tp);
          return true;
        }
      }
    }
    return false;
  }

  private static Iterable<TopicPartition> reversed(SortedSet<TopicPartition> set) {
    return () -> ((java.util.NavigableSet<TopicPartition>) set).descendingIterator();
  }
}
