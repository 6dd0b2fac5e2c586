package dev.brook.broker.group;

import java.util.Map;
import java.util.Set;
import java.util.SortedMap;

/**
 * A server-side assignor (KIP-848's {@code group.remote.assignor}): given a group's members, their
 * subscriptions and current target assignment, and the partition counts of the subscribed
 * topics, decides which member owns which partition in the next target assignment.
 *
 * <p>Contract, checked by {@link Assignments#check} on every result (so a faulty pluggable
 * assignor cannot break a group): the result has an entry for every member (empty for an idle
 * one); each partition of a topic that at least one member subscribes to goes to exactly one
 * member that subscribes to it; nothing else is assigned. An assignor must be a pure function of
 * its input (the same input always gives the same result), because a new coordinator recomputes
 * assignments after a failover and must not move partitions for nothing. Implementations are
 * stateless and thread-safe, with a public no-argument constructor when they are named by class
 * in the broker config.
 */
public interface PartitionAssignor {
  /** The name clients ask for ({@code group.remote.assignor}): lower case, unique per broker. */
  String name();

  /** Member id to the partitions it owns in the new target assignment. */
  Map<String, Set<TopicPartition>> assign(Input input);

  /**
   * What an assignor decides from.
   *
   * @param members member id (sorted) to its subscription and current target assignment
   * @param partitions topic name to partition count, for every subscribed topic that exists
   */
  record Input(SortedMap<String, Member> members, Map<String, Integer> partitions) {
    public Input {
      members = java.util.Collections.unmodifiableSortedMap(new java.util.TreeMap<>(members));
      partitions = Map.copyOf(partitions);
    }

    /** Whether {@code tp} exists and is in a topic that {@code member} subscribes to. */
    boolean eligible(Member member, TopicPartition tp) {
      Integer count = partitions.get(tp.topic());
      return count != null && tp.partition() < count && member.topics().contains(tp.topic());
    }
  }

  /**
   * One member as the assignor sees it.
   *
   * @param topics the topics it subscribes to (existing or not)
   * @param current the partitions it owns in the current target assignment (stickiness)
   */
  record Member(Set<String> topics, Set<TopicPartition> current) {
    public Member {
      topics = Set.copyOf(topics);
      current = Set.copyOf(current);
    }
  }
}
