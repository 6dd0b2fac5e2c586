package dev.brook.broker.group;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.brook.broker.group.GroupChange.GroupEpochBumped;
import dev.brook.broker.group.GroupChange.MemberUpdated;
import dev.brook.broker.group.GroupChange.TargetAssigned;
import dev.brook.broker.group.proto.GroupLevelState;
import dev.brook.broker.group.proto.MemberState;
import dev.brook.broker.group.proto.MemberTarget;
import dev.brook.broker.group.proto.TopicPartitionState;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The encoding of a group's durable state in the quorum's group domain (group_state.proto): the
 * group-level part (group epoch and the partition counts it saw, the target assignment and its
 * epoch) as one blob, and each member as its own. Pure and stateless.
 */
final class GroupStateCodec {
  private GroupStateCodec() {}

  /** The group-level half of a group's state, as the last GroupEpochBumped and TargetAssigned left it. */
  record GroupLevel(GroupEpochBumped epoch, TargetAssigned target) {
    static final GroupLevel INITIAL = new GroupLevel(new GroupEpochBumped(0, new TreeMap<>()), new TargetAssigned(0, new TreeMap<>()));

    GroupLevel with(GroupChange c) {
      if (c instanceof GroupEpochBumped b) return new GroupLevel(b, target);
      if (c instanceof TargetAssigned t) return new GroupLevel(epoch, t);
      return this;
    }
  }

  static ByteString encode(GroupLevel level) {
    GroupLevelState.Builder b = GroupLevelState.newBuilder()
        .setGroupEpoch(level.epoch().epoch()).putAllPartitionsSeen(level.epoch().partitions())
        .setAssignmentEpoch(level.target().epoch());
    level.target().target().forEach((member, tps) -> b.putTarget(member, MemberTarget.newBuilder().addAllPartitions(encode(tps)).build()));
    return b.build().toByteString();
  }

  static GroupLevel decodeLevel(ByteString bytes) throws InvalidProtocolBufferException {
    if (bytes.isEmpty()) return GroupLevel.INITIAL;
    GroupLevelState s = GroupLevelState.parseFrom(bytes);
    SortedMap<String, Set<TopicPartition>> target = new TreeMap<>();
    s.getTargetMap().forEach((member, t) -> target.put(member, decode(t.getPartitionsList())));
    return new GroupLevel(new GroupEpochBumped(s.getGroupEpoch(), new TreeMap<>(s.getPartitionsSeenMap())),
        new TargetAssigned(s.getAssignmentEpoch(), target));
  }

  static ByteString encode(GroupMember m) {
    MemberState.Builder b = MemberState.newBuilder().setMemberId(m.memberId()).setClientId(nn(m.clientId()))
        .setClientHost(nn(m.clientHost())).addAllSubscribedTopics(m.subscribedTopics())
        .setRebalanceTimeoutMs(m.rebalanceTimeoutMs()).setMemberEpoch(m.memberEpoch())
        .setPreviousMemberEpoch(m.previousMemberEpoch()).setState(m.state().name())
        .addAllAssigned(encode(m.assigned())).addAllPendingRevocation(encode(m.pendingRevocation()));
    if (m.instanceId() != null) b.setInstanceId(m.instanceId());
    if (m.assignor() != null) b.setAssignor(m.assignor());
    return b.build().toByteString();
  }

  static GroupMember decodeMember(ByteString bytes) throws InvalidProtocolBufferException {
    MemberState s = MemberState.parseFrom(bytes);
    GroupMember.State state;
    try {
      state = GroupMember.State.valueOf(s.getState());
    } catch (IllegalArgumentException e) {
      throw new InvalidProtocolBufferException("member " + s.getMemberId() + " has an unknown state " + s.getState());
    }
    return new GroupMember(s.getMemberId(), s.hasInstanceId() ? s.getInstanceId() : null, s.getClientId(), s.getClientHost(),
        new TreeSet<>(s.getSubscribedTopicsList()), s.hasAssignor() ? s.getAssignor() : null, s.getRebalanceTimeoutMs(),
        s.getMemberEpoch(), s.getPreviousMemberEpoch(), state, decode(s.getAssignedList()),
        decode(s.getPendingRevocationList()));
  }

  /** The changes that rebuild a group, in the order of {@link ConsumerGroup#asChanges}. */
  static List<GroupChange> asChanges(GroupLevel level, Collection<GroupMember> members) {
    List<GroupChange> out = new ArrayList<>();
    out.add(level.epoch());
    out.add(level.target());
    for (GroupMember m : members) out.add(new MemberUpdated(m));
    return out;
  }

  private static List<TopicPartitionState> encode(Collection<TopicPartition> tps) {
    List<TopicPartitionState> out = new ArrayList<>(tps.size());
    for (TopicPartition tp : tps) out.add(TopicPartitionState.newBuilder().setTopic(tp.topic()).setPartition(tp.partition()).build());
    return out;
  }

  private static SortedSet<TopicPartition> decode(List<TopicPartitionState> tps) {
    SortedSet<TopicPartition> out = new TreeSet<>();
    for (TopicPartitionState tp : tps) out.add(new TopicPartition(tp.getTopic(), tp.getPartition()));
    return out;
  }

  private static String nn(String s) {
    return s == null ? "" : s;
  }
}
