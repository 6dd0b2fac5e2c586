package dev.brook.quorum.group;

import dev.brook.proto.v1.ErrorCode;
import dev.brook.quorum.GroupStateClient;
import dev.brook.quorum.QuorumException;
import dev.brook.quorum.proto.CommittedOffsetRecord;
import dev.brook.quorum.proto.FetchGroupReply;
import dev.brook.quorum.proto.FetchGroupRequest;
import dev.brook.quorum.proto.FetchOffsetsReply;
import dev.brook.quorum.proto.FetchOffsetsRequest;
import dev.brook.quorum.proto.GroupCommitResult;
import dev.brook.quorum.proto.GroupOffsetCommit;
import dev.brook.quorum.proto.GroupRecord;
import dev.brook.quorum.proto.GroupWriteReply;
import dev.brook.quorum.proto.GroupWriter;
import dev.brook.quorum.proto.ListGroupsReply;
import dev.brook.quorum.proto.ListGroupsRequest;
import dev.brook.quorum.proto.OffsetCommitBatch;
import dev.brook.quorum.proto.OffsetCommitReply;
import dev.brook.quorum.proto.PartitionCommitError;
import dev.brook.quorum.proto.QuorumRequest;
import dev.brook.quorum.proto.StoredMember;
import dev.brook.quorum.proto.TopicPartitionRef;
import dev.brook.quorum.raft.QuorumCalls;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * {@link GroupStateClient} over the quorum's Ratis client: writes through the log, reads as
 * leader reads (the leader has applied every write it acknowledged). Checks what it can before
 * sending (group ids), so a malformed call fails at once with INVALID_GROUP_ID. Thread-safe.
 */
public final class RaftGroupClient implements GroupStateClient {
  private final QuorumCalls calls;

  public RaftGroupClient(QuorumCalls calls) {
    this.calls = calls;
  }

  @Override
  public CompletableFuture<DurableGroup> fetchGroup(String groupId) {
    CompletableFuture<DurableGroup> invalid = checkGroupId(groupId);
    if (invalid != null) return invalid;
    QuorumRequest req = QuorumRequest.newBuilder().setFetchGroup(FetchGroupRequest.newBuilder().setGroupId(groupId)).build();
    return calls.leaderRead(req).thenApply(r -> {
      FetchGroupReply reply = QuorumCalls.parse(r, FetchGroupReply::parseFrom);
      if (!reply.hasGroup()) return new DurableGroup(groupId, 0, null, List.of());
      GroupRecord g = reply.getGroup();
      List<DurableMember> members = new ArrayList<>(g.getMembersCount());
      for (StoredMember m : g.getMembersList()) members.add(new DurableMember(m.getMemberId(), m.getMemberEpoch(), m.getData()));
      return new DurableGroup(groupId, g.getVersion(), g.getGroupData(), members);
    });
  }

  @Override
  public CompletableFuture<Long> writeGroup(GroupWrite write) {
    CompletableFuture<Long> invalid = checkGroupId(write.groupId());
    if (invalid != null) return invalid;
    dev.brook.quorum.proto.GroupWrite.Builder w = dev.brook.quorum.proto.GroupWrite.newBuilder()
        .setGroupId(write.groupId()).setWriter(writer(write.brokerId(), write.brokerEpoch()))
        .setExpectedVersion(write.expectedVersion()).addAllMemberRemovals(write.memberRemovals())
        .setDeleteGroup(write.deleteGroup());
    if (write.data() != null) w.setGroupData(write.data());
    for (DurableMember m : write.memberPuts()) {
      w.addMemberPuts(StoredMember.newBuilder().setMemberId(m.memberId()).setMemberEpoch(m.memberEpoch()).setData(m.data()));
    }
    QuorumRequest req = QuorumRequest.newBuilder().setGroupWrite(w).build();
    return calls.write(req, r -> CompletableFuture.completedFuture(null)).thenApply(r -> {
      GroupWriteReply reply = QuorumCalls.parse(r, GroupWriteReply::parseFrom);
      ErrorCode code = code(reply.getErrorCode());
      if (code != ErrorCode.NONE) throw new QuorumException(code, reply.getErrorMessage());
      return reply.getVersion();
    });
  }

  @Override
  public CompletableFuture<List<OffsetCommitResult>> commitOffsets(int brokerId, long brokerEpoch, List<OffsetCommit> commits) {
    OffsetCommitBatch.Builder b = OffsetCommitBatch.newBuilder().setWriter(writer(brokerId, brokerEpoch));
    for (OffsetCommit c : commits) {
      CompletableFuture<List<OffsetCommitResult>> invalid = checkGroupId(c.groupId());
      if (invalid != null) return invalid;
      GroupOffsetCommit.Builder g = GroupOffsetCommit.newBuilder().setGroupId(c.groupId()).setMemberId(c.memberId())
          .setMemberEpoch(c.memberEpoch());
      for (CommittedOffset o : c.offsets()) {
        g.addOffsets(CommittedOffsetRecord.newBuilder().setTopic(o.topic()).setPartition(o.partition()).setOffset(o.offset())
            .setLeaderEpoch(o.leaderEpoch()).setMetadata(o.metadata()));
      }
      b.addCommits(g);
    }
    QuorumRequest req = QuorumRequest.newBuilder().setCommitOffsets(b).build();
    return calls.write(req, r -> CompletableFuture.completedFuture(null)).thenApply(r -> {
      OffsetCommitReply reply = QuorumCalls.parse(r, OffsetCommitReply::parseFrom);
      List<OffsetCommitResult> out = new ArrayList<>(reply.getGroupsCount());
      for (GroupCommitResult g : reply.getGroupsList()) {
        Map<OffsetKey, ErrorCode> errors = new HashMap<>();
        for (PartitionCommitError e : g.getPartitionsList()) {
          errors.put(new OffsetKey(e.getTopic(), e.getPartition()), code(e.getErrorCode()));
        }
        out.add(new OffsetCommitResult(g.getGroupId(), code(g.getErrorCode()), g.getErrorMessage(), errors));
      }
      return out;
    });
  }

  @Override
  public CompletableFuture<List<CommittedOffset>> fetchOffsets(String groupId, Collection<OffsetKey> partitions) {
    CompletableFuture<List<CommittedOffset>> invalid = checkGroupId(groupId);
    if (invalid != null) return invalid;
    FetchOffsetsRequest.Builder f = FetchOffsetsRequest.newBuilder().setGroupId(groupId);
    for (OffsetKey k : partitions) f.addPartitions(TopicPartitionRef.newBuilder().setTopic(k.topic()).setPartition(k.partition()));
    QuorumRequest req = QuorumRequest.newBuilder().setFetchOffsets(f).build();
    return calls.leaderRead(req).thenApply(r -> {
      FetchOffsetsReply reply = QuorumCalls.parse(r, FetchOffsetsReply::parseFrom);
      List<CommittedOffset> out = new ArrayList<>(reply.getOffsetsCount());
      for (CommittedOffsetRecord o : reply.getOffsetsList()) {
        out.add(new CommittedOffset(o.getTopic(), o.getPartition(), o.getOffset(), o.getLeaderEpoch(), o.getMetadata(),
            o.getCommitTimestampMs()));
      }
      return out;
    });
  }

  @Override
  public CompletableFuture<List<GroupSummary>> listGroups() {
    QuorumRequest req = QuorumRequest.newBuilder().setListGroups(ListGroupsRequest.getDefaultInstance()).build();
    return calls.leaderRead(req).thenApply(r -> {
      ListGroupsReply reply = QuorumCalls.parse(r, ListGroupsReply::parseFrom);
      List<GroupSummary> out = new ArrayList<>(reply.getGroupsCount());
      for (dev.brook.quorum.proto.GroupSummary g : reply.getGroupsList()) {
        out.add(new GroupSummary(g.getGroupId(), g.getMemberCount(), g.getVersion()));
      }
      return out;
    });
  }

  private static GroupWriter writer(int brokerId, long brokerEpoch) {
    return GroupWriter.newBuilder().setBrokerId(brokerId).setBrokerEpoch(brokerEpoch).build();
  }

  private static ErrorCode code(int number) {
    ErrorCode c = ErrorCode.forNumber(number);
    return c == null ? ErrorCode.UNKNOWN_SERVER_ERROR : c;
  }

  private static <T> CompletableFuture<T> checkGroupId(String groupId) {
    String problem = GroupStateClient.invalidGroupId(groupId);
    return problem == null ? null : CompletableFuture.failedFuture(new QuorumException(ErrorCode.INVALID_GROUP_ID, problem));
  }
}
