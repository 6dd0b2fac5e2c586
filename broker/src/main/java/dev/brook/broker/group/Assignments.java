package dev.brook.broker.group;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/** Helpers shared by the assignors, and the check of the assignor contract. */
public final class Assignments {
  private Assignments() {}

  /** Every partition that some member of {@code input} subscribes to, sorted. */
  static SortedSet<TopicPartition> subscribedPartitions(PartitionAssignor.Input input) {
    Set<String> topics = new TreeSet<>();
    input.members().values().forEach(m -> topics.addAll(m.topics()));
    SortedSet<TopicPartition> out = new TreeSet<>();
    for (String t : topics) {
      Integer n = input.partitions().get(t);
      for (int p = 0; n != null && p < n; p++) out.add(new TopicPartition(t, p));
    }
    return out;
  }

  /** Member ids subscribed to each topic, in member id order. */
  static Map<String, List<String>> subscribers(PartitionAssignor.Input input) {
    Map<String, List<String>> out = new HashMap<>();
    input.members().forEach((id, m) -> m.topics().forEach(t -> out.computeIfAbsent(t, k -> new ArrayList<>()).add(id)));
    return out;
  }

  /** An empty, sorted result with an entry for every member. */
  static Map<String, SortedSet<TopicPartition>> emptyResult(PartitionAssignor.Input input) {
    Map<String, SortedSet<TopicPartition>> out = new TreeMap<>();
    input.members().keySet().forEach(id -> out.put(id, new TreeSet<>()));
    return out;
  }

  /** {@code result} as the unmodifiable, sorted map an assignor returns. */
  static Map<String, Set<TopicPartition>> frozen(Map<String, SortedSet<TopicPartition>> result) {
    Map<String, Set<TopicPartition>> out = new TreeMap<>();
    result.forEach((id, tps) -> out.put(id, Collections.unmodifiableSortedSet(tps)));
    return Collections.unmodifiableMap(out);
  }

  /**
   * Checks {@code result} against the {@link PartitionAssignor} contract for {@code input};
   * returns null when it holds, or what is wrong.
   */
  public static String check(PartitionAssignor.Input input, Map<String, ? extends Set<TopicPartition>> result) {
    if (result == null) return "no result";
    if (!result.keySet().equals(input.members().keySet())) {
      return "members " + new TreeSet<>(result.keySet()) + " are not the group's " + input.members().keySet();
    }
    Map<TopicPartition, String> owner = new HashMap<>();
    for (Map.Entry<String, ? extends Set<TopicPartition>> e : result.entrySet()) {
      PartitionAssignor.Member m = input.members().get(e.getKey());
      for (TopicPartition tp : e.getValue()) {
        if (!input.eligible(m, tp)) return tp + " given to " + e.getKey() + ", which does not subscribe to it or it does not exist";
        String other = owner.put(tp, e.getKey());
        if (other != null) return tp + " given to both " + other + " and " + e.getKey();
      }
    }
    for (TopicPartition tp : subscribedPartitions(input)) {
      if (!owner.containsKey(tp)) return tp + " is given to nobody";
    }
    return null;
  }
}
