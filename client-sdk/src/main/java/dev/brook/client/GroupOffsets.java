package dev.brook.client;

import dev.brook.proto.v1.CommittedPartitionOffset;
import dev.brook.proto.v1.ErrorCode;
import dev.brook.proto.v1.GroupServiceGrpc;
import dev.brook.proto.v1.GroupTopicPartitions;
import dev.brook.proto.v1.OffsetCommitPartition;
import dev.brook.proto.v1.OffsetCommitRequest;
import dev.brook.proto.v1.OffsetCommitResponse;
import dev.brook.proto.v1.OffsetCommitTopic;
import dev.brook.proto.v1.OffsetFetchRequest;
import dev.brook.proto.v1.OffsetFetchResponse;
import io.grpc.StatusRuntimeException;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * A group's committed offsets as the consumer reads and writes them: commits go to the
 * coordinator with the member's id and epoch (retried while the member's epoch or coordinator is
 * moving), reads go to any broker. Thread-safe.
 */
final class GroupOffsets {
  /** Commit answers after which a retry can succeed: the epoch or the coordinator moves on. */
  private static final Set<ErrorCode> RETRY = EnumSet.of(ErrorCode.STALE_MEMBER_EPOCH, ErrorCode.NOT_COORDINATOR,
      ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.QUORUM_NOT_AVAILABLE, ErrorCode.REQUEST_TIMED_OUT);

  private final String groupId;
  private final Metadata metadata;
  private final ChannelPool channels;
  private final long retryBackoffMs;

  GroupOffsets(String groupId, Metadata metadata, ChannelPool channels, long retryBackoffMs) {
    this.groupId = groupId;
    this.metadata = metadata;
    this.channels = channels;
    this.retryBackoffMs = retryBackoffMs;
  }

  static OffsetCommitRequest request(String groupId, String memberId, int memberEpoch, Map<TopicPartition, OffsetAndMetadata> offsets) {
    Map<String, OffsetCommitTopic.Builder> topics = new TreeMap<>();
    offsets.forEach((tp, o) -> topics.computeIfAbsent(tp.topic(), t -> OffsetCommitTopic.newBuilder().setTopic(t))
        .addPartitions(OffsetCommitPartition.newBuilder().setPartition(tp.partition()).setOffset(o.offset())
            .setLeaderEpoch(o.leaderEpoch()).setMetadata(o.metadata())));
    OffsetCommitRequest.Builder r = OffsetCommitRequest.newBuilder().setGroupId(groupId).setMemberId(memberId)
        .setMemberEpoch(memberEpoch);
    topics.values().forEach(r::addTopics);
    return r.build();
  }

  /**
   * Commits {@code offsets} as the member of {@code membership}, retrying until {@code timeoutMs}
   * passed while the answer says a retry can succeed.
   *
   * @throws BrookException FENCED_MEMBER_EPOCH, UNKNOWN_MEMBER_ID, PARTITION_NOT_OWNED (the
   *     partitions are someone else's now: the commit can never succeed), or the last error when
   *     the time ran out
   */
  void commit(Map<TopicPartition, OffsetAndMetadata> offsets, GroupMembership membership, long timeoutMs) {
    if (offsets.isEmpty()) return;
    long deadline = System.currentTimeMillis() + timeoutMs;
    BrookException last = null;
    while (true) {
      GroupMembership.Snapshot s = membership.snapshot();
      if (s.fatal() != null) throw s.fatal();
      if (s.coordinator() != null && s.memberEpoch() > 0) {
        try {
          OffsetCommitResponse r = GroupServiceGrpc.newBlockingStub(channels.get(s.coordinator()))
              .withDeadlineAfter(Math.max(1, deadline - System.currentTimeMillis()), TimeUnit.MILLISECONDS)
              .offsetCommit(request(groupId, membership.memberId(), s.memberEpoch(), offsets));
          ErrorCode code = r.getError().getCode();
          if (code == ErrorCode.NONE) return;
          last = BrookException.of(r.getError(), "commit offsets of group " + groupId);
          if (!RETRY.contains(code)) throw last;
          membership.heartbeatSoon();
        } catch (StatusRuntimeException e) {
          last = BrookException.transport("commit offsets of group " + groupId + " at " + s.coordinator() + ": "
              + BrookException.transportReason(e), e, true);
        }
      } else if (last == null) {
        last = new BrookException(ErrorCode.COORDINATOR_NOT_AVAILABLE, "group " + groupId
            + ": not a member yet (joining, or finding the coordinator)");
      }
      long left = deadline - System.currentTimeMillis();
      if (left <= 0) throw last;
      sleep(Math.min(left, Math.max(1, retryBackoffMs)));
    }
  }

  /** The group's committed offsets of {@code partitions} (every one it has when empty), from any broker. */
  Map<TopicPartition, OffsetAndMetadata> fetch(Set<TopicPartition> partitions, long timeoutMs) {
    OffsetFetchRequest.Builder req = OffsetFetchRequest.newBuilder().setGroupId(groupId);
    Map<String, GroupTopicPartitions.Builder> byTopic = new TreeMap<>();
    for (TopicPartition tp : partitions) {
      byTopic.computeIfAbsent(tp.topic(), t -> GroupTopicPartitions.newBuilder().setTopic(t)).addPartitions(tp.partition());
    }
    byTopic.values().forEach(req::addTopics);
    long deadline = System.currentTimeMillis() + timeoutMs;
    RuntimeException last = null;
    while (true) {
      for (String address : metadata.addresses()) {
        long left = deadline - System.currentTimeMillis();
        if (left <= 0) break;
        try {
          OffsetFetchResponse r = GroupServiceGrpc.newBlockingStub(channels.get(address))
              .withDeadlineAfter(left, TimeUnit.MILLISECONDS).offsetFetch(req.build());
          if (r.getError().getCode() != ErrorCode.NONE) {
            BrookException e = BrookException.of(r.getError(), "committed offsets of group " + groupId);
            if (r.getError().getCode() == ErrorCode.INVALID_GROUP_ID) throw e;
            last = e;
            continue;
          }
          Map<TopicPartition, OffsetAndMetadata> out = new HashMap<>();
          for (CommittedPartitionOffset o : r.getOffsetsList()) {
            out.put(new TopicPartition(o.getTopic(), o.getPartition()),
                new OffsetAndMetadata(o.getOffset(), o.getLeaderEpoch(), o.getMetadata()));
          }
          return out;
        } catch (StatusRuntimeException e) {
          last = BrookException.transport("committed offsets of group " + groupId + " from " + address + ": "
              + BrookException.transportReason(e), e, true);
        }
      }
      long left = deadline - System.currentTimeMillis();
      if (left <= 0) {
        throw last instanceof BrookException b ? b
            : new BrookException(ErrorCode.COORDINATOR_NOT_AVAILABLE, "no broker answered for group " + groupId);
      }
      sleep(Math.min(left, Math.max(1, retryBackoffMs)));
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms); // a retry backoff between attempts of a bounded call
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new WakeupException();
    }
  }
}
