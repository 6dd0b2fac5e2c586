package dev.brook.client;

import java.util.List;
import java.util.Set;

/**
 * A consumer group as {@link Admin#describeGroup} reads it from its durable state.
 *
 * @param state EMPTY, ASSIGNING, RECONCILING or STABLE
 * @param coordinatorId the coordinator's node id, -1 when no broker is active
 */
public record GroupDescription(String groupId, String state, int groupEpoch, int assignmentEpoch, int coordinatorId,
    String coordinatorAddress, List<Member> members) {
  public GroupDescription {
    members = List.copyOf(members);
  }

  /**
   * One member.
   *
   * @param instanceId group.instance.id of a static member, or null
   * @param state STABLE, UNREVOKED_PARTITIONS or UNRELEASED_PARTITIONS
   * @param assigned what it owns and may consume
   * @param pendingRevocation what it still owns but must give up
   * @param target what the target assignment gives it
   */
  public record Member(String memberId, String instanceId, String clientId, String clientHost, Set<String> subscribedTopics,
      int memberEpoch, String state, Set<TopicPartition> assigned, Set<TopicPartition> pendingRevocation,
      Set<TopicPartition> target) {
    public Member {
      subscribedTopics = Set.copyOf(subscribedTopics);
      assigned = Set.copyOf(assigned);
      pendingRevocation = Set.copyOf(pendingRevocation);
      target = Set.copyOf(target);
    }
  }

  /** A group as {@link Admin#listGroups} lists it. */
  public record Listing(String groupId, int memberCount) {}
}
