package dev.brook.broker.group;

import java.util.Collections;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A change to a group's durable state. The coordinator decides changes in {@link ConsumerGroup},
 * writes them to the metadata quorum, and every copy of the group (the coordinator's now, the
 * next coordinator's after a failover) is the result of replaying them in order with {@link
 * ConsumerGroup#replay}: replay is the only way state changes, so the durable state and the
 * coordinator's memory cannot disagree.
 */
public sealed interface GroupChange {
  /** A member joined or changed (subscription, assignment, epoch): its whole new record. */
  record MemberUpdated(GroupMember member) implements GroupChange {}

  /** A member left, or was removed (session or rebalance timeout, replaced static member). */
  record MemberRemoved(String memberId) implements GroupChange {}

  /**
   * The group epoch moved on, because its members or their subscriptions changed, or the
   * partition counts of the subscribed topics did.
   *
   * @param partitions the partition counts of the subscribed topics the new epoch saw
   */
  record GroupEpochBumped(int epoch, SortedMap<String, Integer> partitions) implements GroupChange {
    public GroupEpochBumped {
      partitions = Collections.unmodifiableSortedMap(new TreeMap<>(partitions));
    }
  }

  /** The target assignment computed for {@code epoch}: member id to its partitions. */
  record TargetAssigned(int epoch, SortedMap<String, Set<TopicPartition>> target) implements GroupChange {
    public TargetAssigned {
      SortedMap<String, Set<TopicPartition>> copy = new TreeMap<>();
      target.forEach((id, tps) -> copy.put(id, Collections.unmodifiableSortedSet(new TreeSet<>(tps))));
      target = Collections.unmodifiableSortedMap(copy);
    }
  }
}
