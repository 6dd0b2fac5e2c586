package dev.brook.broker.group;

import java.util.Collections;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * One member of a consumer group as the group's durable state holds it: who it is, what it
 * subscribes to, and where it stands in converging to its target assignment. Immutable.
 *
 * @param memberId chosen by the client (a UUID), stable across the member's heartbeats
 * @param instanceId {@code group.instance.id} of a static member, or null
 * @param clientId the client's {@code client.id}, for describe
 * @param clientHost the client's address as the coordinator saw it, for describe
 * @param subscribedTopics the topics it subscribes to (that exist or not)
 * @param assignor the server-side assignor it asks for, or null for the broker's default
 * @param rebalanceTimeoutMs how long it may take to revoke partitions ({@code max.poll.interval.ms})
 * @param memberEpoch the group epoch of the target assignment it has converged to (0 right after joining)
 * @param previousMemberEpoch its epoch before the last move, accepted once more in a heartbeat
 *     whose answer was lost
 * @param state where it stands: see {@link State}
 * @param assigned the partitions it owns and may consume
 * @param pendingRevocation partitions it still owns but must give up; nobody else gets them until it has
 */
public record GroupMember(String memberId, String instanceId, String clientId, String clientHost,
    SortedSet<String> subscribedTopics, String assignor, int rebalanceTimeoutMs, int memberEpoch,
    int previousMemberEpoch, State state, SortedSet<TopicPartition> assigned,
    SortedSet<TopicPartition> pendingRevocation) {

  /** Where a member stands in converging to its target assignment. */
  public enum State {
    /** It owns exactly its target assignment, at the group's assignment epoch. */
    STABLE,
    /** It must give up {@link #pendingRevocation()} before it moves on. */
    UNREVOKED_PARTITIONS,
    /** It is at the assignment epoch, but some of its target partitions are still owned by others. */
    UNRELEASED_PARTITIONS
  }

  public GroupMember {
    subscribedTopics = Collections.unmodifiableSortedSet(new TreeSet<>(subscribedTopics));
    assigned = Collections.unmodifiableSortedSet(new TreeSet<>(assigned));
    pendingRevocation = Collections.unmodifiableSortedSet(new TreeSet<>(pendingRevocation));
  }

  /** A member that just joined: epoch 0, owning nothing. */
  static GroupMember joined(String memberId, String instanceId, String clientId, String clientHost,
      SortedSet<String> topics, String assignor, int rebalanceTimeoutMs) {
    return new GroupMember(memberId, instanceId, clientId, clientHost, topics, assignor, rebalanceTimeoutMs, 0, 0,
        State.STABLE, new TreeSet<>(), new TreeSet<>());
  }

  /** Whether it owns {@code tp}: assigned to it, or not released yet. */
  public boolean owns(TopicPartition tp) {
    return assigned.contains(tp) || pendingRevocation.contains(tp);
  }

  GroupMember withSubscription(SortedSet<String> topics, String newAssignor) {
    return new GroupMember(memberId, instanceId, clientId, clientHost, topics, newAssignor, rebalanceTimeoutMs, memberEpoch,
        previousMemberEpoch, state, assigned, pendingRevocation);
  }

  GroupMember withAssignment(int epoch, int previousEpoch, State newState, SortedSet<TopicPartition> newAssigned,
      SortedSet<TopicPartition> newPending) {
    return new GroupMember(memberId, instanceId, clientId, clientHost, subscribedTopics, assignor, rebalanceTimeoutMs, epoch,
        previousEpoch, newState, newAssigned, newPending);
  }

  /** The same member under another member id (a static member's new incarnation takes over). */
  GroupMember replacedBy(String newMemberId, String newClientId, String newClientHost, int newRebalanceTimeoutMs) {
    return new GroupMember(newMemberId, instanceId, newClientId, newClientHost, subscribedTopics, assignor,
        newRebalanceTimeoutMs, memberEpoch, previousMemberEpoch, state, assigned, pendingRevocation);
  }
}
